/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mbuf.c - mempool and mbuf: creation, IOVAs, per-lcore caches, and
 * concurrent get/put from several threads (with and without a cache) with
 * every object accounted for at the end.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "test_mem.h"
#include "zdk_mbuf.h"

static void test_pool_create(void)
{
	struct zdk_mempool *mp = NULL;

	CU_ASSERT_EQUAL(zdk_mbuf_pool_create("small", 64, 0, 100, 0, &mp), -EINVAL);
	CU_ASSERT_EQUAL(zdk_mempool_create("zero", 0, 64, 0, 0, NULL, NULL, &mp), -EINVAL);
	CU_ASSERT_EQUAL(zdk_mempool_create("cache", 64, 64, ZDK_MEMPOOL_CACHE_MAX + 1, 0, NULL,
					   NULL, &mp), -EINVAL);
	test_dma_fail_after(0);
	CU_ASSERT_EQUAL(zdk_mbuf_pool_create("nomem", 64, 0, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp),
			-ENOMEM);
	test_dma_fail_after(-1);
	CU_ASSERT_EQUAL(test_dma_live(), 0);
}

static void test_mbuf_fields(void)
{
	struct zdk_mempool *mp;
	struct zdk_mbuf *m, *ms[8];
	char *p;

	CU_ASSERT_FATAL(zdk_mbuf_pool_create("f", 100, 16, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp) == 0);
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), 100);
	CU_ASSERT_EQUAL(zdk_mbuf_pool_data_room(mp), ZDK_MBUF_DEFAULT_BUF_SIZE);
	m = zdk_mbuf_alloc(mp);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(m->pool, mp);
	CU_ASSERT_EQUAL(m->data_off, ZDK_MBUF_HEADROOM);
	CU_ASSERT_EQUAL(m->buf_len, ZDK_MBUF_DEFAULT_BUF_SIZE);
	CU_ASSERT_EQUAL(m->nb_segs, 1);
	CU_ASSERT_EQUAL(m->port, ZDK_MBUF_PORT_INVALID);
	CU_ASSERT_EQUAL(m->data_len, 0);
	/* The stored IOVA is the buffer's: the device sees what the CPU wrote. */
	CU_ASSERT_PTR_EQUAL(test_iova_to_va(m->buf_iova, m->buf_len), m->buf_addr);
	CU_ASSERT_PTR_EQUAL(test_iova_to_va(zdk_mbuf_data_iova(m), 1),
			    zdk_mbuf_mtod(m, void *));
	p = zdk_mbuf_append(m, 60);
	CU_ASSERT_PTR_EQUAL(p, zdk_mbuf_mtod(m, char *));
	CU_ASSERT_EQUAL(m->data_len, 60);
	CU_ASSERT_EQUAL(m->pkt_len, 60);
	CU_ASSERT_PTR_NULL(zdk_mbuf_append(m, 4000));
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), 99);
	zdk_mbuf_free(m);
	zdk_mbuf_free(NULL);
	CU_ASSERT_EQUAL(zdk_mbuf_alloc_bulk(mp, ms, 8), 0);
	zdk_mbuf_free_bulk(ms, 8);
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), 100);
	zdk_mbuf_pool_destroy(mp);
	CU_ASSERT_EQUAL(test_dma_live(), 0);
}

/* Every mbuf of a pool, whatever its data room, has buf_iova == address +
 * zdk_mbuf_pool_iova_offset(): rx refills rely on it. */
static void test_iova_offset(void)
{
	static const unsigned rooms[] = { ZDK_MBUF_HEADROOM + 1, 1000, ZDK_MBUF_DEFAULT_BUF_SIZE,
					  9000 + ZDK_MBUF_HEADROOM, UINT16_MAX };
	struct zdk_mbuf *ms[64];

	for (unsigned r = 0; r < ZDK_ARRAY_SIZE(rooms); r++) {
		struct zdk_mempool *mp;
		uint64_t off;

		CU_ASSERT_FATAL(zdk_mbuf_pool_create("o", 64, 0, rooms[r], 0, &mp) == 0);
		off = zdk_mbuf_pool_iova_offset(mp);
		CU_ASSERT_FATAL(zdk_mbuf_alloc_bulk(mp, ms, 64) == 0);
		for (unsigned i = 0; i < 64; i++)
			CU_ASSERT_EQUAL(ms[i]->buf_iova, (uint64_t)(uintptr_t)ms[i] + off);
		zdk_mbuf_free_bulk(ms, 64);
		zdk_mbuf_pool_destroy(mp);
	}
	CU_ASSERT_EQUAL(test_dma_live(), 0);
}

