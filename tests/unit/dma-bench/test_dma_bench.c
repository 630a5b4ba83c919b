/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host tests of zdk-dma-bench's statistics, table/CSV output, gnuplot
 * driving and map cache (with a fake mapper that checks every call), and
 * the VT-d page table dump reader behind --iommu-pages.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../zdk_test.h"

#include "iopages.h"
#include "mapcache.h"
#include "report.h"
#include "stats.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

static void test_percentile(void)
{
	double v[] = { 7, 1, 10, 4, 2, 9, 3, 8, 6, 5 }; /* 1..10, shuffled */
	struct stats st;

	CU_ASSERT_EQUAL(stats_compute(v, 10, &st), 0);
	CU_ASSERT_EQUAL(st.n, 10);
	/* nearest rank: ceil(p / 100 * n), 1-based */
	NEAR(st.median, 5);
	NEAR(st.p10, 1);
	NEAR(st.p90, 9);
	NEAR(st.mad, 2);    /* |x - 5| = 0 1 1 2 2 3 3 4 4 5 */
	NEAR(v[0], 1);      /* sorted in place */
	NEAR(v[9], 10);
	NEAR(stats_percentile(v, 10, 0), 1);
	NEAR(stats_percentile(v, 10, 100), 10);
	NEAR(stats_percentile(v, 10, 25), 3);  /* rank ceil(2.5) */
	NEAR(stats_percentile(v, 10, 99.9), 10);
	NEAR(stats_percentile(v, 10, 30), 3);  /* rank exactly 3, not 4 */
}

static void test_stats_edges(void)
{
	double one[] = { 42 }, odd[] = { 3, 100, 1 };
	struct stats st;

	CU_ASSERT_EQUAL(stats_compute(one, 0, &st), -EINVAL);
	CU_ASSERT_EQUAL(stats_compute(one, 1, &st), 0);
	NEAR(st.median, 42);
	NEAR(st.p10, 42);
	NEAR(st.p90, 42);
	NEAR(st.mad, 0);
	/* An outlier moves the spread, not the median. */
	CU_ASSERT_EQUAL(stats_compute(odd, 3, &st), 0);
	NEAR(st.median, 3);
	NEAR(st.mad, 2);
	NEAR(st.p90, 100);
	stats_scale(&st, 1000);
	NEAR(st.median, 3000);
	NEAR(st.mad, 2000);
	CU_ASSERT(isnan(stats_percentile(odd, 0, 50)));
}

static void test_format(void)
{
	char b[32];

	CU_ASSERT_STRING_EQUAL(fmt_size(0, b, sizeof(b)), "-");
	CU_ASSERT_STRING_EQUAL(fmt_size(4096, b, sizeof(b)), "4K");
	CU_ASSERT_STRING_EQUAL(fmt_size(65536, b, sizeof(b)), "64K");
	CU_ASSERT_STRING_EQUAL(fmt_size(2 << 20, b, sizeof(b)), "2M");
	CU_ASSERT_STRING_EQUAL(fmt_size(64 << 20, b, sizeof(b)), "64M");
	CU_ASSERT_STRING_EQUAL(fmt_size(1ULL << 30, b, sizeof(b)), "1G");
	CU_ASSERT_STRING_EQUAL(fmt_size(1536 * 1024, b, sizeof(b)), "1536K");
	CU_ASSERT_STRING_EQUAL(fmt_size(1000, b, sizeof(b)), "1000");
	CU_ASSERT_STRING_EQUAL(fmt_num(123456.7, b, sizeof(b)), "123457");
	CU_ASSERT_STRING_EQUAL(fmt_num(12.345, b, sizeof(b)), "12.3");
	CU_ASSERT_STRING_EQUAL(fmt_num(1.2345, b, sizeof(b)), "1.23");
	CU_ASSERT_STRING_EQUAL(fmt_num(0.012345, b, sizeof(b)), "0.0123");
	CU_ASSERT_STRING_EQUAL(fmt_num(NAN, b, sizeof(b)), "-");
}

