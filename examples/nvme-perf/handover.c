/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.c - nvme-perf's run handed over live to a new process, and
 * taken over from an old one (zdk_handover.h, doc/handover.md).
 *
 *   old: zdk-nvme-perf -l 0 -a BDF -- -w randrw --verify -t 60 --handover-socket S
 *   new: zdk-nvme-perf -l 0 -- --takeover S
 *
 * The old process stops submitting when a new one connects (a command
 * boundary: each task's command stays in flight), names each command by
 * its task (tag: namespace context << 32 | task), and sends the workload
 * (options, time limits, statistics, which blocks hold which write, the
 * tasks and their arena buffers) as its application section. The new one
 * claims the qpairs, completes the inherited commands through the same
 * io_done() and goes on until the old process's end time, listening on
 * the same socket. The pause (submission stopped -> resumed) is printed:
 *   handover: mode=live pause_us=... inherited=... old_pid=...
 * One lcore: the tasks of one worker travel.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_handover.h"
#include "zdk_mem.h"
#include "perf.h"

#define APP_MAGIC 0x7a646b2d70657266ULL /* "zdk-perf" */
#define APP_VERSION 1

static struct zdk_handover *ho;
static struct zdk_handover_listener *listener;

/* What one namespace context carries; its tasks follow it. */
struct ho_nc {
	char ctrlr[32];
	uint32_t nsid, qid, qd, nlb;
	uint64_t first_unit, units, next_unit;
	uint64_t stamp, busy;  /* live: arena addresses, the same in the new process */
	uint64_t stamps_follow; /* reset: the stamps follow the tasks (a new arena) */
	struct stats st;
};

struct ho_task {
	uint64_t buf, unit, tsc, seq;
	uint8_t is_read, inflight;
};

struct ho_head {
	uint64_t magic;
	uint32_t version, mode;
	struct perf_cfg cfg;   /* pointers in it are not used on the other side */
	uint64_t t_start, t_measure, t_end, t_stop_ns, rng, seq;
	uint32_t nnc, inflight;
};

static uint64_t tag_of(void *ctx, zdk_nvme_cb cb, void *arg)
{
	struct worker *w = ctx;
	struct task *t = arg;

	return (uint64_t)(t->nc - w->nc) << 32 | (uint64_t)(t - t->nc->tasks);
}

static void inherited(void *ctx, uint64_t tag, const struct zdk_nvme_cpl *cpl)
{
	struct worker *w = ctx;
	uint32_t i = (uint32_t)(tag >> 32), k = (uint32_t)tag;

	if (i >= w->nnc || k >= w->nc[i].qd) {
		fprintf(stderr, "handover: an inherited command with tag 0x%" PRIx64 " is no task\n", tag);
		w->rc = -EPROTO;
		return;
	}
	io_done(&w->nc[i].tasks[k], cpl);
}

static const char *takeover_path(int argc, char **argv)
{
	int i = 1;

	while (i < argc && strcmp(argv[i], "--"))
		i++;
	for (; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--takeover"))
			return argv[i + 1];
	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--takeover=", 11))
			return argv[i] + 11;
	return NULL;
}

static bool has_arg(int argc, char **argv, const char *arg)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], arg))
			return true;
	return false;
}

int perf_ho_init(int argc, char **argv, bool *took_over)
{
	struct zdk_handover_opts o = { .size = sizeof(o) };
	const char *path = takeover_path(argc, argv);
	int rc;

	if (!path)
		return zdk_eal_init(argc, argv);
	/* First thing: the arena must find the old process's addresses free.
	 * The options are for the next handover, on the socket taken over. */
	o.force_reset = has_arg(argc, argv, "--handover-reset");
	rc = zdk_handover_connect(path, &o, &ho);
	if (rc)
		return rc;
	if (has_arg(argc, argv, "--takeover-die")) {
		fprintf(stderr, "handover: --takeover-die: exiting before taking over\n");
		_exit(3);
	}
	rc = zdk_eal_init_takeover(argc, argv, ho);
	if (rc < 0) {
		zdk_handover_close(ho);
		ho = NULL;
		return rc;
	}
	*took_over = true;
	return rc;
}

int perf_ho_listen(void)
{
	struct zdk_handover_opts o = { .size = sizeof(o), .force_reset = cfg.ho_reset };

	if (zdk_lcore_count() != 1) {
		fprintf(stderr, "--handover-socket: run nvme-perf on one lcore (-l N)\n");
		return -EINVAL;
	}
	return zdk_handover_listen(cfg.ho_listen, &o, &listener);
}

