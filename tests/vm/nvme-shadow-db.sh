#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Shadow doorbells (Doorbell Buffer Config) on QEMU's controller: nvme-perf
# --shadow-doorbell, verified random reads and writes at QD 1 and 32 for a
# few seconds each, then the same with polling on MMIO doorbells for
# comparison: IOPS > 0, no errors, no mismatches, each verified.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$ZDK_BUILD" ] || fail "usage: $0 BUILD_DIR"
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$PERF" ] || fail "$PERF is not built"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller (1b36:0010) in this guest"
vfio_bind "$NVME_BDF"
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

# jq-less JSON: python3 is in the guest (the benches use it too).
jget() { # FILE EXPR: evaluate EXPR on the JSON in FILE as j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

t="j['rows'][-1]"
for qd in 1 32; do
	for mode in shadow mmio; do
		name=$mode-qd$qd
		args=(-l 0 -a "$NVME_BDF" --log-level err -- -q $qd -o 4096 -w randrw -t 3 --verify --json)
		[ $mode = shadow ] && args+=(--shadow-doorbell)
		"$PERF" "${args[@]}" >"$LOG/$name.json" 2>"$LOG/$name.err" || {
			cat "$LOG/$name.err" "$LOG/$name.json"
			fail "$name: nvme-perf failed"
		}
		[ "$(jget "$LOG/$name.json" "int($t['iops'] > 0)")" = 1 ] || fail "$name: no I/O completed"
		[ "$(jget "$LOG/$name.json" "$t['errors'] + $t['mismatches']")" = 0 ] ||
			fail "$name: errors or mismatches"
		[ "$(jget "$LOG/$name.json" "int($t['verified'] > 0)")" = 1 ] || fail "$name: nothing verified"
		echo "$name: $(jget "$LOG/$name.json" "'%.0f IOPS, p50 %.1f us' % ($t['iops'], $t['lat_us']['p50'])")"
	done
	ok "QD $qd: shadow doorbells: verified I/O, no errors"
done
