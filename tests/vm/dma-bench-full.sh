#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# dma-bench-full.sh BUILD_DIR [OUT_DIR] [BENCH OPTIONS]: one guest's part of
# the zdk-dma-bench runs behind doc/dma-bench.md (a few minutes under TCG;
# not part of the vm suite, which runs dma-bench-quick.sh). Writes
# OUT_DIR/dma-bench.{txt,csv,svg}, or with DMA_BENCH_TAG=T dma-bench-T.*.
# buildtools/dma-bench-all runs it in each kind of guest and merges them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=$ZDK_BUILD/app/zdk-dma-bench/zdk-dma-bench
OUT=${2:-.}
shift 2 2>/dev/null || shift $#
EXTRA=("$@")
NAME=dma-bench${DMA_BENCH_TAG:+-$DMA_BENCH_TAG}
[ -x "$BENCH" ] || fail "$BENCH is not built"
set -- $IGB_BDFS
[ $# -ge 1 ] || fail "no igb in the guest"
BDF=$1
vfio_bind "$BDF"
echo "guest: Linux $(uname -r) (${ZDK_VM_KERNEL:-default} kernel, ${ZDK_VM_IOMMU:-iommu}), $(nproc) vCPUs," \
	"$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB," \
	"dma_entry_limit=$(cat /sys/module/vfio_iommu_type1/parameters/dma_entry_limit 2>/dev/null || echo none)" |
	tee "$OUT/$NAME.txt"
echo "command: zdk-dma-bench -a $BDF -- --csv $NAME.csv --plot $NAME.svg ${EXTRA[*]}" | tee -a "$OUT/$NAME.txt"
"$BENCH" -a "$BDF" -- --csv "$OUT/$NAME.csv" --plot "$OUT/$NAME.svg" "${EXTRA[@]}" | tee -a "$OUT/$NAME.txt"
kernel_bind "$BDF"
