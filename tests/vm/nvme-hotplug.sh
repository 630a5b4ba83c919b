#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 11: the NVMe controller is unplugged (QMP device_del) under I/O at
# depth 32 on both namespaces, then plugged again (device_add) and attached
# again in the same process, under iommufd and type1 (zdk-nvme-hotplug
# checks every command completed once, the in-flight ones with
# ZDK_NVME_STATUS_REMOVED, and every write reported done is on the media
# after the re-attach). Also checked here: the kernel's removal finished
# (no "blocked until device is released"), zdk released the device within
# 2 s of the kernel's request, and nvme-perf --verify on the re-added
# controller is clean.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROG=$ZDK_BUILD/tests/vm/nvme/zdk-nvme-hotplug
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$PROG" ] || fail "zdk-nvme-hotplug is not built"
BDF=$NVME_BDF
vfio_bind "$BDF"
here=$(cd "$(dirname "$0")" && pwd)
QMP=$here/../../buildtools/vm/qmp
ADD="$QMP device_add nvme,id=nvme0,serial=zdk-nvme0,bus=rp_nvme0 >/dev/null &&
$QMP device_add nvme-ns,id=nvme0n1,drive=nvme0ns1,bus=nvme0,nsid=1,logical_block_size=512,physical_block_size=512 >/dev/null &&
$QMP device_add nvme-ns,id=nvme0n2,drive=nvme0ns2,bus=nvme0,nsid=2,logical_block_size=4096,physical_block_size=4096 >/dev/null &&
bash -c '. $here/lib.sh $ZDK_BUILD; wait_for 20 test -e /sys/bus/pci/devices/$BDF && vfio_bind $BDF'"

for mode in ${HOTPLUG_IOMMU_MODES:-iommufd type1}; do
	echo "== $mode"
	dmesg -C
	out=$(timeout 200 "$PROG" -l 0 -b "$BDF" --iommu=$mode --log-level=info -- "$BDF" \
		"$QMP device_del nvme0 >/dev/null" "$ADD" $RANDOM 2>&1) ||
		{ echo "$out"; fail "$mode: unplug and plug under I/O"; }
	echo "$out" | grep -E "^(seed|removal|re-add|after)|released|removed" || true
	us=$(echo "$out" | sed -n 's/.*released \([0-9]*\) us after the kernel.s request.*/\1/p' | head -n 1)
	[ -n "$us" ] || { echo "$out"; fail "$mode: zdk never said it released the device"; }
	[ "$us" -lt 2000000 ] || fail "$mode: the release took $us us, more than 2 s"
	if dmesg | grep -q "blocked until device is released"; then
		dmesg | tail -n 20
		fail "$mode: the kernel's removal waited on zdk"
	fi
	ok "$mode: unplugged under I/O (released in $us us), plugged and attached again, data verified"
done

# The re-added controller serves nvme-perf --verify on both namespaces.
timeout 120 "$PERF" -l 0 -a "$BDF" -- -q 32 -o 4096 -w randrw -M 50 -t 3 --verify >"$ZDK_BUILD/hotplug-perf.log" 2>&1 ||
	{ cat "$ZDK_BUILD/hotplug-perf.log"; fail "nvme-perf --verify after the re-add"; }
grep -E "mismatch|error" "$ZDK_BUILD/hotplug-perf.log" | grep -vE " 0 (mismatch|error)" && fail "nvme-perf saw errors after the re-add" || true
ok "nvme-perf --verify on the re-added controller: clean"
