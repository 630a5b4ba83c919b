#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The NVMe driver on QEMU's controller through the real VFIO, under each IOMMU
# backend (NVME_IOMMU_MODES, default "iommufd type1"): identify both
# namespaces, 64 MiB of writes of random size, offset and buffer alignment
# read back and compared on each, then the same with three controller resets
# in the middle of the writes (nothing lost, failed or completed twice), and
# I/O from ordinary memory registered with zdk_dma_map(), and a controller
# attached after an init that opened no device (detached and attached again).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$ZDK_BUILD" ] || fail "usage: $0 BUILD_DIR"
CHECK=$ZDK_BUILD/tests/vm/nvme/zdk-nvme-vmcheck
[ -x "$CHECK" ] || fail "$CHECK is not built"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller (1b36:0010) in this guest"
vfio_bind "$NVME_BDF"

for mode in ${NVME_IOMMU_MODES:-iommufd type1}; do
	eal=(-l 0 -a "$NVME_BDF" --iommu="$mode")
	echo "== $mode"
	"$CHECK" "${eal[@]}" -- identify 1:512,2:4096 || fail "$mode: identify"
	ok "$mode: identify: nsid 1 has 512 B LBAs, nsid 2 has 4 KiB LBAs"
	for nsid in 1 2; do
		"$CHECK" "${eal[@]}" -- stress $nsid 64 $((RANDOM + 1)) || fail "$mode: stress nsid $nsid"
		ok "$mode: nsid $nsid: 64 MiB random writes read back identical"
	done
	"$CHECK" "${eal[@]}" -- stress 1 64 $((RANDOM + 1)) reset || fail "$mode: reset during I/O"
	ok "$mode: three resets during writes lost nothing"
	# zdk_eal_init() with no device, then zdk_nvme_ctrlr_attach(), twice;
	# and the same with --iommu=auto, where init chose no backend before.
	for m in "$mode" auto; do
		"$CHECK" -l 0 -b "$NVME_BDF" --iommu="$m" -- lateattach "$NVME_BDF" 1 $RANDOM ||
			fail "$m: attach after init"
		ok "--iommu=$m: a controller attached after init DMAs to buffers made before it, again after detach"
	done
	for nsid in 1 2; do
		"$CHECK" "${eal[@]}" -- extmem $nsid $RANDOM || fail "$mode: zdk_dma_map()ped buffers"
	done
	ok "$mode: I/O from zdk_dma_map()ped memory on both namespaces"
done
