/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_check.h - the fuzz targets' invariant: say which one broke, then
 * abort(), which libFuzzer reports as a crash with the input that did it.
 */
#ifndef ZDK_FUZZ_CHECK_H
#define ZDK_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define check(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif /* ZDK_FUZZ_CHECK_H */