/* Three paths of one latency figure, one rate figure and a skipped one. */
static void fill(struct results *r)
{
	struct result_key lat = { "type1", "map", "2M", 2 << 20, 1, "us" };
	struct result_key rate = { "iommufd", "small-maps", "4K", 4096, 1, "maps/s" };
	struct result_key skip = { "iommufd-file", "map", "1G", 1ULL << 30, 1, "us" };
	struct stats a = { 10, 9, 12, 0.5, 15 }, z = { 11, 10, 13, 0.5, 15 };
	struct stats fast = { 100, 90, 110, 5, 60 }, slow = { 90, 80, 95, 5, 60 };

	CU_ASSERT_EQUAL(results_add(r, &lat, "raw", &a, NULL), 0);
	CU_ASSERT_EQUAL(results_add(r, &lat, "zdk", &z, NULL), 0);
	CU_ASSERT_EQUAL(results_add(r, &lat, "dma", &a, NULL), 0);
	CU_ASSERT_EQUAL(results_add(r, &rate, "raw", &fast, NULL), 0);
	CU_ASSERT_EQUAL(results_add(r, &rate, "zdk", &slow, NULL), 0);
	CU_ASSERT_EQUAL(results_add(r, &skip, "raw", NULL, "kernel lacks it, sorry"), 0);
	CU_ASSERT_EQUAL(results_add(r, &skip, "zdk", NULL, "kernel lacks it, sorry"), 0);
}

static void test_csv_roundtrip(void)
{
	struct results r = { 0 }, back = { 0 };
	const struct result *e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	fill(&r);
	f = open_memstream(&buf, &len);
	CU_ASSERT_EQUAL(results_write_csv(&r, f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "type1,map,2M,2097152,1,zdk,us,11,10,13,0.5,15,\n"));
	f = fmemopen(buf, len, "r");
	CU_ASSERT_EQUAL(results_read_csv(&back, f), 0);
	fclose(f);
	CU_ASSERT_EQUAL(back.n, r.n);
	e = results_find(&back, &(struct result_key){ "iommufd", "small-maps", "4K", 4096, 1,
						      "maps/s" }, "zdk");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	NEAR(e->st.median, 90);
	NEAR(e->st.p90, 95);
	CU_ASSERT_EQUAL(e->st.n, 60);
	e = results_find(&back, &(struct result_key){ "iommufd-file", "map", "1G", 1ULL << 30, 1,
						      "us" }, "raw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->st.n, 0);
	CU_ASSERT_STRING_EQUAL(e->note, "kernel lacks it; sorry"); /* no comma in CSV */
	CU_ASSERT_PTR_NULL(results_find(&back, &(struct result_key){ "type1", "map", "2M",
					2 << 20, 1, "us" }, "nope"));
	results_free(&back);
	free(buf);
	results_free(&r);
}

static void test_csv_rejects(void)
{
	static const char *bad[] = {
		"backend,test\n",
		"backend,test,backing,size,threads,path,unit,median,p10,p90,mad,n,note\n"
		"type1,map,2M,12x,1,raw,us,1,1,1,0,1,\n",
		"backend,test,backing,size,threads,path,unit,median,p10,p90,mad,n,note\n"
		"type1,map,2M\n",
		"",
	};
	struct results r = { 0 };
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]) + 1, "r");

		CU_ASSERT_EQUAL(results_read_csv(&r, f), -EINVAL);
		fclose(f);
	}
	results_free(&r);
}

static void test_table(void)
{
	struct results r = { 0 };
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *f;

	fill(&r);
	f = open_memstream(&buf, &len);
	results_print_table(&r, f);
	fclose(f);
	/* One row per figure, the paths side by side. */
	line = strstr(buf, "type1        map");
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "10.0 (9.00-12.0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "+10.0%")); /* 11 us against 10 us */
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "+0.0%"));
	/* For a rate, fewer per second is the overhead: 100/90 - 1. */
	line = strstr(buf, "iommufd      small-maps");
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "+11.1%"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "skipped"));
	/* The note of a skipped row is said once, not once per path. */
	line = strstr(buf, "kernel lacks it; sorry");
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NULL(strstr(line + 1, "kernel lacks it; sorry"));
	free(buf);
	results_free(&r);
}

static void test_plot(void)
{
	char svg[] = "/tmp/test-dma-bench-XXXXXX.svg", head[256] = "", *path;
	struct results r = { 0 };
	size_t n;
	FILE *f;
	int fd;

	fill(&r);
	fd = mkstemps(svg, 4);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	unlink(svg);
	/* Without gnuplot on PATH it says so, and writes nothing. */
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", "/nonexistent", 1);
	CU_ASSERT_EQUAL(results_plot(&r, svg, "test"), -ENOENT);
	setenv("PATH", path, 1);
	free(path);
	CU_ASSERT_NOT_EQUAL(access(svg, F_OK), 0);
	/* With it (buildtools/setup installs gnuplot-nox), a real SVG. */
	CU_ASSERT_EQUAL(results_plot(&r, svg, "test"), 0);
	f = fopen(svg, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(head, "<svg"));
	unlink(svg);
	/* A directory that does not exist: gnuplot fails, we notice. */
	CU_ASSERT_EQUAL(results_plot(&r, "/nonexistent/dir/x.svg", "test"), -EIO);
	results_free(&r);
}

