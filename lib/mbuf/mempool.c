/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mempool.c - creating and destroying pools; get/put are inline in
 * zdk_mempool.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "mempool"
#include "zdk_log.h"
#include "zdk_mem.h"
#include "zdk_mempool.h"

/* Object states of a checked pool. */
enum { OBJ_FREE, OBJ_OUT, OBJ_FREE_POISONED };
#define POISON 0x6b

/* What an intact poisoned span reads, a block at a time (set at create). */
static unsigned char poison_block[256];

/* The index of @obj in @mp, or -1 if it is not the start of one of its objects. */
static long obj_index(const struct zdk_mempool *mp, const void *obj)
{
	uintptr_t off = (uintptr_t)obj - (uintptr_t)mp->base;

	if ((uintptr_t)obj < (uintptr_t)mp->base || off >= mp->len || off % mp->elt_size)
		return -1;
	return (long)(off / mp->elt_size);
}

/* mbuf pools: the buffer behind the one-line mbuf header (see zdk_mbuf.h). */
static void poison_span(const struct zdk_mempool *mp, const void *obj, unsigned char **p,
			size_t *len)
{
	*p = (unsigned char *)obj + ZDK_CACHE_LINE;
	*len = mp->mbuf_data_room ? mp->elt_size - ZDK_CACHE_LINE : 0;
}

static void audit_error(struct zdk_mempool *mp, const void *obj, const char *what)
{
	__atomic_fetch_add(&mp->audit_errors, 1, __ATOMIC_RELAXED);
	ZDK_ERR("mempool %s: %s: object %p (index %ld)", mp->name, what, obj, obj_index(mp, obj));
}

ZDK_EXPORT int zdk_mempool_audit_put(struct zdk_mempool *mp, const void *obj)
{
	unsigned char *p;
	size_t len;
	long i;

	if (!mp->audit)
		return 0;
	i = obj_index(mp, obj);
	if (i < 0) {
		audit_error(mp, obj, "put of an object that is not the pool's");
		return -EINVAL;
	}
	if (__atomic_exchange_n(&mp->audit[i], OBJ_FREE_POISONED, __ATOMIC_RELAXED) != OBJ_OUT) {
		audit_error(mp, obj, "double free (put of an object already in the pool)");
		return -EINVAL;
	}
	poison_span(mp, obj, &p, &len);
	memset(p, POISON, len);
	return 0;
}

ZDK_EXPORT void zdk_mempool_audit_get(struct zdk_mempool *mp, void *const *objs, unsigned n)
{
	for (unsigned k = 0; mp->audit && k < n; k++) {
		long i = obj_index(mp, objs[k]);
		unsigned char *p;
		size_t len, j;
		uint8_t was;

		if (i < 0) {
			audit_error(mp, objs[k], "get returned an object that is not the pool's");
			continue;
		}
		was = __atomic_exchange_n(&mp->audit[i], OBJ_OUT, __ATOMIC_RELAXED);
		if (was == OBJ_OUT) {
			audit_error(mp, objs[k], "get of an object that is in use");
			continue;
		}
		if (was != OBJ_FREE_POISONED)
			continue;
		poison_span(mp, objs[k], &p, &len);
		/* A block at a time: a byte loop here was most of the time of the
		 * tests and fuzzers that cycle many mbufs. */
		for (j = 0; j < len; j += sizeof(poison_block))
			if (memcmp(p + j, poison_block, ZDK_MIN(len - j, sizeof(poison_block))))
				break;
		if (j < len)
			audit_error(mp, objs[k], "object written to while it was free (its poison is overwritten)");
	}
}

ZDK_EXPORT unsigned long zdk_mempool_audit_errors(const struct zdk_mempool *mp)
{
	return __atomic_load_n(&mp->audit_errors, __ATOMIC_RELAXED);
}

static unsigned pow2_ceil(unsigned v)
{
	unsigned p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int check_args(const char *name, unsigned count, unsigned elt_size, unsigned cache_size)
{
	if (count == 0 || elt_size == 0 || count > ZDK_RING_SZ_MAX) {
		ZDK_ERR("mempool %s: %u objects of %u bytes: both must be non-zero, count at most %u",
			name, count, elt_size, ZDK_RING_SZ_MAX);
		return -EINVAL;
	}
	if (cache_size > ZDK_MEMPOOL_CACHE_MAX || cache_size > count) {
		ZDK_ERR("mempool %s: cache of %u: at most %u and at most the %u objects", name,
			cache_size, ZDK_MEMPOOL_CACHE_MAX, count);
		return -EINVAL;
	}
	return 0;
}

ZDK_EXPORT int zdk_mempool_create(const char *name, unsigned count, unsigned elt_size,
				  unsigned cache_size, int socket, zdk_mempool_obj_init_fn obj_init,
				  void *arg, struct zdk_mempool **mpp)
{
	struct zdk_mempool *mp;
	unsigned i;
	int ret;

	ret = check_args(name, count, elt_size, cache_size);
	if (ret)
		return ret;
	if (posix_memalign((void **)&mp, ZDK_CACHE_LINE, sizeof(*mp)))
		return -ENOMEM;
	memset(mp, 0, sizeof(*mp));
	snprintf(mp->name, sizeof(mp->name), "%s", name);
	mp->count = count;
	mp->elt_size = ZDK_ALIGN_UP(elt_size, ZDK_CACHE_LINE);
	mp->cache_size = cache_size;
	mp->socket = socket;
	for (i = 0; i < ZDK_MAX_LCORE; i++)
		mp->caches[i].size = cache_size;

	ret = zdk_ring_create(name, pow2_ceil(count), socket, 0, &mp->ring);
	if (ret)
		goto err_free_pool;
	mp->len = (size_t)count * mp->elt_size;
	mp->base = zdk_dma_zalloc(mp->len, ZDK_CACHE_LINE, socket, &mp->base_iova);
	if (!mp->base) {
		ZDK_ERR("mempool %s: no DMA memory for %u x %u bytes (%zu MiB) on node %d: "
			"reserve more hugepages or make the pool smaller", name, count,
			mp->elt_size, mp->len >> 20, socket);
		ret = -ENOMEM;
		goto err_destroy_ring;
	}
#ifdef ZDK_MEMPOOL_CHECKED
	memset(poison_block, POISON, sizeof(poison_block));
	mp->audit = calloc(count, 1); /* all OBJ_FREE */
	if (!mp->audit) {
		ret = -ENOMEM;
		goto err_free_base;
	}
#endif
	for (i = 0; i < count; i++) {
		void *obj = (char *)mp->base + (size_t)i * mp->elt_size;

		if (obj_init)
			obj_init(mp, arg, obj, i);
		zdk_ring_enqueue(mp->ring, obj);
	}
	*mpp = mp;
	return 0;

#ifdef ZDK_MEMPOOL_CHECKED
err_free_base:
	zdk_dma_free(mp->base);
#endif
err_destroy_ring:
	zdk_ring_destroy(mp->ring);
err_free_pool:
	free(mp);
	return ret;
}

ZDK_EXPORT void zdk_mempool_destroy(struct zdk_mempool *mp)
{
	if (!mp)
		return;
	zdk_dma_free(mp->base);
	zdk_ring_destroy(mp->ring);
	free(mp->audit);
	free(mp);
}

ZDK_EXPORT unsigned zdk_mempool_avail_count(const struct zdk_mempool *mp)
{
	unsigned i, n = zdk_ring_count(mp->ring);

	for (i = 0; i < ZDK_MAX_LCORE; i++)
		n += mp->caches[i].len;
	return n;
}
