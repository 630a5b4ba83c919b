#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# --numa guest: one arena per node, each on its node; lcore 1 and the igb
# behind the node-1 expander report node 1; DMA works from both nodes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

probe() { timeout 120 "$ZDK_BUILD/tests/vm/core/core_probe" "$@"; }
probe=probe
numa_igb=
for bdf in $IGB_BDFS; do
	[ "$(cat /sys/bus/pci/devices/$bdf/numa_node)" = 1 ] && numa_igb=$bdf
done
[ -n "$numa_igb" ] || fail "no igb on node 1 in the --numa guest"
vfio_bind "$numa_igb"
vfio_bind "$NVME_BDF"
"$probe" -l 0-1 -a "$numa_igb" --no-probe -m 32,32 -- numa "$numa_igb" || fail "NUMA placement"
"$probe" -l 0-1 --iommu=iommufd -a "$NVME_BDF" -a "$numa_igb" --no-probe -m 32,32 -- iommufd "$NVME_BDF" ||
	fail "DMA with an arena on two nodes"
