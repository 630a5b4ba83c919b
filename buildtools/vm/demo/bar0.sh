#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo step "bar0": bind the NVMe to vfio-pci and read its CAP and VS
# registers from an mmapped BAR0, once through the type1 container and once
# through iommufd (/dev/iommu + /dev/vfio/devices/vfioN), then give the
# device back to the kernel nvme driver.
set -euo pipefail
. "$(dirname "$0")/../../../tests/vm/lib.sh"

probe=$ZDK_BUILD/tests/vm/zdk-vfio-probe
[ -x "$probe" ] || fail "$probe is not built"
vfio_bind "$NVME_BDF"
echo "$NVME_BDF on vfio-pci: group $(vfio_group "$NVME_BDF"), cdev $(vfio_cdev "$NVME_BDF")"
"$probe" type1 "$NVME_BDF"
"$probe" iommufd "$NVME_BDF"
kernel_bind "$NVME_BDF"
