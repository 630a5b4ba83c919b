/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-perf - NVMe throughput and latency, in the manner of spdk_nvme_perf.
 *
 *   zdk-nvme-perf [zdk options --] -a BDF -c MASK -q DEPTH -o BYTES -w PATTERN -t SECONDS [...]
 *
 * One queue pair per lcore per namespace; every lcore runs the same
 * workload on its own slice of each namespace. A live line every second on
 * stderr; at the end a table per lcore and namespace and a total (or JSON).
 * --verify stamps every written block with its LBA and a sequence number
 * and checks both on reads of blocks written in this run. A controller
 * taken away during the run (hot-unplug, unbind) has its I/O counted as
 * removed, not as errors, and the run finishes on the others. With
 * --handover-socket the run can be taken over live by a new nvme-perf
 * (--takeover), again and again (handover.c). --rate paces the I/O and
 * --interrupt sleeps an idle lcore on its qpairs' interrupts (pace.c); the
 * summary says how much CPU the process used.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_eal.h"
#include "zdk_mem.h"
#include "zdk_nvme.h"

#include "perf.h"

struct perf_cfg cfg = { .qd = 32, .io_size = 4096, .mix = 50, .seconds = 10, .reads = 1,
			.rand = true, .idle_us = 20 };
struct worker workers[ZDK_MAX_LCORE];
volatile sig_atomic_t stop;
uint64_t tsc_hz, t_start, t_measure, t_end;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned hist_index(uint64_t v)
{
	unsigned msb;

	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	return ((msb - HIST_SUB_BITS + 1) << HIST_SUB_BITS) |
	       (unsigned)((v >> (msb - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* The upper bound of bucket @i, so percentiles never under-report. */
static uint64_t hist_value(unsigned i)
{
	unsigned shift = i >> HIST_SUB_BITS, sub = i & ((1u << HIST_SUB_BITS) - 1);

	if (shift == 0)
		return sub;
	return ((uint64_t)((1u << HIST_SUB_BITS) | sub) << (shift - 1)) +
	       ((1ULL << (shift - 1)) - 1);
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min || h->n == 1)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *to, const struct hist *from)
{
	if (!from->n)
		return;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		to->count[i] += from->count[i];
	if (!to->n || from->min < to->min)
		to->min = from->min;
	to->max = ZDK_MAX(to->max, from->max);
	to->n += from->n;
	to->sum += from->sum;
}

static uint64_t hist_pct(const struct hist *h, double pct)
{
	uint64_t want = zdk_percentile_rank(h->n, pct), seen = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want && seen)
			return ZDK_MIN(hist_value(i), h->max);
	}
	return h->max;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double to_us(uint64_t tsc)
{
	return (double)tsc * 1e6 / (double)tsc_hz;
}

/* Block i of a write carries: magic, LBA, sequence, then a pattern of all three. */
static void verify_fill(struct task *t, uint64_t lba)
{
	uint32_t bs = t->nc->ns->lba_size;

	for (uint32_t b = 0; b < t->nc->nlb; b++) {
		uint64_t *p = (uint64_t *)((uint8_t *)t->buf + (size_t)b * bs);

		p[0] = VERIFY_MAGIC;
		p[1] = lba + b;
		p[2] = t->seq;
		for (uint32_t i = 3; i < bs / 8; i++)
			p[i] = (lba + b) * 0x9e3779b97f4a7c15ULL ^ t->seq ^ i;
	}
}

bool verify_check(struct task *t, uint64_t lba, uint64_t seq)
{
	uint32_t bs = t->nc->ns->lba_size;

	for (uint32_t b = 0; b < t->nc->nlb; b++) {
		const uint64_t *p = (const uint64_t *)((uint8_t *)t->buf + (size_t)b * bs);

		if (p[0] != VERIFY_MAGIC || p[1] != lba + b || p[2] != seq)
			return false;
		for (uint32_t i = 3; i < bs / 8; i++)
			if (p[i] != ((lba + b) * 0x9e3779b97f4a7c15ULL ^ seq ^ i))
				return false;
	}
	return true;
}

/* Pick the next unit and direction for @t and submit it. */
int task_submit(struct task *t)
{
	struct nsctx *nc = t->nc;
	struct worker *w = nc->w;
	uint64_t unit, lba;
	int rc;

	if (cfg.rand)
		unit = rng_next(&w->rng) % nc->units;
	else
		unit = nc->next_unit;
	if (cfg.verify) /* no two I/Os on one unit at a time */
		for (uint64_t n = 0; nc->busy[unit] && n < nc->units; n++)
			unit = unit + 1 == nc->units ? 0 : unit + 1;
	if (!cfg.rand)
		nc->next_unit = unit + 1 == nc->units ? 0 : unit + 1;
	t->unit = unit;
	t->is_read = cfg.reads == 1 || (cfg.reads == -1 && rng_next(&w->rng) % 100 < cfg.mix);
	lba = (nc->first_unit + unit) * nc->nlb;
	if (cfg.verify) {
		nc->busy[unit] = 1;
		if (!t->is_read) {
			t->seq = ++w->seq;
			verify_fill(t, lba);
		}
	}
	t->tsc = zdk_rdtsc();
	rc = t->is_read ? zdk_nvme_ns_read(nc->ns, nc->qp, t->buf, lba, nc->nlb, io_done, t)
			: zdk_nvme_ns_write(nc->ns, nc->qp, t->buf, lba, nc->nlb, io_done, t);
	t->inflight = rc == 0;
	return rc;
}

void io_done(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct task *t = arg;
	struct nsctx *nc = t->nc;
	uint64_t now = zdk_rdtsc();
	bool count = now >= t_measure;

	t->inflight = false;
	if (cfg.verify) {
		uint64_t want = nc->stamp[t->unit];

		nc->busy[t->unit] = 0;
		if (ZDK_NVME_CPL_IS_ERROR(cpl)) {
			/* The unit's content is unknown now: stop checking it. */
			nc->stamp[t->unit] = 0;
		} else if (!t->is_read) {
			nc->stamp[t->unit] = t->seq;
		} else if (want) {
			uint64_t lba = (nc->first_unit + t->unit) * nc->nlb;

			nc->st.verified++;
			if (!verify_check(t, lba, want)) {
				nc->st.mismatches++;
				fprintf(stderr, "verify: %s ns %u LBA %" PRIu64 ": data is not write #%" PRIu64 "\n",
					zdk_nvme_ctrlr_name(nc->ns->ctrlr), nc->ns->nsid, lba, want);
			}
		}
	}
	if (ZDK_NVME_CPL_STATUS(cpl) == ZDK_NVME_STATUS_REMOVED) {
		/* Not an error of the device: it is gone. Stop using it. */
		if (!nc->st.removed++)
			fprintf(stderr, "nvme-perf: %s ns %u: controller removed; its I/O stops "
				"here\n", zdk_nvme_ctrlr_name(nc->ns->ctrlr), nc->ns->nsid);
		return;
	}
	if (ZDK_NVME_CPL_IS_ERROR(cpl)) {
		nc->st.errors++;
		if (nc->st.errors <= 5)
			fprintf(stderr, "I/O error on %s ns %u: SCT 0x%x SC 0x%02x\n",
				zdk_nvme_ctrlr_name(nc->ns->ctrlr), nc->ns->nsid,
				ZDK_NVME_STATUS_SCT(cpl->status), ZDK_NVME_STATUS_SC(cpl->status));
	}
	__atomic_store_n(&nc->st.live, nc->st.live + 1, __ATOMIC_RELAXED);
	if (count) {
		nc->st.ios++;
		nc->st.bytes += cfg.io_size;
		hist_add(&nc->st.lat, now - t->tsc);
	}
	if (cfg.rate)
		pace_task_done(t); /* resubmitted in its turn */
	else if (!nc->w->draining && task_submit(t) != 0)
		nc->st.errors++;
}

static void live_line(uint64_t now, uint64_t *last_ios, uint64_t *last_tsc)
{
	uint64_t ios = 0, lat = 0, n = 0;
	unsigned l;

	ZDK_LCORE_FOREACH(l)
		for (unsigned i = 0; i < workers[l].nnc; i++) {
			const struct stats *s = &workers[l].nc[i].st;

			ios += __atomic_load_n(&s->live, __ATOMIC_RELAXED);
			lat += __atomic_load_n(&s->lat.sum, __ATOMIC_RELAXED);
			n += __atomic_load_n(&s->lat.n, __ATOMIC_RELAXED);
		}
	double secs = (double)(now - *last_tsc) / (double)tsc_hz, iops = (double)(ios - *last_ios) / secs;

	fprintf(stderr, "[%4.0f s]%s %10.0f IOPS %9.2f MiB/s  avg %8.1f us\n",
		(double)(now - t_start) / (double)tsc_hz, now < t_measure ? " warmup" : "", iops,
		iops * cfg.io_size / 1048576.0, n ? to_us(lat / n) : 0.0);
	*last_ios = ios;
	*last_tsc = now;
}

/* The lcores with work: each gets an equal share of --rate. */
static unsigned nbusy;

static int worker_run(void *arg)
{
	struct worker *w = arg;
	bool is_main = w->lcore == zdk_lcore_main();
	/* After a takeover t_start is the first process's: lines go on from now. */
	uint64_t now = zdk_rdtsc(), next_line = ZDK_MAX(t_start, now) + tsc_hz, last_ios = 0;
	uint64_t last_tsc = ZDK_MAX(t_start, now), next_ho = 0;

	if (pace_init(w, nbusy) != 0) {
		w->rc = -EIO;
		stop = 1;
	}
	/* Tasks a handover brought in flight complete through perf_ho's handler. */
	for (unsigned i = 0; i < w->nnc && !cfg.rate; i++)
		for (unsigned q = 0; q < w->nc[i].qd; q++)
			if (!w->nc[i].tasks[q].inflight && task_submit(&w->nc[i].tasks[q]) != 0) {
				fprintf(stderr, "lcore %u: submit failed\n", w->lcore);
				w->rc = -EIO;
				stop = 1;
			}
	do {
		unsigned done = 0;

		for (unsigned i = 0; i < w->nqp; i++)
			done += zdk_nvme_qpair_poll(w->qp[i], 0);
		now = zdk_rdtsc();
		pace_submit(w, now);
		if (is_main && now >= next_line) {
			live_line(now, &last_ios, &last_tsc);
			next_line += tsc_hz;
		}
		/* A new process may be waiting to take over (every 10 ms). */
		if (cfg.ho_listen && is_main && now >= next_ho) {
			next_ho = now + tsc_hz / 100;
			if (perf_ho_poll(w))
				return 0;
		}
		pace_idle(w, done, now, is_main ? ZDK_MIN(next_line, t_end) : t_end);
	} while (!stop && now < t_end);
	/* Drain: no resubmission, wait for what is in flight (bounded). */
	w->draining = true;
	for (unsigned i = 0; i < w->nnc; i++) {
		uint64_t deadline = zdk_rdtsc() + 10 * tsc_hz;

		while (zdk_nvme_qpair_outstanding(w->nc[i].qp) && zdk_rdtsc() < deadline)
			zdk_nvme_qpair_poll(w->nc[i].qp, 0);
		if (zdk_nvme_qpair_outstanding(w->nc[i].qp)) {
			fprintf(stderr, "lcore %u: %u I/O still outstanding after 10 s\n", w->lcore,
				zdk_nvme_qpair_outstanding(w->nc[i].qp));
			w->rc = -ETIMEDOUT;
		}
	}
	return w->rc;
}

/*
 * With a handover the verify state lives in the arena: a new process finds
 * it at the same address, with no copy.
 */
static void *state_zalloc(size_t n)
{
	return cfg.ho_arena ? zdk_dma_zalloc(n, 64, ZDK_SOCKET_ANY, NULL) : calloc(1, n);
}

static void state_free(void *p)
{
	if (cfg.ho_arena)
		zdk_dma_free(p);
	else
		free(p);
}

/* Commands one I/O of -o bytes takes on @ns (the driver splits above MDTS). */
static unsigned cmds_per_io(const struct zdk_nvme_ns *ns)
{
	uint32_t nlb = cfg.io_size / ns->lba_size;

	return (nlb + ns->max_blocks - 1) / ns->max_blocks;
}

static int nsctx_init(struct worker *w, struct nsctx *nc, const struct zdk_nvme_ns *ns,
		      struct zdk_nvme_qpair *qp, unsigned qd, unsigned idx, unsigned nworkers)
{
	uint64_t total_units;

	nc->ns = ns;
	nc->w = w;
	nc->qp = qp;
	nc->qd = qd;
	if (cfg.io_size % ns->lba_size) {
		fprintf(stderr, "-o %u: must be a multiple of ns %u's LBA size %u\n", cfg.io_size,
			ns->nsid, ns->lba_size);
		return -EINVAL;
	}
	nc->nlb = cfg.io_size / ns->lba_size;
	total_units = ns->nblocks / nc->nlb;
	nc->units = total_units / nworkers;
	nc->first_unit = nc->units * idx;
	if (nc->units < qd) {
		fprintf(stderr, "ns %u is too small for -q %u per lcore\n", ns->nsid, qd);
		return -EINVAL;
	}
	nc->tasks = calloc(qd, sizeof(*nc->tasks));
	if (cfg.verify) {
		nc->busy = state_zalloc(nc->units);
		nc->stamp = state_zalloc(nc->units * sizeof(*nc->stamp));
	}
	if (!nc->tasks || (cfg.verify && (!nc->busy || !nc->stamp)))
		return -ENOMEM;
	for (unsigned q = 0; q < qd; q++) {
		nc->tasks[q].nc = nc;
		nc->tasks[q].buf = zdk_dma_zalloc(cfg.io_size, 4096, zdk_lcore_socket(w->lcore), NULL);
		if (!nc->tasks[q].buf) {
			fprintf(stderr, "out of DMA memory for %u x %u bytes: give more with -m\n",
				qd, cfg.io_size);
			return -ENOMEM;
		}
	}
	return 0;
}

static void nsctx_fini(struct nsctx *nc)
{
	for (unsigned q = 0; nc->tasks && q < nc->qd; q++)
		zdk_dma_free(nc->tasks[q].buf);
	free(nc->tasks);
	state_free(nc->busy);
	state_free(nc->stamp);
}

static void worker_fini(struct worker *w)
{
	pace_fini(w);
	for (unsigned i = 0; i < w->nnc; i++)
		nsctx_fini(&w->nc[i]);
	for (unsigned i = 0; i < w->nqp; i++)
		zdk_nvme_qpair_free(w->qp[i]);
}

static bool ns_wanted(uint32_t nsid)
{
	for (unsigned i = 0; i < cfg.nnsid; i++)
		if (cfg.nsids[i] == nsid)
			return true;
	return cfg.nnsid == 0;
}

/*
 * On one lcore, one qpair for @c shared by its wanted namespaces, sized for
 * -q commands each (times the commands an I/O splits into). A controller
 * whose queues hold fewer gets a smaller depth per namespace, and says so.
 */
static int ctrlr_setup(struct worker *w, struct zdk_nvme_ctrlr *c, unsigned idx, unsigned n,
		       unsigned *found)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .batch = true,
					    .flags = cfg.intr ? ZDK_NVME_QPAIR_F_INTR : 0 };
	const struct zdk_nvme_ns *list[MAX_NS];
	unsigned nns = 0, cmds = 0, need, cap, qd = cfg.qd;
	struct zdk_nvme_qpair *qp;
	int rc;

	for (const struct zdk_nvme_ns *ns = zdk_nvme_ns_next(c, NULL); ns; ns = zdk_nvme_ns_next(c, ns))
		if (ns_wanted(ns->nsid) && w->nnc + nns < MAX_NS) {
			list[nns++] = ns;
			cmds += cmds_per_io(ns);
		}
	if (!nns)
		return 0;
	need = cmds * cfg.qd;
	/* At most entries / 2 commands in flight; a deep queue also rings the
	 * CQ doorbell less often. The driver caps entries at CAP.MQES. */
	for (opts.entries = 256; opts.entries < 2 * need; opts.entries *= 2)
		;
	rc = zdk_nvme_qpair_alloc(c, &opts, &qp);
	if (rc) {
		fprintf(stderr, "lcore %u: qpair on %s: %s\n", w->lcore, zdk_nvme_ctrlr_name(c),
			strerror(-rc));
		return rc;
	}
	w->qp[w->nqp++] = qp;
	cap = zdk_nvme_qpair_nfree(qp);
	for (unsigned i = 0; i < nns; i++)
		if (cmds_per_io(list[i]) > cap) {
			fprintf(stderr, "nvme-perf: -o %u takes %u commands on %s ns %u, more than its "
				"queues hold (%u): use -o %u or less\n", cfg.io_size,
				cmds_per_io(list[i]), zdk_nvme_ctrlr_name(c), list[i]->nsid, cap,
				cap * list[i]->max_blocks * list[i]->lba_size);
			return -EINVAL;
		}
	if (cap < need) {
		qd = ZDK_MAX(cap / cmds, 1u);
		if (w->lcore == zdk_lcore_main())
			fprintf(stderr, "nvme-perf: %s: -q %u on %u namespace(s) needs %u commands in "
				"flight; its queues hold %u: -q %u per namespace\n",
				zdk_nvme_ctrlr_name(c), cfg.qd, nns, need, cap, qd);
	}
	for (unsigned i = 0; i < nns; i++) {
		rc = nsctx_init(w, &w->nc[w->nnc++], list[i], qp, qd, idx, n);
		if (rc)
			return rc;
		(*found)++;
	}
	return 0;
}

