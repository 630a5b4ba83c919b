#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# virtio-intr.sh BUILD_DIR: receive interrupts of zdk's virtio-net driver on
# QEMU's two cabled virtio-net-pci functions, through the real VFIO and
# MSI-X. Two processes: zdk-virtio-pair -r on the second port receives and
# checks every frame, zdk-virtio-pair -x on the first sends VIRTIO_INTR_COUNT
# 64-byte frames (default 20,000) paced at VIRTIO_INTR_RATE pps (default
# 2,000). Twice per IOMMU mode:
#  - polling (-P: MSI-X set up on the function, the queue polled): every
#    frame arrives once, intact, and the receiver's function takes no MSI-X
#    interrupt (VIRTQ_AVAIL_F_NO_INTERRUPT stays set);
#  - -i (interrupt mode): the same, the receiver slept (it counts its
#    sleeps), and MSI-X interrupts arrived on its function (/proc/interrupts).
# Under iommufd and type1 in the default guest, under VFIO no-IOMMU in the
# --no-iommu guest (VIRTIO_IOMMU_MODES overrides the list).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PAIR=$ZDK_BUILD/tests/vm/zdk-virtio-pair
COUNT=${VIRTIO_INTR_COUNT:-20000}
RATE=${VIRTIO_INTR_RATE:-2000}
[ -x "$PAIR" ] || fail "$PAIR is not built: meson compile -C $ZDK_BUILD"

set -- $VIRTIO_BDFS
[ $# -eq 2 ] || fail "want 2 virtio-net functions (1af4:1041), found $#: $VIRTIO_BDFS"
A=$1 B=$2
vfio_bind "$A"
vfio_bind "$B"

if [ "${ZDK_VM_IOMMU:-iommu}" = noiommu ]; then
	modes=${VIRTIO_IOMMU_MODES:-noiommu}
else
	modes=${VIRTIO_IOMMU_MODES:-iommufd type1}
fi

LOG=$(mktemp -d)
RXPID=
trap '[ -z "$RXPID" ] || kill $RXPID 2>/dev/null || true; rm -rf "$LOG"' EXIT

msix_count() { # BDF: interrupts so far on the MSI-X vectors VFIO holds for it
	awk -v pat="vfio-msix\\[[0-9]+\\]\\($1\\)" 'NR == 1 { n = NF }
		$0 ~ pat { for (i = 2; i <= n + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}

for mode in $modes; do
	for rx in poll intr; do
		name=$mode-$rx
		extra=(-P)
		[ $rx = intr ] && extra=(-i)
		echo "== $name: $COUNT x 64 B at $RATE pps, $A -> $B"
		"$PAIR" -a "$B" --iommu="$mode" --file-prefix vrx --log-level=info -- \
			-r "${extra[@]}" -n "$COUNT" -s 64 >"$LOG/rx-$name" 2>&1 &
		RXPID=$!
		wait_for 60 grep -q "^ready" "$LOG/rx-$name" ||
			{ cat "$LOG/rx-$name"; fail "$name: the receiver did not start"; }
		mac=$(sed -n 's/^ready: mac //p' "$LOG/rx-$name")
		"$PAIR" -a "$A" --iommu="$mode" --file-prefix vtx -- -x "$mac" -n "$COUNT" -s 64 \
			-p "$RATE" >"$LOG/tx-$name" 2>&1 &
		txpid=$!
		# Interrupts over 2 s while frames flow: the vectors go when the receiver exits.
		sleep 3
		i0=$(msix_count "$B")
		sleep 2
		i1=$(msix_count "$B")
		wait $txpid || { cat "$LOG/tx-$name"; fail "$name: the sender failed"; }
		wait $RXPID || { RXPID=; cat "$LOG/rx-$name"; fail "$name: frames lost or damaged"; }
		RXPID=
		grep -vE "^zdk: (eal|mem|pci|iommu):" "$LOG/rx-$name" || true
		grep -q "^received $COUNT of $COUNT, duplicates 0, .*bad length 0, corrupt 0" \
			"$LOG/rx-$name" || fail "$name: $(grep '^received' "$LOG/rx-$name")"
		irq=$((i1 - i0))
		grep -q "receive interrupts on MSI-X vectors" "$LOG/rx-$name" ||
			fail "$name: the driver did not set up MSI-X (--log-level=info)"
		if [ $rx = poll ]; then
			[ "$irq" = 0 ] || fail "$name: the polling receiver took $irq MSI-X interrupts"
			ok "$name: $COUNT frames at $RATE pps, none lost or damaged, no interrupt"
		else
			sleeps=$(sed -n 's/^receiver slept \([0-9]*\) times$/\1/p' "$LOG/rx-$name")
			[ "${sleeps:-0}" -gt 0 ] || fail "$name: the receiver never slept"
			[ "$irq" -gt 0 ] || fail "$name: no MSI-X interrupt on $B while it slept $sleeps times"
			ok "$name: $COUNT frames at $RATE pps, none lost or damaged; $sleeps sleeps, $irq MSI-X interrupts"
		fi
	done
done

kernel_bind "$A"
kernel_bind "$B"
