/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * many.c - many small mappings (rate, and where type1's dma_entry_limit
 * stops them) and several threads mapping at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_iommu.h"
#include "bench.h"

#define SMALL_POOL_PAGES 1024u /* distinct pages, reused round robin */
#define SMALL_BATCH 1024u      /* maps per timed sample */

static long read_entry_limit(void)
{
	FILE *f = fopen("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Map (or unmap) 4 KiB pages [@first, @first+@n) at @iova + i * 4K. */
static int small_range(struct bench *b, enum bench_path p, const struct buf *buf,
		       uint64_t iova, unsigned first, unsigned n, bool map, unsigned *done)
{
	unsigned i;
	int err = 0;

	*done = 0;
	for (i = first; i < first + n && !err; i++) {
		struct map_req m = { .buf = buf, .off = (i % SMALL_POOL_PAGES) * 4 * KiB,
				     .len = 4 * KiB, .iova = iova + (uint64_t)i * 4 * KiB };

		err = map ? path_map(p, b, &m) : path_unmap(p, b, &m);
		*done += !err;
	}
	return err;
}

/*
 * Rates: raw and zdk take turns, a batch of SMALL_BATCH maps each, until
 * each holds @n mappings (both at once: keep 2n under type1's limit); then
 * the unmaps the same way.
 */
static void small_rates(struct bench *b, const struct buf *buf, uint64_t iova, unsigned n)
{
	static const enum bench_path paths[2] = { P_RAW, P_ZDK };
	struct result_key k = { .backend = b->backend, .backing = "4K", .size = 4 * KiB,
				.unit = "maps/s" };
	unsigned nb = n / SMALL_BATCH, held[2] = { 0 }, pass, i, j, done;
	double *v[2][2];
	int err[2] = { 0 };

	for (i = 0; i < 4; i++) {
		v[i / 2][i % 2] = calloc(nb, sizeof(double));
		if (!v[i / 2][i % 2])
			err[i % 2] = -ENOMEM;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nb; i++) {
			for (j = 0; j < 2; j++) {
				unsigned s = (i + j) % 2; /* alternate who goes first */
				double t0;

				if (err[s])
					continue;
				t0 = bench_now_us(b);
				err[s] = small_range(b, paths[s], buf, iova + s * (uint64_t)n * 4 * KiB,
						     i * SMALL_BATCH, SMALL_BATCH, pass == 0, &done);
				v[pass][s][i] = SMALL_BATCH * 1e6 / (bench_now_us(b) - t0);
				if (pass == 0)
					held[s] += done;
				else
					held[s] -= done;
			}
		}
	}
	for (j = 0; j < 2; j++) {
		char note[RES_NOTE];

		snprintf(note, sizeof(note), "failed: %s", strerror(-err[j]));
		k.test = "small-maps";
		bench_record(b, &k, paths[j], v[0][j], err[j] ? 0 : nb, err[j] ? note : NULL);
		k.test = "small-unmaps";
		bench_record(b, &k, paths[j], v[1][j], err[j] ? 0 : nb, err[j] ? note : NULL);
		if (held[j])
			small_range(b, paths[j], buf, iova + j * (uint64_t)n * 4 * KiB, 0, n, false,
				    &done);
	}
	for (i = 0; i < 4; i++)
		free(v[i / 2][i % 2]);
}

/* How many 4 KiB mappings one path can hold: map until @target or an error. */
static void small_limit(struct bench *b, enum bench_path p, const struct buf *buf,
			uint64_t iova, unsigned target)
{
	struct result_key k = { .backend = b->backend, .test = "maps-held", .backing = "4K",
				.size = 4 * KiB, .unit = "count" };
	unsigned held, done;
	char note[RES_NOTE];
	double v;
	int err;

	err = small_range(b, p, buf, iova, 0, target, true, &held);
	if (err == -ENOSPC)
		snprintf(note, sizeof(note), "ENOSPC after %u maps (dma_entry_limit=%ld; zdk's own mappings use the rest)",
			 held, read_entry_limit());
	else if (err)
		snprintf(note, sizeof(note), "stopped after %u maps: %s", held, strerror(-err));
	else
		snprintf(note, sizeof(note), "no limit hit: all %u maps held at once", held);
	small_range(b, p, buf, iova, 0, held, false, &done);
	v = held;
	bench_record(b, &k, p, &v, 1, note);
}

void bench_small(struct bench *b)
{
	/* Rates well under type1's default dma_entry_limit (65535)... */
	unsigned n = b->o->quick ? 4 * SMALL_BATCH : 16 * SMALL_BATCH;
	/* ...and the limit itself: past it, to find where it stops. */
	unsigned target = b->o->quick ? n : 72 * SMALL_BATCH;
	size_t win = (size_t)ZDK_MAX(2 * n, target) * 4 * KiB;
	struct buf buf;
	uint64_t iova;

	fprintf(stderr, "dma-bench: %s: small maps, %u per path, then up to %u\n", b->backend,
		n, target);
	if (buf_alloc(&buf, B_4K, SMALL_POOL_PAGES * 4 * KiB, true))
		return;
	if (iova_window(win, 2 * MiB, &iova) == 0) {
		small_rates(b, &buf, iova, n);
		small_limit(b, P_RAW, &buf, iova, target);
		small_limit(b, P_ZDK, &buf, iova, target);
		zdk_iommu_iova_free(iova, win);
	}
	buf_free(&buf);
}

/* Opened once every thread is up, so they start together. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	bool abort; /* a thread could not be created: nobody works */
};

