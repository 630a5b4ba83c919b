/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_prop.h - seeded randomness for property tests.
 *
 * A property test draws its parameters (ring sizes, bursts, offsets, lengths,
 * the order of operations) from one seed and checks invariants after every
 * step. The seed is printed when the test starts and again with any failed
 * check, so a failure is reproduced by running the test with that seed:
 *
 *	struct zdk_prop p;
 *
 *	zdk_prop_begin(&p, "igb-rx-rings");
 *	for (unsigned c = 0; c < zdk_prop_cases(200); c++) {
 *		uint16_t nb = zdk_prop_pick(&p, 64, 4096);
 *		...
 *		ZDK_PROP_CHECK(&p, got == sent);
 *	}
 *
 * Environment: ZDK_TEST_SEED=N fixes the seed (else it comes from the clock);
 * ZDK_TEST_CASES=N overrides the number of cases (a long local run).
 */
#ifndef ZDK_PROP_H
#define ZDK_PROP_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <CUnit/CUnit.h>

struct zdk_prop {
	const char *name;
	uint64_t seed;  /* as given: what reproduces the run */
	uint64_t state; /* splitmix64 */
	unsigned step;  /* the case being run, for messages */
};

static inline void zdk_prop_begin(struct zdk_prop *p, const char *name)
{
	const char *env = getenv("ZDK_TEST_SEED");
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	p->name = name;
	p->seed = env ? strtoull(env, NULL, 0) : (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
	p->state = p->seed;
	p->step = 0;
	printf("%s: seed %" PRIu64 " (reproduce with ZDK_TEST_SEED=%" PRIu64 ")\n", name, p->seed,
	       p->seed);
	fflush(stdout);
}

/* How many cases to run: @dflt, or ZDK_TEST_CASES. */
static inline unsigned zdk_prop_cases(unsigned dflt)
{
	const char *env = getenv("ZDK_TEST_CASES");

	return env ? (unsigned)strtoul(env, NULL, 0) : dflt;
}

static inline uint64_t zdk_prop_next(struct zdk_prop *p)
{
	uint64_t z = (p->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value in [lo, hi], both included. */
static inline uint64_t zdk_prop_pick(struct zdk_prop *p, uint64_t lo, uint64_t hi)
{
	return lo + zdk_prop_next(p) % (hi - lo + 1);
}

/* True with probability @num / @den. */
static inline int zdk_prop_chance(struct zdk_prop *p, unsigned num, unsigned den)
{
	return zdk_prop_next(p) % den < num;
}

/* A failed check names the seed and the case, then stops the test. */
#define ZDK_PROP_CHECK(p, cond)                                                               \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			printf("%s:%d: %s: '%s' failed in case %u: reproduce with "           \
			       "ZDK_TEST_SEED=%" PRIu64 "\n",                                \
			       __FILE__, __LINE__, (p)->name, #cond, (p)->step, (p)->seed);   \
			fflush(stdout);                                                       \
			CU_FAIL_FATAL(#cond);                                                 \
		}                                                                             \
	} while (0)

#endif /* ZDK_PROP_H */
