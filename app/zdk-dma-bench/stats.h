/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.h - the statistics every figure of zdk-dma-bench goes through:
 * median, the p10-p90 spread and the median absolute deviation.
 */
#ifndef DMA_BENCH_STATS_H
#define DMA_BENCH_STATS_H

#include <stdint.h>

struct stats {
	double median;
	double p10;
	double p90;
	double mad;     /* median absolute deviation from the median */
	unsigned n;     /* samples; 0 means "not measured" */
};

/*
 * stats_percentile() - the @p-th percentile (0..100) of @n sorted samples,
 * interpolated linearly between the two closest ranks (Hyndman-Fan type 7,
 * as numpy and R do by default).
 */
double stats_percentile(const double *sorted, unsigned n, double p);

/*
 * stats_compute() - fill @st from @n samples; sorts @v in place.
 * Return: 0, -EINVAL for no samples, -ENOMEM.
 */
int stats_compute(double *v, unsigned n, struct stats *st);

/* stats_scale() - multiply every figure by @k (unit changes). */
void stats_scale(struct stats *st, double k);

#endif /* DMA_BENCH_STATS_H */
