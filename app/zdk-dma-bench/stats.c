/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "stats.h"
#include "zdk_common.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank, as every zdk tool reports (zdk_percentile_rank()). */
double stats_percentile(const double *sorted, unsigned n, double p)
{
	return n ? sorted[zdk_percentile_rank(n, p) - 1] : NAN;
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
