/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iova.c - choosing IOVAs inside the ranges the kernel reports, clear of
 * the extents in use (extents.c: each overlap found in O(log n)).
 *
 * Policy: IOVA = VA when the whole range fits the aperture and is free,
 * otherwise the lowest aligned free range inside the reported ranges.
 * IOVA 0 is never handed out, so a zeroed descriptor never points at data.
 */
#include <errno.h>
#include <stdlib.h>

#include "iommu_private.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

bool iova_range_contains(const struct iova_range *r, unsigned n, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;

	if (len == 0 || last < iova)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (iova >= r[i].start && last <= r[i].last)
			return true;
	return false;
}

int iova_pick(const struct iova_range *r, unsigned n, const struct extents *used,
	      uint64_t want, uint64_t len, uint64_t align, uint64_t *iova)
{
	if (len == 0 || !align || (align & (align - 1)))
		return -EINVAL;

	if (want != ZDK_BAD_IOVA && want != 0 && !(want & (align - 1)) &&
	    iova_range_contains(r, n, want, len) && !extents_overlap(used, want, len)) {
		*iova = want;
		return 0;
	}

	for (unsigned i = 0; i < n; i++) {
		uint64_t cand = align_up(r[i].start ? r[i].start : align, align);
		const struct extent *e;

		/* Step over used extents until a hole is big enough. */
		while (cand >= r[i].start && cand + len - 1 >= cand &&
		       cand + len - 1 <= r[i].last) {
			e = extents_overlap(used, cand, len);
			if (!e) {
				*iova = cand;
				return 0;
			}
			cand = align_up(e->start + e->len, align);
		}
	}
	return -ENOSPC;
}
