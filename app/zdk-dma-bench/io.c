/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * io.c - the strategy question behind zdk's design. For a stream of I/Os on
 * 4 KiB-128 KiB buffers, what does making each buffer DMA-able cost?
 *   map once:    buffers live in the arena mapped at init: zdk_virt2iova();
 *   map per I/O: map before the I/O, unmap after it;
 *   map cache:   an LRU of mappings keyed by page range (mapcache.c), with
 *                a working set that fits ("hot") or is twice its size ("cold").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_iommu.h"
#include "zdk_mem.h"
#include "bench.h"
#include "mapcache.h"

#define IO_NBUF 256
#define IO_MAXLEN (128 * KiB)
#define IO_CACHE_SLOTS 256 /* IOVA slots for the raw cache, >= any capacity */

struct io_ctx {
	struct bench *b;
	enum bench_path p;
	const struct buf *pool;       /* application memory, 4 KiB pages */
	const size_t *off;            /* buffer i at pool + off[i] */
	const size_t *len;
	void **arena;                 /* the same buffers from the arena */
	unsigned ws;                  /* working set: buffers 0..ws-1 */
	uint32_t rng;
	uint64_t win;                 /* IOVA window for fixed-IOVA maps */
	struct mapcache *mc;
	unsigned slots[IO_CACHE_SLOTS]; /* free IOVA slots (raw cache) */
	unsigned nslots;
	uint64_t sink;                /* keeps lookups from being optimised out */
};

typedef int (*io_fn)(struct io_ctx *c, unsigned i);

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int io_once(struct io_ctx *c, unsigned i)
{
	c->sink += zdk_virt2iova(c->arena[i]);
	return 0;
}

static int io_per_io(struct io_ctx *c, unsigned i)
{
	struct map_req m = { .buf = c->pool, .off = c->off[i], .len = c->len[i],
			     .iova = c->win };
	int ret = path_map(c->p, c->b, &m);

	if (ret)
		return ret;
	c->sink += m.iova;
	return path_unmap(c->p, c->b, &m);
}

static int io_cached(struct io_ctx *c, unsigned i)
{
	uint64_t iova;
	int ret = mapcache_get(c->mc, (char *)c->pool->va + c->off[i], c->len[i], &iova);

	c->sink += iova;
	return ret < 0 ? ret : 0;
}

/* Cache backends: raw/zdk_iommu maps at fixed IOVA slots; zdk_dma picks. */
static int slot_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	struct io_ctx *c = ctx;
	struct map_req m = { .buf = c->pool, .off = (size_t)((char *)va - (char *)c->pool->va),
			     .len = len };
	int ret;

	if (!c->nslots)
		return -ENOSPC;
	m.iova = c->win + c->slots[c->nslots - 1] * IO_MAXLEN;
	ret = path_map(c->p, c->b, &m);
	if (ret)
		return ret;
	c->nslots--;
	*iova = m.iova;
	return 0;
}

static int slot_unmap(void *ctx, void *va, size_t len, uint64_t iova)
{
	struct io_ctx *c = ctx;
	struct map_req m = { .buf = c->pool, .off = (size_t)((char *)va - (char *)c->pool->va),
			     .len = len, .iova = iova };
	int ret = path_unmap(c->p, c->b, &m);

	if (!ret)
		c->slots[c->nslots++] = (unsigned)((iova - c->win) / IO_MAXLEN);
	return ret;
}

static int dma_map_cb(void *ctx, void *va, size_t len, uint64_t *iova)
{
	return zdk_dma_map(va, len, iova);
}

static int dma_unmap_cb(void *ctx, void *va, size_t len, uint64_t iova)
{
	return zdk_dma_unmap(va, len);
}

/* Time @n I/Os of @fn on random buffers of the working set: ns per I/O. */
static int io_batch(struct io_ctx *c, io_fn fn, unsigned n, double *ns)
{
	double t0 = bench_now_us(c->b);
	unsigned k;
	int ret;

	for (k = 0; k < n; k++) {
		ret = fn(c, xorshift(&c->rng) % c->ws);
		if (ret)
			return ret;
	}
	*ns = (bench_now_us(c->b) - t0) * 1000.0 / n;
	return 0;
}

struct strategy {
	const char *test;
	io_fn fn;
	bool paths[P_NPATHS];
	unsigned ws;        /* working set */
	unsigned capacity;  /* cache entries, 0: no cache */
	unsigned batch;     /* I/Os per sample (full run) */
};

static const struct strategy strategies[] = {
	{ "io-once", io_once, { false, true, false }, IO_NBUF, 0, 4096 },
	{ "io-per-io", io_per_io, { true, true, true }, IO_NBUF, 0, 64 },
	{ "io-cache-hot", io_cached, { true, false, true }, IO_NBUF / 2, IO_NBUF, 4096 },
	{ "io-cache-cold", io_cached, { true, false, true }, IO_NBUF, IO_NBUF / 2, 256 },
};

