# SPDX-License-Identifier: BSD-3-Clause
#
# tests/vm/lib.sh: helpers for the scripts that run inside the sandbox guest.
# Source it first thing: `. "$(dirname "$0")/lib.sh"`; the script's first
# argument is the meson build dir, kept in ZDK_BUILD.
#
# Devices (see buildtools/vm/run), listed in slot order:
#   NVME_BDF      1b36:0010  two namespaces: nsid 1 512 B LBA, nsid 2 4 KiB LBA
#   IGB_BDFS      8086:10c9  four ports; cabled 1st <-> 2nd and 3rd <-> 4th
#   E1000E_BDF    8086:10d3  alone on its hub
#   VIRTIO_BDFS   1af4:1041  two modern virtio-net, cabled to each other
#   NVME_INTEL_BDF 8086:5845 a small controller with Intel's ID (mdts=1, 2 x 16 entries)
#   VIRTIO_T_BDFS 1af4:1000  two transitional virtio-net without ACCESS_PLATFORM,
#                            cabled to each other (--no-iommu guest only)
#   VIRTIO_BUS_BDFS 1af4:1041 two virtio-net without FLR on one conventional PCI
#                            bus behind a pcie-pci-bridge (only a bus reset works)
# QEMU's ids for buildtools/vm/qmp: nvme0 (NVME_BDF), igb0..igb3, e1000e0,
# virtio0, virtio1, nvme1 (NVME_INTEL_BDF), vbus0, vbus1.
# Each NIC's MAC is 52:54:00:5a:HH:PP (HH = its hub, PP = its port on the hub,
# from 01); zdk_check_cabling verifies the slot order against it.
#
# Functions: zdk_bdfs ID, vfio_bind BDF, kernel_bind BDF, nvme_blockdev BDF NSID, vfio_group BDF,
# vfio_cdev BDF, zdk_mac BDF, zdk_check_cabling, skip MSG, fail MSG, ok MSG.
# Exit codes follow meson: 0 pass, 77 skip, anything else fails.

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

[ "${ZDK_VM:-}" = 1 ] || skip "not inside the sandbox: run it as buildtools/vm/run -- $0 BUILD_DIR"

ZDK_BUILD=${ZDK_BUILD:-${1:-}}

# zdk_bdfs VENDOR:DEVICE: the BDFs of the matching functions, in slot order.
# (Builtins only: under TCG each exec costs milliseconds.)
zdk_bdfs() {
	local want_v=0x${1%%:*} want_d=0x${1##*:} dev v d
	for dev in /sys/bus/pci/devices/*; do
		read -r v <"$dev/vendor"
		read -r d <"$dev/device"
		[ "$v" = "$want_v" ] && [ "$d" = "$want_d" ] && echo "${dev##*/}"
	done
	return 0
}

