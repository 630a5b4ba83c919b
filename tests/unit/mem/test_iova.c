// SPDX-License-Identifier: BSD-3-Clause
/* IOVA choice over the ranges a kernel reports: identity where it fits,
 * otherwise the lowest aligned hole; 39-bit apertures, holes, used extents. */
#include "../zdk_test.h"
#include <errno.h>

#include "../../../lib/iommu/iova.c"
#include "../../../lib/iommu/extents.c"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* What VT-d reports with a device attached: the MSI window is carved out. */
static const struct iova_range vtd48[] = {
	{ 0, 0xfedfffffULL },
	{ 0xfef00000ULL, (1ULL << 48) - 1 },
};
static const struct iova_range aperture39[] = { { 0, (1ULL << 39) - 1 } };

static void test_identity(void)
{
	uint64_t iova = 0;
	uint64_t va = 0x7f1234600000ULL;

	CU_ASSERT_EQUAL(iova_pick(vtd48, 2, NULL, va, 64 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, va);
}

static void test_39bit_aperture(void)
{
	uint64_t va = 0x7f1234600000ULL, iova = 0;

	/* A 47-bit VA does not fit a 39-bit aperture: allocated low instead. */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, va, 64 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 2 * MiB); /* never IOVA 0 */
	CU_ASSERT_TRUE(iova_range_contains(aperture39, 1, iova, 64 * MiB));
	/* 1 GiB pages align the arena to 1 GiB */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, va, 2 * GiB, GiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, GiB);
	/* larger than the aperture */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, va, 1ULL << 39, 2 * MiB, &iova), -ENOSPC);
}

static void test_holes(void)
{
	struct iova_range r[] = { { 0, 0xfedfffffULL }, { 0xfef00000ULL, 0x1ffffffffULL } };
	uint64_t iova = 0;

	/* A VA that straddles the MSI hole is not identity-mapped. */
	CU_ASSERT_EQUAL(iova_pick(r, 2, NULL, 0xfec00000ULL, 4 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 2 * MiB);
	/* 4 GiB cannot fit below the hole (4 GiB - 18 MiB) nor above it (4 GiB + 17 MiB) */
	CU_ASSERT_EQUAL(iova_pick(r, 2, NULL, ZDK_BAD_IOVA, 4 * GiB + 32 * MiB, 2 * MiB, &iova),
			-ENOSPC);
	/* 4 GiB + 16 MiB fits only above the hole */
	CU_ASSERT_EQUAL(iova_pick(r, 2, NULL, ZDK_BAD_IOVA, 4 * GiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 0xff000000ULL);
	CU_ASSERT_TRUE(iova_range_contains(r, 2, iova, 4 * GiB));
}

static void test_extents(void)
{
	struct extents e1 = { 0 };
	uint64_t iova = 0;

	CU_ASSERT_EQUAL_FATAL(extents_insert(&e1, 10 * MiB, 2 * MiB, 0, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(extents_insert(&e1, 2 * MiB, 6 * MiB, 0, 0, 0), 0);

	/* [2, 8) and [10, 12) are used: 2 MiB fits at 8, 4 MiB at 12 */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, &e1, ZDK_BAD_IOVA, 2 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 8 * MiB);
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, &e1, ZDK_BAD_IOVA, 4 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 12 * MiB);
	/* identity refused when it overlaps a used extent */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, &e1, 4 * MiB, 2 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 8 * MiB);
	/* identity taken when free */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, &e1, 64 * MiB, 2 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, 64 * MiB);
	extents_fini(&e1);
}

/*
 * The extent set against a model, over random inserts and removes of 1000
 * ranges at every position: each overlap query agrees with the model, and
 * an in-order walk finds every live range once, in order.
 */
static void test_extent_set(void)
{
	static bool used[1000];
	struct extents u = { 0 };
	const struct extent *e;
	uint64_t seed = 12345, iova = 0, prev = 0;
	unsigned i, n = 0, walked = 0;

	for (i = 0; i < 50000; i++) {
		struct extent out;
		unsigned k;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (unsigned)(seed >> 33) % 1000;
		if (used[k]) {
			CU_ASSERT_EQUAL(extents_remove(&u, (k + 1) * 3 * MiB, MiB + 1, NULL), -ENOENT);
			CU_ASSERT_EQUAL(extents_remove(&u, (k + 1) * 3 * MiB, MiB, &out), 0);
			CU_ASSERT_EQUAL(out.a, k);
			n--;
		} else {
			CU_ASSERT_PTR_NULL(extents_overlap(&u, (k + 1) * 3 * MiB - MiB, 3 * MiB));
			CU_ASSERT_EQUAL(extents_insert(&u, (k + 1) * 3 * MiB, MiB, k, 0, 0), 0);
			n++;
		}
		used[k] = !used[k];
		e = extents_overlap(&u, (k + 1) * 3 * MiB + MiB - 1, 1);
		CU_ASSERT_EQUAL(e != NULL, used[k]);
		/* a query spanning two ranges finds the lower one */
		e = extents_overlap(&u, (k + 1) * 3 * MiB, 4 * MiB);
		if (used[k])
			CU_ASSERT_TRUE(e && e->a == k);
	}
	CU_ASSERT_EQUAL(u.n, n);
	for (e = extents_ceil(&u, 0); e; e = extents_ceil(&u, e->start + 1)) {
		CU_ASSERT_TRUE(walked == 0 || prev + MiB <= e->start);
		CU_ASSERT_TRUE(used[e->a]);
		prev = e->start;
		walked++;
	}
	CU_ASSERT_EQUAL(walked, n);
	/* the lowest 2 MiB hole, 2 MiB aligned, among 1 MiB ranges every 3 MiB */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, &u, ZDK_BAD_IOVA, 2 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_PTR_NULL(extents_overlap(&u, iova, 2 * MiB));
	extents_fini(&u);
	CU_ASSERT_PTR_NULL(extents_overlap(&u, 0, 1));
	CU_ASSERT_EQUAL(extents_remove(&u, 0, 1, NULL), -ENOENT);
}

static void test_bad_args(void)
{
	uint64_t iova;

	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, ZDK_BAD_IOVA, 0, 4096, &iova), -EINVAL);
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, ZDK_BAD_IOVA, 4096, 3000, &iova), -EINVAL);
	CU_ASSERT_EQUAL(iova_pick(aperture39, 0, NULL, ZDK_BAD_IOVA, 4096, 4096, &iova), -ENOSPC);
	/* misaligned identity falls back to an aligned pick */
	CU_ASSERT_EQUAL(iova_pick(aperture39, 1, NULL, 0x1001000ULL, 4 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova & (2 * MiB - 1), 0);
	/* ranges near the top of the address space do not wrap */
	struct iova_range top[] = { { UINT64_MAX - 8 * MiB + 1, UINT64_MAX } };
	CU_ASSERT_EQUAL(iova_pick(top, 1, NULL, ZDK_BAD_IOVA, 16 * MiB, 2 * MiB, &iova), -ENOSPC);
	CU_ASSERT_EQUAL(iova_pick(top, 1, NULL, ZDK_BAD_IOVA, 4 * MiB, 2 * MiB, &iova), 0);
	CU_ASSERT_EQUAL(iova, UINT64_MAX - 8 * MiB + 1);
}

static const struct zdk_test tests[] = {
	{ "identity", test_identity },
	{ "39-bit aperture", test_39bit_aperture },
	{ "holes", test_holes },
	{ "used extents", test_extents },
	{ "extent set", test_extent_set },
	{ "bad arguments", test_bad_args },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("iova", NULL, NULL, tests);
}
