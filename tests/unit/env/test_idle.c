/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_idle.c - the adaptive poll/sleep switch (zdk_idle.h) against a model,
 * over random thresholds and random sequences of busy and empty polls at
 * random times, and a poller loop driven by it over a fake clock.
 */
#include <stdbool.h>
#include <stdint.h>

#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "zdk_idle.h"

/* The rule, stated plainly: sleep when the last k polls were all empty,
 * k >= min_empty, and the first of them was at least quiet ticks ago. The
 * model keeps the whole history since the last busy poll or wake-up. */
struct model {
	uint64_t quiet;
	uint32_t min_empty;
	uint64_t first;   /* time of the first empty poll of the run */
	uint64_t nempty;  /* length of the run */
};

static bool model_quiet(struct model *m, uint64_t now)
{
	if (m->nempty++ == 0)
		m->first = now;
	return m->nempty >= m->min_empty && now - m->first >= m->quiet;
}

static void test_idle_model(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "idle-model");
	for (p.step = 0; p.step < zdk_prop_cases(2000); p.step++) {
		struct zdk_idle s;
		struct model m = { .quiet = zdk_prop_pick(&p, 0, 5000),
				   .min_empty = (uint32_t)zdk_prop_pick(&p, 0, 300) };
		uint64_t now = zdk_prop_pick(&p, 0, UINT64_MAX / 2), sleeps = 0;
		unsigned steps = (unsigned)zdk_prop_pick(&p, 1, 3000);

		zdk_idle_init(&s, m.quiet, m.min_empty);
		if (m.min_empty == 0)
			m.min_empty = 1; /* 0 means 1: a sleep needs one empty poll */
		for (unsigned i = 0; i < steps; i++) {
			unsigned busy_pct = (unsigned)zdk_prop_pick(&p, 0, 100);

			/* time moves by 0..100 ticks a poll, now and then by a lot */
			now += zdk_prop_chance(&p, 1, 50) ? zdk_prop_pick(&p, 0, 100000)
							  : zdk_prop_pick(&p, 0, 100);
			if (zdk_prop_chance(&p, busy_pct, 1000)) {
				zdk_idle_busy(&s);
				m.nempty = 0;
				continue;
			}
			bool got = zdk_idle_quiet(&s, now), want = model_quiet(&m, now);

			ZDK_PROP_CHECK(&p, got == want);
			if (got) {
				sleeps++;
				/* The caller sleeps (or its arm found work): a new spell. */
				zdk_idle_woken(&s);
				m.nempty = 0;
			}
			ZDK_PROP_CHECK(&p, s.sleeps == sleeps);
		}
	}
}

/* A busy poller never sleeps, whatever the thresholds and however slow. */
static void test_idle_busy_never_sleeps(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "idle-busy");
	for (p.step = 0; p.step < zdk_prop_cases(200); p.step++) {
		struct zdk_idle s;
		uint64_t now = 0;
		/* work every k-th poll, k below min_empty */
		uint32_t min_empty = (uint32_t)zdk_prop_pick(&p, 2, 500);
		unsigned k = (unsigned)zdk_prop_pick(&p, 1, min_empty - 1);

		zdk_idle_init(&s, zdk_prop_pick(&p, 0, 10), min_empty);
		for (unsigned i = 1; i <= 20000; i++) {
			now += zdk_prop_pick(&p, 0, 1000000);
			if (i % k == 0)
				zdk_idle_busy(&s);
			else
				ZDK_PROP_CHECK(&p, !zdk_idle_quiet(&s, now));
		}
		ZDK_PROP_CHECK(&p, s.sleeps == 0);
	}
}

/*
 * A poller on a fake clock with work arriving at a fixed rate: it must sleep
 * once per arrival gap longer than the quiet spell (the l3fwd-power case at
 * 1k packets/s), and never while arrivals come faster than the spell.
 */
static unsigned run_loop(uint64_t gap, uint64_t quiet, uint64_t poll_cost, unsigned arrivals)
{
	struct zdk_idle s;
	uint64_t now = 0, next = gap;
	unsigned done = 0, sleeps = 0;

	zdk_idle_init(&s, quiet, 8);
	while (done < arrivals) {
		now += poll_cost;
		if (now >= next) {
			done++;
			next += gap;
			zdk_idle_busy(&s);
		} else if (zdk_idle_quiet(&s, now)) {
			sleeps++;
			now = next; /* the interrupt wakes us at the next arrival */
			zdk_idle_woken(&s);
		}
	}
	return sleeps;
}

static void test_idle_rates(void)
{
	/* 1 GHz clock: 1 ms gaps, 50 us quiet spell: one sleep per arrival. */
	unsigned sleeps = run_loop(1000000, 50000, 100, 1000);

	CU_ASSERT(sleeps >= 999 && sleeps <= 1000);
	/* 20 us gaps, 50 us spell: polling throughout. */
	CU_ASSERT_EQUAL(run_loop(20000, 50000, 100, 100000), 0);
	/* quiet 0 and min_empty 8: sleeps after 8 empty polls. */
	CU_ASSERT(run_loop(1000000, 0, 100, 100) == 100);
}

int main(void)
{
	static const struct zdk_test tests[] = {
		{ "model", test_idle_model },
		{ "busy never sleeps", test_idle_busy_never_sleeps },
		{ "rates", test_idle_rates },
		{ NULL, NULL },
	};

	return zdk_test_run("idle", NULL, NULL, tests);
}
