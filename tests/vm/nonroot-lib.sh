# SPDX-License-Identifier: BSD-3-Clause
#
# tests/vm/nonroot-lib.sh: what the nonroot-*.sh tests share (issue 11 section
# 3, doc/nonroot.md). Source it after lib.sh. Not a test itself.
#
# NR_UID        the unprivileged user (1000; gid the same)
# as_user KIB CMD...
#               exec CMD as NR_UID with RLIMIT_MEMLOCK = KIB (soft and hard),
#               no supplementary group and no capability in any set
#               (setpriv, with no_new_privs); in a subshell only. The caller
#               is root and may open descriptors for CMD with redirections.
# no_caps PID   PID runs as NR_UID with every capability set empty.
# expect TEXT S TEXT holds the fixed string S (else fail, showing TEXT).
# perf_ok OUT   nvme-perf --verify's output OUT checked reads and found no mismatch.
# l2fwd_run NAME PKTGEN_CMD... / see below: pktgen -> l2fwd, checked frames.

NR_UID=${NR_UID:-1000}
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
L2FWD=$ZDK_BUILD/examples/l2fwd/zdk-l2fwd
PKTGEN=$ZDK_BUILD/examples/pktgen/zdk-pktgen
DEVBIND=$ZDK_BUILD/app/zdk-devbind/zdk-devbind
DOCTOR=$ZDK_BUILD/app/zdk-doctor/zdk-doctor
LAUNCH=$ZDK_BUILD/app/zdk-launch/zdk-launch
for _p in "$PERF" "$L2FWD" "$PKTGEN" "$DEVBIND" "$DOCTOR" "$LAUNCH"; do
	[ -x "$_p" ] || fail "$_p is not built"
done
command -v setpriv >/dev/null || skip "no setpriv (util-linux) to drop to uid $NR_UID"
# The user's name as the tools print it (the host's passwd, or the number).
NR_NAME=$(getent passwd "$NR_UID" | cut -d: -f1)
NR_NAME=${NR_NAME:-$NR_UID}

as_user() {
	# It execs: only ever in a subshell, $(as_user ...) or as_user ... &, so
	# that a background job's $! is the program's own pid.
	[ "$BASHPID" != "$$" ] || fail "as_user must run in a subshell"
	ulimit -l "$1" || fail "cannot set RLIMIT_MEMLOCK to $1 KiB"
	shift
	exec setpriv --reuid="$NR_UID" --regid="$NR_UID" --clear-groups \
		--inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
}

no_caps() {
	local st=/proc/$1/status c
	grep -q "^Uid:[[:space:]]*${NR_UID}[[:space:]]*${NR_UID}[[:space:]]*${NR_UID}[[:space:]]*${NR_UID}$" "$st" ||
		fail "pid $1 is not uid $NR_UID: $(grep ^Uid: "$st")"
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$c:[[:space:]]*0000000000000000$" "$st" || fail "pid $1 holds $(grep "^$c:" "$st")"
	done
}

expect() { grep -qF -- "$2" <<<"$1" || fail "missing '$2' in:"$'\n'"$1"; }

perf_ok() {
	local verified
	grep -Eq 'mismatches 0$' <<<"$1" || fail "nvme-perf reported mismatches:"$'\n'"$1"
	verified=$(sed -n 's/.*verified reads \([0-9]*\),.*/\1/p' <<<"$1")
	[ "${verified:-0}" -gt 0 ] || fail "nvme-perf verified no read:"$'\n'"$1"
	echo "$verified"
}

# l2fwd_start LOG CMD...: start l2fwd's command line CMD (already dropped to the
# user) in the background; L2PID is its pid once it polls both ports.
l2fwd_start() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	L2PID=$!
	wait_for 60 grep -q "polls port 1" "$log" || { cat "$log"; fail "l2fwd did not start"; }
}

# l2fwd_check LOG PKTGEN_OUT COUNT: stop l2fwd and check that COUNT frames went
# pktgen -> igb1 -> igb2 [l2fwd] igb3 -> igb4 -> pktgen, intact and rewritten.
l2fwd_check() {
	local log=$1 res=$2 count=$3 v
	kill -INT "$L2PID"
	wait "$L2PID" || fail "l2fwd exited with $?: $(tail -5 "$log")"
	res=$(grep RESULT <<<"$res") || fail "pktgen printed no result"
	for v in "tx=$count" "rx=$count" "dup=0" "corrupt=0" "badmac=0"; do
		grep -q " $v\b" <<<" $res" || fail "pktgen: want $v in: $res"
	done
	grep -q "total rx $count tx $count dropped 0" "$log" ||
		fail "l2fwd totals: $(grep total "$log" | tail -1)"
}

# The pktgen arguments that go with l2fwd's port pairing (as nic-l2fwd.sh).
NR_COUNT=${NR_COUNT:-20000}
# shellcheck disable=SC2034 # used by the scripts that source this
PKTGEN_ARGS=(--tx-port 0 --rx-port 1 -s 64 -r 10000 -n "$NR_COUNT" --drain-ms 2000
	--expect-src 52:54:00:5a:01:01 --expect-dst 02:00:00:00:00:01)
# shellcheck disable=SC2034
L2FWD_ARGS=(-p 0x3 -q 2 -T 5)

# perf_run OUT_VAR CMD...: run nvme-perf's command line CMD (dropped to the
# user) to its end; while it runs, check that it holds no capability. Its
# output lands in OUT_VAR; a failure of CMD fails the test, showing it.
perf_run() {
	local var=$1 log pid rc=0
	shift
	log=$(mktemp)
	"$@" >"$log" 2>&1 &
	pid=$!
	wait_for 60 grep -q "IOMMU backend" "$log" || { cat "$log"; fail "nvme-perf did not start"; }
	no_caps "$pid"
	wait "$pid" || rc=$?
	printf -v "$var" '%s' "$(cat "$log")"
	rm -f "$log"
	[ $rc -eq 0 ] || fail "nvme-perf exited $rc:"$'\n'"${!var}"
}
