/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_test.h - the one CUnit runner every unit test shares:
 *
 *	static const struct zdk_test tests[] = {
 *		{ "identity", test_identity },
 *		{ NULL, NULL },
 *	};
 *	int main(void) { return zdk_test_run("iova", NULL, NULL, tests); }
 *
 * Exit status: 0 when every test passed, 1 otherwise (meson's convention;
 * a test that cannot run returns 77 itself before calling this).
 */
#ifndef ZDK_TEST_H
#define ZDK_TEST_H

#include <CUnit/Basic.h>

struct zdk_test {
	const char *name;
	CU_TestFunc fn;
};

static inline int zdk_test_run(const char *suite, CU_InitializeFunc setup,
			       CU_CleanupFunc teardown, const struct zdk_test *tests)
{
	unsigned fails;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite(suite, setup, teardown);
	for (const struct zdk_test *t = tests; s && t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* A suite whose setup failed ran no test: that is a failure too. */
	fails = CU_get_number_of_failures() + CU_get_number_of_suites_failed() + (s ? 0 : 1);
	CU_cleanup_registry();
	return fails ? 1 : 0;
}

#endif /* ZDK_TEST_H */
