/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.c - the shared machinery (paths, buffers, recording) and the two
 * size sweeps: one map/unmap latency, and whole-buffer map throughput.
 */
#include <errno.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdk_iommu.h"
#include "zdk_mem.h"
#include "bench.h"

const char *const bench_path_name[P_NPATHS] = { "raw", "zdk", "dma" };
const char *const backing_name[B_NBACKINGS] = { "4K", "2M", "1G" };
const size_t backing_pgsize[B_NBACKINGS] = { 4 * KiB, 2 * MiB, GiB };

int path_map(enum bench_path p, const struct bench *b, struct map_req *m)
{
	void *va = (char *)m->buf->va + m->off;

	switch (p) {
	case P_RAW:
		return m->file ? raw_map_file(&b->raw, m->buf->fd, m->off, m->iova, m->len)
			       : raw_map(&b->raw, va, m->iova, m->len);
	case P_ZDK:
		return m->file ? zdk_iommu_map_file(m->buf->fd, m->off, m->iova, m->len)
			       : zdk_iommu_map(va, m->iova, m->len);
	case P_DMA:
		return m->file ? -EOPNOTSUPP : zdk_dma_map(va, m->len, &m->iova);
	default:
		return -EINVAL;
	}
}

int path_unmap(enum bench_path p, const struct bench *b, const struct map_req *m)
{
	switch (p) {
	case P_RAW:
		return raw_unmap(&b->raw, m->iova, m->len);
	case P_ZDK:
		return zdk_iommu_unmap(m->iova, m->len);
	case P_DMA:
		return zdk_dma_unmap((char *)m->buf->va + m->off, m->len);
	default:
		return -EINVAL;
	}
}

const char *variant_name(const struct bench *b, bool file)
{
	if (!file)
		return b->backend;
	return b->raw.mode == ZDK_IOMMU_NOIOMMU ? "noiommu-iommufd-file" : "iommufd-file";
}

int buf_alloc(struct buf *buf, enum backing bk, size_t len, bool populate)
{
	static const unsigned flags[B_NBACKINGS] = {
		0, MFD_HUGETLB | MFD_HUGE_2MB, MFD_HUGETLB | MFD_HUGE_1GB,
	};
	int ret;

	memset(buf, 0, sizeof(*buf));
	buf->b = bk;
	buf->len = ZDK_ALIGN_UP(len, backing_pgsize[bk]);
	buf->fd = memfd_create("zdk-dma-bench", MFD_CLOEXEC | flags[bk]);
	if (buf->fd < 0)
		return -errno;
	if (ftruncate(buf->fd, (off_t)buf->len)) {
		ret = -errno;
		goto err_close_fd;
	}
	/* A shared hugetlb mapping reserves its pages here: ENOMEM if too few. */
	buf->va = mmap(NULL, buf->len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (populate ? MAP_POPULATE : 0), buf->fd, 0);
	if (buf->va == MAP_FAILED) {
		ret = -errno;
		goto err_close_fd;
	}
	return 0;

err_close_fd:
	close(buf->fd);
	buf->fd = -1;
	buf->va = NULL;
	return ret;
}

void buf_free(struct buf *buf)
{
	if (buf->va)
		munmap(buf->va, buf->len);
	if (buf->fd >= 0)
		close(buf->fd);
	buf->va = NULL;
	buf->fd = -1;
}

int iova_window(size_t len, size_t align, uint64_t *iova)
{
	return zdk_iommu_iova_alloc(len, align, iova);
}

int bench_record(struct bench *b, const struct result_key *k, enum bench_path p,
		 double *v, unsigned n, const char *note)
{
	struct stats st = { 0 };
	int ret;

	if (n) {
		ret = stats_compute(v, n, &st);
		if (ret)
			return ret;
	}
	return results_add(b->res, k, bench_path_name[p], n ? &st : NULL, note);
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int bench_cpu_nth(const cpu_set_t *set, unsigned i)
{
	unsigned n = (unsigned)CPU_COUNT(set), k = 0;
	int cpu;

	i %= n ? n : 1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set) && k++ == i)
			return cpu;
	return 0;
}

/* Samples of one figure per path, and the first error that stopped a path. */
struct sweep {
	double *v[2][P_NPATHS]; /* [0] map or first pass, [1] unmap or again */
	unsigned n[2];
	int err[P_NPATHS];
	bool use[P_NPATHS];
};

static int sweep_init(struct sweep *s, const struct bench *b, unsigned n0, unsigned n1, bool file)
{
	unsigned i, p;

	memset(s, 0, sizeof(*s));
	s->n[0] = n0;
	s->n[1] = n1;
	for (p = 0; p < P_NPATHS; p++) {
		s->use[p] = !(file && p == P_DMA) && (b->paths & (1u << p));
		for (i = 0; i < 2; i++) {
			s->v[i][p] = calloc(s->n[i], sizeof(double));
			if (!s->v[i][p])
				return -ENOMEM;
		}
	}
	return 0;
}

