// SPDX-License-Identifier: BSD-3-Clause
/* IOVA choice over the ranges a kernel reports: identity where it fits,
 * otherwise the lowest aligned hole; 39-bit apertures, holes, used extents. */
#include "../zdk_test.h"
#include <errno.h>

#include "../../../lib/iommu/iova.c"

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
	struct iova_extent e2 = { .iova = 2 * MiB, .len = 6 * MiB, .next = NULL };
	struct iova_extent e1 = { .iova = 10 * MiB, .len = 2 * MiB, .next = &e2 };
	uint64_t iova = 0;

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
	{ "bad arguments", test_bad_args },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("iova", NULL, NULL, tests);
}
