#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nic-kernel.sh BUILD_DIR: zdk and the Linux igb driver on the two ends of one
# cable (igb 1 <-> igb 2). zdk-pktgen on igb 1 sends frames that an AF_PACKET
# socket on igb 2's kernel netdev checks byte for byte; then the kernel sends
# frames of the same format that zdk-pktgen --rx-only checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

COUNT=${NIC_COUNT:-1000}
SIZE=${NIC_SIZE:-128}
IOMMU=${ZDK_IOMMU:-iommufd}
read -r ZB KB _ <<<"$IGB_BDFS" || true
[ -n "${KB:-}" ] || skip "need 2 igb ports, found: $IGB_BDFS"
[ -d /sys/module/igb ] || modprobe igb 2>/dev/null || skip "the guest kernel has no igb driver"
PKTGEN=$ZDK_BUILD/examples/pktgen/zdk-pktgen
AFP=$(dirname "$0")/nic-afpacket.py
LOG=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$LOG"' EXIT

kernel_bind "$KB"
vfio_bind "$ZB"
wait_for 10 sh -c "ls /sys/bus/pci/devices/$KB/net/ >/dev/null 2>&1" || fail "$KB has no netdev"
IF=$(ls "/sys/bus/pci/devices/$KB/net/")
KMAC=$(cat "/sys/class/net/$IF/address")
ip link set dev "$IF" up
wait_for 15 grep -q up "/sys/class/net/$IF/operstate" || fail "$IF: link did not come up"

# zdk -> kernel
python3 "$AFP" recv "$IF" "$COUNT" "$SIZE" 60 >"$LOG/recv" 2>&1 &
RPID=$!
wait_for 10 grep -q listening "$LOG/recv" || { cat "$LOG/recv"; fail "AF_PACKET receiver did not start"; }
"$PKTGEN" -l 0 --iommu "$IOMMU" -a "$ZB" -- --tx-port 0 --rx-port 0 -n "$COUNT" -r 1000 \
	-s "$SIZE" --dst "$KMAC" --drain-ms 0 | grep RESULT || fail "pktgen failed"
wait $RPID || { cat "$LOG/recv"; fail "the kernel did not receive zdk's frames intact"; }
cat "$LOG/recv"
ok "zdk -> Linux igb: $COUNT frames of $SIZE B received intact"

# kernel -> zdk
ZMAC=52:54:00:5a:00:01
"$PKTGEN" -l 0 --iommu "$IOMMU" -a "$ZB" -- --rx-only --tx-port 0 --rx-port 0 -n "$COUNT" \
	-s "$SIZE" -t 60 --strict >"$LOG/pktgen" 2>&1 &
PPID_=$!
wait_for 60 grep -q "waiting for" "$LOG/pktgen" || { cat "$LOG/pktgen"; fail "pktgen --rx-only did not start"; }
python3 "$AFP" send "$IF" "$COUNT" "$SIZE" "$ZMAC" || fail "AF_PACKET send failed"
wait $PPID_ || { cat "$LOG/pktgen"; fail "zdk did not receive the kernel's frames intact"; }
grep RESULT "$LOG/pktgen"
ok "Linux igb -> zdk: $COUNT frames of $SIZE B received intact"
