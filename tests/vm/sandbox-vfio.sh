#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# sandbox-vfio.sh BUILD_DIR: the sandbox guest is what zdk expects. Runs in the
# default guest (intel-iommu) and in the --no-iommu one, in a single boot:
# the 7.3 guest kernel, hugepages, every device present and cabled as
# documented, both NVMe namespaces seen by the kernel driver, one IOMMU group
# per device; then the NVMe bound to vfio-pci with all its /dev nodes, its BAR0
# read through the type1 container and through iommufd, and handed back to
# the kernel nvme driver.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROBE=$ZDK_BUILD/tests/vm/zdk-vfio-probe

check_kernel() {
	local r
	r=$(uname -r)
	case "$r" in 7.3.*) ok "guest kernel $r" ;; *) fail "guest kernel is $r, want 7.3.x" ;; esac
}

check_hugepages() {
	local n2 n1
	n2=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
	n1=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages)
	[ "$n2" = 256 ] || fail "2 MiB hugepages: $n2 reserved, want 256"
	[ "$n1" = 1 ] || fail "1 GiB hugepages: $n1 reserved, want 1"
	grep -q ' /dev/hugepages hugetlbfs .*pagesize=2M' /proc/mounts || fail "/dev/hugepages is not a 2M hugetlbfs"
	grep -q ' /dev/hugepages1G hugetlbfs .*pagesize=1024M' /proc/mounts || fail "/dev/hugepages1G is not a 1G hugetlbfs"
	ok "hugepages: 256 x 2 MiB on /dev/hugepages, 1 x 1 GiB on /dev/hugepages1G"
}

check_devices() {
	set -- $IGB_BDFS
	[ $# -eq 4 ] || fail "want 4 igb, found $#: $IGB_BDFS"
	set -- $VIRTIO_BDFS
	[ $# -eq 2 ] || fail "want 2 virtio-net, found $#: $VIRTIO_BDFS"
	[ -n "$NVME_BDF" ] || fail "no NVMe controller (1b36:0010)"
	[ -n "$E1000E_BDF" ] || fail "no e1000e (8086:10d3)"
	ok "devices: nvme $NVME_BDF, igb $IGB_BDFS, e1000e $E1000E_BDF, virtio $VIRTIO_BDFS"
	zdk_check_cabling
	ok "cabling: the MACs say igb 1-2 and 3-4 and virtio 1-2 share hubs"
}

# Disk names follow probe order, not nsid (the scan is asynchronous): go by nsid.
nvme_disks() { ls -d "/sys/bus/pci/devices/$NVME_BDF"/nvme/nvme*/nvme*n* 2>/dev/null; }
two_disks() { [ "$(nvme_disks | wc -l)" -eq 2 ]; }

check_namespaces() {
	local d nsid bs want seen=
	wait_for 10 two_disks || fail "the kernel nvme driver does not show 2 namespaces on $NVME_BDF: $(nvme_disks)"
	for d in $(nvme_disks); do
		nsid=$(cat "$d/nsid")
		bs=$(cat "$d/queue/logical_block_size")
		case $nsid in 1) want=512 ;; 2) want=4096 ;; *) fail "unexpected nsid $nsid (${d##*/})" ;; esac
		[ "$bs" = "$want" ] || fail "${d##*/} (nsid $nsid): logical block size $bs, want $want"
		seen="$seen ${d##*/}:nsid$nsid:${bs}B"
	done
	ok "namespaces:$seen"
}

# One group per device, as each sits behind its own root port.
check_groups() {
	local bdf g groups=
	for bdf in $NVME_BDF $IGB_BDFS $E1000E_BDF $VIRTIO_BDFS; do
		g=$(readlink "/sys/bus/pci/devices/$bdf/iommu_group") || fail "$bdf has no IOMMU group"
		g=${g##*/}
		case " $groups " in *" $g "*) fail "IOMMU group $g holds more than one test device" ;; esac
		groups="$groups $g"
	done
	[ -e /sys/class/iommu/dmar0 ] || fail "no DMAR unit: intel-iommu missing"
	ok "IOMMU groups:$groups (one per device)"
}

check_vfio() {
	local group cdev node
	vfio_bind "$NVME_BDF"
	group=$(vfio_group "$NVME_BDF")
	cdev=$(vfio_cdev "$NVME_BDF")
	for node in /dev/vfio/vfio "$group" /dev/iommu "$cdev"; do
		[ -c "$node" ] || fail "$node is not a character device"
	done
	if [ "$ZDK_VM_IOMMU" = noiommu ]; then
		case "$group" in /dev/vfio/noiommu-*) ;; *) fail "group $group is not a noiommu group" ;; esac
		case "$cdev" in /dev/vfio/devices/noiommu-vfio*) ;; *) fail "cdev $cdev is not a noiommu cdev" ;; esac
	fi
	ok "$NVME_BDF on vfio-pci: /dev/vfio/vfio $group /dev/iommu $cdev"
}

# BAR0 through both backends: VS must be a real NVMe version and agree.
check_bar0() {
	local be out vs=
	[ -x "$PROBE" ] || fail "$PROBE not built (meson compile -C $ZDK_BUILD)"
	for be in type1 iommufd; do
		out=$("$PROBE" $be "$NVME_BDF") || fail "$be: probe failed: $out"
		echo "$out"
		case "$out" in *" VS 0x0001"*) ;; *) fail "$be: VS is not NVMe 1.x: $out" ;; esac
		[ -z "$vs" ] || [ "${out#* VS }" = "$vs" ] || fail "backends disagree: $vs / ${out#* VS }"
		vs=${out#* VS }
	done
	ok "BAR0 read through type1 and iommufd"
}

check_rebind() {
	kernel_bind "$NVME_BDF"
	wait_for 10 two_disks ||
		fail "namespaces did not come back after kernel_bind"
	ok "$NVME_BDF back on $(basename "$(readlink "/sys/bus/pci/devices/$NVME_BDF/driver")")"
}

[ -d "$ZDK_BUILD" ] || fail "build dir '$ZDK_BUILD' not visible in the guest (it must lie inside the tree)"
echo "guest: $ZDK_VM_IOMMU"
check_kernel
check_hugepages
check_devices
check_namespaces
[ "$ZDK_VM_IOMMU" = iommu ] && check_groups
check_vfio
check_bar0
check_rebind
echo "PASS: sandbox-vfio ($ZDK_VM_IOMMU)"
