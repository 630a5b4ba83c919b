#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tools-devbind.sh BUILD_DIR: zdk-devbind and zdk-doctor against the real
# kernel. Default guest: --status lists the NVMe, 4 igb, the e1000e and 2
# virtio-net on their kernel drivers; devbind refuses a NIC whose interface
# is up; doctor fails on the NVMe while nvme holds it (and says the devbind
# command) and passes once --bind=vfio-pci put it on vfio-pci; --restore gives
# it back to nvme and its block devices come back, but not while a process
# holds its VFIO group; as nobody, doctor reports the node permissions.
# --no-iommu guest: doctor reports the no-IOMMU state; the rest works alike.
# --numa guest: also the igb on node 1, with hugepages on its node.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DEVBIND=$ZDK_BUILD/app/zdk-devbind/zdk-devbind
DOCTOR=$ZDK_BUILD/app/zdk-doctor/zdk-doctor
[ -x "$DEVBIND" ] && [ -x "$DOCTOR" ] || fail "no $DEVBIND or $DOCTOR: build first"
[ -n "$NVME_BDF" ] || fail "no NVMe controller (1b36:0010)"

if [ -n "$(ls /sys/class/iommu)" ]; then MODE=iommu; else MODE=noiommu; fi
ok "guest mode: $MODE"

# The lines of the status section TITLE.
section() { awk -v t="$1" '$0 == t { on = 1; next } /^$/ { on = 0 } on' <<<"$STATUS"; }

# listed TITLE BDF DRIVER: status shows BDF under TITLE bound to DRIVER.
listed() {
	section "$1" | grep -q "^$2 .* drv=$3 " ||
		fail "status: $2 not under '$1' with drv=$3:"$'\n'"$STATUS"
}

# run_tool OUT_VAR WANT_RC CMD...: run CMD, keep its stdout+stderr, check its exit status.
run_tool() {
	local var=$1 want=$2 rc=0 text
	shift 2
	text=$("$@" 2>&1) || rc=$?
	printf -v "$var" '%s' "$text"
	[ "$rc" = "$want" ] || fail "$* exited $rc, want $want:"$'\n'"$text"
}

# expect TEXT LINE: TEXT has LINE (fixed string).
expect() { grep -qF -- "$2" <<<"$1" || fail "missing '$2' in:"$'\n'"$1"; }

nvme_blocks() { ls -d /sys/bus/pci/devices/"$NVME_BDF"/nvme/nvme*/nvme*n* 2>/dev/null | wc -l; }

check_status_kernel() {
	local bdf
	run_tool STATUS 0 "$DEVBIND" --status
	echo "$STATUS"
	listed "Storage devices using a kernel driver" "$NVME_BDF" nvme
	for bdf in $IGB_BDFS; do listed "Network devices using a kernel driver" "$bdf" igb; done
	listed "Network devices using a kernel driver" "$E1000E_BDF" e1000e
	for bdf in $VIRTIO_BDFS; do listed "Network devices using a kernel driver" "$bdf" virtio-pci; done
	section "Network devices bound to vfio-pci" | grep -q '^[0-9a-f]\{4\}:' &&
		fail "status: a NIC is already on vfio-pci:"$'\n'"$STATUS"
	if [ $MODE = iommu ]; then
		grep -q "^$NVME_BDF .* iommu_group=[0-9]" <<<"$STATUS" || fail "status: no IOMMU group for the NVMe"
	fi
	ok "status: nvme $NVME_BDF, igb $IGB_BDFS, e1000e $E1000E_BDF, virtio $VIRTIO_BDFS on their kernel drivers"
}

# The kernel uses a NIC whose interface is up: devbind refuses, --force would not.
check_in_use() {
	local bdf=${IGB_BDFS%% *} ifname out
	ifname=$(ls "/sys/bus/pci/devices/$bdf/net")
	ip link set dev "$ifname" up
	run_tool out 1 "$DEVBIND" --bind=vfio-pci "$bdf"
	ip link set dev "$ifname" down
	expect "$out" "$bdf: in use (network interface $ifname is up): stop using it first, or --force"
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")" = igb ] || fail "$bdf left igb"
	ok "devbind refuses $bdf while $ifname is up"
}

check_doctor_before() {
	local out
	run_tool out 1 "$DOCTOR" -a "$NVME_BDF"
	expect "$out" "[FAIL] $NVME_BDF: bound to nvme, not vfio-pci"
	expect "$out" "       fix: zdk-devbind --bind=vfio-pci $NVME_BDF"
	expect "$out" "[ OK ] vfio-pci: loaded"
	if [ $MODE = iommu ]; then
		expect "$out" "[ OK ] IOMMU: enabled"
		expect "$out" "[ OK ] iommufd: /dev/iommu present"
		expect "$out" "[ OK ] no-IOMMU mode: off"
	else
		expect "$out" "[WARN] no-IOMMU mode: enabled"
		expect "$out" "[WARN] IOMMU: none; zdk can run only in VFIO's unsafe no-IOMMU mode"
	fi
	ok "doctor exits 1 while nvme holds $NVME_BDF and names the devbind fix"
}

check_bind() {
	local out
	[ "$(nvme_blocks)" -ge 1 ] || fail "the NVMe has no block device before the bind"
	run_tool out 0 "$DEVBIND" --bind=vfio-pci "$NVME_BDF"
	expect "$out" "$NVME_BDF: bound to vfio-pci (was nvme)"
	wait_for 10 _vfio_ready "$NVME_BDF" || fail "no /dev/vfio nodes for $NVME_BDF after the bind"
	run_tool STATUS 0 "$DEVBIND"
	listed "Storage devices bound to vfio-pci" "$NVME_BDF" vfio-pci
	run_tool out 0 "$DEVBIND" --bind=vfio-pci "$NVME_BDF"
	expect "$out" "$NVME_BDF: already bound to vfio-pci"
	ok "devbind --bind=vfio-pci $NVME_BDF; status shows it bound"
}

