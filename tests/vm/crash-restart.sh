#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 11: kill -9 at random moments, and start again. CRASH_ROUNDS (20)
# times each: nvme-perf --verify at depth 32 on both namespaces, killed
# 0-2.5 s after it starts (during init, queue creation or I/O); the NVMe
# checker killed in the middle of its controller resets; l2fwd killed during
# init, port start or forwarding. After every kill the next start must work
# with no cleanup: the device is reset on open, the dead process's hugepage
# files are reused (never piling up), and at the end a --verify run and a
# lossless pktgen -> l2fwd run are clean, and every hugepage is free again.
# Prints the restart time (start to first I/O) after a kill.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-20}
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
CHECK=$ZDK_BUILD/tests/vm/nvme/zdk-nvme-vmcheck
L2FWD=$ZDK_BUILD/examples/l2fwd/zdk-l2fwd
PKTGEN=$ZDK_BUILD/examples/pktgen/zdk-pktgen
read -r PG0 FW0 FW1 PG1 _ <<<"$IGB_BDFS" || true
vfio_bind "$NVME_BDF"
for b in $PG0 $FW0 $FW1 $PG1; do vfio_bind "$b"; done
LOG=$(mktemp -d)
free2m() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages; }
files() { find /dev/hugepages -maxdepth 1 -type f | wc -l; }
free0=$(free2m)
RANDOM=${CRASH_SEED:-$$}
echo "seed $RANDOM (CRASH_SEED to repeat)"

# run_and_kill SECONDS_x10 CMD...: start CMD, SIGKILL it after the delay
run_and_kill() {
	local d=$1
	shift
	"$@" >"$LOG/out" 2>&1 &
	local pid=$!
	sleep "$((d / 10)).$((d % 10))"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
}

maxfiles=0
for ((i = 1; i <= ROUNDS; i++)); do
	run_and_kill $((RANDOM % 26)) "$PERF" -l 0 -a "$NVME_BDF" -- -q 32 -o 4096 -w randrw -t 10 --verify
	run_and_kill $((5 + RANDOM % 30)) "$CHECK" -l 0 -a "$NVME_BDF" -- stress 1 16 $RANDOM reset
	run_and_kill $((RANDOM % 26)) "$L2FWD" -l 0 --file-prefix l2fwd -a "$FW0" -a "$FW1" -- -p 0x3 -q 2 -T 0
	n=$(files)
	[ "$n" -gt "$maxfiles" ] && maxfiles=$n
done
ok "$ROUNDS rounds of kill -9 (nvme-perf, the NVMe checker mid-reset, l2fwd); at most $maxfiles hugepage files at any time"
[ "$maxfiles" -le 4 ] || fail "hugepage files pile up after kills: $maxfiles"

# The restart itself: a new process up to its first completed command
# (zdk init, the device reset vfio-pci does on open, the controller enabled,
# Identify), right after a kill -9 mid-I/O.
run_and_kill 15 "$PERF" -l 0 -a "$NVME_BDF" -- -q 32 -o 4096 -w randrw -t 10
t0=$(date +%s%N)
"$CHECK" -l 0 -a "$NVME_BDF" -- identify 1:512,2:4096 >"$LOG/id" 2>&1 || { cat "$LOG/id"; fail "identify after a kill"; }
t1=$(date +%s%N)
ok "restart after kill -9: $(((t1 - t0) / 1000000)) ms from exec to the controller's first completion (Identify), process exit included"

t0=$(date +%s%N)
"$PERF" -l 0 -a "$NVME_BDF" -- -q 32 -o 4096 -w randrw -t 3 --verify >"$LOG/perf" 2>&1 ||
	{ cat "$LOG/perf"; fail "nvme-perf --verify after the kills"; }
t1=$(date +%s%N)
grep -q "mismatches 0" "$LOG/perf" && grep -q "^errors 0" "$LOG/perf" ||
	{ cat "$LOG/perf"; fail "nvme-perf --verify after the kills is not clean"; }
ok "nvme-perf --verify after the kills: clean; start to exit $(((t1 - t0) / 1000000)) ms for a 3 s run"

"$L2FWD" -l 0 --file-prefix l2fwd -a "$FW0" -a "$FW1" -- -p 0x3 -q 2 -T 0 >"$LOG/l2fwd" 2>&1 &
L2PID=$!
wait_for 60 grep -q "polls port 1" "$LOG/l2fwd" || { cat "$LOG/l2fwd"; fail "l2fwd did not start after the kills"; }
"$PKTGEN" -l 0 --file-prefix pktgen -a "$PG0" -a "$PG1" -- --tx-port 0 --rx-port 1 -s 64 -r 10000 \
	-n 20000 --drain-ms 2000 --expect-src 52:54:00:5a:01:01 --expect-dst 02:00:00:00:00:01 \
	>"$LOG/pktgen" 2>&1 || true
kill -INT $L2PID
wait $L2PID || fail "l2fwd exited with $?"
res=$(grep RESULT "$LOG/pktgen") || { cat "$LOG/pktgen"; fail "pktgen printed no result"; }
grep -q " rx=20000 " <<<"$res " || fail "pktgen -> l2fwd after the kills: $res"
ok "pktgen -> l2fwd after the kills: 20000 of 20000"
[ "$(free2m)" = "$free0" ] || fail "hugepages not all free again: $(free2m) of $free0"
ok "every hugepage free again ($free0)"
rm -rf "$LOG"
