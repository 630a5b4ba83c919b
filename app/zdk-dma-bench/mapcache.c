/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "mapcache.h"

struct entry {
	uintptr_t page;        /* first page, the key with npages */
	size_t npages;
	uint64_t iova;         /* of the first page */
	struct entry *hnext;   /* hash chain */
	struct entry *prev;    /* LRU list: head is the most recent */
	struct entry *next;
};

struct mapcache {
	mapcache_map_fn map;
	mapcache_unmap_fn unmap;
	void *ctx;
	unsigned capacity;
	unsigned used;
	unsigned nbuckets;     /* a power of two */
	struct entry **bucket;
	struct entry *slab;    /* capacity entries, allocated once */
	struct entry *free;    /* unused slab entries, through hnext */
	struct entry lru;      /* sentinel */
	struct mapcache_stats st;
};

static unsigned hash(const struct mapcache *mc, uintptr_t page, size_t npages)
{
	uint64_t h = (page / MAPCACHE_PAGE) * 0x9e3779b97f4a7c15ULL ^ npages;

	return (unsigned)(h >> 32) & (mc->nbuckets - 1);
}

int mapcache_create(unsigned capacity, mapcache_map_fn map, mapcache_unmap_fn unmap,
		    void *ctx, struct mapcache **out)
{
	struct mapcache *mc;
	unsigned i;

	if (!capacity || !map || !unmap)
		return -EINVAL;
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return -ENOMEM;
	for (mc->nbuckets = 16; mc->nbuckets < 2 * capacity; mc->nbuckets *= 2)
		;
	mc->bucket = calloc(mc->nbuckets, sizeof(*mc->bucket));
	mc->slab = calloc(capacity, sizeof(*mc->slab));
	if (!mc->bucket || !mc->slab) {
		free(mc->bucket);
		free(mc->slab);
		free(mc);
		return -ENOMEM;
	}
	for (i = 0; i < capacity; i++) {
		mc->slab[i].hnext = mc->free;
		mc->free = &mc->slab[i];
	}
	mc->map = map;
	mc->unmap = unmap;
	mc->ctx = ctx;
	mc->capacity = capacity;
	mc->lru.next = mc->lru.prev = &mc->lru;
	*out = mc;
	return 0;
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push(struct mapcache *mc, struct entry *e)
{
	e->next = mc->lru.next;
	e->prev = &mc->lru;
	mc->lru.next->prev = e;
	mc->lru.next = e;
}

static void hash_remove(struct mapcache *mc, struct entry *e)
{
	struct entry **pp = &mc->bucket[hash(mc, e->page, e->npages)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

/* Unmap and drop the least recently used entry. */
static int evict(struct mapcache *mc)
{
	struct entry *e = mc->lru.prev;
	int ret;

	ret = mc->unmap(mc->ctx, (void *)e->page, e->npages * MAPCACHE_PAGE, e->iova);
	if (ret)
		return ret;
	lru_unlink(e);
	hash_remove(mc, e);
	e->hnext = mc->free;
	mc->free = e;
	mc->used--;
	mc->st.evictions++;
	return 0;
}

int mapcache_get(struct mapcache *mc, void *va, size_t len, uint64_t *iova)
{
	uintptr_t page = (uintptr_t)va & ~(MAPCACHE_PAGE - 1);
	size_t npages = ((uintptr_t)va + len - page + MAPCACHE_PAGE - 1) / MAPCACHE_PAGE;
	unsigned h = hash(mc, page, npages);
	struct entry *e;
	int ret;

	for (e = mc->bucket[h]; e; e = e->hnext)
		if (e->page == page && e->npages == npages) {
			lru_unlink(e);
			lru_push(mc, e);
			mc->st.hits++;
			*iova = e->iova + ((uintptr_t)va - page);
			return 1;
		}
	if (mc->used == mc->capacity) {
		ret = evict(mc);
		if (ret)
			return ret;
	}
	e = mc->free;
	ret = mc->map(mc->ctx, (void *)page, npages * MAPCACHE_PAGE, &e->iova);
	if (ret)
		return ret;
	mc->free = e->hnext;
	e->page = page;
	e->npages = npages;
	e->hnext = mc->bucket[h];
	mc->bucket[h] = e;
	lru_push(mc, e);
	mc->used++;
	mc->st.misses++;
	*iova = e->iova + ((uintptr_t)va - page);
	return 0;
}

void mapcache_stats_get(const struct mapcache *mc, struct mapcache_stats *st)
{
	*st = mc->st;
}

void mapcache_destroy(struct mapcache *mc)
{
	if (!mc)
		return;
	while (mc->used && !evict(mc))
		;
	free(mc->bucket);
	free(mc->slab);
	free(mc);
}
