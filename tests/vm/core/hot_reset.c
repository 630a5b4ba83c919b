// SPDX-License-Identifier: BSD-3-Clause
/*
 * hot_reset - zdk_pci_reset() on functions that have no reset of their own
 * (issue 13): the two functions of one virtio-net device with neither FLR
 * nor PM reset. Each gets a device status written through its BAR (virtio
 * 1.x, 4.1.4.3: ACKNOWLEDGE | DRIVER); after zdk_pci_reset() of the first,
 * which can only be a PCI hot reset of their bus, both statuses must read 0,
 * through the same BAR mappings.
 * Usage: hot_reset [zdk options: -a F0 -a F1 --iommu=M --no-probe] -- F0 F1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_eal.h"
#include "zdk_iommu.h"
#include "zdk_pci.h"

#define CHECK(c, ...)                                                       \
	do {                                                                \
		if (!(c)) {                                                 \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #c); \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
			exit(1);                                            \
		}                                                           \
	} while (0)

/* virtio 1.x, 4.1.4: vendor capability, cfg_type 1 = common configuration */
#define PCI_CAP_PTR 0x34
#define PCI_CAP_VNDR 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define COMMON_DEVICE_STATUS 0x14

static volatile uint8_t *status_reg(struct zdk_pci_device *d)
{
	uint8_t pos = 0, hdr[2], cfg_type, bar;
	uint32_t off;
	void *va;
	size_t len;

	CHECK(zdk_pci_cfg_read(d, &pos, 1, PCI_CAP_PTR) == 0, "%s: config read", d->name);
	for (int n = 0; pos && n < 48; n++) {
		CHECK(zdk_pci_cfg_read(d, hdr, 2, pos) == 0, "%s: cap read", d->name);
		if (hdr[0] == PCI_CAP_VNDR) {
			CHECK(zdk_pci_cfg_read(d, &cfg_type, 1, pos + 3) == 0, "cfg_type");
			CHECK(zdk_pci_cfg_read(d, &bar, 1, pos + 4) == 0, "bar");
			CHECK(zdk_pci_cfg_read(d, &off, 4, pos + 8) == 0, "offset");
			if (cfg_type == VIRTIO_PCI_CAP_COMMON_CFG) {
				CHECK(bar < 6 && zdk_pci_bar_map(d, bar, &va, &len) == 0,
				      "%s: BAR%u", d->name, bar);
				CHECK(off + COMMON_DEVICE_STATUS < len, "offset %u in %zu", off, len);
				return (volatile uint8_t *)va + off + COMMON_DEVICE_STATUS;
			}
		}
		pos = hdr[1];
	}
	CHECK(0, "%s: no virtio common configuration capability", d->name);
	return NULL;
}

int main(int argc, char **argv)
{
	struct zdk_pci_device *f[2];
	volatile uint8_t *st[2];
	int ret = zdk_eal_init(argc, argv);

	CHECK(ret >= 0, "zdk_eal_init: %d", ret);
	argc -= ret;
	argv += ret;
	CHECK(argc == 3, "usage: hot_reset [zdk options] -- F0 F1");
	for (int i = 0; i < 2; i++) {
		f[i] = zdk_pci_device_find(argv[1 + i]);
		CHECK(f[i], "%s is not open (pass -a %s)", argv[1 + i], argv[1 + i]);
		st[i] = status_reg(f[i]);
		*st[i] = 0; /* a virtio reset first: status is written from 0 */
		*st[i] = 1;
		*st[i] = 1 | 2;
		CHECK(*st[i] == 3, "%s: status reads %u after writing 3", f[i]->name, *st[i]);
	}
	printf("%s: status 3 on both functions before the reset\n", zdk_iommu_form());
	ret = zdk_pci_reset(f[0]);
	CHECK(ret == 0, "zdk_pci_reset(%s) = %d", f[0]->name, ret);
	for (int i = 0; i < 2; i++)
		CHECK(*st[i] == 0, "%s: status still %u after the bus reset", f[i]->name, *st[i]);
	printf("ok: %s: both functions reset through their bus (status 0)\n", zdk_iommu_form());
	zdk_eal_cleanup();
	return 0;
}
