/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mapcache.h - a small LRU cache of DMA mappings keyed by page range: the
 * middle road between mapping memory once and mapping it for every I/O.
 * A hit costs a hash lookup; a miss maps the range (evicting, and so
 * unmapping, the least recently used one when full).
 */
#ifndef DMA_BENCH_MAPCACHE_H
#define DMA_BENCH_MAPCACHE_H

#include <stddef.h>
#include <stdint.h>

#define MAPCACHE_PAGE 4096UL

/* Map @len bytes at page-aligned @va; set *@iova. Return 0 or -errno. */
typedef int (*mapcache_map_fn)(void *ctx, void *va, size_t len, uint64_t *iova);
/* Undo one map of the same @va/@len/@iova. */
typedef int (*mapcache_unmap_fn)(void *ctx, void *va, size_t len, uint64_t iova);

struct mapcache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
};

struct mapcache;

/*
 * mapcache_create() - a cache of at most @capacity mappings.
 * Return: 0 and *@mc set, -EINVAL for a zero capacity, -ENOMEM.
 */
int mapcache_create(unsigned capacity, mapcache_map_fn map, mapcache_unmap_fn unmap,
		    void *ctx, struct mapcache **mc);

/* mapcache_destroy() - unmap every cached range and free; NULL is ignored. */
void mapcache_destroy(struct mapcache *mc);

/*
 * mapcache_get() - the IOVA of @va for a DMA of @len bytes: the pages
 * [@va, @va+@len) rounded out to whole pages are the key.
 * Return: 1 on a hit, 0 on a miss (now mapped), or the map/unmap error.
 */
int mapcache_get(struct mapcache *mc, void *va, size_t len, uint64_t *iova);

void mapcache_stats_get(const struct mapcache *mc, struct mapcache_stats *st);

#endif /* DMA_BENCH_MAPCACHE_H */