static void sweep_fini(struct sweep *s)
{
	unsigned i, p;

	for (p = 0; p < P_NPATHS; p++)
		for (i = 0; i < 2; i++)
			free(s->v[i][p]);
}

/* Record the figures of @s under @test0 (and @test1 for the second series). */
static void sweep_record(struct bench *b, struct sweep *s, struct result_key *k,
			 const char *test0, const char *test1, double scale_num)
{
	char note[RES_NOTE];
	unsigned p, i, t;

	for (t = 0; t < 2; t++) {
		k->test = t ? test1 : test0;
		if (!k->test)
			continue;
		for (p = 0; p < P_NPATHS; p++) {
			if (!s->use[p])
				continue;
			if (s->err[p]) {
				snprintf(note, sizeof(note), "%s failed: %s", bench_path_name[p],
					 strerror(-s->err[p]));
				bench_record(b, k, p, NULL, 0, note);
				continue;
			}
			/* scale_num: samples are times, figures are amounts per second */
			for (i = 0; scale_num && i < s->n[t]; i++)
				s->v[t][p][i] = scale_num / s->v[t][p][i];
			bench_record(b, k, p, s->v[t][p], s->n[t], NULL);
		}
	}
}

static uint64_t lat_window;

/* One map and one unmap of @len bytes of @buf, every path in turn. */
static void lat_point(struct bench *b, const struct buf *buf, size_t len, bool file)
{
	struct result_key k = { .backend = variant_name(b, file), .backing = backing_name[buf->b],
				.size = len, .unit = "us" };
	unsigned i, j, p;
	struct sweep s;

	if (sweep_init(&s, b, b->reps, b->reps, file))
		goto out;
	for (i = 0; i < b->warmup + b->reps; i++) {
		for (j = 0; j < P_NPATHS; j++) {
			struct map_req m = { .buf = buf, .len = len, .iova = lat_window, .file = file };
			double t0, t1, t2;

			/* Rotate the order so no path always runs first. */
			p = (i + j) % P_NPATHS;
			if (!s.use[p] || s.err[p])
				continue;
			t0 = bench_now_us(b);
			s.err[p] = path_map(p, b, &m);
			t1 = bench_now_us(b);
			if (s.err[p])
				continue;
			s.err[p] = path_unmap(p, b, &m);
			t2 = bench_now_us(b);
			if (i >= b->warmup) {
				s.v[0][p][i - b->warmup] = t1 - t0;
				s.v[1][p][i - b->warmup] = t2 - t1;
			}
		}
	}
	sweep_record(b, &s, &k, "map", "unmap", 0);
out:
	sweep_fini(&s);
}

static void skip_point(struct bench *b, const char *backend, const char *backing,
		       size_t len, const char *test2, const char *note)
{
	struct result_key k = { .backend = backend, .backing = backing, .size = len,
				.unit = !strncmp(test2, "arena", 5) ? "GiB/s" : "us" };

	k.test = test2;
	bench_record(b, &k, P_RAW, NULL, 0, note);
}

/*
 * The largest buffer of @bk, up to @want bytes, the machine gives us now;
 * halving on ENOMEM (hugepages run out).
 */
static int buf_alloc_fit(struct buf *buf, enum backing bk, size_t want)
{
	size_t pg = backing_pgsize[bk], len = ZDK_ALIGN_UP(want, pg);
	int ret = -ENOMEM;

	for (; len >= pg; len = ZDK_ALIGN_DOWN(len / 2, pg)) {
		ret = buf_alloc(buf, bk, len, true);
		if (ret != -ENOMEM)
			return ret;
	}
	return ret;
}

/* MemAvailable from /proc/meminfo, in bytes (0 if unknown). */
static size_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (size_t)kb * KiB;
}