check_doctor_after() {
	local out group
	run_tool out 0 "$DOCTOR" -a "$NVME_BDF" -m 64
	echo "$out"
	group=$(basename "$(readlink "/sys/bus/pci/devices/$NVME_BDF/iommu_group")")
	expect "$out" "[ OK ] $NVME_BDF: bound to vfio-pci"
	expect "$out" "[ OK ] $NVME_BDF: IOMMU group $group viable"
	expect "$out" "[ OK ] hugepages: node 0 has "
	expect "$out" "[ OK ] hugetlbfs: 2M pages mounted at /dev/hugepages"
	expect "$out" "[ OK ] hugetlbfs: 1G pages mounted at /dev/hugepages1G"
	expect "$out" "zdk-doctor: ready for zdk"
	if [ $MODE = iommu ]; then
		expect "$out" "[ OK ] $NVME_BDF: /dev/vfio/$group accessible"
		expect "$out" "[ OK ] $NVME_BDF: /dev/iommu accessible"
		grep -qF "[WARN]" <<<"$out" && fail "doctor warns on a ready IOMMU guest"
	else
		expect "$out" "[ OK ] $NVME_BDF: /dev/vfio/noiommu-$group accessible"
		expect "$out" "[WARN] no-IOMMU mode: enabled"
	fi
	# Without -a it finds the devices on vfio-pci by itself.
	run_tool out 0 "$DOCTOR"
	expect "$out" "[ OK ] $NVME_BDF: bound to vfio-pci"
	ok "doctor exits 0 once $NVME_BDF is on vfio-pci"
}

# A process holding the VFIO group: --restore refuses instead of hanging in unbind.
check_held() {
	local out group
	group=$(vfio_group "$NVME_BDF") || fail "no VFIO group node for $NVME_BDF"
	exec 9<>"$group"
	run_tool out 1 "$DEVBIND" --restore "$NVME_BDF"
	exec 9>&-
	expect "$out" "$NVME_BDF: in use ($group is open in process $$ ("
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$NVME_BDF/driver")")" = vfio-pci ] ||
		fail "$NVME_BDF left vfio-pci"
	ok "devbind --restore refuses while this shell holds $group"
}

# Not root: the device nodes are root's, and doctor says so.
check_doctor_unprivileged() {
	local out group
	group=$(vfio_group "$NVME_BDF")
	run_tool out 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$DOCTOR" -a "$NVME_BDF"
	expect "$out" "[FAIL] $NVME_BDF: permission denied on $group"
	expect "$out" "       fix: uid 65534 (nobody) has no read-write access to $group (root:root, mode 0600): as root run zdk-devbind --grant=nobody $NVME_BDF"
	expect "$out" "[WARN] memlock: RLIMIT_MEMLOCK is "
	ok "doctor as nobody: permission denied on $group, with the fix"
}

check_restore() {
	local out
	run_tool out 0 "$DEVBIND" --restore "$NVME_BDF"
	expect "$out" "$NVME_BDF: bound to nvme (was vfio-pci)"
	[ "$(cat "/sys/bus/pci/devices/$NVME_BDF/driver_override")" = "(null)" ] ||
		fail "driver_override of $NVME_BDF not cleared"
	# nvme probes the namespaces asynchronously.
	wait_for 20 sh -c "[ \$(ls -d /sys/bus/pci/devices/$NVME_BDF/nvme/nvme*/nvme*n* 2>/dev/null | wc -l) -ge 2 ]" ||
		fail "the NVMe namespaces did not come back under nvme"
	wait_for 10 sh -c "ls /dev/nvme*n1 >/dev/null 2>&1" || fail "no /dev/nvme*n1 after --restore"
	run_tool STATUS 0 "$DEVBIND"
	listed "Storage devices using a kernel driver" "$NVME_BDF" nvme
	ok "devbind --restore $NVME_BDF: back on nvme with $(nvme_blocks) block devices"
}

# --numa guest: a NIC on node 1 is shown there, and doctor finds hugepages on its node.
check_numa() {
	local bdf= b out
	[ -d /sys/devices/system/node/node1 ] || return 0
	for b in $IGB_BDFS; do [ "$(cat "/sys/bus/pci/devices/$b/numa_node")" = 1 ] && bdf=$b; done
	[ -n "$bdf" ] || fail "two NUMA nodes but no igb on node 1"
	run_tool STATUS 0 "$DEVBIND"
	grep -q "^$bdf .* numa_node=1" <<<"$STATUS" || fail "status: $bdf not on numa_node=1:"$'\n'"$STATUS"
	run_tool out 0 "$DEVBIND" --bind=vfio-pci "$bdf"
	wait_for 10 _vfio_ready "$bdf" || fail "no /dev/vfio nodes for $bdf"
	run_tool out 0 "$DOCTOR" -a "$bdf" -m 2,2
	expect "$out" "[ OK ] $bdf: on NUMA node 1, "
	expect "$out" "[ OK ] hugepages: node 1 has "
	run_tool out 0 "$DEVBIND" --restore "$bdf"
	expect "$out" "$bdf: bound to igb (was vfio-pci)"
	ok "numa: $bdf on node 1, doctor sees hugepages there; back on igb"
}

check_status_kernel
check_numa
check_in_use
check_doctor_before
check_bind
check_doctor_after
check_doctor_unprivileged
check_held
check_restore
