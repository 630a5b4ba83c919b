/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ring.c - zdk_ring: bulk/burst semantics, counter wrap-around, and
 * multi-producer/multi-consumer runs checked for loss, duplicates and
 * per-producer order.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_ring.h"

static void test_create_args(void)
{
	struct zdk_ring *r = NULL;

	CU_ASSERT_EQUAL(zdk_ring_create("bad", 100, ZDK_SOCKET_ANY, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(zdk_ring_create("bad", 0, ZDK_SOCKET_ANY, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(zdk_ring_create("ok", 64, ZDK_SOCKET_ANY, 0, &r), 0);
	CU_ASSERT_EQUAL(r->size, 64);
	CU_ASSERT_EQUAL(zdk_ring_free_count(r), 64);
	zdk_ring_destroy(r);
	zdk_ring_destroy(NULL);
}

static void test_bulk_burst(void)
{
	struct zdk_ring *r;
	void *in[80], *out[80];
	unsigned i, free_space, avail;

	for (i = 0; i < 80; i++)
		in[i] = (void *)(uintptr_t)(i + 1);
	CU_ASSERT_FATAL(zdk_ring_create("t", 64, ZDK_SOCKET_ANY, 0, &r) == 0);
	/* bulk: all or nothing */
	CU_ASSERT_EQUAL(zdk_ring_enqueue_bulk(r, in, 80, NULL), 0);
	CU_ASSERT_EQUAL(zdk_ring_count(r), 0);
	CU_ASSERT_EQUAL(zdk_ring_enqueue_bulk(r, in, 40, &free_space), 40);
	CU_ASSERT_EQUAL(free_space, 24);
	CU_ASSERT_EQUAL(zdk_ring_enqueue_bulk(r, in + 40, 30, NULL), 0);
	/* burst: as many as fit */
	CU_ASSERT_EQUAL(zdk_ring_enqueue_burst(r, in + 40, 30, &free_space), 24);
	CU_ASSERT_EQUAL(free_space, 0);
	CU_ASSERT_EQUAL(zdk_ring_enqueue(r, in[0]), -ENOBUFS);
	CU_ASSERT_EQUAL(zdk_ring_dequeue_bulk(r, out, 65, NULL), 0);
	CU_ASSERT_EQUAL(zdk_ring_dequeue_bulk(r, out, 10, &avail), 10);
	CU_ASSERT_EQUAL(avail, 54);
	CU_ASSERT_EQUAL(zdk_ring_dequeue_burst(r, out + 10, 80, &avail), 54);
	CU_ASSERT_EQUAL(avail, 0);
	for (i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(out[i], in[i]); /* FIFO */
	CU_ASSERT_EQUAL(zdk_ring_dequeue(r, &out[0]), -ENOENT);
	zdk_ring_destroy(r);
}

/* Head and tail counters are free-running 32-bit values: start them just
 * below the wrap and push objects across it. */
static void test_counter_wrap(void)
{
	struct zdk_ring *r;
	void *in[16], *out[16];
	unsigned round, i;

	CU_ASSERT_FATAL(zdk_ring_create("wrap", 16, ZDK_SOCKET_ANY,
					ZDK_RING_F_SP_ENQ | ZDK_RING_F_SC_DEQ, &r) == 0);
	atomic_store(&r->prod.head, UINT32_MAX - 20);
	atomic_store(&r->prod.tail, UINT32_MAX - 20);
	atomic_store(&r->cons.head, UINT32_MAX - 20);
	atomic_store(&r->cons.tail, UINT32_MAX - 20);
	for (round = 0; round < 10; round++) {
		for (i = 0; i < 16; i++)
			in[i] = (void *)(uintptr_t)(round * 100 + i + 1);
		CU_ASSERT_EQUAL(zdk_ring_enqueue_bulk(r, in, 11, NULL), 11);
		CU_ASSERT_EQUAL(zdk_ring_count(r), 11);
		CU_ASSERT_EQUAL(zdk_ring_dequeue_bulk(r, out, 11, NULL), 11);
		CU_ASSERT_EQUAL(memcmp(in, out, 11 * sizeof(void *)), 0);
	}
	zdk_ring_destroy(r);
}

#define PER_PRODUCER 200000u
#define MAX_THREADS 4

struct mt_ctx {
	struct zdk_ring *r;
	unsigned nprod;
	_Atomic unsigned consumed;
	_Atomic unsigned char *seen; /* per (producer, seq) */
	_Atomic unsigned errors;
};

struct mt_thread {
	struct mt_ctx *ctx;
	unsigned id;
	pthread_t th;
};

static void *producer(void *arg)
{
	struct mt_thread *t = arg;
	uintptr_t seq = 0, objs[32];

	while (seq < PER_PRODUCER) {
		unsigned n = 1 + (unsigned)(seq % 32), i, done;

		if (seq + n > PER_PRODUCER)
			n = PER_PRODUCER - (unsigned)seq;
		/* Value = producer << 32 | seq + 1: never NULL, unique. */
		for (i = 0; i < n; i++)
			objs[i] = ((uintptr_t)t->id << 32) | (seq + i + 1);
		if (seq & 1)
			done = zdk_ring_enqueue_burst(t->ctx->r, (void **)objs, n, NULL);
		else
			done = zdk_ring_enqueue_bulk(t->ctx->r, (void **)objs, n, NULL);
		seq += done;
		if (!done)
			sched_yield(); /* the test shares 2 cores with everything else */
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct mt_thread *t = arg;
	struct mt_ctx *c = t->ctx;
	uintptr_t last[MAX_THREADS] = { 0 }, objs[32];
	unsigned total = c->nprod * PER_PRODUCER, calls = 0;

	while (atomic_load(&c->consumed) < total) {
		unsigned n = (calls++ & 1) ? zdk_ring_dequeue_burst(c->r, (void **)objs, 32, NULL)
					   : zdk_ring_dequeue_bulk(c->r, (void **)objs, 8, NULL);

		for (unsigned i = 0; i < n; i++) {
			unsigned p = (unsigned)(objs[i] >> 32);
			uintptr_t seq = objs[i] & 0xffffffffu;

			/* One consumer sees each producer's objects in order. */
			if (p >= c->nprod || seq == 0 || seq > PER_PRODUCER || seq <= last[p] ||
			    atomic_fetch_add(&c->seen[p * PER_PRODUCER + seq - 1], 1) != 0)
				atomic_fetch_add(&c->errors, 1);
			if (p < c->nprod)
				last[p] = seq;
		}
		atomic_fetch_add(&c->consumed, n);
		if (!n)
			sched_yield();
	}
	return NULL;
}

static void run_mt(unsigned nprod, unsigned ncons, unsigned flags)
{
	struct mt_ctx c = { .nprod = nprod };
	struct mt_thread t[2 * MAX_THREADS];
	unsigned i, missing = 0;

	CU_ASSERT_FATAL(zdk_ring_create("mt", 256, ZDK_SOCKET_ANY, flags, &c.r) == 0);
	c.seen = calloc((size_t)nprod * PER_PRODUCER, 1);
	CU_ASSERT_FATAL(c.seen != NULL);
	for (i = 0; i < nprod + ncons; i++) {
		t[i].ctx = &c;
		t[i].id = i < nprod ? i : i - nprod;
		pthread_create(&t[i].th, NULL, i < nprod ? producer : consumer, &t[i]);
	}
	for (i = 0; i < nprod + ncons; i++)
		pthread_join(t[i].th, NULL);
	for (i = 0; i < nprod * PER_PRODUCER; i++)
		missing += c.seen[i] != 1;
	CU_ASSERT_EQUAL(atomic_load(&c.errors), 0);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(atomic_load(&c.consumed), nprod * PER_PRODUCER);
	CU_ASSERT_EQUAL(zdk_ring_count(c.r), 0);
	free((void *)c.seen);
	zdk_ring_destroy(c.r);
}

static void test_spsc_threads(void)
{
	run_mt(1, 1, ZDK_RING_F_SP_ENQ | ZDK_RING_F_SC_DEQ);
}

static void test_mpmc_threads(void)
{
	run_mt(2, 2, 0);
}

static const struct zdk_test tests[] = {
	{ "create arguments", test_create_args },
	{ "bulk and burst", test_bulk_burst },
	{ "32-bit counter wrap", test_counter_wrap },
	{ "SP/SC across two threads", test_spsc_threads },
	{ "MP/MC, 2 producers x 2 consumers", test_mpmc_threads },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("ring", NULL, NULL, tests);
}