/* Exhaust a pool through a cache and through the ring, then give it back. */
static void test_exhaust(void)
{
	struct zdk_mempool *mp;
	void *objs[300];
	unsigned i, got = 0;

	CU_ASSERT_FATAL(zdk_mempool_create("x", 300, 64, 32, 0, NULL, NULL, &mp) == 0);
	while (got < 300 && zdk_mempool_get_bulk(mp, &objs[got], 7) == 0)
		got += 7;
	while (got < 300 && zdk_mempool_get(mp, &objs[got]) == 0)
		got++;
	CU_ASSERT_EQUAL(got, 300);
	CU_ASSERT_EQUAL(zdk_mempool_get(mp, &objs[0]), -ENOBUFS);
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), 0);
	for (i = 0; i < 300; i++)
		for (unsigned j = i + 1; j < 300; j++)
			CU_ASSERT_FATAL(objs[i] != objs[j]);
	zdk_mempool_put_bulk(mp, objs, 300); /* larger than the cache: to the ring */
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), 300);
	zdk_mempool_destroy(mp);
}

#define MT_ITERS 50000
#define MT_POOL 1024

struct mt_arg {
	struct zdk_mempool *mp;
	unsigned lcore; /* ZDK_LCORE_ANY: no cache */
	unsigned tag;
	unsigned errors;
	pthread_t th;
};

/* Each thread stamps the objects it holds with its tag and checks the stamp
 * before returning them: an object handed to two threads at once shows up
 * as a foreign stamp. */
static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	void *objs[64];
	unsigned it, i;

	test_lcore_set(a->lcore);
	for (it = 0; it < MT_ITERS; it++) {
		unsigned n = 1 + (it * 7 + a->tag) % 48;

		if (zdk_mempool_get_bulk(a->mp, objs, n)) {
			sched_yield(); /* the others hold too many just now */
			continue;
		}
		for (i = 0; i < n; i++)
			*(volatile unsigned *)objs[i] = a->tag;
		for (i = 0; i < n; i++)
			if (*(volatile unsigned *)objs[i] != a->tag)
				a->errors++;
		zdk_mempool_put_bulk(a->mp, objs, n);
	}
	return NULL;
}

static void test_threads(void)
{
	struct mt_arg a[3];
	struct zdk_mempool *mp;
	void **all;
	unsigned i, j;

	CU_ASSERT_FATAL(zdk_mempool_create("mt", MT_POOL, 64, 32, 0, NULL, NULL, &mp) == 0);
	for (i = 0; i < 3; i++) {
		a[i] = (struct mt_arg){ .mp = mp, .lcore = i == 2 ? ZDK_LCORE_ANY : i + 1,
					.tag = 0x1000 + i };
		pthread_create(&a[i].th, NULL, mt_worker, &a[i]);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(a[i].th, NULL);
		CU_ASSERT_EQUAL(a[i].errors, 0);
	}
	/* Every object is back, in the ring or a cache, exactly once. */
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), MT_POOL);
	all = calloc(MT_POOL, sizeof(*all));
	test_lcore_set(0);
	for (i = 0; i < MT_POOL; i++) {
		/* lcore 0 drains the ring; objects parked in the workers'
		 * caches come out through those lcores. */
		int ret = zdk_mempool_get(mp, &all[i]);

		for (j = 1; ret && j <= 2; j++) {
			test_lcore_set(j);
			ret = zdk_mempool_get(mp, &all[i]);
		}
		test_lcore_set(0);
		CU_ASSERT_EQUAL_FATAL(ret, 0);
	}
	for (i = 0; i < MT_POOL; i++) {
		uintptr_t off = (uintptr_t)all[i] - (uintptr_t)mp->base;

		CU_ASSERT(off < mp->len && off % mp->elt_size == 0);
		for (j = i + 1; j < MT_POOL; j++)
			CU_ASSERT_FATAL(all[i] != all[j]);
	}
	zdk_mempool_put_bulk(mp, all, MT_POOL);
	free(all);
	zdk_mempool_destroy(mp);
}

static const struct zdk_test tests[] = {
	{ "pool create arguments and failures", test_pool_create },
	{ "mbuf fields, IOVA, append, bulk", test_mbuf_fields },
	{ "buf_iova is the address plus the pool's offset", test_iova_offset },
	{ "exhaust and refill", test_exhaust },
	{ "3 threads (2 cached lcores, 1 uncached)", test_threads },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("mbuf", NULL, NULL, tests);
}
