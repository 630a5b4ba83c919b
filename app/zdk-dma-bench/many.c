/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * many.c - many small mappings (rate, and where type1's dma_entry_limit
 * stops them) and several threads mapping at once.
 */
#include <errno.h>
#include <pthread.h>
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

/*
 * Map 4 KiB pages one by one at consecutive IOVAs until @target or the
 * first error; then unmap them all. Rates are per batch of SMALL_BATCH.
 */
static void small_path(struct bench *b, enum bench_path p, const struct buf *buf,
		       uint64_t iova, unsigned target)
{
	struct result_key k = { .backend = b->backend, .backing = "4K", .size = 4 * KiB,
				.unit = "maps/s" };
	unsigned nb = target / SMALL_BATCH + 1, nmap = 0, nunmap = 0, i;
	double *rm = calloc(nb, sizeof(double)), *ru = calloc(nb, sizeof(double));
	char note[RES_NOTE];
	double t0 = 0;
	int err = 0;

	if (!rm || !ru)
		goto out;
	for (; nmap < target; nmap++) {
		struct map_req m = { .buf = buf, .off = (nmap % SMALL_POOL_PAGES) * 4 * KiB,
				     .len = 4 * KiB, .iova = iova + nmap * 4 * KiB };

		if (nmap % SMALL_BATCH == 0)
			t0 = bench_now_us(b);
		err = path_map(p, b, &m);
		if (err)
			break;
		if (nmap % SMALL_BATCH == SMALL_BATCH - 1)
			rm[nmap / SMALL_BATCH] = SMALL_BATCH * 1e6 / (bench_now_us(b) - t0);
	}
	for (i = 0; i < nmap; i++) {
		struct map_req m = { .buf = buf, .off = (i % SMALL_POOL_PAGES) * 4 * KiB,
				     .len = 4 * KiB, .iova = iova + i * 4 * KiB };

		if (i % SMALL_BATCH == 0)
			t0 = bench_now_us(b);
		if (path_unmap(p, b, &m) == 0)
			nunmap++;
		if (i % SMALL_BATCH == SMALL_BATCH - 1)
			ru[i / SMALL_BATCH] = SMALL_BATCH * 1e6 / (bench_now_us(b) - t0);
	}
	k.test = "small-maps";
	bench_record(b, &k, p, rm, nmap / SMALL_BATCH, nmap < SMALL_BATCH ? "too few maps" : NULL);
	k.test = "small-unmaps";
	bench_record(b, &k, p, ru, nmap / SMALL_BATCH,
		     nunmap != nmap ? "some unmaps failed" : NULL);

	/* The count where mapping stopped: one figure, the note says why. */
	k.test = "maps-held";
	k.unit = "count";
	if (err == -ENOSPC)
		snprintf(note, sizeof(note), "ENOSPC after %u maps (dma_entry_limit=%ld; zdk's own mappings use the rest)",
			 nmap, read_entry_limit());
	else if (err)
		snprintf(note, sizeof(note), "stopped after %u maps: %s", nmap, strerror(-err));
	else
		snprintf(note, sizeof(note), "no limit hit: all %u maps held at once", nmap);
	rm[0] = nmap;
	bench_record(b, &k, p, rm, 1, note);
out:
	free(rm);
	free(ru);
}

void bench_small(struct bench *b)
{
	/* Past type1's default dma_entry_limit (65535), to find where it stops. */
	unsigned target = b->o->quick ? 4 * SMALL_BATCH : 72 * SMALL_BATCH;
	struct buf buf;
	uint64_t iova;
	int ret;

	fprintf(stderr, "dma-bench: %s: %u small maps per path\n", b->backend, target);
	ret = buf_alloc(&buf, B_4K, SMALL_POOL_PAGES * 4 * KiB, true);
	if (ret)
		return;
	if (iova_window((size_t)target * 4 * KiB, 2 * MiB, &iova) == 0) {
		small_path(b, P_RAW, &buf, iova, target);
		small_path(b, P_ZDK, &buf, iova, target);
		zdk_iommu_iova_free(iova, (size_t)target * 4 * KiB);
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

void bench_threads(struct bench *b)
{
	unsigned ncpu = (unsigned)CPU_COUNT(&b->cpus), max = ZDK_MIN(ncpu, 8u), n, i, r;
	unsigned pairs = b->o->quick ? 200 : 2000;
	struct worker w[8];
	enum bench_path paths[] = { P_RAW, P_ZDK };
	double *v[2];
	int err[2];

	if (max < 2)
		max = 2; /* two threads on one CPU still show the lock cost */
	for (i = 0; i < max; i++)
		w[i] = (struct worker){ .b = b, .cpu = bench_cpu_nth(&b->cpus, i), .pairs = pairs,
					.buf = { .fd = -1 } };
	for (i = 0; i < max; i++) {
		if (buf_alloc(&w[i].buf, B_4K, 64 * 4 * KiB, true) ||
		    iova_window(64 * 4 * KiB, 2 * MiB, &w[i].iova))
			goto out;
	}
	v[0] = calloc(b->reps, sizeof(double));
	v[1] = calloc(b->reps, sizeof(double));
	for (n = 1; v[0] && v[1] && n <= max; n *= 2) {
		struct result_key k = { .backend = b->backend, .test = "threads", .backing = "4K",
					.size = 4 * KiB, .threads = n, .unit = "pairs/s" };

		fprintf(stderr, "dma-bench: %s: %u thread(s) mapping\n", b->backend, n);
		err[0] = err[1] = 0;
		for (r = 0; r < b->warmup + b->reps; r++)
			for (i = 0; i < 2; i++) {
				enum bench_path p = paths[(r + i) % 2];
				unsigned slot = (r + i) % 2;
				double rate;

				if (err[slot])
					continue;
				rate = threads_run(b, p, w, n);
				if (rate < 0)
					err[slot] = (int)rate;
				else if (r >= b->warmup)
					v[slot][r - b->warmup] = rate;
			}
		for (i = 0; i < 2; i++) {
			char note[RES_NOTE];

			snprintf(note, sizeof(note), "failed: %s", strerror(-err[i]));
			bench_record(b, &k, paths[i], v[i], err[i] ? 0 : b->reps,
				     err[i] ? note : NULL);
		}
	}
	free(v[0]);
	free(v[1]);
out:
	for (i = 0; i < max; i++) {
		buf_free(&w[i].buf);
		if (w[i].iova)
			zdk_iommu_iova_free(w[i].iova, 64 * 4 * KiB);
	}
}
