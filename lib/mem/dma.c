/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dma.c - the public DMA memory calls: arena allocation, and external
 * memory an application registers with zdk_dma_map().
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "sys.h"
#include "zdk_lcore.h"
#include "zdk_log.h"

/* External mappings, sorted by VA; read by zdk_virt2iova_slow(). */
struct ext_map {
	uintptr_t va;
	size_t len;
	uint64_t iova;
	uint64_t *pa; /* no-IOMMU: each page's physical address; else NULL */
	uint64_t ioas_iova; /* no-IOMMU through iommufd: where the IOAS pins it; else 0 */
};

static struct {
	pthread_rwlock_t lock;
	struct ext_map *v;
	unsigned n, cap;
	bool lost; /* the kernel dropped the IOMMU mappings (type1's last group left) */
} ext = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static size_t page_size(void)
{
	static size_t pgsz;

	if (!pgsz)
		pgsz = (size_t)sysconf(_SC_PAGESIZE);
	return pgsz;
}

static struct mem_seg *seg_of_node(int node)
{
	struct mem_arena *a = mem_arena_g;

	for (unsigned i = 0; a && i < a->nsegs; i++)
		if (a->segs[i].node == node)
			return &a->segs[i];
	return NULL;
}

void *zdk_dma_zalloc(size_t size, size_t align, int socket, uint64_t *iova)
{
	struct mem_arena *a = mem_arena_g;
	struct mem_seg *s;
	void *va = NULL;

	if (!a || a->frozen)
		return NULL;
	if (socket != ZDK_SOCKET_ANY) {
		s = seg_of_node(socket);
		va = s ? heap_alloc(&s->heap, size, align) : NULL;
	} else {
		/* The caller's node first, then any other. */
		s = seg_of_node(zdk_socket_id());
		if (s)
			va = heap_alloc(&s->heap, size, align);
		for (unsigned i = 0; !va && i < a->nsegs; i++)
			if (&a->segs[i] != s)
				va = heap_alloc(&a->segs[i].heap, size, align);
	}
	if (va && iova)
		*iova = zdk_virt2iova(va);
	return va;
}

void zdk_dma_free(void *va)
{
	struct mem_arena *a = mem_arena_g;

	/* No arena (zdk_eal_cleanup() ran, or a takeover was dropped): nothing to free. */
	if (!va || !a)
		return;
	/* Handed over: the blocks are the new process's now. */
	if (a->frozen) {
		if (!a->released)
			ZDK_ERR("zdk_dma_free(%p) before zdk_handover_commit(): ignored", va);
		return;
	}
	if ((char *)va < a->base + sizeof(struct mem_elem) || (char *)va >= a->base + a->len) {
		ZDK_ERR("zdk_dma_free(%p): not arena memory (a zdk_dma_zalloc() buffer)", va);
		return;
	}
	if (!heap_of(va)) {
		ZDK_ERR("zdk_dma_free(%p): not a live zdk_dma_zalloc() buffer", va);
		return;
	}
	heap_free(va);
}

int zdk_mem_stats_get(int socket, struct zdk_mem_stats *st)
{
	struct mem_seg *s = seg_of_node(socket);

	if (!s)
		return -ENOENT;
	pthread_spin_lock(&s->heap.lock);
	st->total = s->len;
	st->free = s->heap.free_bytes;
	st->allocs = s->heap.nalloc;
	pthread_spin_unlock(&s->heap.lock);
	st->page_size = mem_arena_g->pgsz;
	return 0;
}

/* The external mapping holding @p, under ext.lock; NULL if none. */
static const struct ext_map *ext_find(uintptr_t p)
{
	unsigned lo = 0, hi = ext.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (p < ext.v[mid].va)
			hi = mid;
		else if (p >= ext.v[mid].va + ext.v[mid].len)
			lo = mid + 1;
		else
			return &ext.v[mid];
	}
	return NULL;
}

/*
 * IOVA of @off into @m, and in *@run how many bytes from there (up to @max)
 * are IOVA-contiguous: the rest of the mapping with an IOMMU; without one,
 * up to the first page whose physical address does not follow its
 * predecessor's.
 */