/* On every lcore, one nsctx per wanted namespace of every controller. */
int setup(void)
{
	unsigned l, idx = 0, n = zdk_lcore_count(), found = 0;
	int rc;

	/* Per controller, before its first qpair. */
	for (struct zdk_nvme_ctrlr *c = zdk_nvme_ctrlr_next(NULL); c && cfg.shadow_db;
	     c = zdk_nvme_ctrlr_next(c)) {
		rc = zdk_nvme_ctrlr_shadow_doorbell(c, true);
		if (rc) {
			fprintf(stderr, "%s: shadow doorbells: %s\n", zdk_nvme_ctrlr_name(c),
				strerror(-rc));
			return rc;
		}
	}
	ZDK_LCORE_FOREACH(l) {
		struct worker *w = &workers[l];

		w->lcore = l;
		w->epfd = -1;
		w->rng = 0x9e3779b97f4a7c15ULL * (l + 1);
		for (struct zdk_nvme_ctrlr *c = zdk_nvme_ctrlr_next(NULL); c; c = zdk_nvme_ctrlr_next(c)) {
			rc = ctrlr_setup(w, c, idx, n, &found);
			if (rc)
				return rc;
		}
		idx++;
		nbusy += w->nnc > 0;
	}
	if (!found) {
		fprintf(stderr, "no NVMe namespace to test: bind a controller to vfio-pci "
				"(zdk-devbind --bind=vfio-pci BDF), pass it with -a BDF, and check -n\n");
		return -ENODEV;
	}
	return 0;
}

