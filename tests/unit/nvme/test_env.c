/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_log.h"
#include "zdk_mem.h"
#include "zdk_pci.h"
#include "test_env.h"

uint64_t test_tsc = 1;
struct fake_nvme *test_fake;
int test_dma_live;
int test_dma_fail_at;

void test_idle(unsigned us)
{
	if (test_fake)
		fake_nvme_run(test_fake);
	test_tsc += (us ? us : 1) * 1000ULL;
}

/* IOVA = VA - 4096 + offset: a driver that puts a VA in a command is caught. */
static const uint64_t iova_base[1] = { FAKE_IOVA_OFFSET };
struct zdk_mem_xlate zdk_mem_xlate = {
	.va_base = 4096, .len = UINTPTR_MAX - 4096, .pg_shift = 63, .pg_iova = iova_base,
};

uint64_t zdk_virt2iova_slow(const void *va)
{
	(void)va;
	return ZDK_BAD_IOVA;
}

void *zdk_dma_zalloc(size_t size, size_t align, int socket, uint64_t *iova)
{
	void *p;

	(void)socket;
	if (test_dma_fail_at && --test_dma_fail_at == 0)
		return NULL;
	if (align < 64)
		align = 64;
	size = (size + align - 1) / align * align;
	p = aligned_alloc(align, size ? size : align);
	if (!p)
		return NULL;
	memset(p, 0, size);
	test_dma_live++;
	if (iova)
		*iova = zdk_virt2iova(p);
	return p;
}

void zdk_dma_free(void *va)
{
	if (!va)
		return;
	test_dma_live--;
	free(va);
}

uint64_t zdk_tsc_hz(void)
{
	return 1000000000ULL;
}

int zdk_log_level = ZDK_LOG_ERR;

void zdk_log_print(int level, const char *component, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%d] %s: ", level, component);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* PCI: one fake device at 0000:01:00.0 whose BAR0 is the fake's register page. */
static struct zdk_pci_device fake_dev = {
	.name = "0000:01:00.0", .vendor_id = 0x1b36, .device_id = 0x0010,
	.class_code = 0x010802, .numa_node = -1,
};
static bool fake_dev_open;
int test_bus_master;
const struct zdk_pci_driver *test_registered;

void zdk_pci_driver_register(struct zdk_pci_driver *drv)
{
	test_registered = drv;
}

struct zdk_pci_device *zdk_pci_device_find(const char *bdf)
{
	return fake_dev_open && strcmp(bdf, fake_dev.name) == 0 ? &fake_dev : NULL;
}

int zdk_pci_device_open(const char *bdf, struct zdk_pci_device **dev)
{
	if (strcmp(bdf, fake_dev.name) != 0)
		return -ENODEV;
	if (fake_dev_open)
		return -EBUSY;
	fake_dev_open = true;
	fake_dev.driver_data = NULL;
	*dev = &fake_dev;
	return 0;
}

void zdk_pci_device_close(struct zdk_pci_device *dev)
{
	if (dev == &fake_dev)
		fake_dev_open = false;
}

int zdk_pci_bar_map(struct zdk_pci_device *dev, int bar, void **va, size_t *len)
{
	if (bar != 0 || !test_fake)
		return -EINVAL;
	*va = test_fake->bar;
	if (len)
		*len = sizeof(test_fake->bar);
	return 0;
}

int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable)
{
	(void)dev;
	test_bus_master = enable;
	return 0;
}
