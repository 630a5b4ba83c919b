/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdk_log.h"
#include "zdk_mem.h"
#include "zdk_pci.h"
#include "test_env.h"

uint64_t test_tsc = 1;
struct fake_nvme *test_fake;
int test_dma_live;
int test_dma_fail_at;
unsigned test_time_warp = 1;
bool test_fake_locked;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

void test_fake_run(struct fake_nvme *f)
{
	if (test_fake_locked)
		pthread_mutex_lock(&fake_lock);
	fake_nvme_run(f);
	if (test_fake_locked)
		pthread_mutex_unlock(&fake_lock);
}

void test_idle(unsigned us)
{
	if (test_fake)
		test_fake_run(test_fake);
	__atomic_fetch_add(&test_tsc, (us ? us : 1) * 1000ULL * test_time_warp, __ATOMIC_RELAXED);
}

uint64_t fake_now_ns(void)
{
	return __atomic_load_n(&test_tsc, __ATOMIC_RELAXED);
}

/*
 * The "arena" is malloc memory: IOVA = VA - 4096 + offset, so a driver that
 * puts a VA in a command is caught. Once a test uses external memory, its
 * window sits at EXT_BASE, translated page by page, and the arena starts
 * above it (malloc memory is far above it, except under valgrind, whose
 * runs, the instruction bench, use no window).
 */
#define EXT_BASE 0x10000000ULL
#define EXT_PAGES 16384u            /* 64 MiB */
#define EXT_END (EXT_BASE + (uint64_t)EXT_PAGES * 4096)
#define NFRAMES (2 * EXT_PAGES)
#define PG 4096u

static uint64_t iova_base[1] = { FAKE_IOVA_OFFSET };
struct zdk_mem_xlate zdk_mem_xlate = {
	.va_base = 4096, .len = UINTPTR_MAX - 4096, .pg_shift = 63, .pg_iova = iova_base,
};

static struct {
	uint8_t *base;
	bool used[EXT_PAGES];
	int32_t frame[EXT_PAGES];    /* -1: not mapped */
	uint8_t *frame_va[NFRAMES];  /* the page behind each frame, NULL if none */
	uint64_t rng;
	bool noiommu;
	struct { uintptr_t va; size_t len; } maps[4096];
	int nmaps;
} ext;

static uint64_t ext_rand(void)
{
	uint64_t z = (ext.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void ext_setup(void)
{
	void *p;

	if (ext.base)
		return;
	p = mmap((void *)EXT_BASE, (size_t)EXT_PAGES * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)EXT_BASE) {
		fprintf(stderr, "test_env: cannot map the external window at %#llx\n", EXT_BASE);
		abort();
	}
	ext.base = p;
	for (unsigned i = 0; i < EXT_PAGES; i++)
		ext.frame[i] = -1;
	/* The same IOVA = VA - 4096 + offset, for the arena above the window only. */
	iova_base[0] = FAKE_IOVA_OFFSET + EXT_END - 4096;
	zdk_mem_xlate.va_base = EXT_END;
	zdk_mem_xlate.len = UINTPTR_MAX - EXT_END;
}

void test_ext_reset(uint64_t seed, bool noiommu)
{
	ext_setup();
	memset(ext.used, 0, sizeof(ext.used));
	memset(ext.frame_va, 0, sizeof(ext.frame_va));
	for (unsigned i = 0; i < EXT_PAGES; i++)
		ext.frame[i] = -1;
	ext.nmaps = 0;
	ext.rng = seed;
	ext.noiommu = noiommu;
}

int test_ext_maps(void)
{
	return ext.nmaps;
}

void *test_ext_alloc(size_t len)
{
	unsigned n = (unsigned)((len + PG - 1) / PG), run = 0;

	ext_setup();
	for (unsigned i = 0; i < EXT_PAGES; i++) {
		run = ext.used[i] ? 0 : run + 1;
		if (run == n) {
			memset(&ext.used[i + 1 - n], 1, n);
			memset(ext.base + (size_t)(i + 1 - n) * PG, 0, (size_t)n * PG);
			return ext.base + (size_t)(i + 1 - n) * PG;
		}
	}
	return NULL;
}

void test_ext_free(void *va, size_t len)
{
	size_t i = (size_t)((uint8_t *)va - ext.base) / PG;

	memset(&ext.used[i], 0, (len + PG - 1) / PG);
}

static bool frame_free(int64_t f)
{
	return f < 0 || f >= NFRAMES || !ext.frame_va[f];
}

/* No-IOMMU: any free frame but the one after the previous page's. */
static int32_t pick_scattered(int32_t prev)
{
	for (;;) {
		int32_t f = (int32_t)(ext_rand() % NFRAMES);

		if (!ext.frame_va[f] && f != prev + 1)
			return f;
	}
}

/* IOMMU: @n free frames in a row, with a free frame on each side. */
static int32_t pick_range(unsigned n)
{
	for (int tries = 0; tries < 100000; tries++) {
		int32_t f = (int32_t)(ext_rand() % (NFRAMES - n));
		bool ok = frame_free(f - 1) && frame_free((int64_t)f + n);

		for (unsigned i = 0; ok && i < n; i++)
			ok = !ext.frame_va[f + i];
		if (ok)
			return f;
	}
	return -1;
}

int zdk_dma_map(void *va, size_t len, uint64_t *iova)
{
	uint8_t *p = va;
	size_t first = (size_t)(p - ext.base) / PG, n = len / PG;
	int32_t f = -1;

	if (!ext.base || p < ext.base || first + n > EXT_PAGES || (uintptr_t)p % PG || len % PG ||
	    !len || ext.nmaps == (int)ZDK_ARRAY_SIZE(ext.maps))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (ext.frame[first + i] >= 0)
			return -EEXIST;
	if (!ext.noiommu && (f = pick_range((unsigned)n)) < 0)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		int32_t fr = ext.noiommu ? pick_scattered(i ? ext.frame[first + i - 1] : -2) : f + (int32_t)i;

		ext.frame[first + i] = fr;
		ext.frame_va[fr] = p + i * PG;
	}
	ext.maps[ext.nmaps].va = (uintptr_t)va;
	ext.maps[ext.nmaps++].len = len;
	*iova = FAKE_PHYS_BASE + (uint64_t)ext.frame[first] * PG;
	return 0;
}

