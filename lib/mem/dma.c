/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dma.c - the public DMA memory calls: arena allocation, and external
 * memory an application registers with zdk_dma_map().
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "zdk_eal.h"
#include "zdk_log.h"

/* External mappings, sorted by VA; read by zdk_virt2iova_slow(). */
struct ext_map {
	uintptr_t va;
	size_t len;
	uint64_t iova;
};

static struct {
	pthread_rwlock_t lock;
	struct ext_map *v;
	unsigned n, cap;
} ext = { .lock = PTHREAD_RWLOCK_INITIALIZER };

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

	if (!a)
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
	if (!va)
		return;
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

uint64_t zdk_virt2iova_slow(const void *va)
{
	uintptr_t p = (uintptr_t)va;
	uint64_t iova = ZDK_BAD_IOVA;
	unsigned lo = 0, hi;

	pthread_rwlock_rdlock(&ext.lock);
	hi = ext.n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (p < ext.v[mid].va) {
			hi = mid;
		} else if (p >= ext.v[mid].va + ext.v[mid].len) {
			lo = mid + 1;
		} else {
			iova = ext.v[mid].iova + (p - ext.v[mid].va);
			break;
		}
	}
	pthread_rwlock_unlock(&ext.lock);
	return iova;
}

static int ext_insert(uintptr_t va, size_t len, uint64_t iova)
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
	ext.v[i] = (struct ext_map){ va, len, iova };
	ext.n++;
	return 0;
}

static bool ext_overlaps(uintptr_t va, size_t len)
{
	for (unsigned i = 0; i < ext.n; i++)
		if (va < ext.v[i].va + ext.v[i].len && ext.v[i].va < va + len)
			return true;
	return false;
}

/* No-IOMMU: external memory is DMA-able only if physically contiguous. */
static int ext_phys(void *va, size_t len, uint64_t *iova)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	uint64_t pa, prev = 0;
	int rc;

	for (size_t off = 0; off < len; off += pgsz) {
		rc = mem_virt2phys((char *)va + off, &pa);
		if (rc) {
			ZDK_ERR("zdk_dma_map: no physical address for %p (lock the memory and run "
				"as root)", (char *)va + off);
			return rc;
		}
		if (off && pa != prev + pgsz) {
			ZDK_ERR("zdk_dma_map: in no-IOMMU mode the range must be physically "
				"contiguous; use zdk_dma_zalloc() memory instead");
			return -EINVAL;
		}
		if (!off)
			*iova = pa;
		prev = pa;
	}
	return 0;
}

int zdk_dma_map(void *va, size_t len, uint64_t *iova)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	struct iommu *io = iommu_g;
	uintptr_t p = (uintptr_t)va;
	int rc;

	if (!len || (p | len) & (pgsz - 1)) {
		ZDK_ERR("zdk_dma_map(%p, %zu): address and length must be multiples of %ld",
			va, len, pgsz);
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
	pthread_rwlock_wrlock(&ext.lock);
	if (ext_overlaps(p, len)) {
		rc = -EEXIST;
		ZDK_ERR("zdk_dma_map(%p, %zu) overlaps an existing mapping", va, len);
		goto out_unlock;
	}
	pthread_mutex_lock(&io->lock);
	if (io->ops->mode == ZDK_IOMMU_NOIOMMU)
		rc = ext_phys(va, len, iova);
	else
		rc = iova_pick(io->ranges, io->nranges, io->extents, p, len, (uint64_t)pgsz, iova);
	if (!rc && io->ops->mode != ZDK_IOMMU_NOIOMMU) {
		rc = io->ops->map(io, va, *iova, len);
		if (!rc) {
			rc = iommu_extent_add(io, *iova, len);
			if (rc)
				io->ops->unmap(io, *iova, len);
		}
	}
	pthread_mutex_unlock(&io->lock);
	if (!rc) {
		rc = ext_insert(p, len, *iova);
		if (rc && io->ops->mode != ZDK_IOMMU_NOIOMMU) {
			io->ops->unmap(io, *iova, len);
			iommu_extent_del(io, *iova, len);
		}
	}
out_unlock:
	pthread_rwlock_unlock(&ext.lock);
	return rc;
}

int zdk_dma_unmap(void *va, size_t len)
{
	struct iommu *io = iommu_g;
	uintptr_t p = (uintptr_t)va;
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&ext.lock);
	for (unsigned i = 0; i < ext.n; i++) {
		if (ext.v[i].va != p || ext.v[i].len != len)
			continue;
		rc = 0;
		if (io && io->ready && io->ops->mode != ZDK_IOMMU_NOIOMMU) {
			pthread_mutex_lock(&io->lock);
			rc = io->ops->unmap(io, ext.v[i].iova, len);
			iommu_extent_del(io, ext.v[i].iova, len);
			pthread_mutex_unlock(&io->lock);
		}
		memmove(&ext.v[i], &ext.v[i + 1], (ext.n - i - 1) * sizeof(ext.v[0]));
		ext.n--;
		break;
	}
	pthread_rwlock_unlock(&ext.lock);
	if (rc == -ENOENT)
		ZDK_ERR("zdk_dma_unmap(%p, %zu): no such mapping", va, len);
	return rc;
}

/* At cleanup: unmap whatever the application left mapped. */
void mem_ext_release(struct iommu *io)
{
	pthread_rwlock_wrlock(&ext.lock);
	for (unsigned i = 0; i < ext.n; i++)
		if (io && io->ready && io->ops->mode != ZDK_IOMMU_NOIOMMU)
			io->ops->unmap(io, ext.v[i].iova, ext.v[i].len);
	free(ext.v);
	ext.v = NULL;
	ext.n = ext.cap = 0;
	pthread_rwlock_unlock(&ext.lock);
}
