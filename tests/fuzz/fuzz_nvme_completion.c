// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_nvme_completion.c - zdk_nvme_qpair_poll() on completion entries
 * written by the input, on a qpair with commands outstanding.
 *
 * The fuzzer is the device of one I/O qpair (queue size from the first
 * byte, 2 to 256): each following byte is an operation. Submit a command
 * (a callback may resubmit at once, so command ids are reused while stale
 * entries for them are still to come); post an entry whose cid is an
 * outstanding one, a recently completed one (stale generation), or any
 * 16 bits, with any status and SQ head, optionally first with a stale
 * phase bit (the driver must not read it, then it is published); poll with
 * a budget. Checked (abort() otherwise): a callback runs only for an
 * outstanding command, once, with a published entry naming its whole cid;
 * after an unlimited poll every command that a published entry named while
 * it was outstanding has completed, and the CQ is consumed; the count of
 * outstanding commands agrees.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/nvme/nvme_ctrlr.c"
#include "../../drivers/nvme/nvme_ns.c"
#include "../../drivers/nvme/nvme_pci.c"
#include "../../drivers/nvme/nvme_qpair.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS 512

struct cmd {
	uint16_t cid;
	bool outstanding, expected, resubmit;
	int calls;
};

static struct {
	struct zdk_nvme_qpair *qp;
	struct cmd cmd[MAX_CMDS];
	unsigned ncmd;
	uint16_t stale[8];   /* cids of commands completed lately */
	unsigned nstale;
	uint16_t tail, phase; /* the device's CQ position */
	uint64_t posted_unknown;
} F;

#include "fuzz_check.h"

static void submit(bool resubmit);

static void cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct cmd *c = arg;

	/* Only an outstanding command, once, with a published entry naming it. */
	check(c->outstanding && c->calls == 0 && cpl->cid == c->cid);
	check(cpl >= F.qp->cq && cpl <= &F.qp->cq[F.qp->mask] && cpl != &F.qp->cq[F.tail]);
	c->calls++;
	c->outstanding = c->expected = false;
	F.stale[F.nstale++ % 8] = c->cid;
	if (c->resubmit)
		submit(false);
}

static void submit(bool resubmit)
{
	struct zdk_nvme_sqe flush = { .opc = ZDK_NVME_OPC_FLUSH, .nsid = 1 };
	struct cmd *c;

	if (F.ncmd == MAX_CMDS || zdk_nvme_qpair_nfree(F.qp) == 0)
		return;
	c = &F.cmd[F.ncmd];
	*c = (struct cmd){ .outstanding = true, .resubmit = resubmit };
	check(zdk_nvme_qpair_submit(F.qp, &flush, NULL, 0, cb, c) == 0);
	c->cid = F.qp->sq[(F.qp->sq_tail - 1) & F.qp->mask].cid;
	F.ncmd++;
}

static struct cmd *find(uint16_t cid)
{
	for (unsigned i = 0; i < F.ncmd; i++)
		if (F.cmd[i].outstanding && F.cmd[i].cid == cid)
			return &F.cmd[i];
	return NULL;
}

/* Entries posted and not yet consumed by the driver. */
static unsigned in_flight(void)
{
	return (uint16_t)(F.tail - F.qp->cq_head) & F.qp->mask;
}

/*
 * What the driver is about to read: each published entry naming an
 * outstanding command (not with the reset's "aborted, SQ deleted") must
 * complete it, duplicates after the first excepted.
 */
static void mark_expected(void)
{
	for (uint16_t h = F.qp->cq_head; h != F.tail; h = (h + 1) & F.qp->mask) {
		const struct zdk_nvme_cpl *e = &F.qp->cq[h];
		struct cmd *c = find(e->cid);

		if (c && !c->expected &&
		    ZDK_NVME_CPL_STATUS(e) != ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION))
			c->expected = true;
	}
}

static void poll(uint32_t budget)
{
	mark_expected();
	zdk_nvme_qpair_poll(F.qp, budget);
}

static void post(const uint8_t *d)
{
	struct zdk_nvme_qpair *qp = F.qp;
	struct zdk_nvme_cpl *e = &qp->cq[F.tail];
	uint16_t cid, status = (uint16_t)(d[1] | d[2] << 8) & 0xfffe;

	if (in_flight() + 1 >= qp->mask + 1u)
		return; /* the CQ is full: a device posts no more */
	switch (d[0] & 3) {
	case 0: /* an outstanding command, if any */
	case 1:
		cid = F.ncmd ? F.cmd[d[3] % F.ncmd].cid : d[3];
		break;
	case 2: /* a command completed lately: its cid may be in use again */
		cid = F.nstale ? F.stale[d[3] % 8 % ZDK_MIN(F.nstale, 8u)] : d[3];
		break;
	default:
		cid = (uint16_t)(d[3] | d[4] << 8);
		break;
	}
	if (d[0] & 0x10)
		status = 0;
	e->dw0 = 0;
	e->sqhd = (uint16_t)(d[4] | d[3] << 8);
	e->sqid = 1;
	e->cid = cid;
	if (d[0] & 0x20) {
		/* The phase bit not flipped yet: the driver must not take it. */
		__atomic_store_n(&e->status, (uint16_t)(status | (F.phase ^ 1)), __ATOMIC_RELEASE);
		poll(0);
		check(qp->cq_head == F.tail); /* everything before it, nothing of it */
	}
	__atomic_store_n(&e->status, (uint16_t)(status | F.phase), __ATOMIC_RELEASE);
	if (++F.tail > qp->mask) {
		F.tail = 0;
		F.phase ^= 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_nvme fake;
	static struct zdk_nvme_ctrlr *ctrlr;
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o), .timeout_ms = ZDK_NVME_TIMEOUT_NONE };
	unsigned done = 0;
	size_t i = 1;

	if (size < 1)
		return 0;
	zdk_log_level = -1;
	if (!ctrlr) {
		fake_nvme_init(&fake);
		test_fake = &fake;
		if (nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fuzz", &ctrlr))
			abort();
		/* The fake runs admin commands only: this input is the I/O device. */
		fake.io_hold = true;
	}
	o.entries = 2u << (data[0] % 8);
	memset(&F, 0, sizeof(F));
	F.phase = 1;
	check(zdk_nvme_qpair_alloc(ctrlr, &o, &F.qp) == 0);
	while (i < size) {
		uint8_t op = data[i++];

		switch (op % 4) {
		case 0:
			submit(op & 0x80);
			break;
		case 1:
		case 2:
			if (size - i < 5)
				goto out;
			post(data + i);
			i += 5;
			break;
		default: {
			uint32_t budget = (op >> 2) % 4;
			uint64_t before = F.qp->ncpl;

			poll(budget);
			check(budget == 0 || F.qp->ncpl - before <= budget);
			if (budget == 0) {
				/* Every entry was consumed: every named command is done. */
				check(in_flight() == 0);
				for (unsigned k = 0; k < F.ncmd; k++)
					check(!F.cmd[k].expected);
			}
			break;
		}
		}
	}
out:
	poll(0);
	for (unsigned k = 0; k < F.ncmd; k++) {
		check(!F.cmd[k].expected && F.cmd[k].calls <= 1);
		done += (unsigned)F.cmd[k].calls;
	}
	check(zdk_nvme_qpair_outstanding(F.qp) == F.ncmd - done);
	zdk_nvme_qpair_free(F.qp);
	return 0;
}
