/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pace.c - nvme-perf's --rate and --interrupt.
 *
 * --rate IOPS: each lcore submits its share of the rate at even intervals
 * (at most -q in flight per namespace), instead of resubmitting as each
 * I/O completes; a completed task waits in its namespace's idle list. A
 * lcore that falls behind (descheduled) skips ahead rather than flooding.
 *
 * --interrupt: the qpairs raise MSI-X interrupts; an lcore whose polls
 * completed nothing for --idle-us per command in flight (zdk_idle.h) arms them
 * (zdk_nvme_qpair_intr_enable) and sleeps in epoll until a completion, its
 * next paced submission, or its next duty (the live line), whichever comes
 * first; paced with nothing in flight, it sleeps at once, on a timer alone.
 * Polling at 1k IOPS burns a whole core; this is what it saves. (A paced
 * I/O costs two wake-ups, its completion and the next submission: in the
 * TCG sandbox guest two thousand wake-ups a second cost 11-26% of a core
 * however little is done after each; bench/wake-floor measures it.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "perf.h"

#define SLEEP_MAX_MS 100 /* the driver's slow path runs from polls */

double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int rate_init(struct worker *w, unsigned nworkers)
{
	uint64_t now = zdk_rdtsc();

	w->period = ZDK_MAX(tsc_hz * ZDK_MAX(nworkers, 1u) / cfg.rate, (uint64_t)1);
	w->next_tsc = ZDK_MAX(now, t_start);
	for (unsigned i = 0; i < w->nnc; i++) {
		struct nsctx *nc = &w->nc[i];

		nc->idle = calloc(nc->qd, sizeof(*nc->idle));
		if (!nc->idle)
			return -ENOMEM;
		/* Tasks a handover brought in flight complete into the list. */
		for (unsigned q = 0; q < nc->qd; q++)
			if (!nc->tasks[q].inflight)
				nc->idle[nc->nidle++] = &nc->tasks[q];
	}
	return 0;
}

static int intr_init(struct worker *w)
{
	w->quiet = tsc_hz * cfg.idle_us / 1000000;
	zdk_idle_init(&w->idle, w->quiet, 8);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	for (unsigned i = 0; i < w->nqp; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		int fd = zdk_nvme_qpair_intr_fd(w->qp[i]);

		if (fd < 0)
			return fd;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	}
	return 0;
}

int pace_init(struct worker *w, unsigned nworkers)
{
	int rc = 0;

	if (cfg.rate)
		rc = rate_init(w, nworkers);
	if (!rc && cfg.intr)
		rc = intr_init(w);
	if (rc)
		fprintf(stderr, "lcore %u: --rate/--interrupt setup: %s\n", w->lcore, strerror(-rc));
	return rc;
}

void pace_fini(struct worker *w)
{
	for (unsigned i = 0; i < w->nnc; i++) {
		free(w->nc[i].idle);
		w->nc[i].idle = NULL;
		w->nc[i].nidle = 0;
	}
	if (w->epfd > 0)
		close(w->epfd);
	w->epfd = -1;
}

void pace_task_done(struct task *t)
{
	struct nsctx *nc = t->nc;

	nc->idle[nc->nidle++] = t;
}

unsigned pace_submit(struct worker *w, uint64_t now)
{
	unsigned n = 0;

	if (!cfg.rate || w->draining || !w->nnc)
		return 0;
	/* Far behind (not scheduled for a while): go on from now. */
	if (now > w->next_tsc && now - w->next_tsc > 16 * w->period)
		w->next_tsc = now - w->period;
	while (w->next_tsc <= now) {
		struct nsctx *nc = NULL;
		struct task *t;

		/* The namespaces in turn; all their tasks in flight: -q is the limit. */
		for (unsigned k = 0; k < w->nnc && !nc; k++) {
			struct nsctx *c = &w->nc[(w->next_nc + k) % w->nnc];

			if (c->nidle)
				nc = c;
		}
		if (!nc)
			break;
		w->next_nc = (unsigned)(nc - w->nc + 1) % w->nnc;
		t = nc->idle[--nc->nidle];
		if (task_submit(t) != 0) {
			nc->st.errors++;
			nc->idle[nc->nidle++] = t;
			break;
		}
		w->next_tsc += w->period;
		n++;
	}
	return n;
}

/* Sleep on the qpairs' interrupts for at most @ns, unless one has work. */
static void intr_sleep(struct worker *w, uint64_t ns)
{
	struct epoll_event ev[MAX_NS];
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000) };
	unsigned armed;
	int rc = 0;

	for (armed = 0; armed < w->nqp && rc == 0; armed++)
		rc = zdk_nvme_qpair_intr_enable(w->qp[armed]);
	if (rc == 0) {
		__atomic_store_n(&w->sleeps, w->sleeps + 1, __ATOMIC_RELAXED);
		if (epoll_pwait2(w->epfd, ev, MAX_NS, &ts, NULL) < 0 && errno == ENOSYS)
			epoll_wait(w->epfd, ev, MAX_NS, (int)((ns + 999999) / 1000000));
	}
	for (unsigned i = 0; i < armed; i++)
		zdk_nvme_qpair_intr_disable(w->qp[i]);
}

static uint32_t in_flight(const struct worker *w)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < w->nqp; i++)
		n += zdk_nvme_qpair_outstanding(w->qp[i]);
	return n;
}

void pace_idle(struct worker *w, unsigned done, uint64_t now, uint64_t wake_by)
{
	uint64_t ns;
	uint32_t waiting;
	bool idle;

	if (!cfg.intr)
		return;
	if (done) {
		zdk_idle_busy(&w->idle);
		return;
	}
	/* Paced with nothing in flight: no completion to poll for before the
	 * next submission, so no quiet spell either, and nothing to arm: a
	 * plain timed sleep (arming costs an eventfd read and a doorbell). */
	waiting = in_flight(w);
	idle = cfg.rate && !waiting;
	/*
	 * The more commands in flight, the sooner one completes: the quiet
	 * spell is --idle-us per command waiting, so that a loaded queue keeps
	 * polling through the controller's pauses (a wake-up costs more than
	 * it saves there) and a lone command sleeps after --idle-us.
	 */
	w->idle.quiet = w->quiet * ZDK_MAX(waiting, 1u);
	if (!idle && !zdk_idle_quiet(&w->idle, now))
		return;
	if (cfg.rate && !w->draining && w->next_tsc < wake_by)
		wake_by = w->next_tsc;
	if (wake_by > now) {
		uint64_t ticks = ZDK_MIN(wake_by - now, tsc_hz * SLEEP_MAX_MS / 1000);

		ns = ticks * 1000000000 / tsc_hz;
		if (idle) {
			struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000),
					       .tv_nsec = (long)(ns % 1000000000) };

			__atomic_store_n(&w->sleeps, w->sleeps + 1, __ATOMIC_RELAXED);
			nanosleep(&ts, NULL);
		} else {
			intr_sleep(w, ns);
		}
	}
	zdk_idle_woken(&w->idle);
}
