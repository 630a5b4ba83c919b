/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_percentile(const double *sorted, unsigned n, double p)
{
	double rank, frac;
	unsigned lo;

	if (n == 0)
		return NAN;
	if (p <= 0)
		return sorted[0];
	if (p >= 100)
		return sorted[n - 1];
	rank = p / 100.0 * (n - 1);
	lo = (unsigned)rank;
	frac = rank - lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

int stats_compute(double *v, unsigned n, struct stats *st)
{
	double *dev;
	unsigned i;

	if (n == 0)
		return -EINVAL;
	dev = malloc(n * sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	qsort(v, n, sizeof(*v), cmp_double);
	st->n = n;
	st->median = stats_percentile(v, n, 50);
	st->p10 = stats_percentile(v, n, 10);
	st->p90 = stats_percentile(v, n, 90);
	for (i = 0; i < n; i++)
		dev[i] = fabs(v[i] - st->median);
	qsort(dev, n, sizeof(*dev), cmp_double);
	st->mad = stats_percentile(dev, n, 50);
	free(dev);
	return 0;
}

void stats_scale(struct stats *st, double k)
{
	st->median *= k;
	st->p10 *= k;
	st->p90 *= k;
	st->mad *= k;
}
