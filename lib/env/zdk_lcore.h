/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_lcore.h - lcores: the main thread and the pinned worker threads that
 * zdk_eal_init() starts on the CPUs of -l, and their NUMA nodes.
 */
#ifndef ZDK_LCORE_H
#define ZDK_LCORE_H

#include <stdbool.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_MAX_LCORE 128
#define ZDK_LCORE_ANY UINT32_MAX

/** zdk_lcore_id() - the lcore of the calling thread, ZDK_LCORE_ANY if none. */
ZDK_EXPORT unsigned zdk_lcore_id(void);

/** zdk_lcore_main() - the main lcore (the first of -l), running main(). */
ZDK_EXPORT unsigned zdk_lcore_main(void);

/** zdk_lcore_count() - how many lcores -l enabled (main included). */
ZDK_EXPORT unsigned zdk_lcore_count(void);

/** zdk_lcore_is_enabled() - whether @lcore was given to -l. */
ZDK_EXPORT bool zdk_lcore_is_enabled(unsigned lcore);

/**
 * zdk_lcore_next() - the next enabled lcore after @prev.
 * @prev: ZDK_LCORE_ANY to start.
 * @skip_main: leave out the main lcore.
 *
 * Return: the lcore, or ZDK_LCORE_ANY when there is no more.
 */
ZDK_EXPORT unsigned zdk_lcore_next(unsigned prev, bool skip_main);

#define ZDK_LCORE_FOREACH(i) \
	for ((i) = zdk_lcore_next(ZDK_LCORE_ANY, false); (i) != ZDK_LCORE_ANY; \
	     (i) = zdk_lcore_next((i), false))
#define ZDK_LCORE_FOREACH_WORKER(i) \
	for ((i) = zdk_lcore_next(ZDK_LCORE_ANY, true); (i) != ZDK_LCORE_ANY; \
	     (i) = zdk_lcore_next((i), true))

/** zdk_lcore_socket() - NUMA node of @lcore's CPU (0 without NUMA). */
ZDK_EXPORT int zdk_lcore_socket(unsigned lcore);

/** zdk_socket_id() - NUMA node of the calling lcore (0 off lcores). */
ZDK_EXPORT int zdk_socket_id(void);

typedef int (*zdk_lcore_fn)(void *arg);

/**
 * zdk_lcore_launch() - run @fn(@arg) on the pinned worker thread of @lcore.
 *
 * Return: 0, -EINVAL if @lcore is not an enabled worker, -EBUSY if it is
 * still running an earlier function.
 */
ZDK_EXPORT int zdk_lcore_launch(zdk_lcore_fn fn, void *arg, unsigned lcore);

/**
 * zdk_lcore_wait() - wait for @lcore's function to return.
 *
 * Return: the function's return value, or -EINVAL for a bad lcore.
 */
ZDK_EXPORT int zdk_lcore_wait(unsigned lcore);

/** zdk_lcore_wait_all() - wait for every worker; return the first non-zero. */
ZDK_EXPORT int zdk_lcore_wait_all(void);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_LCORE_H */