static void print_row(const char *who, const char *ns, const struct stats *s, double secs)
{
	const struct hist *h = &s->lat;
	double iops = (double)s->ios / secs;

	if (cfg.json) {
		printf("    {\"lcore\": \"%s\", \"ns\": \"%s\", \"ios\": %" PRIu64 ", \"iops\": %.1f, "
		       "\"mibps\": %.2f, \"lat_us\": {\"avg\": %.2f, \"min\": %.2f, \"max\": %.2f, "
		       "\"p50\": %.2f, \"p99\": %.2f, \"p99.9\": %.2f}, \"errors\": %" PRIu64
		       ", \"mismatches\": %" PRIu64 ", \"verified\": %" PRIu64 "}",
		       who, ns, s->ios, iops, iops * cfg.io_size / 1048576.0,
		       h->n ? to_us(h->sum / h->n) : 0, to_us(h->min), to_us(h->max),
		       to_us(hist_pct(h, 50)), to_us(hist_pct(h, 99)), to_us(hist_pct(h, 99.9)),
		       s->errors, s->mismatches, s->verified);
		return;
	}
	printf("%-6s %-18s %10.0f %9.2f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", who, ns, iops,
	       iops * cfg.io_size / 1048576.0, h->n ? to_us(h->sum / h->n) : 0, to_us(h->min),
	       to_us(h->max), to_us(hist_pct(h, 50)), to_us(hist_pct(h, 99)),
	       to_us(hist_pct(h, 99.9)));
}

