#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo step "l2fwd": pktgen on one igb of each cabled pair, l2fwd on the
# other two (igb 1 -> igb 2 -> l2fwd -> igb 3 -> igb 4), 100,000 UDP frames
# checked end to end: loss, duplicates, payload, rewritten MACs, latency.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NIC_COUNT=${NIC_COUNT:-100000} exec "$here/../../../tests/vm/nic-l2fwd.sh" "$@"
