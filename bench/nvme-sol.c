/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-sol - the speed of light for 4 KiB random reads on one queue
 * pair: the least work that keeps @qd reads in flight, to measure how close
 * zdk's driver comes to what the controller and the machine allow.
 *
 *   zdk-nvme-sol [zdk options] -- [-q QD] [-t SECONDS] [-n NSID] [-e ENTRIES] [-b BATCH]
 *                [-s BACKOFF]
 *
 * zdk brings the controller up and creates the queue pair (the same queues
 * and doorbells nvme-perf uses); from then on this program drives the rings
 * itself:
 *  - every command is prebuilt: one template per command id (the id indexes
 *    its own buffer), so a resubmission is a 64-byte copy and a new LBA;
 *  - a completion is found by its phase bit and resubmitted on the spot,
 *    with its id as it came (no id allocator, no callback, no statistics
 *    but a counter);
 *  - the SQ tail doorbell is rung once per batch of completions;
 *  - the CQ head doorbell as rarely as is safe: the controller can post
 *    while fewer than ENTRIES - 1 entries are posted and not acknowledged,
 *    and those are at most the consumed-unacknowledged ones plus the QD in
 *    flight, so the head is acknowledged once ENTRIES - 1 - QD - BATCH are
 *    consumed (a batch consumes at most BATCH);
 *  - a batch is at most BATCH completions (-b, default 32): the controller
 *    gets the first resubmissions while the rest are still being reaped;
 *  - an empty look at the CQ is followed by BACKOFF empty loop turns (-s,
 *    default 80) before the next: in the TCG sandbox a tighter loop slows
 *    the emulated controller down (18k against 23k IOPS at QD 1).
 * It is a benchmark program, not part of the library: it reads the qpair's
 * private fields, and leaves them as zdk expects before freeing it.
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [zdk options] -- [-q QD] [-t SECONDS] [-n NSID] [-e ENTRIES] [-b BATCH] [-s BACKOFF]\n"
		"  -q  reads in flight (default 32)\n"
		"  -b  most completions reaped per SQ doorbell (default 32, at most QD)\n"
		"  -s  loop turns to wait after an empty look at the CQ (default 80)\n"
		"  -t  seconds to run (default 5)\n"
		"  -n  namespace (default 1)\n"
		"  -e  queue entries, a power of two >= 2 * QD (default: 256 as nvme-perf,\n"
		"      or 2 * QD)\n",
		prog);
}

/* A uniform value below @n (Lemire's multiply-shift, no division). */
static inline uint64_t below(uint64_t *s, uint64_t n)
{
	__extension__ typedef unsigned __int128 u128;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint64_t)(((u128)*s * n) >> 64);
}

/* SLBA: CDW10-11 (NVM command set 3.3.4). */
static inline void sol_lba(struct zdk_nvme_sqe *e, uint64_t lba)
{
	e->cdw10 = (uint32_t)lba;
	e->cdw11 = (uint32_t)(lba >> 32);
}

struct sol {
	struct zdk_nvme_sqe *sq;
	const struct zdk_nvme_cpl *cq;
	volatile uint32_t *sq_db, *cq_db;
	struct zdk_nvme_sqe *tmpl; /* per command id */
	uint32_t qd, batch, mask, ack_every, backoff;
	uint16_t sq_tail, cq_head, cq_acked, phase;
	uint64_t units, lba_per_unit, rng;
	uint64_t ios, errors, sq_rings, cq_rings;
};

