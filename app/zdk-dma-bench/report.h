/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report.h - the figures of one run: kept as records, printed as a table,
 * written to and read back from CSV (to merge one process per backend),
 * and drawn as an SVG by gnuplot.
 */
#ifndef DMA_BENCH_REPORT_H
#define DMA_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "stats.h"

#define RES_STR 24
#define RES_NOTE 112

/* One figure: one test at one size/backing/thread count through one path. */
struct result {
	char backend[RES_STR]; /* type1, iommufd, iommufd-file */
	char test[RES_STR];    /* map, unmap, arena-first, small-maps, ... */
	char backing[8];       /* 4K, 2M, 1G, or "-" */
	uint64_t size;         /* bytes per operation, 0 when it does not apply */
	unsigned threads;
	char path[8];          /* raw, zdk (zdk_iommu_*), dma (zdk_dma_*) */
	char unit[12];         /* us, GiB/s, maps/s, ns/io, count, % */
	struct stats st;       /* st.n == 0: not measured, the note says why */
	char note[RES_NOTE];
};

struct results {
	struct result *v;
	unsigned n;
	unsigned cap;
};

/* The key that groups the paths of one figure into one table row. */
struct result_key {
	const char *backend;
	const char *test;
	const char *backing;
	uint64_t size;
	unsigned threads;
	const char *unit;
};

/*
 * results_add() - append a figure (@st may be NULL for a skipped one; @note
 * may be NULL). Commas in the note become semicolons (CSV).
 * Return: 0 or -ENOMEM.
 */
int results_add(struct results *r, const struct result_key *k, const char *path,
		const struct stats *st, const char *note);
void results_free(struct results *r);
/* results_find() - the figure for @k through @path, or NULL. */
const struct result *results_find(const struct results *r, const struct result_key *k,
				  const char *path);

/* CSV with a header line; results_read_csv() appends to @r. */
int results_write_csv(const struct results *r, FILE *f);
int results_read_csv(struct results *r, FILE *f);

/*
 * results_print_table() - one row per figure, the raw ioctl, zdk_iommu_*
 * and zdk_dma_* paths side by side with zdk's overhead over raw, then the
 * notes.
 */
void results_print_table(const struct results *r, FILE *f);

/* fmt_size() - "4K", "64K", "2M", "1G" or "-" for 0; returns @buf. */
const char *fmt_size(uint64_t bytes, char *buf, size_t len);
/* fmt_num() - a figure with 3-4 significant digits, no exponent. */
const char *fmt_num(double v, char *buf, size_t len);

/*
 * results_plot() - draw @r into @svg with gnuplot, run as a child process
 * on a script and a data file in a temporary directory.
 * Return: 0, -ENOENT if gnuplot is missing, -EIO if it failed or wrote no
 * SVG, or another negative errno.
 */
int results_plot(const struct results *r, const char *svg, const char *title);

#endif /* DMA_BENCH_REPORT_H */
