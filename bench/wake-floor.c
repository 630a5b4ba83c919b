/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-wake-floor - the least CPU a thread that wakes N times a second can
 * use: it sleeps in epoll_wait on a periodic timerfd and reads it, nothing
 * else. An interrupt-driven poller wakes at least once per frame (l2fwd at
 * a low rate) or twice per paced I/O (the completion and the next
 * submission: nvme-perf --rate), so this is the floor under the CPU figures
 * of bench-nvme and bench-l2fwd's interrupt rows, measured in the same
 * guest (in the TCG sandbox a wake-up costs tens of microseconds).
 *
 *   zdk-wake-floor WAKES_PER_SECOND [SECONDS]
 *
 * Prints "RESULT cpu_pct=P wakes=N secs=S".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { 0 };
	unsigned long rate, secs = 5, n = 0;
	double c0, t0, t1, end;
	int tfd, ep;

	if (argc < 2 || (rate = strtoul(argv[1], NULL, 0)) == 0 || rate > 1000000) {
		fprintf(stderr, "usage: %s WAKES_PER_SECOND (1..1000000) [SECONDS]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		secs = strtoul(argv[2], NULL, 0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev)) {
		fprintf(stderr, "wake-floor: timerfd/epoll: %s\n", strerror(errno));
		return 1;
	}
	its.it_interval.tv_sec = (time_t)(1 / rate);
	its.it_interval.tv_nsec = (long)(1000000000ul / rate % 1000000000ul);
	its.it_value = its.it_interval;
	c0 = cpu_seconds();
	t0 = now_seconds();
	timerfd_settime(tfd, 0, &its, NULL);
	for (end = t0 + (double)secs; now_seconds() < end; n++) {
		uint64_t ticks;

		if (epoll_wait(ep, &ev, 1, 1000) == 1 &&
		    read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
			break;
	}
	t1 = now_seconds();
	printf("wake-floor: %lu wake-ups in %.2f s (asked %lu/s): %.1f%% of a core\n", n, t1 - t0,
	       rate, 100 * (cpu_seconds() - c0) / (t1 - t0));
	printf("RESULT cpu_pct=%.2f wakes=%lu secs=%.3f\n", 100 * (cpu_seconds() - c0) / (t1 - t0),
	       n, t1 - t0);
	close(tfd);
	close(ep);
	return 0;
}