void bench_latency(struct bench *b)
{
	static const size_t full[] = { 4 * KiB, 64 * KiB, 2 * MiB, 64 * MiB, GiB };
	static const size_t quick[] = { 4 * KiB, 64 * KiB, 2 * MiB };
	const size_t *sizes = b->o->quick ? quick : full;
	unsigned nsizes = b->o->quick ? 3 : 5, i, f;
	size_t max = sizes[nsizes - 1];
	char note[RES_NOTE];
	struct buf buf;
	int bk, ret;

	if (iova_window(GiB, GiB, &lat_window)) {
		fprintf(stderr, "dma-bench: no 1 GiB IOVA window: latency skipped\n");
		return;
	}
	for (bk = 0; bk < B_NBACKINGS; bk++) {
		/* 4 KiB pages come from ordinary memory: leave half of it free. */
		size_t want = bk == B_4K ? ZDK_MIN(max, mem_available() / 2) : max;

		fprintf(stderr, "dma-bench: %s: map/unmap latency, %s pages\n", b->backend,
			backing_name[bk]);
		ret = buf_alloc_fit(&buf, (enum backing)bk, want);
		for (i = 0; i < nsizes; i++) {
			for (f = 0; f <= b->raw.iommufd; f++) {
				const char *v = variant_name(b, f);

				if (ret) {
					snprintf(note, sizeof(note), "no %s-page buffer: %s",
						 backing_name[bk], strerror(-ret));
				} else if (sizes[i] > buf.len) {
					snprintf(note, sizeof(note), "skipped: the largest %s-page buffer %s was %zu MiB",
						 backing_name[bk],
						 bk == B_4K ? "within half of MemAvailable" : "the free hugepages gave",
						 buf.len / MiB);
				} else if (f && !b->map_file) {
					snprintf(note, sizeof(note), "kernel lacks IOMMU_IOAS_MAP_FILE");
				} else {
					lat_point(b, &buf, sizes[i], f);
					continue;
				}
				skip_point(b, v, backing_name[bk], sizes[i], "map", note);
			}
		}
		if (!ret)
			buf_free(&buf);
	}
	zdk_iommu_iova_free(lat_window, GiB);
}

/*
 * Map a whole buffer of @len bytes: first time (fresh memory, the kernel
 * faults and zeroes each page as it pins it; no warm-up, every run is a
 * first one) and again (resident pages, after a warm-up).
 */
static void arena_point(struct bench *b, enum backing bk, size_t len, bool file,
			uint64_t iova)
{
	struct result_key k = { .backend = variant_name(b, file), .backing = backing_name[bk],
				.size = len, .unit = "GiB/s" };
	const unsigned warmup[2] = { 0, b->warmup };
	unsigned i, j, p, pass;
	struct buf buf = { .fd = -1 };
	struct sweep s;

	/* Fresh 1 GiB pages are zeroed at 0.25 GiB/s under TCG: fewer runs. */
	if (sweep_init(&s, b, b->o->quick || bk == B_1G ? 2 : 3, b->reps, file))
		goto out;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && buf_alloc(&buf, bk, len, true)) {
			for (p = 0; p < P_NPATHS; p++)
				s.err[p] = s.err[p] ? s.err[p] : -ENOMEM;
			break;
		}
		for (i = 0; i < warmup[pass] + s.n[pass]; i++) {
			for (j = 0; j < P_NPATHS; j++) {
				struct map_req m = { .buf = &buf, .len = len, .iova = iova, .file = file };
				double t0, t1;

				p = (i + j) % P_NPATHS;
				if (!s.use[p] || s.err[p])
					continue;
				if (pass == 0 && (s.err[p] = buf_alloc(&buf, bk, len, false)))
					continue;
				t0 = bench_now_us(b);
				s.err[p] = path_map(p, b, &m);
				t1 = bench_now_us(b);
				if (!s.err[p])
					s.err[p] = path_unmap(p, b, &m);
				if (pass == 0)
					buf_free(&buf);
				if (i >= warmup[pass])
					s.v[pass][p][i - warmup[pass]] = t1 - t0;
			}
		}
	}
	buf_free(&buf);
	sweep_record(b, &s, &k, "arena-first", "arena-again", (double)len / GiB * 1e6);
out:
	sweep_fini(&s);
}

void bench_arena(struct bench *b)
{
	const size_t small = b->o->quick ? 32 * MiB : 256 * MiB;
	const size_t len[B_NBACKINGS] = { small, small, GiB };
	uint64_t iova;
	unsigned f;
	int bk;

	if (iova_window(GiB, GiB, &iova)) {
		fprintf(stderr, "dma-bench: no 1 GiB IOVA window: arena skipped\n");
		return;
	}
	for (bk = 0; bk < B_NBACKINGS; bk++) {
		fprintf(stderr, "dma-bench: %s: whole-buffer map, %s pages\n", b->backend,
			backing_name[bk]);
		for (f = 0; f <= b->raw.iommufd; f++) {
			if (bk == B_1G && b->o->quick)
				skip_point(b, variant_name(b, f), backing_name[bk], len[bk],
					   "arena-first", "--quick leaves the 1 GiB page out");
			else if (f && !b->map_file)
				skip_point(b, variant_name(b, f), backing_name[bk], len[bk],
					   "arena-first", "kernel lacks IOMMU_IOAS_MAP_FILE");
			else
				arena_point(b, (enum backing)bk, len[bk], f, iova);
		}
	}
	zdk_iommu_iova_free(iova, GiB);
}
