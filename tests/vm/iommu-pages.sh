#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 13: proof of huge IOMMU pages, read from the VT-d page tables in
# debugfs (zdk-dma-bench --iommu-pages), and the forms zdk-doctor reports.
#  - zdk's arena of 2 MiB hugepages is mapped by 2 MiB IOMMU entries and its
#    1 GiB hugepage by one 1 GiB entry, under iommufd and type1 (VFIO's own
#    container, or iommufd's compat one under --kernel=compat): never 4 KiB;
#  - the trap zdk avoids: 2 MiB pages mapped through a type1 *v1* container
#    become 4 KiB entries on iommufd's compat container (VFIO's own v1 keeps
#    them huge);
#  - zdk-doctor names the container's form and reads the VT-d facts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH=$ZDK_BUILD/app/zdk-dma-bench/zdk-dma-bench
DOCTOR=$ZDK_BUILD/app/zdk-doctor/zdk-doctor
[ -x "$BENCH" ] && [ -x "$DOCTOR" ] || fail "zdk-dma-bench or zdk-doctor is not built"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
BDF=${IGB_BDFS%% *}
vfio_bind "$BDF"
compat=0
[ "${ZDK_VM_KERNEL:-default}" = compat ] && compat=1

# pages ARGS...: the "4K=a 2M=b 1G=c" of one --iommu-pages run
pages() {
	local out
	out=$("$BENCH" -a "$BDF" "$@" 2>&1) || { echo "$out"; fail "zdk-dma-bench $* failed"; }
	echo "$out" | grep '^iommu-pages:' >&2
	echo "$out" | sed -n 's/^iommu-pages: .*: \(4K=.*\)$/\1/p'
}

for mode in iommufd type1; do
	got=$(pages -- --iommu-pages --backend=$mode --arena=64)
	[ "$got" = "4K=0 2M=32 1G=0" ] || fail "$mode: 64 MiB of 2 MiB pages became $got, want 4K=0 2M=32 1G=0"
	ok "$mode: 64 MiB of 2 MiB hugepages -> 32 IOMMU entries of 2 MiB"
	got=$(pages --huge-size=1G -- --iommu-pages --backend=$mode --arena=1024)
	[ "$got" = "4K=0 2M=0 1G=1" ] || fail "$mode: one 1 GiB hugepage became $got, want 4K=0 2M=0 1G=1"
	ok "$mode: one 1 GiB hugepage -> one IOMMU entry of 1 GiB"
done

out=$("$BENCH" -a "$BDF" -- --type1-v1 --arena=64 2>&1) || { echo "$out"; fail "--type1-v1 failed"; }
echo "$out"
got=$(echo "$out" | sed -n 's/^iommu-pages: .*: \(4K=.*\)$/\1/p')
if [ $compat = 1 ]; then
	grep -q "type1 v1 (served by iommufd)" <<<"$out" || fail "v1 on the compat kernel not named as iommufd's"
	[ "$got" = "4K=16384 2M=0 1G=0" ] ||
		fail "type1 v1 on iommufd's container: $got, want 16384 entries of 4 KiB (huge pages disabled)"
	ok "the trap: type1 v1 on iommufd's compat container maps 2 MiB pages as 4 KiB entries"
else
	[ "$got" = "4K=0 2M=32 1G=0" ] || fail "type1 v1 on VFIO's container: $got, want 2 MiB entries"
	ok "type1 v1 on VFIO's own container keeps 2 MiB entries"
fi

out=$("$DOCTOR" -a "$BDF" 2>&1 || true)
echo "$out" | grep -E "IOMMU (forms|hardware)|IOVA ranges"
if [ $compat = 1 ]; then
	grep -q "type1 through iommufd's compat container" <<<"$out" || fail "doctor: compat container not named"
else
	grep -q "type1 through VFIO's own container" <<<"$out" || fail "doctor: VFIO's container not named"
fi
grep -q "IOMMU hardware (via vfio[0-9]*): Intel VT-d: .* page sizes 4K 2M 1G" <<<"$out" ||
	fail "doctor: no VT-d facts with 2M and 1G pages"
grep -q "IOVA ranges (via vfio[0-9]*): \[0x" <<<"$out" || fail "doctor: no IOVA ranges"
ok "zdk-doctor names the container's form and reads the VT-d facts"
kernel_bind "$BDF"
