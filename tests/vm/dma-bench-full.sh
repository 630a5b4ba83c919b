#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# dma-bench-full.sh BUILD_DIR [OUT_DIR]: the full zdk-dma-bench run behind
# doc/dma-bench.md (a few minutes under TCG; not part of the vm suite, which
# runs dma-bench-quick.sh). Writes OUT_DIR/dma-bench.{txt,csv,svg}:
#   buildtools/vm/run --timeout 1200 -- tests/vm/dma-bench-full.sh build doc
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=$ZDK_BUILD/app/zdk-dma-bench/zdk-dma-bench
OUT=${2:-.}
[ -x "$BENCH" ] || fail "$BENCH is not built"
set -- $IGB_BDFS
[ $# -ge 1 ] || fail "no igb in the guest"
BDF=$1
vfio_bind "$BDF"
echo "guest: Linux $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB," \
	"dma_entry_limit=$(cat /sys/module/vfio_iommu_type1/parameters/dma_entry_limit)" | tee "$OUT/dma-bench.txt"
echo "command: zdk-dma-bench -a $BDF -- --csv dma-bench.csv --plot dma-bench.svg" | tee -a "$OUT/dma-bench.txt"
"$BENCH" -a "$BDF" -- --csv "$OUT/dma-bench.csv" --plot "$OUT/dma-bench.svg" | tee -a "$OUT/dma-bench.txt"
kernel_bind "$BDF"