static int report(uint64_t t_stop, double cpu, double cpu_secs)
{
	double secs = (double)(t_stop - ZDK_MIN(t_measure, t_stop)) / (double)tsc_hz;
	double cpu_pct = cpu_secs > 0 ? 100.0 * cpu / cpu_secs : 0;
	static struct stats total;
	char ns[64], who[16];
	uint64_t sleeps = 0;
	unsigned l;

	if (secs <= 0)
		secs = 1e-9;
	ZDK_LCORE_FOREACH(l)
		sleeps += workers[l].sleeps;
	if (cfg.json)
		printf("{\n  \"qd\": %u, \"io_size\": %u, \"seconds\": %.3f, \"rate\": %" PRIu64
		       ", \"mode\": \"%s\", \"cpu_pct\": %.2f, \"sleeps\": %" PRIu64
		       ", \"rows\": [\n", cfg.qd, cfg.io_size, secs, cfg.rate,
		       cfg.intr ? "interrupt" : "polling", cpu_pct, sleeps);
	else
		printf("\n%-6s %-18s %10s %9s %9s %9s %9s %9s %9s %9s\n", "lcore", "namespace", "IOPS",
		       "MiB/s", "avg(us)", "min(us)", "max(us)", "p50(us)", "p99(us)", "p99.9(us)");
	ZDK_LCORE_FOREACH(l)
		for (unsigned i = 0; i < workers[l].nnc; i++) {
			const struct nsctx *nc = &workers[l].nc[i];

			snprintf(ns, sizeof(ns), "%s/%u", zdk_nvme_ctrlr_name(nc->ns->ctrlr), nc->ns->nsid);
			snprintf(who, sizeof(who), "%u", l);
			print_row(who, ns, &nc->st, secs);
			if (cfg.json)
				printf(",\n");
			total.ios += nc->st.ios;
			total.bytes += nc->st.bytes;
			total.errors += nc->st.errors;
			total.mismatches += nc->st.mismatches;
			total.verified += nc->st.verified;
			total.removed += nc->st.removed;
			hist_merge(&total.lat, &nc->st.lat);
		}
	print_row("total", "", &total, secs);
	if (cfg.json)
		printf("\n  ]\n}\n");
	else if (cfg.verify || total.errors || total.removed)
		printf("errors %" PRIu64 ", verified reads %" PRIu64 ", mismatches %" PRIu64 "%s\n",
		       total.errors, total.verified, total.mismatches,
		       total.removed ? ", I/O failed as its controller was removed" : "");
	if (!cfg.json) /* polling, each lcore is 100% of a core */
		printf("cpu: %.3f s in %.2f s: %.1f%% of a core (%u lcore%s, %s, %" PRIu64
		       " sleeps)\n", cpu, cpu_secs, cpu_pct, zdk_lcore_count(),
		       zdk_lcore_count() > 1 ? "s" : "", cfg.intr ? "interrupt mode" : "polling",
		       sleeps);
	return total.errors || total.mismatches ? 1 : 0;
}