int zdk_dma_unmap(void *va, size_t len)
{
	size_t first = (size_t)((uint8_t *)va - ext.base) / PG;

	for (int m = 0; m < ext.nmaps; m++) {
		if (ext.maps[m].va != (uintptr_t)va || ext.maps[m].len != len)
			continue;
		for (size_t i = 0; i < len / PG; i++) {
			ext.frame_va[ext.frame[first + i]] = NULL;
			ext.frame[first + i] = -1;
		}
		ext.maps[m] = ext.maps[--ext.nmaps];
		return 0;
	}
	return -ENOENT;
}

/* The frame of an external address, or -1. */
static int32_t ext_frame(const void *va)
{
	const uint8_t *p = va;

	if (!ext.base || p < ext.base || p >= ext.base + (size_t)EXT_PAGES * PG)
		return -1;
	return ext.frame[(size_t)(p - ext.base) / PG];
}

uint64_t zdk_virt2iova_slow(const void *va)
{
	int32_t f = ext_frame(va);

	return f < 0 ? ZDK_BAD_IOVA : FAKE_PHYS_BASE + (uint64_t)f * PG + (uintptr_t)va % PG;
}

uint64_t zdk_virt2iova_run(const void *va, size_t max, size_t *run)
{
	uintptr_t p = (uintptr_t)va;
	int32_t f = ext_frame(va);
	size_t n;

	*run = 0;
	if (p - zdk_mem_xlate.va_base < zdk_mem_xlate.len) {
		*run = max;
		return zdk_virt2iova(va);
	}
	if (f < 0)
		return ZDK_BAD_IOVA;
	n = PG - p % PG;
	while (n < max && ext_frame((void *)(p + n)) == f + 1) {
		f++;
		n += PG;
	}
	*run = n < max ? n : max;
	return zdk_virt2iova_slow(va);
}

/* What the fake controller's DMA reaches at @iova, if @len bytes are there. */
void *fake_dma_va(uint64_t iova, uint64_t len)
{
	if (iova >= FAKE_IOVA_OFFSET && iova < FAKE_IOVA_OFFSET + (1ULL << 47) &&
	    iova + len <= FAKE_IOVA_OFFSET + (1ULL << 47))
		return (void *)(uintptr_t)(iova - FAKE_IOVA_OFFSET + 4096);
	if (iova >= FAKE_PHYS_BASE && iova < FAKE_PHYS_BASE + (uint64_t)NFRAMES * PG) {
		uint64_t f = (iova - FAKE_PHYS_BASE) / PG, off = iova % PG;

		if (off + len <= PG && ext.frame_va[f])
			return ext.frame_va[f] + off;
	}
	return NULL;
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
	if ((uintptr_t)p < zdk_mem_xlate.va_base) {
		fprintf(stderr, "test_env: malloc returned %p, below the fake arena\n", p);
		abort();
	}
	memset(p, 0, size);
	__atomic_fetch_add(&test_dma_live, 1, __ATOMIC_RELAXED);
	if (iova)
		*iova = zdk_virt2iova(p);
	return p;
}

void zdk_dma_free(void *va)
{
	if (!va)
		return;
	__atomic_fetch_sub(&test_dma_live, 1, __ATOMIC_RELAXED);
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

/* The driver's removal hook: a test calls it as lib/pci's event thread would. */
void (*test_on_remove)(struct zdk_pci_device *dev);

void zdk_pci_device_on_remove(struct zdk_pci_device *dev, void (*fn)(struct zdk_pci_device *dev))
{
	(void)dev;
	test_on_remove = fn;
}

bool zdk_pci_device_removed(const struct zdk_pci_device *dev)
{
	(void)dev;
	return false;
}

int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable)
{
	(void)dev;
	test_bus_master = enable;
	return 0;
}

/*
 * MSI-X: test_msix_vectors vectors (0: none), each a real eventfd that the
 * fake controller writes when it posts to a CQ created with IEN on it.
 */
int test_msix_vectors = 8;
int test_irq_enables;

int zdk_pci_irq_count(struct zdk_pci_device *dev, enum zdk_pci_irq_type type)
{
	(void)dev;
	return type == ZDK_PCI_IRQ_MSIX ? test_msix_vectors : 0;
}

int zdk_pci_irq_enable(struct zdk_pci_device *dev, enum zdk_pci_irq_type type, unsigned count,
		       int *efds)
{
	(void)dev;
	if (type != ZDK_PCI_IRQ_MSIX || !test_fake || count > (unsigned)test_msix_vectors ||
	    count > FAKE_MAX_VECTORS)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efds[i] < 0)
			abort();
		test_fake->irq_efd[i] = efds[i];
	}
	test_fake->nr_vectors = count;
	test_irq_enables++;
	return 0;
}

void zdk_pci_irq_disable(struct zdk_pci_device *dev)
{
	(void)dev;
	if (!test_fake)
		return;
	for (unsigned i = 0; i < test_fake->nr_vectors; i++)
		close(test_fake->irq_efd[i]);
	test_fake->nr_vectors = 0;
}
