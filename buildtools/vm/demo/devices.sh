#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo step "devices": the PCI functions of the sandbox, lspci-style from
# sysfs: BDF, vendor:device, what it is, its driver, IOMMU group, NUMA node.
set -euo pipefail
. "$(dirname "$0")/../../../tests/vm/lib.sh"

# No subshells in the loop: under TCG every fork costs ~0.1 s.
name() { # sets NAME
	case "$1" in
	1b36:0010) NAME="NVMe controller (QEMU)" ;;
	8086:10c9) NAME="82576 igb NIC" ;;
	8086:10d3) NAME="82574L e1000e NIC" ;;
	1af4:1041) NAME="virtio-net (modern)" ;;
	1af4:1009) NAME="virtio-9p (host share)" ;;
	1b36:000c) NAME="PCIe root port" ;;
	1b36:000b) NAME="PCIe expander bridge" ;;
	8086:29c0) NAME="Q35 host bridge" ;;
	*) NAME=- ;;
	esac
}

link_name() { # sets LINK to the last component of a symlink's target, or "-"
	LINK=-
	if cd -P "$1" 2>/dev/null; then
		LINK=${PWD##*/}
		cd - >/dev/null
	fi
}

printf '%-13s %-10s %-24s %-11s %-6s %s\n' BDF ID DEVICE DRIVER GROUP NODE
for dev in /sys/bus/pci/devices/*; do
	read -r ven <"$dev/vendor"
	read -r did <"$dev/device"
	read -r node <"$dev/numa_node"
	id=${ven#0x}:${did#0x}
	name "$id"
	link_name "$dev/driver"
	drv=$LINK
	link_name "$dev/iommu_group"
	printf '%-13s %-10s %-24s %-11s %-6s %s\n' "${dev##*/}" "$id" "$NAME" "$drv" "$LINK" "$node"
done
read -r n2 </sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
read -r n1 </sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
echo
echo "IOMMU: $ZDK_VM_IOMMU; /dev/iommu: $([ -c /dev/iommu ] && echo yes || echo no);" \
	"hugepages: $n2 x 2 MiB, $n1 x 1 GiB"
