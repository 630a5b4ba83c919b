#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 13: a function with no reset of its own (no FLR, no PM reset, and a
# bus it shares with another function) is reset through its bus: state
# written before zdk_pci_reset() is gone after it, under iommufd (the cdev:
# ownership proven by the iommufd, an empty group list) and type1 (the group
# fds as proof). Under the compat kernel type1 is iommufd's container.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

prog=$ZDK_BUILD/tests/vm/core/hot_reset
[ -x "$prog" ] || fail "hot_reset is not built"
read -r f0 f1 <<<"$VIRTIO_BUS_BDFS"
[ -n "${f1:-}" ] || fail "the sandbox has no two virtio-net on one bus (VIRTIO_BUS_BDFS='$VIRTIO_BUS_BDFS')"
# Neither has FLR. Where QEMU gives a function PM reset, the kernel takes it
# as a function reset, though it leaves virtio's state as it was (seen on a
# PCIe virtio-net: VFIO_DEVICE_RESET returned 0, device_status still read
# 3). The hot reset path is for functions with no reset at all: tell the
# kernel to use none (an empty reset_method), as on a device that lacks them.
for f in "$f0" "$f1"; do
	echo "$f: reset methods '$(cat "/sys/bus/pci/devices/$f/reset_method" 2>/dev/null)'"
	echo > "/sys/bus/pci/devices/$f/reset_method" 2>/dev/null || true
	[ -z "$(cat "/sys/bus/pci/devices/$f/reset_method" 2>/dev/null)" ] || fail "$f still has reset methods"
done
vfio_bind "$f0"
vfio_bind "$f1"

for mode in iommufd type1; do
	out=$(timeout 120 "$prog" -l 0 -m 64 --iommu=$mode --no-probe -a "$f0" -a "$f1" \
		--log-level=info -- "$f0" "$f1" 2>&1) || { echo "$out"; fail "$mode: hot reset"; }
	echo "$out" | grep -E '^ok|hot reset|reset through' || true
	grep -q "^ok:" <<<"$out" || { echo "$out"; fail "$mode: no ok line"; }
	grep -q "reset through its bus" <<<"$out" ||
		{ echo "$out"; fail "$mode: zdk did not say it reset through the bus"; }
	if [ "${ZDK_VM_KERNEL:-default}" = compat ] && [ $mode = type1 ]; then
		grep -q "type1 (served by iommufd)" <<<"$out" ||
			{ echo "$out"; fail "compat kernel: type1 not named as iommufd's container"; }
	fi
	ok "$mode: both functions reset through their bus"
done
