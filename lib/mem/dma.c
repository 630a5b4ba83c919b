/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dma.c - the public DMA memory calls: arena allocation, and external
 * memory an application registers with zdk_dma_map().
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "sys.h"
#include "zdk_lcore.h"
#include "zdk_log.h"

/*
 * External mappings by VA, read by zdk_virt2iova_slow(): each an extent
 * (lib/iommu/extents.c: O(log n) lookup, insert and remove) from its VA,
 * with its IOVA in .a; in no-IOMMU mode its pages' physical addresses in .b
 * (else 0) and, through iommufd, where the IOAS pins it in .c (else 0).
 */
static struct {
	uint32_t lock; /* EXT_* below */
	struct extents maps;
	bool lost; /* the kernel dropped the IOMMU mappings (type1's last group left) */
} ext;

static uint64_t ext_iova(const struct extent *m)
{
	return m->a;
}

static uint64_t *ext_pa(const struct extent *m)
{
	return (uint64_t *)(uintptr_t)m->b;
}

static uint64_t ext_ioas_iova(const struct extent *m)
{
	return m->c;
}

/*
 * ext.lock: a spinning reader-writer lock, as DPDK's rte_rwlock. Readers
 * (zdk_virt2iova_run() on mapped memory: the NVMe slow path, per I/O) and
 * writers (map, unmap) hold it for a binary search or an insert, so one
 * atomic each way beats glibc's rwlock (about 80 instructions a pair); a
 * waiting writer keeps new readers out. Only mem_ext_remap() holds it
 * across ioctls, once per type1 re-attach: waiters yield the CPU then.
 */
#define EXT_WRITER 1u  /* a writer holds it */
#define EXT_WAITING 2u /* a writer waits: no new readers */
#define EXT_READER 4u  /* one per reader */

static void ext_relax(unsigned *spins)
{
	if (++*spins < 1024)
		zdk_pause();
	else
		sched_yield();
}