/* Reap up to s->batch completions, resubmitting each unless @refill is false. */
static inline uint32_t sol_poll(struct sol *s, bool refill)
{
	uint16_t head = s->cq_head, tail = s->sq_tail;
	uint32_t n = 0;

	while (n < s->batch) {
		const struct zdk_nvme_cpl *cpl = &s->cq[head];
		uint16_t status = *(const volatile uint16_t *)&cpl->status;
		uint16_t cid;

		if ((status & 1) != s->phase) {
			/* Nothing yet: back off a little before looking again. */
			for (volatile uint32_t k = 0; k < s->backoff; k++)
				;
			break;
		}
		zdk_io_rmb();
		cid = cpl->cid;
		if (zdk_unlikely(cid >= s->qd || (status & 0xfffe))) {
			/* Not ours, or failed: counted; a bad id is not resubmitted. */
			s->errors++;
			if (cid >= s->qd) {
				fprintf(stderr, "nvme-sol: completion with cid %u (qd %u)\n", cid,
					s->qd);
				stop = 1;
				goto next;
			}
		}
		if (refill) {
			struct zdk_nvme_sqe *e = &s->sq[tail];

			*e = s->tmpl[cid];
			sol_lba(e, below(&s->rng, s->units) * s->lba_per_unit);
			tail = (uint16_t)((tail + 1) & s->mask);
		}
next:
		head = (uint16_t)((head + 1) & s->mask);
		if (head == 0)
			s->phase ^= 1;
		n++;
	}
	if (!n)
		return 0;
	s->cq_head = head;
	s->ios += n;
	if (refill) {
		zdk_io_wmb();
		zdk_mmio_write32(s->sq_db, tail);
		s->sq_tail = tail;
		s->sq_rings++;
	}
	if ((uint16_t)((head - s->cq_acked) & s->mask) >= s->ack_every || !refill) {
		zdk_mmio_write32(s->cq_db, head);
		s->cq_acked = head;
		s->cq_rings++;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct zdk_nvme_qpair_opts qo = { .size = sizeof(qo), .timeout_ms = ZDK_NVME_TIMEOUT_NONE };
	uint32_t qd = 32, entries = 0, nsid = 1, secs = 5, batch = 32, backoff = 80;
	struct zdk_nvme_qpair *qp = NULL;
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_ctrlr *ctrlr;
	struct sol s = { 0 };
	uint64_t hz, t0, t1, iova;
	uint8_t *bufs = NULL;
	int rc, opt;

	rc = zdk_eal_init(argc, argv);
	if (rc < 0)
		return rc == -ECANCELED ? 0 : 1;
	argc -= rc;
	argv += rc;
	while ((opt = getopt(argc, argv, "q:t:n:e:b:s:h")) != -1) {
		switch (opt) {
		case 'q': qd = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': secs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'n': nsid = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': entries = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': batch = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': backoff = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: usage(argv[0]); rc = opt == 'h' ? 0 : 2; goto out;
		}
	}
	ctrlr = zdk_nvme_ctrlr_next(NULL);
	if (!ctrlr) {
		fprintf(stderr, "nvme-sol: no NVMe controller: give one with -a BDF\n");
		rc = 1;
		goto out;
	}
	ns = zdk_nvme_ns_get(ctrlr, nsid);
	if (!ns || qd == 0 || qd > 1024 || ns->lba_size > 4096) {
		fprintf(stderr, "nvme-sol: need an active namespace %u with LBAs of at most "
			"4 KiB and 1 <= QD <= 1024\n", nsid);
		rc = 1;
		goto out;
	}
	/* As nvme-perf's (zdk's default), or twice the QD (zdk caps at CAP.MQES + 1). */
	qo.entries = entries ? entries : ZDK_MAX(256u, 2 * qd);
	if (qo.entries < 2 * qd) {
		fprintf(stderr, "nvme-sol: -e %u: a queue of QD %u needs at least %u entries\n",
			qo.entries, qd, 2 * qd);
		rc = 1;
		goto out;
	}
	rc = zdk_nvme_qpair_alloc(ctrlr, &qo, &qp);
	if (rc) {
		fprintf(stderr, "nvme-sol: qpair: %s\n", strerror(-rc));
		rc = 1;
		goto out;
	}
	s.mask = qp->mask;
	if (s.mask + 1 < 2 * qd) {
		fprintf(stderr, "nvme-sol: the controller allows %u entries, too few for QD %u\n",
			s.mask + 1, qd);
		rc = 1;
		goto out;
	}
	s.sq = qp->sq;
	s.cq = qp->cq;
	s.sq_db = qp->sq_db;
	s.cq_db = qp->cq_db;
	s.sq_tail = qp->sq_tail;
	s.cq_head = s.cq_acked = qp->cq_head;
	s.phase = qp->phase;
	s.qd = qd;
	s.backoff = backoff;
	s.batch = batch && batch < qd ? batch : qd;
	/* Posted and not acknowledged: at most QD not yet consumed, plus the
	 * consumed ones, which reach ack_every - 1 + BATCH before a check rings
	 * the doorbell; the controller posts while they are below ENTRIES - 1. */
	if (s.batch > s.mask - qd)
		s.batch = s.mask - qd; /* (mask + 1) - QD - 1: at least 1, as mask + 1 >= 2 * QD */
	s.ack_every = s.mask + 1 - qd - s.batch;
	s.lba_per_unit = 4096 >> ns->lba_shift;
	s.units = ns->nblocks / s.lba_per_unit;
	s.rng = 0x9e3779b97f4a7c15ULL ^ zdk_rdtsc();
	bufs = zdk_dma_zalloc((size_t)qd * 4096, 4096, ZDK_SOCKET_ANY, NULL);
	s.tmpl = calloc(qd, sizeof(*s.tmpl));
	if (!bufs || !s.tmpl) {
		fprintf(stderr, "nvme-sol: no memory for %u buffers\n", qd);
		rc = 1;
		goto out;
	}
	for (uint32_t i = 0; i < qd; i++) {
		struct zdk_nvme_sqe *e = &s.tmpl[i];

		iova = zdk_virt2iova(bufs + (size_t)i * 4096);
		e->opc = ZDK_NVME_OPC_READ;
		e->cid = (uint16_t)i;
		e->nsid = nsid;
		e->prp1 = iova; /* a 4 KiB-aligned 4 KiB buffer: one page, no PRP2 */
		e->cdw12 = s.lba_per_unit - 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* The first QD commands, one doorbell. */
	for (uint32_t i = 0; i < qd; i++) {
		s.sq[s.sq_tail] = s.tmpl[i];
		sol_lba(&s.sq[s.sq_tail], below(&s.rng, s.units) * s.lba_per_unit);
		s.sq_tail = (uint16_t)((s.sq_tail + 1) & s.mask);
	}
	hz = zdk_tsc_hz();
	t0 = zdk_rdtsc();
	zdk_io_wmb();
	zdk_mmio_write32(s.sq_db, s.sq_tail);
	s.sq_rings++;
	for (uint64_t end = t0 + secs * hz; !stop;) {
		/* The clock only every 256 polls: rdtsc is not free under TCG. */
		for (unsigned k = 0; k < 256; k++)
			sol_poll(&s, true);
		if (zdk_rdtsc() >= end)
			break;
	}
	t1 = zdk_rdtsc();
	/* Drain: everything in flight comes back, nothing new goes out. */
	{
		uint64_t inflight = qd, deadline = zdk_rdtsc() + 5 * hz;

		while (inflight && zdk_rdtsc() < deadline)
			inflight -= sol_poll(&s, false);
		if (inflight) {
			fprintf(stderr, "nvme-sol: %" PRIu64 " reads never completed\n", inflight);
			rc = 1;
		}
	}
	/* Leave the qpair as zdk keeps it, for its deletion. */
	qp->sq_tail = qp->sq_rung = s.sq_tail;
	qp->cq_head = qp->cq_rung = s.cq_head;
	qp->phase = s.phase;
	{
		double sec = (double)(t1 - t0) / (double)hz;
		uint64_t ios = s.ios - qd; /* the drained ones are not in the time */

		printf("nvme-sol: qd %u, batch %u, %u entries: %.0f IOPS (%" PRIu64 " reads in %.2f s), "
		       "%.1f reads per SQ doorbell, %.1f per CQ doorbell, %" PRIu64 " errors\n",
		       qd, s.batch, s.mask + 1, (double)ios / sec, ios, sec,
		       (double)s.ios / (double)s.sq_rings, (double)s.ios / (double)s.cq_rings,
		       s.errors);
		printf("RESULT iops=%.0f ios=%" PRIu64 " secs=%.3f errors=%" PRIu64 "\n",
		       (double)ios / sec, ios, sec, s.errors);
	}
	if (s.errors)
		rc = 1;
out:
	zdk_nvme_qpair_free(qp);
	free(s.tmpl);
	zdk_dma_free(bufs);
	zdk_eal_cleanup();
	return rc;
}
