#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# dma-bench-noiommu.sh BUILD_DIR (--no-iommu guest): zdk-dma-bench --quick on
# both no-IOMMU paths (issue 13). Through iommufd, a map pins and asks the
# kernel for physical addresses: raw IOMMU_IOAS_MAP, zdk_iommu_map() and
# zdk_dma_map() all have figures, by VA and by file. Through the group,
# zdk_dma_map() locks the pages and reads /proc/self/pagemap: only its
# figures exist. Every figure measured and positive; no time limits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=$ZDK_BUILD/app/zdk-dma-bench/zdk-dma-bench
[ -x "$BENCH" ] || fail "$BENCH is not built"
BDF=${IGB_BDFS%% *}
vfio_bind "$BDF"
OUT=$(mktemp -d)
"$BENCH" -a "$BDF" -- --quick --tests=latency,arena --csv "$OUT/q.csv" | tee "$OUT/table" ||
	fail "zdk-dma-bench --quick failed"
fig() { # BACKEND TEST BACKING SIZE PATH
	awk -F, -v b="$1" -v t="$2" -v m="$3" -v s="$4" -v p="$5" \
		'$1 == b && $2 == t && $3 == m && $4 == s && $6 == p && $12 > 0 { print $8 }' "$OUT/q.csv"
}
need() { [ -n "$2" ] && awk -v v="$2" 'BEGIN { exit !(v > 0) }' || fail "$1: not measured"; }
for size in 4096 65536 2097152; do
	for path in raw zdk dma; do
		need "noiommu-iommufd $path map $size" "$(fig noiommu-iommufd map 2M $size $path)"
	done
	need "noiommu-iommufd-file raw map $size" "$(fig noiommu-iommufd-file map 2M $size raw)"
	need "noiommu-group dma map $size" "$(fig noiommu-group map 2M $size dma)"
	need "noiommu-group dma unmap $size" "$(fig noiommu-group unmap 2M $size dma)"
done
ok "no-IOMMU: map/unmap figures through iommufd (raw, zdk, dma, file) and the group (dma)"
rm -rf "$OUT"
kernel_bind "$BDF"
