#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# zdk and the Linux nvme driver see the same bytes: data zdk writes is read
# back byte-identical with dd through /dev/nvme0nX after a rebind, and data
# dd writes is read back identical by zdk; then nvme-perf --verify runs clean
# on both namespaces. Under iommufd and type1 (NVME_IOMMU_MODES).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$ZDK_BUILD" ] || fail "usage: $0 BUILD_DIR"
CHECK=$ZDK_BUILD/tests/vm/nvme/zdk-nvme-vmcheck
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$CHECK" ] && [ -x "$PERF" ] || fail "zdk-nvme-vmcheck or zdk-nvme-perf is not built"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller (1b36:0010) in this guest"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

kernel_dev() {
	kernel_bind "$NVME_BDF"
	wait_for 10 nvme_blockdev "$NVME_BDF" "$1" >/dev/null ||
		fail "no block device for nsid $1 under the nvme driver"
	nvme_blockdev "$NVME_BDF" "$1"
}

BYTES=$((3 * 1024 * 1024 + 8192))
for mode in ${NVME_IOMMU_MODES:-iommufd type1}; do
	eal=(-l 0 -a "$NVME_BDF" --iommu="$mode")
	echo "== $mode"
	for nsid in 1 2; do
		lbs=$((nsid == 1 ? 512 : 4096))
		lba=$(((RANDOM % 1000 + 1) * 8))
		seed=$RANDOM
		# zdk writes, Linux reads.
		vfio_bind "$NVME_BDF"
		"$CHECK" "${eal[@]}" -- write $nsid $lba $BYTES $seed || fail "$mode: zdk write nsid $nsid"
		dev=$(kernel_dev $nsid)
		[ "$(cat /sys/block/${dev#/dev/}/queue/logical_block_size)" = $lbs ] ||
			fail "$dev: LBA size is not $lbs"
		dd if="$dev" of="$TMP/read" bs=$lbs skip=$lba count=$((BYTES / lbs)) iflag=direct status=none
		"$CHECK" gen $seed $((lba * lbs)) $BYTES >"$TMP/want"
		cmp "$TMP/read" "$TMP/want" || fail "$mode: nsid $nsid: Linux reads other bytes than zdk wrote"
		ok "$mode: nsid $nsid: $BYTES bytes written by zdk read identical by Linux"
		# Linux writes, zdk reads.
		seed=$((seed + 1))
		"$CHECK" gen $seed $((lba * lbs)) $BYTES >"$TMP/want"
		dd if="$TMP/want" of="$dev" bs=$lbs seek=$lba oflag=direct conv=fsync status=none
		vfio_bind "$NVME_BDF"
		"$CHECK" "${eal[@]}" -- check $nsid $lba $BYTES $seed ||
			fail "$mode: nsid $nsid: zdk reads other bytes than Linux wrote"
		ok "$mode: nsid $nsid: $BYTES bytes written by Linux read identical by zdk"
	done
	out=$("$PERF" "${eal[@]}" -- -q 16 -o 4096 -w randrw -M 50 -t 4 -n 1,2 --verify) ||
		{ echo "$out"; fail "$mode: nvme-perf --verify failed"; }
	echo "$out"
	echo "$out" | grep -Eq 'mismatches 0$' || fail "$mode: nvme-perf reported mismatches"
	verified=$(echo "$out" | sed -n 's/.*verified reads \([0-9]*\),.*/\1/p')
	[ "${verified:-0}" -gt 0 ] || fail "$mode: nvme-perf verified no read"
	ok "$mode: nvme-perf --verify on both namespaces: $verified reads checked, no mismatch"
done
