/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_mempool.h - a pool of fixed-size objects in DMA memory with per-lcore
 * caches.
 *
 * The objects are carved from one zdk_dma_zalloc() block, which is
 * IOVA-contiguous, so an object's IOVA is the block's IOVA plus its offset.
 * Free objects live in a multi-producer/multi-consumer zdk_ring; each lcore
 * keeps a cache of up to 2 x cache_size objects in front of it, so that the
 * common get/put touches only lcore-local memory. Threads that are not zdk
 * lcores go straight to the ring.
 */
#ifndef ZDK_MEMPOOL_H
#define ZDK_MEMPOOL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "zdk_common.h"
#include "zdk_lcore.h"
#include "zdk_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_MEMPOOL_NAMESIZE 32
#define ZDK_MEMPOOL_CACHE_MAX 512

struct zdk_mempool_cache {
	uint32_t size; /* target fill; flushed down to it at 2 x size */
	uint32_t len;  /* objects held */
	/* get refills to size + n <= 2 x size; put may add n <= size on top
	 * of < 2 x size before flushing */
	void *objs[3 * ZDK_MEMPOOL_CACHE_MAX];
} __zdk_cache_aligned;

struct zdk_mempool;
/** Called once per object at create, e.g. to write an mbuf's fixed fields. */
typedef void (*zdk_mempool_obj_init_fn)(struct zdk_mempool *mp, void *arg, void *obj,
					unsigned idx);

struct zdk_mempool {
	char name[ZDK_MEMPOOL_NAMESIZE];
	struct zdk_ring *ring;  /* the free objects */
	unsigned count;         /* objects in the pool */
	unsigned elt_size;      /* bytes per object, cache-line multiple */
	unsigned cache_size;
	int socket;
	void *base;             /* the DMA block */
	uint64_t base_iova;
	size_t len;
	uint16_t mbuf_data_room; /* mbuf pools: buffer bytes incl. headroom */
	uint16_t mbuf_priv;      /* mbuf pools: reserved */
	uint8_t *audit;          /* checked pools: each object's state, else NULL */
	unsigned long audit_errors; /* checked pools: misuses seen */
	struct zdk_mempool_cache caches[ZDK_MAX_LCORE];
};

/**
 * zdk_mempool_create() - allocate a pool of @count objects.
 * @name: for messages.
 * @count: number of objects.
 * @elt_size: bytes per object (rounded up to the cache line).
 * @cache_size: per-lcore cache target, 0 (no cache) to ZDK_MEMPOOL_CACHE_MAX;
 *              keep it below count / (2 x lcores) so caches cannot hoard
 *              the pool.
 * @socket: NUMA node, or ZDK_SOCKET_ANY.
 * @obj_init: called on each object (may be NULL), with @arg.
 * @arg: passed to @obj_init.
 * @mp: set to the pool.
 *
 * Return: 0, -EINVAL (zero count or size, cache too large), -ENOMEM (no DMA
 * memory on the node; the message says how much was asked).
 */
ZDK_EXPORT int zdk_mempool_create(const char *name, unsigned count, unsigned elt_size,
				  unsigned cache_size, int socket, zdk_mempool_obj_init_fn obj_init,
				  void *arg, struct zdk_mempool **mp);

/**
 * zdk_mempool_destroy() - free the pool and its memory; NULL is ignored.
 * Objects still in use become invalid.
 */
ZDK_EXPORT void zdk_mempool_destroy(struct zdk_mempool *mp);

/**
 * zdk_mempool_avail_count() - free objects (ring plus caches); a snapshot.
 */
ZDK_EXPORT unsigned zdk_mempool_avail_count(const struct zdk_mempool *mp);

/** zdk_mempool_obj_iova() - IOVA of an object of @mp (no table lookup). */
static inline uint64_t zdk_mempool_obj_iova(const struct zdk_mempool *mp, const void *obj)
{
	return mp->base_iova + (uint64_t)((const char *)obj - (const char *)mp->base);
}

/*
 * Checked pools. Code built with -DZDK_MEMPOOL_CHECKED (meson option
 * checked_mempool; the unit tests always build so) tracks every object: a put
 * of an object that is already free, or that is not one of the pool's, is
 * logged, counted and dropped instead of entering the ring twice; a get
 * checks that the object was free, and for mbuf pools that the poison its
 * buffer got at the put is intact (a write after free, or a device writing
 * into a buffer it no longer owns). An unchecked build pays nothing.
 */

/**
 * zdk_mempool_audit_put() - record that @obj returns to @mp.
 * Return: 0 if the put may go ahead, -EINVAL (logged and counted) if @obj
 * is free already or not an object of @mp. Without checking, always 0.
 */