/* The application section: a head, then per context its record, stamps, busy map, tasks. */
static int blob_build(struct worker *w, uint64_t t_stop_ns, void **out, size_t *len)
{
	bool live = zdk_handover_mode(ho) == ZDK_HANDOVER_LIVE;
	struct ho_head hd = {
		.magic = APP_MAGIC, .version = APP_VERSION, .cfg = cfg, .t_start = t_start,
		.t_measure = t_measure, .t_end = t_end, .t_stop_ns = t_stop_ns, .rng = w->rng,
		.seq = w->seq, .nnc = w->nnc,
	};
	size_t n = sizeof(hd);
	uint8_t *b, *p;

	for (unsigned i = 0; i < w->nnc; i++)
		n += sizeof(struct ho_nc) + w->nc[i].qd * sizeof(struct ho_task) +
		     (!live && w->nc[i].stamp ? w->nc[i].units * 8 : 0);
	p = b = malloc(n);
	if (!b)
		return -ENOMEM;
	p += sizeof(hd);
	for (unsigned i = 0; i < w->nnc; i++) {
		struct nsctx *nc = &w->nc[i];
		struct ho_nc r = {
			.nsid = nc->ns->nsid, .qid = zdk_nvme_qpair_id(nc->qp), .qd = nc->qd,
			.nlb = nc->nlb, .first_unit = nc->first_unit, .units = nc->units,
			.next_unit = nc->next_unit, .stamp = (uintptr_t)nc->stamp,
			.busy = (uintptr_t)nc->busy, .st = nc->st,
			.stamps_follow = !live && nc->stamp,
		};

		snprintf(r.ctrlr, sizeof(r.ctrlr), "%s", zdk_nvme_ctrlr_name(nc->ns->ctrlr));
		memcpy(p, &r, sizeof(r));
		p += sizeof(r);
		for (unsigned k = 0; k < nc->qd; k++) {
			struct task *t = &nc->tasks[k];
			struct ho_task ht = { (uintptr_t)t->buf, t->unit, t->tsc, t->seq, t->is_read,
					      t->inflight };

			hd.inflight += t->inflight;
			memcpy(p, &ht, sizeof(ht));
			p += sizeof(ht);
		}
		if (r.stamps_follow) {
			memcpy(p, nc->stamp, nc->units * 8);
			p += nc->units * 8;
		}
	}
	memcpy(b, &hd, sizeof(hd));
	*out = b;
	*len = n;
	return 0;
}

static void poll_all(struct worker *w)
{
	for (unsigned i = 0; i < w->nqp; i++)
		zdk_nvme_qpair_poll(w->qp[i], 0);
}

static unsigned outstanding(struct worker *w)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->nqp; i++)
		n += zdk_nvme_qpair_outstanding(w->qp[i]);
	return n;
}

/* Export and send; a command the blob cannot carry yet (-EBUSY) is polled out first. */
static int send_state(struct worker *w, uint64_t t_stop_ns)
{
	struct zdk_nvme_handover_ops ops = { .size = sizeof(ops), .tag = tag_of, .ctx = w };
	int rc = -EBUSY;

	for (unsigned i = 0; i < w->nqp; i++)
		zdk_nvme_qpair_handover_set(w->qp[i], &ops);
	for (int tries = 0; rc == -EBUSY && tries < 1000; tries++) {
		void *blob;
		size_t len;

		if (tries)
			poll_all(w);
		rc = blob_build(w, t_stop_ns, &blob, &len);
		if (rc)
			return rc;
		rc = zdk_handover_app_set(ho, blob, len);
		free(blob);
		if (!rc)
			rc = zdk_handover_send(ho);
	}
	return rc;
}

int perf_ho_poll(struct worker *w)
{
	uint64_t t_stop, deadline;
	int rc;

	if (!listener || zdk_handover_accept(listener, &ho))
		return 0;
	/* Submission stops here: callbacks no longer resubmit. */
	t_stop = zdk_time_ns();
	w->draining = true;
	if (zdk_handover_mode(ho) == ZDK_HANDOVER_RESET) {
		for (deadline = zdk_rdtsc() + 10 * tsc_hz; outstanding(w) && zdk_rdtsc() < deadline;)
			poll_all(w);
	}
	rc = send_state(w, t_stop);
	if (rc == 0) {
		fprintf(stderr, "handover: handed over to process %d (%s)\n", zdk_handover_pid(ho),
			zdk_handover_mode(ho) == ZDK_HANDOVER_LIVE ? "live" : "reset");
		w->handed_over = true;
		return 1;
	}
	fprintf(stderr, "handover: process %d did not take over (%s): resuming\n",
		zdk_handover_pid(ho), strerror(-rc));
	zdk_handover_close(ho);
	ho = NULL;
	w->draining = false;
	for (unsigned i = 0; i < w->nnc; i++)
		for (unsigned k = 0; k < w->nc[i].qd; k++)
			if (!w->nc[i].tasks[k].inflight && task_submit(&w->nc[i].tasks[k]))
				w->nc[i].st.errors++;
	return 0;
}

