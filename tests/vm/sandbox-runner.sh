#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# sandbox-runner.sh RUN BUILD_DIR: tests buildtools/vm/run itself, from the
# host (four boots): the command's exit status comes back (7, then 1 from
# `false`), its output streams while it runs, the cwd, --env, ZDK_VM and a
# write into the tree reach the guest, --timeout kills the guest and exits
# 124, a guest panic exits 125 saying so, and no per-run directory is left.
set -uo pipefail

RUN=${1:?usage: $0 path/to/buildtools/vm/run BUILD_DIR}
BUILD=${2:?usage: $0 path/to/buildtools/vm/run BUILD_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Per-run directories land here, so the test can see they are cleaned up.
export TMPDIR=$TMP/runs
mkdir -p "$TMPDIR"

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Boot 1: status 7, streaming, env, cwd, a write into the tree. Each output
# line is stamped on arrival: "ready" must arrive while the command sleeps.
status_and_stream() {
	local marker=m$$-$RANDOM probe=$BUILD/sandbox-runner.probe rc out
	rm -f "$probe"
	cd "$(dirname "$0")" || fail "cd"
	"$RUN" --env ZDK_T="$marker x" -- sh -c \
		'echo "ready $ZDK_T|$ZDK_VM|$ZDK_VM_IOMMU|$(pwd)"; echo "$ZDK_T" >'"$probe"'; sleep 4; echo done; exit 7' \
		2>"$TMP/err1" | while IFS= read -r line; do echo "$SECONDS $line"; done >"$TMP/out1"
	rc=${PIPESTATUS[0]}
	cat "$TMP/out1"
	[ "$rc" = 7 ] || { cat "$TMP/err1"; fail "run -- sh -c 'exit 7' exited $rc, want 7"; }
	out=$(grep ' ready ' "$TMP/out1") || fail "the command's output did not reach stdout"
	[ "${out#* ready }" = "$marker x|1|iommu|$(pwd -P)" ] ||
		fail "env/cwd in the guest: got '${out#* ready }', want '$marker x|1|iommu|$(pwd -P)'"
	local t_ready t_done
	t_ready=$(awk '/ ready /{print $1}' "$TMP/out1")
	t_done=$(awk '/ done$/{print $1}' "$TMP/out1")
	[ -n "$t_done" ] && [ $((t_done - t_ready)) -ge 3 ] ||
		fail "output did not stream: 'ready' at ${t_ready}s, 'done' at ${t_done:-?}s"
	[ "$(cat "$probe" 2>/dev/null)" = "$marker x" ] || fail "the guest's write into the tree did not reach the host"
	rm -f "$probe"
	ok "exit 7 returned, output streamed (${t_ready}s -> ${t_done}s), env/cwd/tree write ok"
}

status_false() {
	local rc
	"$RUN" -- false
	rc=$?
	[ "$rc" = 1 ] || fail "run -- false exited $rc, want 1"
	ok "run -- false exits 1"
}

timeout_kills() {
	local rc t0=$SECONDS t
	"$RUN" --timeout 20 -- sleep 100 2>"$TMP/err3"
	rc=$?
	t=$((SECONDS - t0))
	cat "$TMP/err3"
	[ "$rc" = 124 ] || fail "run --timeout 20 -- sleep 100 exited $rc, want 124"
	[ $t -lt 45 ] || fail "--timeout 20 took $t s"
	grep -q 'timed out after 20 s' "$TMP/err3" || fail "no timeout message"
	ok "--timeout 20 -- sleep 100: exit 124 after $t s"
}

panic_reported() {
	local rc
	"$RUN" -- sh -c 'echo c >/proc/sysrq-trigger; sleep 100' >/dev/null 2>"$TMP/err4"
	rc=$?
	tail -n 3 "$TMP/err4"
	[ "$rc" = 125 ] || fail "a guest panic exited $rc, want 125"
	grep -q 'guest died' "$TMP/err4" || fail "no 'guest died' message"
	grep -q 'Kernel panic' "$TMP/err4" || fail "the last console lines were not shown"
	ok "a guest panic exits 125 with the console tail"
}

# A frozen guest (QEMU alive, vCPUs stopped: simulated by SIGSTOP) is
# noticed by its missing heartbeat and the command runs again in a new guest.
freeze_retried() {
	local rc marker
	# in the tree: the guest's /tmp is its own
	marker=$(cd "$BUILD" && pwd -P)/sandbox-runner.ran-once
	rm -f "$marker"
	(
		sleep 25
		for pid in $(pgrep -x qemu-system-x86); do
			grep -qa "$TMPDIR" /proc/$pid/cmdline && kill -STOP "$pid"
		done
	) &
	ZDK_VM_STALL=10 "$RUN" --timeout 120 -- sh -c "if [ -f $marker ]; then echo again; exit 5; fi; touch $marker; sleep 100" \
		>"$TMP/out5" 2>"$TMP/err5"
	rc=$?
	wait
	rm -f "$marker"
	[ "$rc" = 5 ] || fail "a frozen guest: exit $rc, want 5 from the second attempt ($(tail -n 3 "$TMP/err5"))"
	grep -q 'RETRY' "$TMP/err5" || fail "no RETRY line for a frozen guest"
	grep -q 'again' "$TMP/out5" || fail "the command did not run again"
	ok "a frozen guest is killed on its missing heartbeat and the command runs again"
}

# A guest that hangs while booting (before /init's first heartbeat; seen
# once in CI with --numa) is booted again: QEMU stopped within its first
# second, a 15 s boot limit.
boot_hang_retried() {
	local rc
	(
		for _ in $(seq 50); do
			sleep 0.2
			for pid in $(pgrep -x qemu-system-x86); do
				grep -qa "$TMPDIR" /proc/$pid/cmdline && { kill -STOP "$pid"; exit 0; }
			done
		done
	) &
	ZDK_VM_BOOT_STALL=15 "$RUN" --timeout 120 -- sh -c 'echo booted; exit 6' \
		>"$TMP/out6" 2>"$TMP/err6"
	rc=$?
	wait
	[ "$rc" = 6 ] || fail "a guest hung at boot: exit $rc, want 6 from the second attempt ($(tail -n 3 "$TMP/err6"))"
	grep -q 'RETRY' "$TMP/err6" || fail "no RETRY line for a guest hung at boot"
	grep -q 'booted' "$TMP/out6" || fail "the command did not run in the second guest"
	ok "a guest hung while booting is killed after ZDK_VM_BOOT_STALL and booted again"
}

status_and_stream
status_false
timeout_kills
panic_reported
freeze_retried
boot_hang_retried
left=$(ls -A "$TMPDIR")
[ -z "$left" ] || fail "per-run directories left behind: $left"
ok "no per-run directory left"
echo "PASS: sandbox-runner"
