/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_idle.h - when a poller should stop spinning and sleep on its queues'
 * interrupts: the adaptive switch of DPDK's l3fwd-power, as a pure function
 * of what each poll found and of the time.
 *
 * A poller that finds work keeps polling. Once its polls have found nothing
 * for a quiet spell (at least @min_empty polls in a row, and @quiet TSC
 * ticks since the first of them), zdk_idle_quiet() says "sleep": the caller
 * arms its queues' interrupts (zdk_nvme_qpair_intr_enable(),
 * zdk_eth_rx_intr_enable()), which look at the queues once more after
 * arming, and waits on their eventfds with a timeout. After the wait, or
 * when an arm found work already there, zdk_idle_woken() starts a new quiet
 * spell. Under load the spell never ends, so the busy path costs one store
 * per poll and no clock read: the caller reads the clock only after an
 * empty poll.
 *
 *	struct zdk_idle idle;
 *	zdk_idle_init(&idle, zdk_tsc_hz() / 10000, 64);   // 100 us, 64 polls
 *	for (;;) {
 *		n = poll_everything();
 *		if (n)
 *			zdk_idle_busy(&idle);
 *		else if (zdk_idle_quiet(&idle, zdk_rdtsc())) {
 *			if (arm_everything() == 0)        // nothing already waiting
 *				epoll_wait(ep, ev, 8, timeout_ms);
 *			disarm_everything();
 *			zdk_idle_woken(&idle);
 *		}
 *	}
 */
#ifndef ZDK_IDLE_H
#define ZDK_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct zdk_idle - one poller's idle state.
 * @quiet: TSC ticks without work before sleeping.
 * @min_empty: and at least this many empty polls in a row (a poll that
 *             took long, e.g. a descheduled thread, is not a quiet spell).
 * @empty: empty polls in a row (saturates at @min_empty).
 * @since: TSC of the first of them.
 * @sleeps: times zdk_idle_quiet() said sleep.
 */
struct zdk_idle {
	uint64_t quiet;
	uint32_t min_empty;
	uint32_t empty;
	uint64_t since;
	uint64_t sleeps;
};

/** zdk_idle_init() - a poller that sleeps after @quiet ticks and @min_empty empty polls. */
static inline void zdk_idle_init(struct zdk_idle *s, uint64_t quiet, uint32_t min_empty)
{
	s->quiet = quiet;
	s->min_empty = min_empty ? min_empty : 1;
	s->empty = 0;
	s->since = 0;
	s->sleeps = 0;
}

/** zdk_idle_busy() - the last poll found work: the quiet spell starts over. */
static inline void zdk_idle_busy(struct zdk_idle *s)
{
	s->empty = 0;
}

/**
 * zdk_idle_quiet() - the last poll found nothing, at TSC @now.
 * Return: true when the quiet spell is over: arm the interrupts and sleep.
 */
static inline bool zdk_idle_quiet(struct zdk_idle *s, uint64_t now)
{
	if (s->empty == 0)
		s->since = now;
	if (s->empty < s->min_empty)
		s->empty++;
	if (s->empty < s->min_empty || now - s->since < s->quiet)
		return false;
	s->sleeps++;
	return true;
}

/** zdk_idle_woken() - the sleep ended, or was not taken: poll for a new spell. */
static inline void zdk_idle_woken(struct zdk_idle *s)
{
	s->empty = 0;
}

#ifdef __cplusplus
}
#endif

#endif /* ZDK_IDLE_H */
