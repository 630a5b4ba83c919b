#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# sandbox-numa.sh BUILD_DIR: the --numa guest has two nodes (cpu 0 on node 0,
# cpu 1 on node 1), hugepages on both, and the 4th igb attached to node 1
# behind its own host bridge, still 4th in slot order and still cabled.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(cat /sys/devices/system/node/online)" = 0-1 ] ||
	fail "nodes online: $(cat /sys/devices/system/node/online), want 0-1"
for n in 0 1; do
	[ "$(cat /sys/devices/system/node/node$n/cpulist)" = $n ] ||
		fail "node $n cpus: $(cat /sys/devices/system/node/node$n/cpulist), want $n"
	p=$(cat /sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages)
	[ "$p" -gt 0 ] || fail "node $n has no 2 MiB hugepages"
	echo "node $n: cpu $n, $p x 2 MiB hugepages"
done
ok "two nodes, hugepages on both"

set -- $IGB_BDFS
[ $# -eq 4 ] || fail "want 4 igb, found $#"
node=$(cat "/sys/bus/pci/devices/$4/numa_node")
[ "$node" = 1 ] || fail "igb 4 ($4) is on node $node, want 1"
for bdf in $1 $2 $3; do
	node=$(cat "/sys/bus/pci/devices/$bdf/numa_node")
	[ "$node" != 1 ] || fail "igb $bdf is on node 1; only the 4th should be"
done
ok "igb 4 ($4) on node 1"
zdk_check_cabling
ok "cabling unchanged"
echo "PASS: sandbox-numa"
