#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# outside-linux.sh BUILD_DIR: the outside program of tests/install (built from
# the installed zdk with pkg-config, in C shared and C++ static) against
# QEMU's NVMe: it reads what the Linux nvme driver wrote and writes what
# Linux then reads, byte-identical, having started zdk with no device and
# attached the controller itself (zdk_eal_init() then zdk_nvme_ctrlr_attach()).
# Modes: NVME_IOMMU_MODES (default "iommufd type1"; the --no-iommu guest
# passes noiommu).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$ZDK_BUILD" ] || fail "usage: $0 BUILD_DIR"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller (1b36:0010) in this guest"
OUT=$ZDK_BUILD/tests/install/out
if [ ! -x "$OUT/outside-c-shared" ]; then
	"$(dirname "$0")/../install/install-test.sh" "$(cd "$(dirname "$0")/../.." && pwd)" \
		"$ZDK_BUILD" >/dev/null || fail "the install test failed: run it on the host"
fi
LIBDIR=$(dirname "$(find "$OUT/root" -name libzdk.so | head -n 1)")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
N=16 # 4 KiB blocks, 64 KiB

kernel_dev() {
	kernel_bind "$NVME_BDF"
	wait_for 10 nvme_blockdev "$NVME_BDF" 1 >/dev/null || fail "no block device for nsid 1"
	nvme_blockdev "$NVME_BDF" 1
}

for mode in ${NVME_IOMMU_MODES:-iommufd type1}; do
	for prog in outside-c-shared outside-cxx-static; do
		run=(env LD_LIBRARY_PATH="$LIBDIR" "$OUT/$prog" -l 0 --iommu="$mode" -b "$NVME_BDF"
		     --file-prefix outside --)
		lba=$(((RANDOM % 4000 + 1) * 16))
		# Linux writes, the outside program reads.
		head -c $((N * 4096)) /dev/urandom >"$TMP/linux"
		dev=$(kernel_dev)
		dd if="$TMP/linux" of="$dev" bs=4096 seek=$lba oflag=direct conv=fsync status=none
		vfio_bind "$NVME_BDF"
		"${run[@]}" "$NVME_BDF" read $lba $N >"$TMP/got" || fail "$mode: $prog read failed"
		cmp "$TMP/got" "$TMP/linux" || fail "$mode: $prog read other bytes than Linux wrote"
		# The outside program writes, Linux reads.
		head -c $((N * 4096)) /dev/urandom >"$TMP/zdk"
		"${run[@]}" "$NVME_BDF" write $((lba + N)) $N <"$TMP/zdk" || fail "$mode: $prog write failed"
		dev=$(kernel_dev)
		dd if="$dev" of="$TMP/back" bs=4096 skip=$((lba + N)) count=$N iflag=direct status=none
		cmp "$TMP/back" "$TMP/zdk" || fail "$mode: Linux reads other bytes than $prog wrote"
		vfio_bind "$NVME_BDF"
		ok "$mode: $prog (from the installed zdk): reads what Linux wrote, writes what Linux reads"
	done
done