static void ext_read_lock(void)
{
	uint32_t s = __atomic_load_n(&ext.lock, __ATOMIC_RELAXED);
	unsigned spins = 0;

	for (;;) {
		/* Acquire: the table as the last writer left it. */
		if (!(s & (EXT_WRITER | EXT_WAITING)) &&
		    __atomic_compare_exchange_n(&ext.lock, &s, s + EXT_READER, true,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		ext_relax(&spins);
		s = __atomic_load_n(&ext.lock, __ATOMIC_RELAXED);
	}
}

static void ext_read_unlock(void)
{
	/* Release: this reader's loads of the table before a writer's stores. */
	__atomic_fetch_sub(&ext.lock, EXT_READER, __ATOMIC_RELEASE);
}

static void ext_write_lock(void)
{
	uint32_t s = __atomic_load_n(&ext.lock, __ATOMIC_RELAXED);
	unsigned spins = 0;

	for (;;) {
		/* Acquire: the table as the last holder left it. */
		if (!(s & ~EXT_WAITING) &&
		    __atomic_compare_exchange_n(&ext.lock, &s, EXT_WRITER, true,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		if (!(s & EXT_WAITING))
			__atomic_fetch_or(&ext.lock, EXT_WAITING, __ATOMIC_RELAXED);
		ext_relax(&spins);
		s = __atomic_load_n(&ext.lock, __ATOMIC_RELAXED);
	}
}

static void ext_write_unlock(void)
{
	/* Release: the table's stores before the next holder's loads. (Another
	 * waiting writer sets EXT_WAITING again on its next look.) */
	__atomic_store_n(&ext.lock, 0, __ATOMIC_RELEASE);
}

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
static const struct extent *ext_find(uintptr_t p)
{
	return extents_overlap(&ext.maps, p, 1);
}

/*
 * IOVA of @off into @m, and in *@run how many bytes from there (up to @max)
 * are IOVA-contiguous: the rest of the mapping with an IOMMU; without one,
 * up to the first page whose physical address does not follow its
 * predecessor's.
 */
static uint64_t ext_run(const struct extent *m, size_t off, size_t max, size_t *run)
{
	size_t pgsz = page_size(), i = off / pgsz, n;
	const uint64_t *pa = ext_pa(m);

	if (!pa) {
		*run = ZDK_MIN(m->len - off, max);
		return ext_iova(m) + off;
	}
	n = pgsz - off % pgsz;
	while (n < max && (i + 1) * pgsz < m->len && pa[i + 1] == pa[i] + pgsz) {
		n += pgsz;
		i++;
	}
	*run = ZDK_MIN(n, max);
	return pa[off / pgsz] + off % pgsz;
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
	const struct extent *m;
	uint64_t iova = ZDK_BAD_IOVA;

	*run = 0;
	if (off < zdk_mem_xlate.len)
		return arena_run(off, max, run);
	ext_read_lock();
	m = ext_find(p);
	if (m)
		iova = ext_run(m, p - m->start, max, run);
	ext_read_unlock();
	return iova;
}

static int ext_insert(uintptr_t va, size_t len, uint64_t iova, uint64_t *pa, uint64_t ioas_iova)
{
	return extents_insert(&ext.maps, va, len, iova, (uintptr_t)pa, ioas_iova);
}

static bool ext_overlaps(uintptr_t va, size_t len)
{
	return extents_overlap(&ext.maps, va, len) != NULL;
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

	pthread_spin_lock(&io->lock);
	rc = iova_pick(io->ranges, io->nranges, &io->extents, (uintptr_t)va, len, page_size(),
		       iova);
	if (!rc)
		rc = iommu_extent_add(io, *iova, len);
	pthread_spin_unlock(&io->lock);
	return rc;
}

static void ext_iova_release(struct iommu *io, uint64_t iova, size_t len)
{
	pthread_spin_lock(&io->lock);
	iommu_extent_del(io, iova, len);
	pthread_spin_unlock(&io->lock);
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
	ext_read_lock();
	rc = ext_overlaps(p, len) ? -EEXIST : 0;
	ext_read_unlock();
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
		/* The IOVA is reserved under the lock; the ioctl runs without it.
		 * RLIMIT_MEMLOCK is not checked first, as it is for the arena:
		 * with a limit that costs about 18 system calls a map (two reads
		 * of /proc/self/status, and IOMMU_OPTION under iommufd), and a
		 * refused pin of one range leaves nothing half made to unwind;
		 * mem_pin_refused() says why the kernel refused. */
		rc = ext_iova_reserve(io, va, len, iova);
		if (rc)
			return rc;
		rc = io->ops->map(io, va, *iova, len);
		if (rc) {
			mem_pin_refused(io, len, "a zdk_dma_map() region", rc);
			goto err_release;
		}
	}
	ext_write_lock();
	rc = ext_overlaps(p, len) ? -EEXIST : ext_insert(p, len, *iova, pa, ioas_iova);
	ext_write_unlock();
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
	struct extent m;
	int rc;

	ext_write_lock();
	rc = len ? extents_remove(&ext.maps, (uintptr_t)va, len, &m) : -ENOENT;
	ext_write_unlock();
	if (rc) {
		ZDK_ERR("zdk_dma_unmap(%p, %zu): no such mapping", va, len);
		return -ENOENT;
	}
	if (ext_pa(&m)) {
		free(ext_pa(&m));
		if (!ext_ioas_iova(&m)) {
			munlock(va, len);
			return 0;
		}
		rc = io ? io->ops->unmap(io, ext_ioas_iova(&m), len) : 0;
		if (io)
			ext_iova_release(io, ext_ioas_iova(&m), len);
		return rc;
	}
	if (!io || !io->ready || ext.lost) {
		if (io)
			ext_iova_release(io, ext_iova(&m), len);
		return 0;
	}
	rc = io->ops->unmap(io, ext_iova(&m), len);
	/* Only now may the IOVA be handed out again. */
	ext_iova_release(io, ext_iova(&m), len);
	return rc;
}

/* The mapping after @m in VA order (the first for NULL), or NULL. */
static const struct extent *ext_next(const struct extent *m)
{
	return extents_ceil(&ext.maps, m ? m->start + 1 : 0);
}

unsigned mem_ext_count(uintptr_t *va, size_t *len)
{
	const struct extent *first;
	unsigned n;

	ext_read_lock();
	n = ext.maps.n;
	first = ext_next(NULL);
	*va = first ? first->start : 0;
	*len = first ? first->len : 0;
	ext_read_unlock();
	return n;
}

void mem_ext_lost(struct iommu *io)
{
	ext_write_lock();
	ext.lost = io->ops->mode != ZDK_IOMMU_NOIOMMU;
	ext_write_unlock();
}

int mem_ext_remap(struct iommu *io)
{
	const struct extent *m, *u;
	int rc = 0;

	ext_write_lock();
	for (m = ext_next(NULL); ext.lost && m; m = ext_next(m)) {
		rc = io->ops->map(io, (void *)(uintptr_t)m->start, ext_iova(m), m->len);
		if (rc) {
			ZDK_ERR("zdk_dma_map()ped region %p (%llu bytes) cannot be mapped again at "
				"IOVA 0x%llx: %s", (void *)(uintptr_t)m->start,
				(unsigned long long)m->len, (unsigned long long)ext_iova(m),
				strerror(-rc));
			for (u = ext_next(NULL); u != m; u = ext_next(u))
				io->ops->unmap(io, ext_iova(u), u->len);
			break;
		}
	}
	if (!rc)
		ext.lost = false;
	ext_write_unlock();
	return rc;
}

/* At cleanup: unmap whatever the application left mapped. */
void mem_ext_release(struct iommu *io)
{
	const struct extent *m;

	ext_write_lock();
	for (m = ext_next(NULL); m; m = ext_next(m)) {
		if (ext_pa(m)) {
			free(ext_pa(m));
			if (ext_ioas_iova(m) && io)
				io->ops->unmap(io, ext_ioas_iova(m), m->len);
			else if (!ext_ioas_iova(m))
				munlock((void *)(uintptr_t)m->start, m->len);
		} else if (io && io->ready && !ext.lost) {
			io->ops->unmap(io, ext_iova(m), m->len);
		}
	}
	extents_fini(&ext.maps);
	ext.lost = false;
	ext_write_unlock();
}
