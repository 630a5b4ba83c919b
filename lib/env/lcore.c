/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcore.c - one pinned thread per worker lcore, started at init and parked
 * on a condition variable between zdk_lcore_launch() calls. The main lcore
 * is the thread that called zdk_eal_init(), pinned to the first CPU of -l.
 */
#define ZDK_LOG_COMPONENT "lcore"
#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sys.h"
#include "env.h"
#include "zdk_log.h"

enum lcore_state { LCORE_IDLE, LCORE_RUNNING, LCORE_DONE, LCORE_QUIT };

struct lcore {
	pthread_t thread;
	bool started;
	int socket;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum lcore_state state;
	zdk_lcore_fn fn;
	void *arg;
	int ret;
};

static struct lcore lcores[ZDK_MAX_LCORE];
static unsigned char enabled[ZDK_MAX_LCORE];
static unsigned main_lcore = ZDK_LCORE_ANY;
static unsigned nlcores;
static cpu_set_t saved_affinity;
static __thread unsigned this_lcore = ZDK_LCORE_ANY;

static int pin(pthread_t t, unsigned cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(t, sizeof(set), &set);
}

static void *lcore_main(void *p)
{
	struct lcore *lc = p;

	this_lcore = (unsigned)(lc - lcores);
	pthread_mutex_lock(&lc->lock);
	for (;;) {
		while (lc->state == LCORE_IDLE || lc->state == LCORE_DONE)
			pthread_cond_wait(&lc->cond, &lc->lock);
		if (lc->state == LCORE_QUIT)
			break;
		pthread_mutex_unlock(&lc->lock);
		lc->ret = lc->fn(lc->arg);
		pthread_mutex_lock(&lc->lock);
		lc->state = LCORE_DONE;
		pthread_cond_broadcast(&lc->cond);
	}
	pthread_mutex_unlock(&lc->lock);
	return NULL;
}

static int lcore_socket_of(unsigned cpu)
{
	int node = numa_available() >= 0 ? numa_node_of_cpu((int)cpu) : 0;

	return node < 0 ? 0 : node;
}

static int start_worker(unsigned id)
{
	struct lcore *lc = &lcores[id];
	int rc;

	pthread_mutex_init(&lc->lock, NULL);
	pthread_cond_init(&lc->cond, NULL);
	lc->state = LCORE_IDLE;
	rc = -pthread_create(&lc->thread, NULL, lcore_main, lc);
	if (rc) {
		ZDK_ERR("cannot start the thread of lcore %u: %s", id, strerror(-rc));
		return rc;
	}
	lc->started = true;
	rc = pin(lc->thread, id);
	if (rc)
		ZDK_ERR("cannot pin lcore %u to its CPU: %s", id, strerror(-rc));
	return rc;
}

int lcores_init(const unsigned char *set, unsigned main)
{
	cpu_set_t avail;
	int rc;

	rc = sys_sched_getaffinity(&avail);
	if (rc)
		return rc;
	saved_affinity = avail;
	if (set) {
		memcpy(enabled, set, sizeof(enabled));
		main_lcore = main;
	} else {
		memset(enabled, 0, sizeof(enabled));
		main_lcore = ZDK_LCORE_ANY;
		for (unsigned c = 0; c < ZDK_MAX_LCORE; c++)
			if (CPU_ISSET(c, &avail)) {
				enabled[c] = 1;
				if (main_lcore == ZDK_LCORE_ANY)
					main_lcore = c;
			}
	}
	nlcores = 0;
	for (unsigned c = 0; c < ZDK_MAX_LCORE; c++) {
		if (!enabled[c])
			continue;
		if (!CPU_ISSET(c, &avail)) {
			ZDK_ERR("--lcores: CPU %u is not available to this process (see nproc, "
				"taskset -p $$)", c);
			return -EINVAL;
		}
		lcores[c].socket = lcore_socket_of(c);
		nlcores++;
	}
	rc = pin(pthread_self(), main_lcore);
	if (rc)
		return rc;
	this_lcore = main_lcore;
	for (unsigned c = 0; c < ZDK_MAX_LCORE; c++) {
		if (!enabled[c] || c == main_lcore)
			continue;
		rc = start_worker(c);
		if (rc)
			return rc; /* the caller runs lcores_fini() */
	}
	return 0;
}