/* A fake mapper: hands out IOVAs, remembers what is mapped, can fail. */
struct fake {
	uintptr_t va[8];
	size_t len[8];
	uint64_t iova[8];
	unsigned live;
	unsigned maps, unmaps;
	int fail_map, fail_unmap;
	uint64_t next_iova;
};

static int fake_map(void *ctx, void *va, size_t len, uint64_t *iova)
{
	struct fake *f = ctx;

	if (f->fail_map)
		return f->fail_map;
	CU_ASSERT_EQUAL((uintptr_t)va % MAPCACHE_PAGE, 0);
	CU_ASSERT_EQUAL(len % MAPCACHE_PAGE, 0);
	CU_ASSERT_FATAL(f->live < 8);
	f->va[f->live] = (uintptr_t)va;
	f->len[f->live] = len;
	f->iova[f->live] = *iova = f->next_iova;
	f->next_iova += 0x100000;
	f->live++;
	f->maps++;
	return 0;
}

static int fake_unmap(void *ctx, void *va, size_t len, uint64_t iova)
{
	struct fake *f = ctx;
	unsigned i;

	if (f->fail_unmap)
		return f->fail_unmap;
	for (i = 0; i < f->live; i++)
		if (f->va[i] == (uintptr_t)va && f->len[i] == len && f->iova[i] == iova) {
			f->live--;
			f->va[i] = f->va[f->live];
			f->len[i] = f->len[f->live];
			f->iova[i] = f->iova[f->live];
			f->unmaps++;
			return 0;
		}
	CU_FAIL("unmap of a range that is not mapped");
	return -ENOENT;
}

static bool fake_has(const struct fake *f, uintptr_t va)
{
	for (unsigned i = 0; i < f->live; i++)
		if (f->va[i] == va)
			return true;
	return false;
}

static void test_mapcache_lru(void)
{
	struct fake f = { .next_iova = 0x10000000 };
	const uintptr_t A = 0x100000, B = 0x200000, C = 0x300000;
	struct mapcache_stats st;
	struct mapcache *mc;
	uint64_t iova, iova_a;

	CU_ASSERT_EQUAL(mapcache_create(0, fake_map, fake_unmap, &f, &mc), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(mapcache_create(2, fake_map, fake_unmap, &f, &mc), 0);
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)A, 8192, &iova_a), 0);   /* miss */
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)A, 8192, &iova), 1);      /* hit */
	CU_ASSERT_EQUAL(iova, iova_a);
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)B, 4096, &iova), 0);
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)A, 8192, &iova), 1);      /* A most recent */
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)C, 4096, &iova), 0);      /* evicts B */
	CU_ASSERT(fake_has(&f, A) && fake_has(&f, C) && !fake_has(&f, B));
	CU_ASSERT_EQUAL(f.live, 2);
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)B, 4096, &iova), 0);      /* evicts A */
	CU_ASSERT(!fake_has(&f, A));
	mapcache_stats_get(mc, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.misses, 4);
	CU_ASSERT_EQUAL(st.evictions, 2);
	mapcache_destroy(mc);
	CU_ASSERT_EQUAL(f.live, 0);     /* everything unmapped */
	CU_ASSERT_EQUAL(f.maps, f.unmaps);
	mapcache_destroy(NULL);
}

static void test_mapcache_keys(void)
{
	struct fake f = { .next_iova = 0x40000000 };
	struct mapcache *mc;
	uint64_t iova;

	CU_ASSERT_EQUAL_FATAL(mapcache_create(4, fake_map, fake_unmap, &f, &mc), 0);
	/* 0x1800 + 0x1000 spans pages 0x1000 and 0x2000: two pages mapped. */
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x1800, 0x1000, &iova), 0);
	CU_ASSERT_EQUAL(f.va[0], 0x1000);
	CU_ASSERT_EQUAL(f.len[0], 0x2000);
	CU_ASSERT_EQUAL(iova, 0x40000800);  /* the offset in the page is kept */
	/* Same pages, other offset: the same key, a hit. */
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x1010, 0x1ff0, &iova), 1);
	CU_ASSERT_EQUAL(iova, 0x40000010);
	/* Same start, fewer pages: another key. */
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x1000, 0x1000, &iova), 0);
	CU_ASSERT_EQUAL(f.live, 2);
	mapcache_destroy(mc);
	CU_ASSERT_EQUAL(f.live, 0);
}

