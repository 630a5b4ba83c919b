#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-sol.sh BUILD_DIR: the speed-of-light harnesses the benches compare
# zdk with (bench/) do what they claim, so that a figure printed as "the
# limit" is one. Not a benchmark: no figure is asserted.
#  1. zdk-nvme-sol at QD 1, 32 and 128, and on a queue of 64 entries at QD 31
#     (the CQ head acknowledged every entry): reads complete without error;
#     then zdk-nvme-perf --verify on the same controller: the harness left the
#     queues as the driver deletes them, and the controller is sane.
#  2. zdk-igb-sol between igb 2 and 3 (pktgen on igb 1 and 4): 50,000 frames
#     at 20k pps all arrive, none duplicated or corrupted; it stops cleanly.
#  3. zdk-wake-floor prints a figure.
# The IOMMU backend is ZDK_IOMMU (default iommufd).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IOMMU=${ZDK_IOMMU:-iommufd}
[ "$IOMMU" != iommufd ] || [ -e /dev/iommu ] || skip "no /dev/iommu in this guest"
LOG=$(mktemp -d)
SOLPID=
trap '[ -z "$SOLPID" ] || kill -INT $SOLPID 2>/dev/null || true; rm -rf "$LOG"' EXIT

# 1. NVMe
vfio_bind "$NVME_BDF"
sol() { # NAME SOL-ARGS...
	local name=$1
	shift
	timeout -s INT 60 "$ZDK_BUILD/bench/zdk-nvme-sol" -l 0 --iommu "$IOMMU" -a "$NVME_BDF" -- "$@" >"$LOG/$name" 2>&1 ||
		{ cat "$LOG/$name"; fail "nvme-sol $*: exit $?"; }
	grep -q "^RESULT .* errors=0" "$LOG/$name" || { cat "$LOG/$name"; fail "nvme-sol $*: errors"; }
	ios=$(sed -n 's/^RESULT .* ios=\([0-9]*\).*/\1/p' "$LOG/$name")
	[ "${ios:-0}" -gt 0 ] || { cat "$LOG/$name"; fail "nvme-sol $*: no reads"; }
	ok "nvme-sol $*: $(grep '^nvme-sol:' "$LOG/$name")"
}
for qd in 1 32 128; do
	sol qd$qd -q "$qd" -t 1
done
sol small -q 31 -e 64 -t 1
"$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf" -l 0 --iommu "$IOMMU" -a "$NVME_BDF" -- -q 8 \
	-o 4096 -w randrw -M 50 -t 2 --verify >"$LOG/perf" 2>&1 || { cat "$LOG/perf"; fail "nvme-perf --verify after nvme-sol"; }
grep -q "mismatches 0" "$LOG/perf" || { cat "$LOG/perf"; fail "nvme-perf --verify after nvme-sol: mismatches"; }
ok "nvme-perf --verify after nvme-sol: $(grep 'errors' "$LOG/perf")"

# 2. igb
read -r PG0 FW0 FW1 PG1 _ <<<"$IGB_BDFS" || true
[ -n "${PG1:-}" ] || skip "need 4 igb ports, found: $IGB_BDFS"
for b in $PG0 $FW0 $FW1 $PG1; do vfio_bind "$b"; done
"$ZDK_BUILD/bench/zdk-igb-sol" -l 1 --iommu "$IOMMU" --file-prefix sol -a "$FW0" -a "$FW1" >"$LOG/isol" 2>&1 &
SOLPID=$!
wait_for 60 grep -q "forwarding port" "$LOG/isol" || { cat "$LOG/isol"; fail "igb-sol did not start"; }
"$ZDK_BUILD/examples/pktgen/zdk-pktgen" -l 0 --iommu "$IOMMU" --file-prefix pktgen -a "$PG0" -a "$PG1" -- \
	--tx-port 0 --rx-port 1 -s 64 -r 20000 -n 50000 --drain-ms 2000 >"$LOG/pg" 2>&1 || true
kill -INT $SOLPID
wait $SOLPID || { cat "$LOG/isol"; fail "igb-sol exited with $?"; }
SOLPID=
res=$(grep RESULT "$LOG/pg") || { cat "$LOG/pg"; fail "pktgen printed no result"; }
val() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$res"; }
[ "$(val rx)" = 50000 ] || fail "igb-sol: pktgen received $(val rx) of 50000: $res"
[ "$(val dup)$(val corrupt)" = 00 ] || fail "igb-sol: $res"
grep -q "forwarded 50000 frames" "$LOG/isol" || { cat "$LOG/isol"; fail "igb-sol's count"; }
ok "igb-sol: 50000 frames at 20k pps, none lost or damaged; $(grep forwarded "$LOG/isol")"

# 3. the wake-up floor
"$ZDK_BUILD/bench/zdk-wake-floor" 1000 1 | grep -q "^RESULT cpu_pct=" || fail "wake-floor printed no figure"
ok "wake-floor: $("$ZDK_BUILD/bench/zdk-wake-floor" 1000 1 | head -1)"
