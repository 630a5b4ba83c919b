/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf.h - what nvme-perf's two files share: the workload's state, and
 * the live handover of it (handover.c).
 */
#ifndef NVME_PERF_H
#define NVME_PERF_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "zdk_idle.h"
#include "zdk_lcore.h"
#include "zdk_nvme.h"

#define MAX_NS 16
#define HIST_SUB_BITS 5 /* 32 sub-buckets per power of two: <= 3.1% error */
#define HIST_BUCKETS (64 << HIST_SUB_BITS)
#define VERIFY_MAGIC 0x7a646b7666790000ULL /* "zdkvfy" */

struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n, sum, min, max;
};

struct stats {
	uint64_t ios, bytes, errors, mismatches, verified, removed;
	uint64_t live; /* completions, warmup included, for the live line */
	struct hist lat; /* TSC ticks */
};

struct nsctx;

struct task {
	struct nsctx *nc;
	void *buf;
	uint64_t unit; /* I/O-sized unit in the slice */
	uint64_t tsc;
	uint64_t seq;
	bool is_read;
	bool inflight; /* submitted, not completed */
};

struct nsctx {
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct worker *w;
	uint64_t first_unit, units; /* this lcore's slice, in I/O units */
	uint64_t next_unit;         /* sequential cursor */
	uint32_t nlb;
	unsigned qd;                /* -q, or less where the controller's queues are small */
	uint8_t *busy;              /* verify: unit has an I/O in flight */
	uint64_t *stamp;            /* verify: sequence of the last write, 0 none */
	struct task *tasks;
	struct task **idle;         /* --rate: tasks waiting for their turn (pace.c) */
	unsigned nidle;
	struct stats st;
};

struct worker {
	unsigned lcore;
	struct nsctx nc[MAX_NS];
	unsigned nnc;
	/* One qpair per controller, shared by its namespaces: a controller
	 * that grants two I/O queues still serves two lcores. */
	struct zdk_nvme_qpair *qp[MAX_NS];
	unsigned nqp;
	uint64_t rng;
	uint64_t seq;
	bool draining;
	bool handed_over; /* the workload went on in another process */
	int rc;
	/* pace.c: --rate (the next submission, the gap) and --interrupt */
	uint64_t next_tsc, period;
	unsigned next_nc;   /* the namespace the next paced I/O goes to */
	int epfd;           /* its qpairs' interrupt eventfds */
	struct zdk_idle idle;
	uint64_t quiet;      /* --idle-us in TSC ticks: the spell per command in flight */
	uint64_t sleeps;
};

struct perf_cfg {
	unsigned qd, io_size, mix, seconds, warmup;
	bool rand, verify, json;
	int reads; /* 1 read only, 0 write only, -1 mixed */
	uint32_t nsids[MAX_NS];
	unsigned nnsid;
	/* handover.c: listen on, take over from, force a reset handover, die (tests) */
	const char *ho_listen, *ho_takeover;
	bool ho_reset, ho_die;
	bool ho_arena; /* per-unit state in the arena (it travels by address) */
	uint64_t rate; /* --rate: IOPS in all, 0 = as fast as -q allows */
	bool intr;     /* --interrupt: sleep on the qpairs' interrupts when idle */
	bool shadow_db; /* --shadow-doorbell: Doorbell Buffer Config on every controller */
	unsigned idle_us; /* --idle-us: the quiet spell before sleeping */
};

extern struct perf_cfg cfg;
extern struct worker workers[ZDK_MAX_LCORE];
extern volatile sig_atomic_t stop;
extern uint64_t tsc_hz, t_start, t_measure, t_end;

/* main.c */
int task_submit(struct task *t);
void io_done(void *arg, const struct zdk_nvme_cpl *cpl);
bool verify_check(struct task *t, uint64_t lba, uint64_t seq);
int setup(void);

/* pace.c: --rate and --interrupt */
int pace_init(struct worker *w, unsigned nworkers);
void pace_fini(struct worker *w);
/* A completed task waits for its turn (--rate). */
void pace_task_done(struct task *t);
/* Submit what the rate allows by @now. Return: I/Os submitted. */
unsigned pace_submit(struct worker *w, uint64_t now);
/* After a poll round that completed @done I/Os: perhaps sleep, until @wake_by at most. */
void pace_idle(struct worker *w, unsigned done, uint64_t now, uint64_t wake_by);
/* CPU seconds the process used so far (every thread, user + system). */
double cpu_seconds(void);

/* handover.c */
/* Before zdk_eal_init(): --takeover PATH after "--": connect and take over. */
int perf_ho_init(int argc, char **argv, bool *took_over);
/* After setup(): listen for a new process (--handover-socket). */
int perf_ho_listen(void);
/* The workload and the qpairs from the old process (instead of setup()). */
int perf_ho_restore(void);
/* In the main loop: 1 when the workload went to a new process. */
int perf_ho_poll(struct worker *w);
/* At the end: every block written read back (after a handover), the counters. */
int perf_ho_final(void);
/* After zdk_eal_cleanup(): tell a reset handover's new process to start. */
void perf_ho_done(void);

#endif /* NVME_PERF_H */

