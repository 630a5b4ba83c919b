#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# device-busy.sh BUILD_DIR: a second process that asks for a device the first
# one holds gets, at once, an error that names the holder's pid (issue 11),
# under iommufd and type1; it does not hang, and the first one is unharmed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller in this guest"
vfio_bind "$NVME_BDF"
LOG=$(mktemp)
trap 'rm -f "$LOG"; kill $HOLDER 2>/dev/null || true' EXIT

for mode in iommufd type1; do
	"$PERF" -l 0 -a "$NVME_BDF" --iommu=$mode --file-prefix holder -- -q 4 -t 6 -w randread \
		>"$LOG.holder" 2>&1 &
	HOLDER=$!
	wait_for 30 grep -q "IOMMU backend" "$LOG.holder" || fail "$mode: the first nvme-perf did not start"
	sleep 1
	rc=0
	timeout 20 "$PERF" -l 0 -a "$NVME_BDF" --iommu=$mode --file-prefix second -- -q 4 -t 1 \
		>"$LOG" 2>&1 || rc=$?
	cat "$LOG"
	[ $rc -ne 124 ] || fail "$mode: the second process hung"
	[ $rc -ne 0 ] || fail "$mode: the second process opened a device in use"
	grep -q "$NVME_BDF is in use: .* open in process $HOLDER " "$LOG" ||
		fail "$mode: the error does not name the holder (pid $HOLDER)"
	wait $HOLDER || fail "$mode: the holder failed: $(tail -3 "$LOG.holder")"
	ok "$mode: a second process is refused at once, naming pid $HOLDER; the first ran on"
done