static bool gate_wait(struct gate *g)
{
	bool abort;

	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	abort = g->abort;
	pthread_mutex_unlock(&g->mu);
	return !abort;
}

static void gate_open(struct gate *g, bool abort)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	g->abort = abort;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* Threads mapping at once: each maps and unmaps 4 KiB pages of its own. */
struct worker {
	struct bench *b;
	enum bench_path p;
	int cpu;
	unsigned pairs;
	struct buf buf;
	uint64_t iova;
	struct gate *go;
	double t_end;
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned i;

	bench_pin(w->cpu);
	if (!gate_wait(w->go))
		return NULL;
	for (i = 0; i < w->pairs && !w->err; i++) {
		struct map_req m = { .buf = &w->buf, .off = (i % 64) * 4 * KiB, .len = 4 * KiB,
				     .iova = w->iova + (i % 64) * 4 * KiB };

		w->err = path_map(w->p, w->b, &m);
		if (!w->err)
			w->err = path_unmap(w->p, w->b, &m);
	}
	w->t_end = bench_now_us(w->b);
	return NULL;
}

/* One run of @n threads through @p; returns pairs per second or -errno. */
static double threads_run(struct bench *b, enum bench_path p, struct worker *w, unsigned n)
{
	struct gate go = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false };
	double t0, t_end = 0;
	unsigned i, started;
	pthread_t tid[8];
	int err = 0;

	for (started = 0; started < n; started++) {
		w[started].p = p;
		w[started].go = &go;
		w[started].err = 0;
		if (pthread_create(&tid[started], NULL, worker_main, &w[started]))
			break;
	}
	t0 = bench_now_us(b);
	gate_open(&go, started < n);
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		err = err ? err : w[i].err;
		t_end = ZDK_MAX(t_end, w[i].t_end);
	}
	if (started < n)
		return -EAGAIN;
	if (err)
		return err;
	return (double)n * w[0].pairs * 1e6 / (t_end - t0);
}

/* One thread count: every path in turn, rotating who goes first. */
static void threads_point(struct bench *b, struct worker *w, unsigned n, double **v)
{
	struct result_key k = { .backend = b->backend, .test = "threads", .backing = "4K",
				.size = 4 * KiB, .threads = n, .unit = "pairs/s" };
	int err[P_NPATHS] = { 0 };
	char note[RES_NOTE];
	unsigned r, j, p;

	fprintf(stderr, "dma-bench: %s: %u thread(s) mapping\n", b->backend, n);
	for (r = 0; r < b->warmup + b->reps; r++)
		for (j = 0; j < P_NPATHS; j++) {
			double rate;

			p = (r + j) % P_NPATHS;
			if (err[p])
				continue;
			rate = threads_run(b, p, w, n);
			if (rate < 0)
				err[p] = (int)rate;
			else if (r >= b->warmup)
				v[p][r - b->warmup] = rate;
		}
	for (p = 0; p < P_NPATHS; p++) {
		snprintf(note, sizeof(note), "failed: %s", strerror(-err[p]));
		bench_record(b, &k, p, v[p], err[p] ? 0 : b->reps, err[p] ? note : NULL);
	}
}

void bench_threads(struct bench *b)
{
	unsigned ncpu = (unsigned)CPU_COUNT(&b->cpus), max = ZDK_MIN(ncpu, 8u), n, i;
	unsigned pairs = b->o->quick ? 200 : 2000;
	double *v[P_NPATHS] = { 0 };
	struct worker w[8];
	bool ok = true;

	if (max < 2)
		max = 2; /* two threads on one CPU still show the lock cost */
	for (i = 0; i < max; i++)
		w[i] = (struct worker){ .b = b, .cpu = bench_cpu_nth(&b->cpus, i), .pairs = pairs,
					.buf = { .fd = -1 } };
	for (i = 0; i < max && ok; i++)
		ok = !buf_alloc(&w[i].buf, B_4K, 64 * 4 * KiB, true) &&
		     !iova_window(64 * 4 * KiB, 2 * MiB, &w[i].iova);
	for (i = 0; i < P_NPATHS && ok; i++)
		ok = (v[i] = calloc(b->reps, sizeof(double))) != NULL;
	for (n = 1; ok && n <= max; n *= 2)
		threads_point(b, w, n, v);
	for (i = 0; i < P_NPATHS; i++)
		free(v[i]);
	for (i = 0; i < max; i++) {
		buf_free(&w[i].buf);
		if (w[i].iova)
			zdk_iommu_iova_free(w[i].iova, 64 * 4 * KiB);
	}
}