static void test_mapcache_errors(void)
{
	struct fake f = { .next_iova = 0x1000000 };
	struct mapcache_stats st;
	struct mapcache *mc;
	uint64_t iova;

	CU_ASSERT_EQUAL_FATAL(mapcache_create(1, fake_map, fake_unmap, &f, &mc), 0);
	f.fail_map = -ENOSPC;
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x5000, 4096, &iova), -ENOSPC);
	f.fail_map = 0;
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x5000, 4096, &iova), 0); /* not cached before */
	/* Eviction that fails keeps the old entry and reports the error. */
	f.fail_unmap = -EIO;
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x9000, 4096, &iova), -EIO);
	f.fail_unmap = 0;
	CU_ASSERT_EQUAL(mapcache_get(mc, (void *)0x5000, 4096, &iova), 1);
	mapcache_stats_get(mc, &st);
	CU_ASSERT_EQUAL(st.misses, 1);
	CU_ASSERT_EQUAL(st.evictions, 0);
	mapcache_destroy(mc);
	CU_ASSERT_EQUAL(f.live, 0);
}

/* The shape drivers/iommu/intel/debugfs.c prints (Linux 7.3). */
static const char vtd_dump[] =
	"Device 0000:02:00.0 @0x1234000\n"
	"IOVA_PFN\t\tPML5E\t\t\tPML4E\t\t\tPDPE\t\t\tPDE\t\t\tPTE\n"
	/* a 4 KiB page below the range (the MSI window stays out of it) */
	"0x00000000fee00 |\t0x0000000000000000\t0x0000000001000003\t0x0000000002000003\t"
	"0x0000000003000003\t0x00000000fee00003\n"
	/* 1 GiB at 4 GiB */
	"0x0000000100000 |\t0x0000000000000000\t0x0000000001000003\t0x0000000040000083\n"
	/* two 2 MiB at 5 GiB */
	"0x0000000140000 |\t0x0000000000000000\t0x0000000001000003\t0x0000000005000003\t"
	"0x0000000080000083\n"
	"0x0000000140200 |\t0x0000000000000000\t0x0000000001000003\t0x0000000005000003\t"
	"0x0000000080200083\n"
	/* a 4 KiB page right after them */
	"0x0000000140400 |\t0x0000000000000000\t0x0000000001000003\t0x0000000005000003\t"
	"0x0000000006000003\t0x0000000090000003\n";

static void test_iopages(void)
{
	struct iopages p;
	char txt[64];
	FILE *f;

	f = fmemopen((void *)vtd_dump, sizeof(vtd_dump) - 1, "r");
	CU_ASSERT_EQUAL_FATAL(iopages_parse(f, 4ULL << 30, 2ULL << 30, &p), 0);
	fclose(f);
	CU_ASSERT_EQUAL(p.n1g, 1);
	CU_ASSERT_EQUAL(p.n2m, 2);
	CU_ASSERT_EQUAL(p.n4k, 1);
	CU_ASSERT_EQUAL(p.bytes, (1ULL << 30) + (4ULL << 20) + 4096);
	iopages_format(&p, txt, sizeof(txt));
	CU_ASSERT_STRING_EQUAL(txt, "4K=1 2M=2 1G=1");

	/* a range that holds only the 2 MiB pages, entered from the middle */
	f = fmemopen((void *)vtd_dump, sizeof(vtd_dump) - 1, "r");
	CU_ASSERT_EQUAL_FATAL(iopages_parse(f, (5ULL << 30) + 4096, (4ULL << 20) - 8192, &p), 0);
	fclose(f);
	CU_ASSERT_EQUAL(p.n2m, 2);
	CU_ASSERT_EQUAL(p.n1g + p.n4k, 0);

	/* not a page table dump at all */
	f = fmemopen((void *)"DMA Remapping is not enabled on dmar0\n", 38, "r");
	CU_ASSERT_EQUAL(iopages_parse(f, 0, 1ULL << 40, &p), -EINVAL);
	fclose(f);
}

static const struct zdk_test tests[] = {
	{ "VT-d page table dump", test_iopages },
	{ "percentile", test_percentile },
	{ "stats edges", test_stats_edges },
	{ "format", test_format },
	{ "csv round trip", test_csv_roundtrip },
	{ "csv rejects", test_csv_rejects },
	{ "table", test_table },
	{ "plot", test_plot },
	{ "mapcache lru", test_mapcache_lru },
	{ "mapcache keys", test_mapcache_keys },
	{ "mapcache errors", test_mapcache_errors },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("dma-bench", NULL, NULL, tests);
}