NVME_BDF=$(zdk_bdfs 1b36:0010)
NVME_BDF=${NVME_BDF%%$'\n'*}
IGB_BDFS=$(zdk_bdfs 8086:10c9)
IGB_BDFS=${IGB_BDFS//$'\n'/ }
E1000E_BDF=$(zdk_bdfs 8086:10d3)
E1000E_BDF=${E1000E_BDF%%$'\n'*}
VIRTIO_BDFS=
VIRTIO_BUS_BDFS=
for _b in $(zdk_bdfs 1af4:1041); do # those that share their bus apart
	_n=(/sys/bus/pci/devices/"${_b%:*}":*)
	if [ ${#_n[@]} -gt 1 ]; then
		VIRTIO_BUS_BDFS+="${VIRTIO_BUS_BDFS:+ }$_b"
	else
		VIRTIO_BDFS+="${VIRTIO_BDFS:+ }$_b"
	fi
done
NVME_INTEL_BDF=$(zdk_bdfs 8086:5845)
NVME_INTEL_BDF=${NVME_INTEL_BDF%%$'\n'*}
VIRTIO_T_BDFS=$(zdk_bdfs 1af4:1000) # transitional; --no-iommu guest only
VIRTIO_T_BDFS=${VIRTIO_T_BDFS//$'\n'/ }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.1
	done
}

# nvme_blockdev BDF NSID: the kernel's block device for namespace NSID of the
# controller at BDF (names follow discovery order, and several controllers
# have an nsid 1), once it shows up.
nvme_blockdev() {
	local d dev
	for d in /sys/block/nvme*n*; do
		[ -e "$d/nsid" ] && [ "$(cat "$d/nsid")" = "$2" ] || continue
		dev=$(readlink -f "$d/device/device")
		[ "${dev##*/}" = "$1" ] || continue
		wait_for 10 test -b "/dev/${d##*/}" && echo "/dev/${d##*/}" && return 0
	done
	return 1
}

_driver() { # the driver a device is bound to, or nothing
	local link=/sys/bus/pci/devices/$1/driver
	[ -e "$link" ] && basename "$(readlink "$link")"
	return 0
}

# vfio_group BDF: /dev/vfio/<group>, or /dev/vfio/noiommu-<group> in no-IOMMU mode.
vfio_group() {
	local g n
	g=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
	n=${g##*/}
	if [ -e "/dev/vfio/$n" ]; then
		echo "/dev/vfio/$n"
	elif [ -e "/dev/vfio/noiommu-$n" ]; then
		echo "/dev/vfio/noiommu-$n"
	else
		return 1
	fi
}

# vfio_cdev BDF: the device's iommufd character device, /dev/vfio/devices/vfioN
# (noiommu-vfioN in no-IOMMU mode).
vfio_cdev() {
	local d
	for d in "/sys/bus/pci/devices/$1"/vfio-dev/vfio* "/sys/bus/pci/devices/$1"/vfio-dev/noiommu-vfio*; do
		[ -e "$d" ] && [ -e "/dev/vfio/devices/${d##*/}" ] && echo "/dev/vfio/devices/${d##*/}" && return 0
	done
	return 1
}

_vfio_ready() { [ "$(_driver "$1")" = vfio-pci ] && vfio_group "$1" >/dev/null && vfio_cdev "$1" >/dev/null; }

# vfio_bind BDF: hand the device to vfio-pci and wait for its /dev/vfio nodes.
# The kernel nvme driver probes asynchronously after boot; taking the device
# away before it is live can leave the unbind waiting on it. Wait first.
_nvme_settled() {
	local s
	for s in /sys/bus/pci/devices/$1/nvme/nvme*/state; do
		[ -e "$s" ] || return 1
		case "$(cat "$s")" in live | dead | deleting*) ;; *) return 1 ;; esac
	done
}

vfio_bind() {
	local bdf=$1 dev=/sys/bus/pci/devices/$1 drv
	[ -d "$dev" ] || fail "vfio_bind: no PCI device $bdf"
	drv=$(_driver "$bdf")
	[ "$drv" = vfio-pci ] && return 0
	if [ "$drv" = nvme ]; then
		wait_for 60 _nvme_settled "$bdf" || echo "vfio_bind: $bdf: the nvme driver is not live after 60 s"
	fi
	echo vfio-pci >"$dev/driver_override" || fail "vfio_bind: cannot set driver_override of $bdf"
	[ -n "$drv" ] && { echo "$bdf" >"$dev/driver/unbind" || fail "vfio_bind: cannot unbind $bdf from $drv"; }
	echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
	wait_for 10 _vfio_ready "$bdf" ||
		fail "vfio_bind: $bdf did not come up under vfio-pci (driver '$(_driver "$bdf")')"
}

# kernel_bind BDF: give the device back to its kernel driver.
kernel_bind() {
	local bdf=$1 dev=/sys/bus/pci/devices/$1 drv
	[ -d "$dev" ] || fail "kernel_bind: no PCI device $bdf"
	echo >"$dev/driver_override" || fail "kernel_bind: cannot clear driver_override of $bdf"
	drv=$(_driver "$bdf")
	[ -n "$drv" ] && [ "$drv" != vfio-pci ] && return 0
	[ -n "$drv" ] && { echo "$bdf" >"$dev/driver/unbind" || fail "kernel_bind: cannot unbind $bdf from vfio-pci"; }
	echo "$bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
	wait_for 10 sh -c "[ -e $dev/driver ]" || fail "kernel_bind: no kernel driver took $bdf"
}

# zdk_mac BDF: the MAC address of a NIC while its kernel driver holds it.
zdk_mac() {
	local n
	for n in "/sys/bus/pci/devices/$1"/net/* "/sys/bus/pci/devices/$1"/virtio*/net/*; do
		[ -e "$n/address" ] && cat "$n/address" && return 0
	done
	return 1
}

# zdk_check_cabling: each NIC in slot order carries the MAC of the hub port
# buildtools/vm/run gave it, so the pairs are (IGB 1,2), (IGB 3,4), (VIRTIO 1,2).
# Needs the NICs on their kernel drivers.
zdk_check_cabling() {
	local bdf mac want i=0 hub port
	for bdf in $IGB_BDFS $E1000E_BDF $VIRTIO_BDFS; do
		case $i in
		0 | 1) hub=00 port=0$((i + 1)) ;;
		2 | 3) hub=01 port=0$((i - 1)) ;;
		4) hub=02 port=01 ;;
		*) hub=03 port=0$((i - 4)) ;;
		esac
		want=52:54:00:5a:$hub:$port
		mac=$(zdk_mac "$bdf") || fail "cabling: $bdf has no kernel netdev to read its MAC from"
		[ "$mac" = "$want" ] || fail "cabling: $bdf has MAC $mac, want $want (hub $hub port $port)"
		i=$((i + 1))
	done
	[ $i -eq 7 ] || fail "cabling: found $i NICs, want 4 igb + 1 e1000e + 2 virtio"
}