static struct zdk_nvme_ctrlr *ctrlr_by_name(const char *name)
{
	struct zdk_nvme_ctrlr *c;

	for (c = zdk_nvme_ctrlr_next(NULL); c; c = zdk_nvme_ctrlr_next(c))
		if (!strcmp(zdk_nvme_ctrlr_name(c), name))
			return c;
	return NULL;
}

/* Live: the qpair the old process used for @r (claimed once, shared by its namespaces). */
static int qpair_claim(struct worker *w, struct zdk_nvme_ctrlr *c, uint16_t qid,
		       struct zdk_nvme_qpair **qp)
{
	struct zdk_nvme_handover_ops ops = { .size = sizeof(ops), .inherited = inherited, .ctx = w };
	int rc;

	for (unsigned i = 0; i < w->nqp; i++)
		if (w->qp[i]->ctrlr == c && zdk_nvme_qpair_id(w->qp[i]) == qid) {
			*qp = w->qp[i];
			return 0;
		}
	rc = zdk_nvme_qpair_inherit(c, qid, &ops, qp);
	if (!rc)
		w->qp[w->nqp++] = *qp;
	return rc;
}

/* One context: live, over the inherited qpair and buffers; reset, over setup()'s. */
static int nc_restore(struct worker *w, unsigned i, const uint8_t **p, const uint8_t *end,
		      bool live)
{
	struct nsctx *nc = &w->nc[i];
	struct ho_nc r;
	struct zdk_nvme_ctrlr *c;
	int rc;

	if ((size_t)(end - *p) < sizeof(r))
		return -EPROTO;
	memcpy(&r, *p, sizeof(r));
	*p += sizeof(r);
	c = ctrlr_by_name(r.ctrlr);
	if (!c || (size_t)(end - *p) < r.qd * sizeof(struct ho_task) ||
	    (!live && (nc->ns->nsid != r.nsid || nc->units != r.units || nc->qd != r.qd)))
		return -EPROTO;
	if (live) {
		nc->ns = zdk_nvme_ns_get(c, r.nsid);
		nc->w = w;
		nc->qd = r.qd;
		nc->tasks = calloc(r.qd, sizeof(*nc->tasks));
		nc->busy = (uint8_t *)(uintptr_t)r.busy;
		nc->stamp = (uint64_t *)(uintptr_t)r.stamp;
		rc = qpair_claim(w, c, (uint16_t)r.qid, &nc->qp);
		if (rc || !nc->ns || !nc->tasks)
			return rc ? rc : -ENOMEM;
	}
	nc->nlb = r.nlb;
	nc->first_unit = r.first_unit;
	nc->units = r.units;
	nc->next_unit = r.next_unit;
	nc->st = r.st;
	for (unsigned k = 0; k < r.qd; k++, *p += sizeof(struct ho_task)) {
		struct ho_task ht;
		struct task *t = &nc->tasks[k];

		memcpy(&ht, *p, sizeof(ht));
		if (!live)
			continue; /* drained: setup() gave fresh buffers */
		*t = (struct task){ .nc = nc, .buf = (void *)(uintptr_t)ht.buf, .unit = ht.unit,
				    .tsc = ht.tsc, .seq = ht.seq, .is_read = ht.is_read,
				    .inflight = ht.inflight };
	}
	if (r.stamps_follow) {
		if ((size_t)(end - *p) < r.units * 8)
			return -EPROTO;
		if (nc->stamp)
			memcpy(nc->stamp, *p, r.units * 8);
		*p += r.units * 8;
	}
	return 0;
}

static int restore(const struct ho_head *hd, const uint8_t *p, const uint8_t *end, bool live)
{
	struct worker *w = &workers[zdk_lcore_main()];
	struct perf_cfg mine = cfg;
	int rc = 0;

	/* The workload is the old process's; the handover options are this one's. */
	cfg = hd->cfg;
	cfg.ho_listen = mine.ho_listen;
	cfg.ho_takeover = mine.ho_takeover;
	cfg.ho_reset = mine.ho_reset;
	cfg.ho_die = false;
	cfg.ho_arena = mine.ho_arena;
	cfg.json = mine.json;
	t_start = hd->t_start;
	t_measure = hd->t_measure;
	t_end = hd->t_end;
	if (!live)
		rc = setup();
	if (rc)
		return rc;
	w->lcore = zdk_lcore_main();
	w->rng = hd->rng;
	w->seq = hd->seq;
	if (live && hd->nnc > MAX_NS)
		return -EPROTO;
	if (live)
		w->nnc = hd->nnc;
	if (w->nnc != hd->nnc)
		return -EPROTO;
	for (unsigned i = 0; i < hd->nnc && !rc; i++)
		rc = nc_restore(w, i, &p, end, live);
	return rc;
}