static uint64_t ext_run(const struct ext_map *m, size_t off, size_t max, size_t *run)
{
	size_t pgsz = page_size(), i = off / pgsz, n;

	if (!m->pa) {
		*run = ZDK_MIN(m->len - off, max);
		return m->iova + off;
	}
	n = pgsz - off % pgsz;
	while (n < max && (i + 1) * pgsz < m->len && m->pa[i + 1] == m->pa[i] + pgsz) {
		n += pgsz;
		i++;
	}
	*run = ZDK_MIN(n, max);
	return m->pa[off / pgsz] + off % pgsz;
}

uint64_t zdk_virt2iova_slow(const void *va)
{
	size_t run;

	return zdk_virt2iova_run(va, 1, &run);
}

/* The arena: its pages are contiguous unless no-IOMMU mode scattered them. */
static uint64_t arena_run(size_t off, size_t max, size_t *run)
{
	const struct zdk_mem_xlate *x = &zdk_mem_xlate;
	size_t pgsz = (size_t)1 << x->pg_shift, i = off >> x->pg_shift;
	size_t n = pgsz - (off & (pgsz - 1));

	while (n < max && off + n < x->len && x->pg_iova[i + 1] == x->pg_iova[i] + pgsz) {
		n += pgsz;
		i++;
	}
	*run = ZDK_MIN(n, max);
	return x->pg_iova[off >> x->pg_shift] + (off & (pgsz - 1));
}

uint64_t zdk_virt2iova_run(const void *va, size_t max, size_t *run)
{
	uintptr_t p = (uintptr_t)va, off = p - zdk_mem_xlate.va_base;
	const struct ext_map *m;
	uint64_t iova = ZDK_BAD_IOVA;

	*run = 0;
	if (off < zdk_mem_xlate.len)
		return arena_run(off, max, run);
	pthread_rwlock_rdlock(&ext.lock);
	m = ext_find(p);
	if (m)
		iova = ext_run(m, p - m->va, max, run);
	pthread_rwlock_unlock(&ext.lock);
	return iova;
}