static void usage(const char *prog)
{
	printf("Usage: %s [zdk options] -- [nvme-perf options]\n"
	       "The controllers are zdk's -a BDF, the lcores its -l LIST (one qpair each).\n"
	       "nvme-perf options:\n"
	       "  -q DEPTH        queue depth per qpair (default 32)\n"
	       "  -o BYTES        I/O size (default 4096)\n"
	       "  -w PATTERN      read, write, randread, randwrite, rw, randrw (default randread)\n"
	       "  -M PERCENT      reads in rw/randrw (default 50)\n"
	       "  -t SECONDS      run time (default 10)\n"
	       "  -n NSID[,NSID]  namespaces (default all active)\n"
	       "      --warmup S  run S seconds before measuring\n"
	       "      --verify    stamp writes with LBA and sequence, check them on reads\n"
	       "      --rate IOPS submit at this rate in all (split between the lcores)\n"
	       "      --interrupt sleep on the qpairs' interrupts when idle (after --idle-us,\n"
	       "                  20, per command in flight)\n"
	       "      --shadow-doorbell  doorbells through the shadow buffer (Doorbell Buffer Config)\n"
	       "      --json      print the summary as JSON\n"
	       "      --handover-socket PATH  hand the run over to a process that connects\n"
	       "                  there (one lcore; doc/handover.md)\n"
	       "      --takeover PATH  take a run over from the process listening on PATH\n"
	       "                  (its options apply; its socket is listened on next)\n"
	       "      --handover-reset  hand over with a controller reset, for comparison\n"
	       "Example: %s -l 0 -a 0000:01:00.0 -- -q 32 -o 4096 -w randread -t 10\n\n",
	       prog, prog);
	zdk_eal_usage(prog);
}