void lcores_fini(void)
{
	for (unsigned c = 0; c < ZDK_MAX_LCORE; c++) {
		struct lcore *lc = &lcores[c];

		if (!lc->started)
			continue;
		zdk_lcore_wait(c);
		pthread_mutex_lock(&lc->lock);
		lc->state = LCORE_QUIT;
		pthread_cond_broadcast(&lc->cond);
		pthread_mutex_unlock(&lc->lock);
		pthread_join(lc->thread, NULL);
		pthread_cond_destroy(&lc->cond);
		pthread_mutex_destroy(&lc->lock);
		lc->started = false;
	}
	if (main_lcore != ZDK_LCORE_ANY)
		sched_setaffinity(0, sizeof(saved_affinity), &saved_affinity);
	memset(enabled, 0, sizeof(enabled));
	main_lcore = ZDK_LCORE_ANY;
	this_lcore = ZDK_LCORE_ANY;
	nlcores = 0;
}

unsigned zdk_lcore_id(void)
{
	return this_lcore;
}

unsigned zdk_lcore_main(void)
{
	return main_lcore;
}

unsigned zdk_lcore_count(void)
{
	return nlcores;
}

bool zdk_lcore_is_enabled(unsigned lcore)
{
	return lcore < ZDK_MAX_LCORE && enabled[lcore];
}

unsigned zdk_lcore_next(unsigned prev, bool skip_main)
{
	for (unsigned c = prev == ZDK_LCORE_ANY ? 0 : prev + 1; c < ZDK_MAX_LCORE; c++)
		if (enabled[c] && !(skip_main && c == main_lcore))
			return c;
	return ZDK_LCORE_ANY;
}

int zdk_lcore_socket(unsigned lcore)
{
	return zdk_lcore_is_enabled(lcore) ? lcores[lcore].socket : 0;
}

int zdk_socket_id(void)
{
	return zdk_lcore_socket(this_lcore);
}

int zdk_lcore_launch(zdk_lcore_fn fn, void *arg, unsigned lcore)
{
	struct lcore *lc;
	int rc = 0;

	if (lcore >= ZDK_MAX_LCORE || !lcores[lcore].started || !fn)
		return -EINVAL;
	lc = &lcores[lcore];
	pthread_mutex_lock(&lc->lock);
	if (lc->state == LCORE_RUNNING) {
		rc = -EBUSY;
	} else {
		lc->fn = fn;
		lc->arg = arg;
		lc->state = LCORE_RUNNING;
		pthread_cond_broadcast(&lc->cond);
	}
	pthread_mutex_unlock(&lc->lock);
	return rc;
}

int zdk_lcore_wait(unsigned lcore)
{
	struct lcore *lc;
	int ret = 0;

	if (lcore >= ZDK_MAX_LCORE || !lcores[lcore].started)
		return -EINVAL;
	lc = &lcores[lcore];
	pthread_mutex_lock(&lc->lock);
	while (lc->state == LCORE_RUNNING)
		pthread_cond_wait(&lc->cond, &lc->lock);
	if (lc->state == LCORE_DONE) {
		ret = lc->ret;
		lc->state = LCORE_IDLE;
	}
	pthread_mutex_unlock(&lc->lock);
	return ret;
}

int zdk_lcore_wait_all(void)
{
	unsigned c;
	int first = 0, rc;

	ZDK_LCORE_FOREACH_WORKER(c) {
		rc = zdk_lcore_wait(c);
		if (rc && !first)
			first = rc;
	}
	return first;
}