static int ext_insert(uintptr_t va, size_t len, uint64_t iova, uint64_t *pa, uint64_t ioas_iova)
{
	unsigned i;

	if (ext.n == ext.cap) {
		unsigned cap = ext.cap ? ext.cap * 2 : 16;
		struct ext_map *v = realloc(ext.v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ext.v = v;
		ext.cap = cap;
	}
	for (i = ext.n; i > 0 && ext.v[i - 1].va > va; i--)
		ext.v[i] = ext.v[i - 1];
	ext.v[i] = (struct ext_map){ va, len, iova, pa, ioas_iova };
	ext.n++;
	return 0;
}

/* Index of the first mapping that ends after @va (the table is sorted by VA). */
static unsigned ext_lower_bound(uintptr_t va)
{
	unsigned lo = 0, hi = ext.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (ext.v[mid].va + ext.v[mid].len <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ext_overlaps(uintptr_t va, size_t len)
{
	unsigned i = ext_lower_bound(va);

	return i < ext.n && ext.v[i].va < va + len;
}

/*
 * No-IOMMU: the device sees physical addresses. The range is locked (so it
 * is present and stays put) and each page's address recorded; the range is
 * then DMA-able page by page, as PRP lists and descriptors use it.
 */
static int ext_phys(void *va, size_t len, uint64_t **pa_out)
{
	size_t pgsz = page_size(), n = len / pgsz;
	uint64_t *pa;
	int rc;

	rc = sys_mlock(va, len);
	if (rc) {
		ZDK_ERR("zdk_dma_map(%p, %zu): cannot lock the range: %s (raise RLIMIT_MEMLOCK: "
			"ulimit -l unlimited)", va, len, strerror(-rc));
		return rc;
	}
	pa = malloc(n * sizeof(*pa));
	if (!pa) {
		rc = -ENOMEM;
		goto err_unlock;
	}
	for (size_t i = 0; i < n; i++) {
		rc = mem_virt2phys((char *)va + i * pgsz, &pa[i]);
		if (rc) {
			ZDK_ERR("zdk_dma_map: no physical address for %p: run as root "
				"(CAP_SYS_ADMIN) in no-IOMMU mode", (void *)((char *)va + i * pgsz));
			goto err_free;
		}
	}
	*pa_out = pa;
	return 0;

err_free:
	free(pa);
err_unlock:
	munlock(va, len);
	return rc;
}

static int ext_iova_reserve(struct iommu *io, void *va, size_t len, uint64_t *iova);
static void ext_iova_release(struct iommu *io, uint64_t iova, size_t len);

/*
 * No-IOMMU through iommufd: the range is mapped into the IOAS, which pins
 * it, and the kernel gives each page's physical address.
 */
static int ext_phys_ioas(struct iommu *io, void *va, size_t len, uint64_t **pa_out,
			 uint64_t *ioas_iova)
{
	size_t pgsz = page_size(), n = len / pgsz;
	uint64_t *pa, p, contig;
	int rc;

	pa = malloc(n * sizeof(*pa));
	if (!pa)
		return -ENOMEM;
	rc = ext_iova_reserve(io, va, len, ioas_iova);
	if (rc)
		goto err_free;
	rc = io->ops->map(io, va, *ioas_iova, len);
	if (rc) {
		ZDK_ERR("zdk_dma_map(%p, %zu): pinning through iommufd failed: %s", va, len,
			strerror(-rc));
		goto err_release;
	}
	for (size_t i = 0; i < n;) {
		rc = io->ops->phys(io, *ioas_iova + i * pgsz, (n - i) * pgsz, &p, &contig);
		if (rc)
			goto err_unmap;
		for (size_t k = 0; k < contig / pgsz && i < n; k++)
			pa[i++] = p + k * pgsz;
		if (contig < pgsz) { /* a page always answers for itself at least */
			rc = -EIO;
			goto err_unmap;
		}
	}
	*pa_out = pa;
	return 0;

err_unmap:
	io->ops->unmap(io, *ioas_iova, len);
err_release:
	ext_iova_release(io, *ioas_iova, len);
err_free:
	free(pa);
	return rc;
}

/* Reserve an IOVA for [va, va+len): the VA itself where it is free. */
static int ext_iova_reserve(struct iommu *io, void *va, size_t len, uint64_t *iova)
{
	int rc;

	pthread_mutex_lock(&io->lock);
	rc = iova_pick(io->ranges, io->nranges, io->extents, (uintptr_t)va, len, page_size(),
		       iova);
	if (!rc)
		rc = iommu_extent_add(io, *iova, len);
	pthread_mutex_unlock(&io->lock);
	return rc;
}

static void ext_iova_release(struct iommu *io, uint64_t iova, size_t len)
{
	pthread_mutex_lock(&io->lock);
	iommu_extent_del(io, iova, len);
	pthread_mutex_unlock(&io->lock);
}

int zdk_dma_map(void *va, size_t len, uint64_t *iova)
{
	struct iommu *io = iommu_g;
	uintptr_t p = (uintptr_t)va;
	uint64_t *pa = NULL, ioas_iova = 0;
	int rc;

	if (!len || (p | len) & (page_size() - 1)) {
		ZDK_ERR("zdk_dma_map(%p, %zu): address and length must be multiples of %zu",
			va, len, page_size());
		return -EINVAL;
	}
	if (p - zdk_mem_xlate.va_base < zdk_mem_xlate.len) {
		ZDK_ERR("zdk_dma_map(%p): this is arena memory, already mapped", va);
		return -EINVAL;
	}
	if (!io || !io->ready) {
		ZDK_ERR("zdk_dma_map: no IOMMU backend is ready (open a device first)");
		return -ENODEV;
	}
	pthread_rwlock_rdlock(&ext.lock);
	rc = ext_overlaps(p, len) ? -EEXIST : 0;
	pthread_rwlock_unlock(&ext.lock);
	if (rc) {
		ZDK_ERR("zdk_dma_map(%p, %zu) overlaps an existing mapping", va, len);
		return rc;
	}
	if (io->ops->mode == ZDK_IOMMU_NOIOMMU) {
		rc = io->ops->phys ? ext_phys_ioas(io, va, len, &pa, &ioas_iova)
				   : ext_phys(va, len, &pa);
		if (rc)
			return rc;
		*iova = pa[0];
	} else {
		/* The IOVA is reserved under the lock; the ioctl runs without it. */
		rc = mem_pin_check(io, len, "a zdk_dma_map() region");
		if (rc)
			return rc;
		rc = ext_iova_reserve(io, va, len, iova);
		if (rc)
			return rc;
		rc = io->ops->map(io, va, *iova, len);
		if (rc) {
			mem_pin_refused(io, len, "a zdk_dma_map() region", rc);
			goto err_release;
		}
	}
	pthread_rwlock_wrlock(&ext.lock);
	rc = ext_overlaps(p, len) ? -EEXIST : ext_insert(p, len, *iova, pa, ioas_iova);
	pthread_rwlock_unlock(&ext.lock);
	if (rc)
		goto err_unmap;
	return 0;

err_unmap:
	if (pa) {
		free(pa);
		if (ioas_iova) {
			io->ops->unmap(io, ioas_iova, len);
			ext_iova_release(io, ioas_iova, len);
		} else {
			munlock(va, len);
		}
		return rc;
	}
	io->ops->unmap(io, *iova, len);
err_release:
	ext_iova_release(io, *iova, len);
	return rc;
}

int zdk_dma_unmap(void *va, size_t len)
{
	struct iommu *io = iommu_g;
	uintptr_t p = (uintptr_t)va;
	struct ext_map m = { 0 };
	unsigned i;
	int rc;

	pthread_rwlock_wrlock(&ext.lock);
	i = ext_lower_bound(p);
	if (i < ext.n && ext.v[i].va == p && ext.v[i].len == len) {
		m = ext.v[i];
		memmove(&ext.v[i], &ext.v[i + 1], (ext.n - i - 1) * sizeof(ext.v[0]));
		ext.n--;
	}
	pthread_rwlock_unlock(&ext.lock);
	if (!m.len) {
		ZDK_ERR("zdk_dma_unmap(%p, %zu): no such mapping", va, len);
		return -ENOENT;
	}
	if (m.pa) {
		free(m.pa);
		if (!m.ioas_iova) {
			munlock(va, len);
			return 0;
		}
		rc = io ? io->ops->unmap(io, m.ioas_iova, len) : 0;
		if (io)
			ext_iova_release(io, m.ioas_iova, len);
		return rc;
	}
	if (!io || !io->ready || ext.lost) {
		if (io)
			ext_iova_release(io, m.iova, len);
		return 0;
	}
	rc = io->ops->unmap(io, m.iova, len);
	/* Only now may the IOVA be handed out again. */
	ext_iova_release(io, m.iova, len);
	return rc;
}

unsigned mem_ext_count(uintptr_t *va, size_t *len)
{
	unsigned n;

	pthread_rwlock_rdlock(&ext.lock);
	n = ext.n;
	*va = n ? ext.v[0].va : 0;
	*len = n ? ext.v[0].len : 0;
	pthread_rwlock_unlock(&ext.lock);
	return n;
}

void mem_ext_lost(struct iommu *io)
{
	pthread_rwlock_wrlock(&ext.lock);
	ext.lost = io->ops->mode != ZDK_IOMMU_NOIOMMU;
	pthread_rwlock_unlock(&ext.lock);
}

int mem_ext_remap(struct iommu *io)
{
	int rc = 0;

	pthread_rwlock_wrlock(&ext.lock);
	for (unsigned i = 0; ext.lost && i < ext.n; i++) {
		rc = io->ops->map(io, (void *)ext.v[i].va, ext.v[i].iova, ext.v[i].len);
		if (rc) {
			ZDK_ERR("zdk_dma_map()ped region %p (%zu bytes) cannot be mapped again at "
				"IOVA 0x%llx: %s", (void *)ext.v[i].va, ext.v[i].len,
				(unsigned long long)ext.v[i].iova, strerror(-rc));
			while (i--)
				io->ops->unmap(io, ext.v[i].iova, ext.v[i].len);
			break;
		}
	}
	if (!rc)
		ext.lost = false;
	pthread_rwlock_unlock(&ext.lock);
	return rc;
}

/* At cleanup: unmap whatever the application left mapped. */
void mem_ext_release(struct iommu *io)
{
	pthread_rwlock_wrlock(&ext.lock);
	for (unsigned i = 0; i < ext.n; i++) {
		if (ext.v[i].pa) {
			free(ext.v[i].pa);
			if (ext.v[i].ioas_iova && io)
				io->ops->unmap(io, ext.v[i].ioas_iova, ext.v[i].len);
			else if (!ext.v[i].ioas_iova)
				munlock((void *)ext.v[i].va, ext.v[i].len);
		} else if (io && io->ready && !ext.lost) {
			io->ops->unmap(io, ext.v[i].iova, ext.v[i].len);
		}
	}
	free(ext.v);
	ext.v = NULL;
	ext.n = ext.cap = 0;
	ext.lost = false;
	pthread_rwlock_unlock(&ext.lock);
}