int perf_ho_restore(void)
{
	bool live = zdk_handover_mode(ho) == ZDK_HANDOVER_LIVE;
	struct ho_head hd;
	const void *app;
	size_t len;
	int rc = -EINVAL;

	if (zdk_lcore_count() != 1) {
		fprintf(stderr, "--takeover: run nvme-perf on one lcore (-l N)\n");
		goto err_drop;
	}
	rc = zdk_handover_app_get(ho, &app, &len);
	if (rc || len < sizeof(hd) || ((const struct ho_head *)app)->magic != APP_MAGIC ||
	    ((const struct ho_head *)app)->version != APP_VERSION) {
		fprintf(stderr, "--takeover: the old process is not an nvme-perf of this version\n");
		rc = -EPROTO;
		goto err_drop;
	}
	memcpy(&hd, app, sizeof(hd));
	rc = restore(&hd, (const uint8_t *)app + sizeof(hd), (const uint8_t *)app + len, live);
	if (rc) {
		fprintf(stderr, "--takeover: the workload does not fit this process (%s)\n",
			strerror(-rc));
		goto err_drop;
	}
	/* The old process's socket, to hand over again with no gap; or our own. */
	if (zdk_handover_listener_adopt(ho, &listener) == 0) {
		if (!cfg.ho_listen)
			cfg.ho_listen = "(the old process's)";
	} else if (cfg.ho_listen && (rc = perf_ho_listen()) != 0) {
		goto err_drop;
	}
	rc = zdk_handover_commit(ho);
	if (rc)
		return rc; /* it dropped what it took: zdk_eal_cleanup() is safe */
	/* Submission resumes here: on the first poll, and with each inherited completion. */
	fprintf(stderr, "handover: mode=%s pause_us=%.1f inherited=%u old_pid=%d\n",
		live ? "live" : "reset", (double)(zdk_time_ns() - hd.t_stop_ns) / 1000.0,
		live ? hd.inflight : 0, zdk_handover_pid(ho));
	zdk_handover_close(ho);
	ho = NULL;
	return 0;

err_drop:
	/* Not committed: drop the takeover now (the old process resumes), before
	 * zdk_eal_cleanup() could touch what is still the old one's. */
	zdk_handover_close(ho);
	ho = NULL;
	return rc;
}

/* Every block written in the run read back and checked, then the controllers' counters. */
int perf_ho_final(void)
{
	struct worker *w = &workers[zdk_lcore_main()];
	uint64_t blocks = 0, bad = 0;

	for (unsigned i = 0; cfg.verify && i < w->nnc; i++) {
		struct nsctx *nc = &w->nc[i];
		struct task *t = &nc->tasks[0];

		for (uint64_t u = 0; u < nc->units; u++) {
			uint64_t lba = (nc->first_unit + u) * nc->nlb;

			if (!nc->stamp[u])
				continue;
			blocks++;
			if (zdk_nvme_ns_rw_sync(nc->ns, nc->qp, false, t->buf, lba, nc->nlb) ||
			    !verify_check(t, lba, nc->stamp[u])) {
				if (bad++ < 5)
					fprintf(stderr, "final check: ns %u LBA %" PRIu64
						": not write #%" PRIu64 "\n", nc->ns->nsid, lba, nc->stamp[u]);
			}
		}
	}
	if (cfg.verify)
		printf("final check: %" PRIu64 " units written in the run read back, %" PRIu64
		       " mismatches\n", blocks, bad);
	for (struct zdk_nvme_ctrlr *c = zdk_nvme_ctrlr_next(NULL); c; c = zdk_nvme_ctrlr_next(c)) {
		struct zdk_nvme_ctrlr_counters k = { .size = sizeof(k) };

		if (zdk_nvme_ctrlr_counters_get(c, &k))
			continue;
		printf("counters: ctrlr=%s enables=%" PRIu64 " resets=%" PRIu64 " handovers=%" PRIu64
		       " cc_en=%u admin_queue=%s\n", zdk_nvme_ctrlr_name(c), k.enables, k.resets,
		       k.handovers, k.cc & 1,
		       k.asq == k.admin_sq_iova && k.acq == k.admin_cq_iova ? "same" : "other");
	}
	return bad ? 1 : 0;
}

void perf_ho_done(void)
{
	zdk_handover_close(ho);
	ho = NULL;
	zdk_handover_listener_close(listener);
	listener = NULL;
}
