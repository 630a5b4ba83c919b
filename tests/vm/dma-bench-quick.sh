#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# dma-bench-quick.sh BUILD_DIR: zdk-dma-bench --quick under type1 and iommufd
# (one process each, merged) on an igb bound to vfio-pci. Asserts that every
# backend produced its figures and that they are sane: nonzero, a 2 MiB map
# of one hugepage cheaper than the same 2 MiB of 4 KiB pages, resident memory
# mapped faster than fresh memory, an arena lookup cheaper than a map per
# I/O, and a plot drawn. No time limits: figures vary between boots.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=$ZDK_BUILD/app/zdk-dma-bench/zdk-dma-bench
[ -x "$BENCH" ] || fail "$BENCH is not built"
set -- $IGB_BDFS
[ $# -ge 1 ] || fail "no igb in the guest"
BDF=$1
vfio_bind "$BDF"

OUT=$(mktemp -d)
CSV=$OUT/quick.csv
"$BENCH" -a "$BDF" -- --quick --csv "$CSV" --plot "$OUT/quick.svg" | tee "$OUT/table" ||
	fail "zdk-dma-bench --quick failed"

# fig BACKEND TEST BACKING SIZE PATH: the median, or nothing if not measured.
fig() {
	awk -F, -v b="$1" -v t="$2" -v m="$3" -v s="$4" -v p="$5" \
		'$1 == b && $2 == t && $3 == m && $4 == s && $6 == p && $12 > 0 { print $8 }' "$CSV"
}

# need NAME VALUE: a measured, positive figure.
need() {
	[ -n "$2" ] || fail "$1: not measured (see the table above)"
	awk -v v="$2" 'BEGIN { exit !(v > 0) }' || fail "$1 = $2, want > 0"
}

# less NAME A B: A < B.
less() {
	awk -v a="$2" -v b="$3" 'BEGIN { exit !(a < b) }' || fail "$1: $2 is not below $3"
	ok "$1: $2 < $3"
}

K4=4096 M2=2097152
# Under the compat kernel, type1 is iommufd's container: its own label.
T1=type1
[ "${ZDK_VM_KERNEL:-default}" = compat ] && T1=type1-compat
for be in $T1 iommufd iommufd-file; do
	for path in raw zdk; do
		for mem in 4K 2M 1G; do
			for size in $K4 65536 $M2; do
				need "$be $path map $size on $mem pages" "$(fig $be map $mem $size $path)"
				need "$be $path unmap $size on $mem pages" "$(fig $be unmap $mem $size $path)"
			done
		done
	done
	less "$be: map 2M, one 2M hugepage vs 512 4K pages (us)" \
		"$(fig $be map 2M $M2 raw)" "$(fig $be map 4K $M2 raw)"
	first=$(fig $be arena-first 2M 33554432 raw)
	again=$(fig $be arena-again 2M 33554432 raw)
	need "$be arena-first" "$first"
	less "$be: 32M of 2M pages, fresh vs resident (GiB/s)" "$first" "$again"
done
for be in $T1 iommufd; do
	need "$be dma map 4K" "$(fig $be map 4K $K4 dma)"
	need "$be small maps/s" "$(fig $be small-maps 4K $K4 raw)"
	held=$(fig $be maps-held 4K $K4 raw)
	[ "$held" = 4096 ] || fail "$be: $held small maps held, want all 4096 (--quick stays below any limit)"
	need "$be 2 threads" "$(fig $be threads 4K $K4 raw)"
	once=$(fig $be io-once 4K 0 zdk)
	need "$be io-once" "$once"
	less "$be: ns per I/O, map once vs map per I/O" "$once" "$(fig $be io-per-io 4K 0 raw)"
	less "$be: ns per I/O, warm cache vs map per I/O" "$(fig $be io-cache-hot 4K 0 dma)" \
		"$(fig $be io-per-io 4K 0 dma)"
done
grep -q '<svg' "$OUT/quick.svg" || fail "no SVG from gnuplot"
ok "figures for $T1, iommufd and iommufd-file; plot $(stat -c %s "$OUT/quick.svg") bytes"
kernel_bind "$BDF"
rm -rf "$OUT"