ZDK_EXPORT int zdk_mempool_audit_put(struct zdk_mempool *mp, const void *obj);

/** zdk_mempool_audit_get() - record that @n objects left @mp. */
ZDK_EXPORT void zdk_mempool_audit_get(struct zdk_mempool *mp, void *const *objs, unsigned n);

/** zdk_mempool_audit_errors() - misuses a checked pool has seen; 0 unchecked. */
ZDK_EXPORT unsigned long zdk_mempool_audit_errors(const struct zdk_mempool *mp);

static inline struct zdk_mempool_cache *zdk_mempool_cache_get(struct zdk_mempool *mp)
{
	unsigned lcore = zdk_lcore_id();

	if (mp->cache_size == 0 || lcore >= ZDK_MAX_LCORE)
		return NULL;
	return &mp->caches[lcore];
}

/* The unchecked put: into the lcore cache, or the ring past its limit. */
static inline void zdk_mempool_put_bulk_raw(struct zdk_mempool *mp, void *const *objs, unsigned n)
{
	struct zdk_mempool_cache *c = zdk_mempool_cache_get(mp);

	if (zdk_unlikely(c == NULL || n > c->size)) {
		zdk_ring_enqueue_bulk(mp->ring, objs, n, NULL);
		return;
	}
	memcpy(&c->objs[c->len], objs, n * sizeof(*objs));
	c->len += n;
	if (zdk_unlikely(c->len >= 2 * c->size)) {
		zdk_ring_enqueue_bulk(mp->ring, &c->objs[c->size], c->len - c->size, NULL);
		c->len = c->size;
	}
}

/* The unchecked get: from the lcore cache, refilled from the ring. */
static inline int zdk_mempool_get_bulk_raw(struct zdk_mempool *mp, void **objs, unsigned n)
{
	struct zdk_mempool_cache *c = zdk_mempool_cache_get(mp);
	unsigned len;

	if (zdk_unlikely(c == NULL || n > c->size))
		return zdk_ring_dequeue_bulk(mp->ring, objs, n, NULL) ? 0 : -ENOBUFS;
	len = c->len;
	if (zdk_unlikely(len < n)) {
		unsigned want = c->size + n - len;

		if (zdk_ring_dequeue_bulk(mp->ring, &c->objs[len], want, NULL) == 0)
			return zdk_ring_dequeue_bulk(mp->ring, objs, n, NULL) ? 0 : -ENOBUFS;
		len += want;
	}
	/* From the top: the most recently freed objects are the warmest. */
	len -= n;
	memcpy(objs, &c->objs[len], n * sizeof(*objs));
	c->len = len;
	return 0;
}

/**
 * zdk_mempool_put_bulk() - return @n objects to the pool.
 * @mp: their pool.
 * @objs: the objects.
 * @n: how many.
 *
 * Never fails: the ring holds every object of the pool. A checked pool
 * drops (and reports) an object that is free already or not its own.
 */
static inline void zdk_mempool_put_bulk(struct zdk_mempool *mp, void *const *objs, unsigned n)
{
#ifdef ZDK_MEMPOOL_CHECKED
	for (unsigned i = 0; i < n; i++)
		if (zdk_mempool_audit_put(mp, objs[i]) == 0)
			zdk_mempool_put_bulk_raw(mp, &objs[i], 1);
#else
	zdk_mempool_put_bulk_raw(mp, objs, n);
#endif
}

/**
 * zdk_mempool_get_bulk() - take @n objects, all or none.
 * @mp: the pool.
 * @objs: filled with the objects.
 * @n: how many.
 *
 * Return: 0, or -ENOBUFS when the pool has fewer than @n free objects.
 */
static inline int zdk_mempool_get_bulk(struct zdk_mempool *mp, void **objs, unsigned n)
{
	if (zdk_unlikely(zdk_mempool_get_bulk_raw(mp, objs, n)))
		return -ENOBUFS;
#ifdef ZDK_MEMPOOL_CHECKED
	zdk_mempool_audit_get(mp, objs, n);
#endif
	return 0;
}

/** zdk_mempool_put() - return one object. */
static inline void zdk_mempool_put(struct zdk_mempool *mp, void *obj)
{
	zdk_mempool_put_bulk(mp, &obj, 1);
}

/** zdk_mempool_get() - take one object. Return: 0 or -ENOBUFS. */
static inline int zdk_mempool_get(struct zdk_mempool *mp, void **obj)
{
	return zdk_mempool_get_bulk(mp, obj, 1);
}

#ifdef __cplusplus
}
#endif

#endif /* ZDK_MEMPOOL_H */
