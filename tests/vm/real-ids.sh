#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# real-ids.sh BUILD_DIR: zdk on devices that are not QEMU's own IDs, in the
# shapes real machines have (issue 10).
# - The small NVMe with Intel's ID (8086:5845; mdts=1, two I/O queues of 16
#   entries): matched by class code, and nvme-perf --verify on two lcores
#   (one qpair each, shared by the namespaces), at -q 32 (fitted to the
#   queue), and with 16 KiB I/O (split above MDTS). Under each backend.
# - In the --no-iommu guest, the transitional virtio-net pair (1af4:1000, no
#   ACCESS_PLATFORM): pktgen across it, checked frame by frame.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
PKTGEN=$ZDK_BUILD/examples/pktgen/zdk-pktgen
[ -n "$NVME_INTEL_BDF" ] || skip "no NVMe with Intel's ID (8086:5845) in this guest"
vfio_bind "$NVME_INTEL_BDF"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

if [ "${ZDK_VM_IOMMU:-iommu}" = noiommu ]; then modes=noiommu; else modes="iommufd type1"; fi
for mode in $modes; do
	for args in "-q 32 -o 4096" "-q 8 -o 16384"; do
		# No -a: the controller is found by its class code among the bound devices.
		"$PERF" -l 0-1 --iommu="$mode" -- $args -w randrw -M 50 -t 3 --verify >"$LOG" 2>&1 ||
			{ cat "$LOG"; fail "$mode: nvme-perf $args on $NVME_INTEL_BDF"; }
		grep -q "^[01] *$NVME_INTEL_BDF/1 " "$LOG" ||
			{ cat "$LOG"; fail "$mode: nvme-perf did not drive $NVME_INTEL_BDF on both lcores"; }
		grep -Eq '^errors 0, verified reads [1-9][0-9]*, mismatches 0$' "$LOG" ||
			{ cat "$LOG"; fail "$mode: nvme-perf $args: errors or mismatches"; }
		grep -E "^total|its queues hold" "$LOG" || true
		ok "$mode: 8086:5845 (mdts=1, 2 x 16 entries), two lcores, $args: verified, no error"
	done
done

[ "${ZDK_VM_IOMMU:-iommu}" = noiommu ] || exit 0
set -- $VIRTIO_T_BDFS
[ $# -eq 2 ] || fail "want 2 transitional virtio-net (1af4:1000), found $#: $VIRTIO_T_BDFS"
vfio_bind "$1"
vfio_bind "$2"
"$PKTGEN" -a "$1" -a "$2" --iommu=noiommu -- --tx-port 0 --rx-port 1 -s 64 -r 50000 \
	-n 200000 --drain-ms 2000 >"$LOG" 2>&1 || true
res=$(grep "RESULT" "$LOG") || { cat "$LOG"; fail "pktgen printed no result"; }
echo "$res"
val() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$res"; }
[ "$(val tx)" = 200000 ] && [ "$(val rx)" = 200000 ] && [ "$(val dup)" = 0 ] &&
	[ "$(val corrupt)" = 0 ] || fail "pktgen over the transitional pair: $res"
ok "transitional virtio-net (1af4:1000, no ACCESS_PLATFORM): 200000 frames, none lost or corrupted"
