#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo step "devices": the PCI functions of the sandbox, lspci-style from
# sysfs: BDF, vendor:device, what it is, its driver, IOMMU group, NUMA node.
set -euo pipefail
. "$(dirname "$0")/../../../tests/vm/lib.sh"

name() {
	case "$1" in
	1b36:0010) echo "NVMe controller (QEMU)" ;;
	8086:10c9) echo "82576 igb NIC" ;;
	8086:10d3) echo "82574L e1000e NIC" ;;
	1af4:1041) echo "virtio-net (modern)" ;;
	1af4:1009) echo "virtio-9p (host share)" ;;
	1b36:000c) echo "PCIe root port" ;;
	1b36:000b) echo "PCIe expander bridge" ;;
	8086:29c0) echo "Q35 host bridge" ;;
	*) echo "-" ;;
	esac
}

printf '%-13s %-10s %-24s %-11s %-6s %s\n' BDF ID DEVICE DRIVER GROUP NODE
for dev in /sys/bus/pci/devices/*; do
	id=$(sed 's/^0x//' "$dev/vendor"):$(sed 's/^0x//' "$dev/device")
	drv=-
	[ -e "$dev/driver" ] && drv=$(basename "$(readlink "$dev/driver")")
	grp=-
	[ -e "$dev/iommu_group" ] && grp=$(basename "$(readlink "$dev/iommu_group")")
	printf '%-13s %-10s %-24s %-11s %-6s %s\n' "${dev##*/}" "$id" "$(name "$id")" "$drv" "$grp" \
		"$(cat "$dev/numa_node")"
done
echo
echo "IOMMU: $ZDK_VM_IOMMU; /dev/iommu: $([ -c /dev/iommu ] && echo yes || echo no);" \
	"hugepages: $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) x 2 MiB," \
	"$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages) x 1 GiB"
