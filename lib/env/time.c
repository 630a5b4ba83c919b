/* SPDX-License-Identifier: BSD-3-Clause */
#include <time.h>

#include "zdk_common.h"
#include "env.h"

static uint64_t tsc_hz;

uint64_t zdk_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Calibrate the TSC against the monotonic clock over 20 ms. */
void tsc_calibrate(void)
{
	struct timespec sl = { .tv_nsec = 20 * 1000 * 1000 };
	uint64_t t0, c0, t1, c1;

	if (tsc_hz)
		return;
	t0 = zdk_time_ns();
	c0 = zdk_rdtsc();
	nanosleep(&sl, NULL);
	t1 = zdk_time_ns();
	c1 = zdk_rdtsc();
	tsc_hz = t1 > t0 ? (c1 - c0) * 1000000000ULL / (t1 - t0) : 1000000000ULL;
}

uint64_t zdk_tsc_hz(void)
{
	if (!tsc_hz)
		tsc_calibrate();
	return tsc_hz;
}
