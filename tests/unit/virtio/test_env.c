/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_env.c - host stand-ins for lib/mem, lib/pci, lib/iommu and lib/eal,
 * just enough to run drivers/net/virtio with lib/eth and lib/mbuf on fake
 * devices under ASan/UBSan.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_log.h"
#include "zdk_mem.h"
#include "fake_virtio.h"
#include "test_env.h"

/*
 * DMA memory
 */
struct dma_block {
	void *va;
	size_t len;
	struct dma_block *next;
};

static struct dma_block *blocks;
static unsigned fail_countdown;

struct zdk_mem_xlate zdk_mem_xlate; /* empty: every lookup takes the slow path */

void test_dma_fail_nth(unsigned n)
{
	fail_countdown = n;
}

void *zdk_dma_zalloc(size_t size, size_t align, int socket, uint64_t *iova)
{
	struct dma_block *b;

	if (fail_countdown && --fail_countdown == 0)
		return NULL;
	if (align < ZDK_CACHE_LINE)
		align = ZDK_CACHE_LINE;
	b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	b->len = size;
	b->va = aligned_alloc(align, ZDK_ALIGN_UP(size ? size : 1, align));
	if (!b->va) {
		free(b);
		return NULL;
	}
	memset(b->va, 0, size);
	b->next = blocks;
	blocks = b;
	if (iova)
		*iova = (uint64_t)(uintptr_t)b->va ^ TEST_IOVA_XOR;
	return b->va;
}

void zdk_dma_free(void *va)
{
	for (struct dma_block **p = &blocks; va && *p; p = &(*p)->next) {
		if ((*p)->va == va) {
			struct dma_block *b = *p;

			*p = b->next;
			free(b->va);
			free(b);
			return;
		}
	}
}

static struct dma_block *block_find(uintptr_t va, size_t len)
{
	for (struct dma_block *b = blocks; b; b = b->next)
		if (va >= (uintptr_t)b->va && va + len <= (uintptr_t)b->va + b->len)
			return b;
	return NULL;
}

uint64_t zdk_virt2iova_slow(const void *va)
{
	return block_find((uintptr_t)va, 1) ? (uint64_t)(uintptr_t)va ^ TEST_IOVA_XOR
					    : ZDK_BAD_IOVA;
}

void *test_dma_ptr(uint64_t iova, size_t len)
{
	uintptr_t va = (uintptr_t)(iova ^ TEST_IOVA_XOR);

	return len && block_find(va, len) ? (void *)va : NULL;
}

unsigned test_dma_live(void)
{
	unsigned n = 0;

	for (struct dma_block *b = blocks; b; b = b->next)
		n++;
	return n;
}

/*
 * PCI: config space and BARs come from the fake device.
 */
struct zdk_pci_driver *test_pci_driver;

void zdk_pci_driver_register(struct zdk_pci_driver *drv)
{
	test_pci_driver = drv;
}

int zdk_pci_cfg_read(struct zdk_pci_device *dev, void *buf, size_t len, off_t off)
{
	struct fake_virtio *f = fake_virtio_of(dev);

	if (off < 0 || (size_t)off + len > sizeof(f->cfg))
		return -EINVAL;
	memcpy(buf, f->cfg + off, len);
	return 0;
}

int zdk_pci_bar_map(struct zdk_pci_device *dev, int bar, void **va, size_t *len)
{
	struct fake_virtio *f = fake_virtio_of(dev);

	if (bar != FAKE_BAR)
		return -EINVAL;
	*va = f->bar;
	if (len)
		*len = f->bar_len;
	return 0;
}

/* lib/pci's removal, as the event thread drives it: tests call the hook. */
void (*fake_pci_on_remove)(struct zdk_pci_device *dev);
bool fake_pci_gone;

void zdk_pci_device_on_remove(struct zdk_pci_device *dev, void (*fn)(struct zdk_pci_device *dev))
{
	(void)dev;
	fake_pci_on_remove = fn;
}

bool zdk_pci_device_removed(const struct zdk_pci_device *dev)
{
	(void)dev;
	return fake_pci_gone;
}

int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable)
{
	fake_virtio_of(dev)->bus_master = enable;
	return 0;
}

/* MSI-X through "VFIO": real eventfds, which the fake writes (used_notify()). */
int zdk_pci_irq_count(struct zdk_pci_device *dev, enum zdk_pci_irq_type type)
{
	return type == ZDK_PCI_IRQ_MSIX ? fake_virtio_of(dev)->msix_table : 0;
}

int zdk_pci_irq_enable(struct zdk_pci_device *dev, enum zdk_pci_irq_type type, unsigned count,
		       int *efds)
{
	struct fake_virtio *f = fake_virtio_of(dev);

	if (type != ZDK_PCI_IRQ_MSIX || !count || count > f->msix_table ||
	    count > FAKE_MAX_VECTORS)
		return -EINVAL;
	zdk_pci_irq_disable(dev);
	for (unsigned i = 0; i < count; i++) {
		efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efds[i] < 0)
			abort();
		f->irq_efd[i] = efds[i];
	}
	f->nr_vectors = count;
	f->irq_enables++;
	return 0;
}

void zdk_pci_irq_disable(struct zdk_pci_device *dev)
{
	struct fake_virtio *f = fake_virtio_of(dev);

	for (unsigned i = 0; i < f->nr_vectors; i++)
		close(f->irq_efd[i]);
	f->nr_vectors = 0;
}

int zdk_pci_addr_parse(const char *s, struct zdk_pci_addr *addr)
{
	unsigned d, b, s2, f;

	if (sscanf(s, "%x:%x:%x.%x", &d, &b, &s2, &f) != 4)
		return -EINVAL;
	*addr = (struct zdk_pci_addr){ (uint16_t)d, (uint8_t)b, (uint8_t)s2, (uint8_t)f };
	return 0;
}

int zdk_pci_addr_cmp(const struct zdk_pci_addr *a, const struct zdk_pci_addr *b)
{
	return memcmp(a, b, sizeof(*a));
}

/*
 * IOMMU, lcores, time, log
 */
enum zdk_iommu_mode test_iommu_mode = ZDK_IOMMU_IOMMUFD;

enum zdk_iommu_mode zdk_iommu_mode(void)
{
	return test_iommu_mode;
}

unsigned test_lcore = ZDK_LCORE_ANY;

unsigned zdk_lcore_id(void)
{
	return test_lcore;
}

int zdk_socket_id(void)
{
	return 0;
}

uint64_t zdk_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int zdk_log_level = ZDK_LOG_ERR;
char test_last_err[512];
unsigned test_errs;
char test_err_log[4096];

void zdk_log_print(int level, const char *component, const char *fmt, ...)
{
	char msg[sizeof(test_last_err)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level == ZDK_LOG_ERR) {
		size_t used = strlen(test_err_log);

		memcpy(test_last_err, msg, sizeof(msg));
		snprintf(test_err_log + used, sizeof(test_err_log) - used, "%s\n", msg);
		test_errs++;
	}
	if (getenv("ZDK_TEST_VERBOSE"))
		fprintf(stderr, "[%s] %s\n", component, msg);
}
