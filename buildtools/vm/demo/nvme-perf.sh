#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo step "nvme-perf": QEMU's NVMe controller driven by zdk through VFIO:
# 4 KiB random reads on both namespaces for 5 s at queue depth 32, then a
# 3 s mixed read/write run with --verify; then the device goes back to the
# kernel nvme driver.
set -euo pipefail
. "$(dirname "$0")/../../../tests/vm/lib.sh"

perf=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$perf" ] || fail "$perf is not built"
vfio_bind "$NVME_BDF"
echo "\$ zdk-nvme-perf -l 0 -a $NVME_BDF -- -q 32 -o 4096 -w randread -t 5"
"$perf" -l 0 -a "$NVME_BDF" -- -q 32 -o 4096 -w randread -t 5
echo
echo "\$ zdk-nvme-perf -l 0 -a $NVME_BDF -- -q 16 -o 4096 -w randrw -M 70 -t 3 --verify"
"$perf" -l 0 -a "$NVME_BDF" -- -q 16 -o 4096 -w randrw -M 70 -t 3 --verify
kernel_bind "$NVME_BDF"
