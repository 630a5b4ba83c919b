// SPDX-License-Identifier: BSD-3-Clause
/* The arena heap on plain memory: alignment, zeroing, splitting, coalescing,
 * exhaustion, the no-IOMMU contiguity hook, and a random model check. */
#include "../zdk_test.h"
#include <stdlib.h>
#include <string.h>

#include "../../../lib/mem/malloc.c"

#define HEAP_LEN (4u << 20)

static void *mem;
static struct mem_heap h;

static int setup(void)
{
	return posix_memalign(&mem, 1 << 21, HEAP_LEN) ? -1 : 0;
}

static int teardown(void)
{
	free(mem);
	return 0;
}

static void fresh(void)
{
	memset(mem, 0xa5, HEAP_LEN);
	heap_init(&h, mem, HEAP_LEN, 0);
}

static void test_alloc_free(void)
{
	char *a, *b;

	fresh();
	a = heap_alloc(&h, 100, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL((uintptr_t)a % 64, 0);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL_FATAL(a[i], 0);
	CU_ASSERT_EQUAL(heap_of(a), &h);
	CU_ASSERT_EQUAL(h.nalloc, 1);
	b = heap_alloc(&h, 1, 0);
	CU_ASSERT_TRUE(b >= a + 100);
	memset(a, 1, 100);
	heap_free(a);
	heap_free(b);
	CU_ASSERT_EQUAL(h.nalloc, 0);
	/* fully coalesced: one free block spanning the heap */
	CU_ASSERT_EQUAL(h.free_bytes, h.len);
	CU_ASSERT_PTR_EQUAL(h.free, mem);
	CU_ASSERT_PTR_NULL(h.free->next);
	CU_ASSERT_PTR_NULL(heap_of(a)); /* freed: not a live buffer any more */
}

static void test_alignment(void)
{
	size_t aligns[] = { 64, 128, 4096, 1 << 16, 1 << 20 };

	fresh();
	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(aligns); i++) {
		char *p = heap_alloc(&h, 3000, aligns[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL((uintptr_t)p % aligns[i], 0);
		for (int j = 0; j < 3000; j++)
			CU_ASSERT_EQUAL_FATAL(p[j], 0);
	}
	CU_ASSERT_PTR_NULL(heap_alloc(&h, 64, 3000)); /* not a power of two */
}

static void test_exhaustion(void)
{
	void *p[64];
	int n = 0;

	fresh();
	CU_ASSERT_PTR_NULL(heap_alloc(&h, HEAP_LEN, 0)); /* the header does not fit */
	CU_ASSERT_PTR_NULL(heap_alloc(&h, 0, 0));
	while (n < 64 && (p[n] = heap_alloc(&h, 1 << 20, 0)))
		n++;
	CU_ASSERT_EQUAL(n, 3); /* four 1 MiB blocks need four headers too */
	for (int i = 0; i < n; i++)
		heap_free(p[i]);
	CU_ASSERT_EQUAL(h.free_bytes, h.len);
	CU_ASSERT_PTR_NOT_NULL(heap_alloc(&h, HEAP_LEN - 64, 0));
}

static bool refuse_first_2m(const void *va, size_t len)
{
	return (const char *)va >= (const char *)mem + (2u << 20);
}

static void test_contig_hook(void)
{
	char *p;

	fresh();
	h.contig = refuse_first_2m;
	h.contig_step = 4096;
	p = heap_alloc(&h, 4096, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE(p >= (char *)mem + (2u << 20));
	/* the skipped space before it stays allocatable */
	h.contig = NULL;
	CU_ASSERT_PTR_EQUAL(heap_alloc(&h, 4096, 0), (char *)mem + 64);
}

/* Random alloc/free against a shadow model: no overlap, data kept. */
static void test_random(void)
{
	struct {
		unsigned char *p;
		size_t n;
		unsigned char tag;
	} live[256] = { 0 };

	fresh();
	srand(1234);
	for (int it = 0; it < 20000; it++) {
		int k = rand() % 256;

		if (live[k].p) {
			for (size_t i = 0; i < live[k].n; i++)
				if (live[k].p[i] != live[k].tag) {
					CU_FAIL_FATAL("a buffer's data changed under it");
				}
			heap_free(live[k].p);
			live[k].p = NULL;
		} else {
			size_t n = 1 + (size_t)rand() % 20000;
			size_t align = (size_t)64 << (rand() % 7);

			live[k].p = heap_alloc(&h, n, align);
			if (!live[k].p)
				continue;
			CU_ASSERT_EQUAL_FATAL((uintptr_t)live[k].p % align, 0);
			live[k].n = n;
			live[k].tag = (unsigned char)(k + 1);
			memset(live[k].p, live[k].tag, n);
		}
	}
	for (int k = 0; k < 256; k++)
		if (live[k].p)
			heap_free(live[k].p);
	CU_ASSERT_EQUAL(h.nalloc, 0);
	CU_ASSERT_EQUAL(h.free_bytes, h.len);
	CU_ASSERT_PTR_NULL(h.free->next);
}

static const struct zdk_test tests[] = {
	{ "alloc and free", test_alloc_free },
	{ "alignment", test_alignment },
	{ "exhaustion", test_exhaustion },
	{ "no-IOMMU contiguity hook", test_contig_hook },
	{ "random model check", test_random },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("heap", setup, teardown, tests);
}
