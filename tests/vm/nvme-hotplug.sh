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
# controller is clean; then nvme-perf --verify on both controllers loses
# the first to a device_del mid-run, reports its I/O as removed and
# finishes on the other, clean.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROG=$ZDK_BUILD/tests/vm/nvme/zdk-nvme-hotplug
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$PROG" ] || fail "zdk-nvme-hotplug is not built"
BDF=$NVME_BDF
vfio_bind "$BDF"
here=$(cd "$(dirname "$0")" && pwd)
QMP=$here/../../buildtools/vm/qmp
# The namespaces wait in the NVM subsystem (buildtools/vm/run) for the
# controller to come back.
ADD="$QMP device_add nvme,id=nvme0,serial=zdk-nvme0,subsys=nvme0subsys,bus=rp_nvme0 &&
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
grep -q "^errors 0, verified reads [1-9][0-9]*, mismatches 0" "$ZDK_BUILD/hotplug-perf.log" ||
	{ cat "$ZDK_BUILD/hotplug-perf.log"; fail "nvme-perf saw errors after the re-add"; }
ok "nvme-perf --verify on the re-added controller: clean"

vfio_bind "$NVME_INTEL_BDF"
# nvme-perf itself: the first controller unplugged in the middle of a
# --verify run on both controllers; the run ends normally on the other.
PLOG=$ZDK_BUILD/hotplug-perf2.log
timeout 120 "$PERF" -l 0 -a "$BDF" -a "$NVME_INTEL_BDF" -- -q 32 -o 4096 -w randrw -t 8 --verify >"$PLOG" 2>&1 &
PPID2=$!
sleep 4
$QMP device_del nvme0 >/dev/null || fail "device_del nvme0"
rc=0
wait $PPID2 || rc=$?
[ $rc = 0 ] || { cat "$PLOG"; fail "nvme-perf exited $rc after a controller was removed"; }
grep -q "$BDF ns [0-9]*: controller removed" "$PLOG" || { cat "$PLOG"; fail "nvme-perf did not report the removal"; }
grep -q "^errors 0, verified reads [1-9][0-9]*, mismatches 0, I/O failed as its controller was removed" "$PLOG" ||
	{ cat "$PLOG"; fail "nvme-perf: errors or mismatches besides the removal"; }
row=$(grep -E "^0 +$NVME_INTEL_BDF/1 " "$PLOG") || { cat "$PLOG"; fail "no row for $NVME_INTEL_BDF"; }
iops=$(awk '{ print int($3) }' <<<"$row")
[ "$iops" -gt 0 ] || fail "the other controller did no I/O: $row"
ok "nvme-perf --verify: $BDF removed mid-run, reported, and the run finished on $NVME_INTEL_BDF ($iops IOPS), clean"