/* -a, -l and -c given to nvme-perf go to zdk_eal_init() as -a and -l. */

static int parse_uint(const char *s, unsigned *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 0);

	if (!*s || *end || x > UINT32_MAX)
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

static int parse_workload(const char *w)
{
	static const struct { const char *name; int reads; bool rand; } pats[] = {
		{ "read", 1, false }, { "write", 0, false }, { "randread", 1, true },
		{ "randwrite", 0, true }, { "rw", -1, false }, { "randrw", -1, true },
	};

	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(pats); i++)
		if (strcmp(w, pats[i].name) == 0) {
			cfg.reads = pats[i].reads;
			cfg.rand = pats[i].rand;
			return 0;
		}
	return -EINVAL;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "warmup", required_argument, NULL, 'W' }, { "verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'J' },	     { "help", no_argument, NULL, 'h' },
		{ "handover-socket", required_argument, NULL, 'H' },
		{ "takeover", required_argument, NULL, 'T' },
		{ "handover-reset", no_argument, NULL, 'R' },
		{ "takeover-die", no_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "interrupt", no_argument, NULL, 'I' },
		{ "idle-us", required_argument, NULL, 'i' },
		{ "shadow-doorbell", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc = 0;

	while (rc == 0 && (opt = getopt_long(argc, argv, "q:o:w:M:t:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': rc = parse_uint(optarg, &cfg.qd); break;
		case 'o': rc = parse_uint(optarg, &cfg.io_size); break;
		case 'w': rc = parse_workload(optarg); break;
		case 'M': rc = parse_uint(optarg, &cfg.mix); break;
		case 't': rc = parse_uint(optarg, &cfg.seconds); break;
		case 'W': rc = parse_uint(optarg, &cfg.warmup); break;
		case 'V': cfg.verify = true; break;
		case 'J': cfg.json = true; break;
		case 'H': cfg.ho_listen = optarg; break;
		case 'T': cfg.ho_takeover = optarg; break;
		case 'R': cfg.ho_reset = true; break;
		case 'D': cfg.ho_die = true; break;
		case 'I': cfg.intr = true; break;
		case 'S': cfg.shadow_db = true; break;
		case 'i': rc = parse_uint(optarg, &cfg.idle_us); break;
		case 'r': {
			unsigned v;

			rc = parse_uint(optarg, &v);
			cfg.rate = v;
			break;
		}
		case 'n':
			for (char *tok = strtok(optarg, ","); tok && rc == 0; tok = strtok(NULL, ","))
				rc = cfg.nnsid < MAX_NS ? parse_uint(tok, &cfg.nsids[cfg.nnsid++]) : -EINVAL;
			break;
		case 'h': usage(argv[0]); return 1;
		default: rc = -EINVAL;
		}
	}
	cfg.ho_arena = cfg.ho_listen || cfg.ho_takeover;
	if (rc == 0 && (optind != argc || cfg.qd == 0 || cfg.qd > 1024 || cfg.io_size == 0 ||
			cfg.mix > 100 || cfg.seconds == 0))
		rc = -EINVAL;
	if (rc == 0 && cfg.intr && (cfg.ho_listen || cfg.ho_takeover)) {
		fprintf(stderr, "--interrupt and a handover do not mix: interrupt vectors stay with "
				"their process\n");
		return -EINVAL;
	}
	if (rc)
		fprintf(stderr, "bad arguments (-h for help): -q 1..1024, -o > 0, -M 0..100, -t > 0\n");
	return rc;
}

int main(int argc, char **argv)
{
	bool took_over = false;
	int rc, failed = 0;
	double cpu0 = 0;
	uint64_t t_cpu0 = 0;
	unsigned l;

	/* As every zdk program: zdk's options, "--", then nvme-perf's; with
	 * --takeover, zdk's memory and devices are the old process's. */
	rc = perf_ho_init(argc, argv, &took_over);
	if (rc < 0)
		return rc == -ECANCELED ? 0 : 1;
	argc -= rc;
	argv += rc;
	rc = parse_args(argc, argv);
	if (rc) {
		zdk_eal_cleanup();
		perf_ho_done();
		return rc < 0 ? 1 : 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tsc_hz = zdk_tsc_hz();
	if (took_over) {
		failed = perf_ho_restore() != 0;
	} else {
		failed = setup() != 0 || (cfg.ho_listen && perf_ho_listen() != 0);
		t_start = zdk_rdtsc();
		t_measure = t_start + (uint64_t)cfg.warmup * tsc_hz;
		t_end = t_measure + (uint64_t)cfg.seconds * tsc_hz;
	}
	if (failed)
		goto out_free;
	cpu0 = cpu_seconds();
	t_cpu0 = zdk_rdtsc();
	ZDK_LCORE_FOREACH_WORKER(l)
		if (zdk_lcore_launch(worker_run, &workers[l], l) != 0) {
			fprintf(stderr, "cannot launch lcore %u\n", l);
			failed = 1;
			stop = 1;
		}
	failed |= worker_run(&workers[zdk_lcore_main()]) != 0;
	failed |= zdk_lcore_wait_all() != 0;
	if (workers[zdk_lcore_main()].handed_over)
		goto out_free; /* the new process reports */
	if (stop)
		fprintf(stderr, "interrupted: summary of what ran\n");
	failed |= report(ZDK_MIN(zdk_rdtsc(), t_end), cpu_seconds() - cpu0,
			 (double)(zdk_rdtsc() - t_cpu0) / (double)tsc_hz);
	if (cfg.ho_listen || took_over)
		failed |= perf_ho_final() != 0;
out_free:
	ZDK_LCORE_FOREACH(l)
		worker_fini(&workers[l]);
	zdk_eal_cleanup();
	perf_ho_done();
	return failed ? 1 : 0;
}
