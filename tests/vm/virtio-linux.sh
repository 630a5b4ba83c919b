#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# virtio-linux.sh BUILD_DIR: zdk's virtio-net driver against the Linux one.
# The first virtio-net port goes to vfio-pci and zdk, the second stays with
# the kernel's virtio_net, read and written through an AF_PACKET socket
# (virtio-linux.py). Frames of sizes 60..1514 go zdk -> Linux, then
# Linux -> zdk; each side checks that every frame came once, with its length
# and every payload byte, and counts frames out of order without failing:
# QEMU's hub reorders when a receiver's ring fills, which a sender that does
# not wait for the receiver (either driver here) can cause. Under
# iommufd and type1 in the default guest, noiommu in the --no-iommu guest.
# ZDK_VIRTIO_LINUX_COUNT frames each way (default 2000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PAIR=$ZDK_BUILD/tests/vm/zdk-virtio-pair
PY=$(dirname "$0")/virtio-linux.py
N=${ZDK_VIRTIO_LINUX_COUNT:-2000}
[ -x "$PAIR" ] || fail "$PAIR is not built: meson compile -C $ZDK_BUILD"
command -v python3 >/dev/null || skip "python3 is not installed"

set -- $VIRTIO_BDFS
[ $# -eq 2 ] || fail "want 2 virtio-net functions (1af4:1041), found $#: $VIRTIO_BDFS"
A=$1 B=$2
kernel_bind "$B"
vfio_bind "$A"
net=$(echo /sys/bus/pci/devices/"$B"/virtio*/net/*)
[ -d "$net" ] || fail "$B has no kernel network interface"
IF=${net##*/}
ip link set "$IF" up || fail "cannot bring $IF up"
MAC_B=$(cat "$net/address")

LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

if [ "${ZDK_VM_IOMMU:-iommu}" = noiommu ]; then
	modes=noiommu
else
	modes="iommufd type1"
fi

for mode in $modes; do
	echo "== $mode: $N frames zdk ($A) -> Linux ($B, $IF)"
	python3 "$PY" recv "$IF" "$N" >"$LOG/py" 2>&1 &
	py=$!
	wait_for 20 grep -q ready "$LOG/py" || { cat "$LOG/py"; fail "the AF_PACKET receiver did not start"; }
	"$PAIR" -a "$A" --iommu="$mode" -- -n "$N" -s 0 -x "$MAC_B" || fail "$mode: zdk could not send"
	wait $py || { cat "$LOG/py"; fail "$mode: Linux did not receive zdk's frames intact"; }
	cat "$LOG/py"
	ok "$mode: $N frames from zdk received once each and intact by Linux virtio_net"

	echo "== $mode: $N frames Linux ($B, $IF) -> zdk ($A)"
	"$PAIR" -a "$A" --iommu="$mode" -- -n "$N" -s 0 -r >"$LOG/zdk" 2>&1 &
	zdk=$!
	wait_for 60 grep -q "^ready" "$LOG/zdk" || { cat "$LOG/zdk"; fail "zdk did not start"; }
	mac=$(sed -n 's/^ready: mac //p' "$LOG/zdk")
	python3 "$PY" send "$IF" "$N" "$mac" || fail "$mode: Linux could not send"
	wait $zdk || { cat "$LOG/zdk"; fail "$mode: zdk did not receive Linux's frames intact"; }
	cat "$LOG/zdk"
	ok "$mode: $N frames from Linux virtio_net received once each and intact by zdk"
done
