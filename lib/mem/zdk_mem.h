/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_mem.h - DMA memory: the hugepage arena and external memory.
 *
 * At init each NUMA node gets one arena of hugepages. All arenas sit in one
 * virtual range mapped for DMA once, as one IOVA-contiguous range (except in
 * no-IOMMU mode, where IOVA is the physical address of each page), so
 * translation is a table lookup and allocation never makes a syscall.
 */
#ifndef ZDK_MEM_H
#define ZDK_MEM_H

#include <stddef.h>
#include <stdint.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * zdk_dma_zalloc() - zeroed DMA memory from the arena.
 * @size: bytes.
 * @align: alignment, a power of two (0 means the cache line).
 * @socket: NUMA node, or ZDK_SOCKET_ANY (the caller's node first).
 * @iova: set to the IOVA of the returned buffer; may be NULL.
 *
 * The buffer is IOVA-contiguous for its whole size. No syscall. In no-IOMMU
 * mode IOVA is the physical address, so a buffer larger than one hugepage
 * needs physically adjacent pages, which a fragmented machine may not have:
 * use --huge-size 1G there for large pools.
 * Return: the virtual address, or NULL (no memory left on the node).
 */
ZDK_EXPORT void *zdk_dma_zalloc(size_t size, size_t align, int socket, uint64_t *iova);

/**
 * zdk_dma_free() - return a buffer from zdk_dma_zalloc(); NULL is ignored.
 */
ZDK_EXPORT void zdk_dma_free(void *va);

/**
 * zdk_dma_map() - make external memory (not from the arena) DMA-able.
 * @va: start, page aligned.
 * @len: length, a multiple of the page size.
 * @iova: set to the IOVA the device must use (of the first page: in no-IOMMU
 *        mode the range is locked and each page keeps its own physical
 *        address, so translate each page with zdk_virt2iova(), or each
 *        contiguous run with zdk_virt2iova_run()).
 *
 * Return: 0, -EINVAL for misaligned arguments, -ENOSPC when the IOMMU's
 * mapping limit is reached, -ENODEV with no IOMMU backend, or the kernel's
 * error.
 */
ZDK_EXPORT int zdk_dma_map(void *va, size_t len, uint64_t *iova);

/**
 * zdk_dma_unmap() - undo zdk_dma_map() of exactly @va/@len.
 *
 * Return: 0, or -ENOENT if that range was not mapped.
 */
ZDK_EXPORT int zdk_dma_unmap(void *va, size_t len);

/* Translation tables; read only by zdk_virt2iova(), written at init. */
struct zdk_mem_xlate {
	uintptr_t va_base;  /* start of the arena range */
	size_t len;         /* length of the arena range */
	unsigned pg_shift;  /* log2 of the arena's page size */
	const uint64_t *pg_iova; /* IOVA of each page */
};
ZDK_EXPORT extern struct zdk_mem_xlate zdk_mem_xlate;

/** zdk_virt2iova_slow() - translation outside the arena (external maps). */
ZDK_EXPORT uint64_t zdk_virt2iova_slow(const void *va);

/**
 * zdk_virt2iova_run() - IOVA of @va, and how far from there it stays contiguous.
 * @va: an arena or zdk_dma_map()ped address.
 * @max: the most bytes the caller needs.
 * @run: set to the bytes from @va, at most @max, that the device sees at
 *       IOVA-contiguous addresses: a buffer that crosses into a separately
 *       mapped region, or (no-IOMMU mode) into a page that is not physically
 *       adjacent, has more than one run. 0 for unknown memory.
 *
 * Describe a buffer to a device as one address per run, never as the first
 * address plus a length (control path: takes a read lock outside the arena).
 * Return: the IOVA of @va, or ZDK_BAD_IOVA for memory zdk does not know.
 */
ZDK_EXPORT uint64_t zdk_virt2iova_run(const void *va, size_t max, size_t *run);

/**
 * zdk_virt2iova() - IOVA of an arena or zdk_dma_map()ped address.
 *
 * O(1) for the arena: one subtraction, one table load.
 * Return: the IOVA, or ZDK_BAD_IOVA for memory zdk does not know.
 */
static inline uint64_t zdk_virt2iova(const void *va)
{
	uintptr_t off = (uintptr_t)va - zdk_mem_xlate.va_base;

	if (zdk_likely(off < zdk_mem_xlate.len))
		return zdk_mem_xlate.pg_iova[off >> zdk_mem_xlate.pg_shift] +
		       (off & ((1ULL << zdk_mem_xlate.pg_shift) - 1));
	return zdk_virt2iova_slow(va);
}

struct zdk_mem_stats {
	size_t total;     /* arena bytes on the node */
	size_t free;      /* bytes free */
	size_t page_size; /* hugepage size backing it */
	unsigned allocs;  /* live allocations */
};

/**
 * zdk_mem_stats_get() - usage of the arena on @socket.
 * Return: 0, or -ENOENT if the node has no arena.
 */
ZDK_EXPORT int zdk_mem_stats_get(int socket, struct zdk_mem_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_MEM_H */