static int ctx_setup(struct io_ctx *c, const struct strategy *s)
{
	unsigned i;

	c->ws = s->ws;
	c->rng = 0x2545f491; /* the same stream through every path */
	c->nslots = IO_CACHE_SLOTS;
	for (i = 0; i < IO_CACHE_SLOTS; i++)
		c->slots[i] = i;
	if (!s->capacity)
		return 0;
	if (c->p == P_DMA)
		return mapcache_create(s->capacity, dma_map_cb, dma_unmap_cb, c, &c->mc);
	return mapcache_create(s->capacity, slot_map, slot_unmap, c, &c->mc);
}

static void run_strategy(struct bench *b, const struct strategy *s, struct io_ctx *base)
{
	struct result_key k = { .backend = b->backend, .test = s->test, .backing = "4K",
				.size = 0, .unit = "ns/io" };
	unsigned batch = b->o->quick ? ZDK_MAX(s->batch / 4, 16u) : s->batch;
	struct io_ctx c[P_NPATHS];
	double *v[P_NPATHS] = { 0 };
	int err[P_NPATHS] = { 0 };
	char note[RES_NOTE];
	unsigned r, j, p;

	for (p = 0; p < P_NPATHS; p++) {
		c[p] = *base;
		c[p].p = p;
		c[p].mc = NULL;
		if (!s->paths[p])
			continue;
		v[p] = calloc(b->reps, sizeof(double));
		err[p] = v[p] ? ctx_setup(&c[p], s) : -ENOMEM;
	}
	for (r = 0; r < b->warmup + b->reps; r++)
		for (j = 0; j < P_NPATHS; j++) {
			double ns;

			p = (r + j) % P_NPATHS;
			if (!s->paths[p] || err[p])
				continue;
			err[p] = io_batch(&c[p], s->fn, batch, &ns);
			if (!err[p] && r >= b->warmup)
				v[p][r - b->warmup] = ns;
		}
	for (p = 0; p < P_NPATHS; p++) {
		struct mapcache_stats st = { 0 };

		if (!s->paths[p])
			continue;
		if (c[p].mc)
			mapcache_stats_get(c[p].mc, &st);
		if (err[p])
			snprintf(note, sizeof(note), "failed: %s", strerror(-err[p]));
		else if (c[p].mc)
			snprintf(note, sizeof(note), "%u-entry cache, %u-buffer working set: %.0f%% hits",
				 s->capacity, s->ws, 100.0 * st.hits / (st.hits + st.misses));
		bench_record(b, &k, p, v[p], err[p] ? 0 : b->reps,
			     err[p] || (c[p].mc && p == P_RAW) ? note : NULL);
		mapcache_destroy(c[p].mc);
		free(v[p]);
	}
}

void bench_io(struct bench *b)
{
	static size_t off[IO_NBUF], len[IO_NBUF];
	static void *arena[IO_NBUF];
	struct io_ctx base = { .b = b, .off = off, .len = len, .arena = arena };
	uint32_t rng = 12345;
	struct buf pool;
	size_t total = 0;
	unsigned i, s;

	fprintf(stderr, "dma-bench: %s: I/O strategies\n", b->backend);
	for (i = 0; i < IO_NBUF; i++) {
		len[i] = (1 + xorshift(&rng) % (IO_MAXLEN / (4 * KiB))) * 4 * KiB;
		off[i] = total;
		total += len[i];
	}
	if (buf_alloc(&pool, B_4K, total, true))
		return;
	base.pool = &pool;
	for (i = 0; i < IO_NBUF; i++)
		if (!(arena[i] = zdk_dma_zalloc(len[i], 4 * KiB, ZDK_SOCKET_ANY, NULL)))
			break;
	if (i < IO_NBUF) {
		struct result_key k = { .backend = b->backend, .test = "io-once", .backing = "4K",
					.unit = "ns/io" };

		bench_record(b, &k, P_ZDK, NULL, 0, "arena too small for the buffers: raise --arena");
	}
	if (iova_window(IO_CACHE_SLOTS * IO_MAXLEN, 2 * MiB, &base.win) == 0) {
		for (s = 0; s < ZDK_ARRAY_SIZE(strategies); s++)
			if (strategies[s].fn != io_once || i == IO_NBUF)
				run_strategy(b, &strategies[s], &base);
		zdk_iommu_iova_free(base.win, IO_CACHE_SLOTS * IO_MAXLEN);
	}
	while (i--)
		zdk_dma_free(arena[i]);
	buf_free(&pool);
}
