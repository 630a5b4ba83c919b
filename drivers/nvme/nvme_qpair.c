/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_qpair.c - queue pairs: memory, creation on the controller, the
 * out-of-line submit path (PRP lists, SGLs, vectors), and the slow-path tick
 * (timeouts with Abort then reset, CSTS.CFS, reconnect after a reset).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZDK_LOG_COMPONENT "nvme"
#include "sys.h"
#include "zdk_log.h"
#include "nvme_internal.h"
#include "zdk_pci.h"

/* The shadow slot pointers sit in what was padding: no older offset moved
 * (buildtools/abi/libzdk.abignore relies on it). */
ZDK_STATIC_ASSERT(offsetof(struct zdk_nvme_qpair, sq_shadow) == 0x38 &&
		  offsetof(struct zdk_nvme_qpair, cq) == 0x40 &&
		  offsetof(struct zdk_nvme_qpair, cq_shadow) == 0x70 &&
		  offsetof(struct zdk_nvme_qpair, ctrlr) == 0x80, "zdk_nvme_qpair layout moved");

#define PAGE ZDK_NVME_PAGE_SIZE
#define PAGE_LOW ((uint64_t)PAGE - 1)
#define PRPS_PER_PAGE (PAGE / 8)

void nvme_idle_default(unsigned us)
{
	struct timespec ts = { .tv_nsec = (long)us * 1000 };

	if (us)
		nanosleep(&ts, NULL);
	else
		zdk_pause();
}

/* Empty queues, every command id free, phase 1 (base spec 3.3.1). */
void nvme_qpair_ring_reset(struct nvme_qpair *q)
{
	struct zdk_nvme_qpair *qp = &q->qp;

	memset(qp->cq, 0, q->entries * sizeof(*qp->cq));
	qp->sq_tail = 0;
	qp->sq_rung = 0;
	qp->cq_head = 0;
	qp->cq_rung = 0;
	qp->phase = 1;
	/*
	 * entries / 2 command ids: the SQ can never overflow (base spec 3.3.1.5)
	 * and the CQ head doorbell can be rung lazily (see zdk_nvme_qpair_poll).
	 * Each starts one generation past its last use.
	 */
	qp->free_head = qp->free_tail = 0;
	for (uint32_t i = 0; i <= qp->cid_mask; i++) {
		qp->reqs[i].cb = NULL;
		qp->reqs[i].flags = 0;
		zdk_nvme_qpair_cid_put(qp, (uint16_t)((qp->reqs[i].cid & ~(uint32_t)qp->cid_mask) | i),
				       qp->cid_mask);
	}
}

/*
 * Point the qpair's doorbells at the controller (base spec 3.1.3.24: SQ y
 * tail at 1000h + 2y * stride, CQ y head one stride further), or at a sink
 * while its queues do not exist: a doorbell write for a queue the controller
 * does not have is an error (and has crashed emulated controllers). A reset
 * on another thread does this while the owner rings them: atomic stores,
 * which the owner's atomic loads pair with (see nvme_internal.h).
 */
void nvme_qpair_doorbells(struct nvme_qpair *q, bool live)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;
	volatile uint8_t *sq = c->regs + ZDK_NVME_REG_DBS + 2u * q->qid * c->db_stride;

	__atomic_store_n(&q->qp.sq_db, live ? (volatile uint32_t *)sq : &c->db_sink[0],
			 __ATOMIC_RELAXED);
	__atomic_store_n(&q->qp.cq_db, live ? (volatile uint32_t *)(sq + c->db_stride)
					    : &c->db_sink[1], __ATOMIC_RELAXED);
}

int nvme_qpair_init(struct nvme_qpair *q, struct zdk_nvme_ctrlr *c, uint16_t qid, uint32_t entries)
{
	struct zdk_nvme_qpair *qp = &q->qp;

	q->qid = qid;
	q->entries = entries;
	qp->ctrlr = c;
	qp->mask = (uint16_t)(entries - 1);
	qp->cid_mask = (uint16_t)(entries / 2 - 1);
	qp->tick = NVME_TICK_POLLS;
	nvme_qpair_doorbells(q, true);
	qp->sq = zdk_dma_zalloc(entries * sizeof(*qp->sq), PAGE, ZDK_SOCKET_ANY, &q->sq_iova);
	qp->cq = zdk_dma_zalloc(entries * sizeof(*qp->cq), PAGE, ZDK_SOCKET_ANY, &q->cq_iova);
	qp->reqs = aligned_alloc(ZDK_CACHE_LINE, entries * sizeof(*qp->reqs));
	qp->free_cids = calloc(entries, sizeof(*qp->free_cids));
	if (!qp->sq || !qp->cq || !qp->reqs || !qp->free_cids) {
		nvme_qpair_fini(q);
		return -ENOMEM;
	}
	memset(qp->reqs, 0, entries * sizeof(*qp->reqs));
	nvme_qpair_ring_reset(q);
	return 0;
}

void nvme_qpair_fini(struct nvme_qpair *q)
{
	free(q->inherited);
	q->inherited = NULL;
	zdk_dma_free(q->list_pool);
	free(q->qp.free_cids);
	free(q->qp.reqs);
	zdk_dma_free(q->qp.cq);
	zdk_dma_free(q->qp.sq);
	q->list_pool = NULL;
	q->qp.free_cids = NULL;
	q->qp.reqs = NULL;
	q->qp.cq = NULL;
	q->qp.sq = NULL;
}

/* The list pages of @cid, allocated for the whole qpair on first use. */
static uint64_t *req_list(struct nvme_qpair *q, uint16_t cid, uint64_t *iova)
{
	size_t per_cid = (size_t)q->list_pages * PAGE;

	if (!q->list_pool) {
		q->list_pool = zdk_dma_zalloc(per_cid * q->entries, PAGE, ZDK_SOCKET_ANY,
					      &q->list_pool_iova);
		if (!q->list_pool)
			return NULL;
	}
	*iova = q->list_pool_iova + cid * per_cid;
	return (uint64_t *)((uint8_t *)q->list_pool + cid * per_cid);
}

/*
 * Whether a PRP list can describe the vector (base spec 4.1.1): PRP1 may
 * start anywhere dword aligned, every other entry is a whole memory page,
 * so every element but the first starts on a page and every element but
 * the last ends on one. VA and IOVA agree on the offset within a page.
 */
static bool iov_fits_prp(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		uintptr_t start = (uintptr_t)iov[i].iov_base;

		if ((start & 3) || iov[i].iov_len == 0)
			return false;
		if (i > 0 && (start & PAGE_LOW))
			return false;
		if (i < iovcnt - 1 && ((start + iov[i].iov_len) & PAGE_LOW))
			return false;
	}
	return true;
}

/* Where the next PRP entry goes: PRP1, PRP2, or the list (chained when full). */
struct prp_out {
	struct zdk_nvme_sqe *sqe;
	uint64_t *list;
	uint64_t list_iova;
	uint32_t n, total, slot;
};

static void prp_put(struct prp_out *o, uint64_t addr)
{
	if (o->n == 0) {
		o->sqe->prp1 = addr;
	} else if (!o->list) {
		o->sqe->prp2 = addr;
	} else {
		if (o->slot == PRPS_PER_PAGE - 1 && o->total - o->n > 1) {
			/* Last entry of a full list page points to the next one. */
			o->list[o->slot] = o->list_iova + PAGE;
			o->list += PRPS_PER_PAGE;
			o->list_iova += PAGE;
			o->slot = 0;
		}
		o->list[o->slot++] = addr;
	}
	o->n++;
}

/*
 * One PRP entry per memory page the vector touches, each page's address
 * taken from the IOVA-contiguous run it lies in: in no-IOMMU mode the next
 * page of a zdk_dma_map()ped buffer is rarely the next physical page, and a
 * buffer may span two mappings.
 */
static int build_prp(struct nvme_qpair *q, uint16_t idx, struct zdk_nvme_sqe *sqe,
		     const struct iovec *iov, int iovcnt)
{
	struct prp_out o = { .sqe = sqe };

	for (int i = 0; i < iovcnt; i++) {
		uint64_t off = (uintptr_t)iov[i].iov_base & PAGE_LOW;

		o.total += (uint32_t)((off + iov[i].iov_len + PAGE_LOW) >> ZDK_NVME_PAGE_SHIFT);
	}
	sqe->prp2 = 0;
	if (o.total > 2) {
		o.list = req_list(q, idx, &o.list_iova);
		if (!o.list)
			return -ENOMEM;
		sqe->prp2 = o.list_iova;
	}
	for (int i = 0; i < iovcnt; i++) {
		uintptr_t va = (uintptr_t)iov[i].iov_base, end = va + iov[i].iov_len;

		while (va < end) {
			size_t run;
			uint64_t iova = zdk_virt2iova_run((void *)va, end - va, &run);

			if (iova == ZDK_BAD_IOVA)
				return -EFAULT;
			for (uintptr_t p = va; p < va + run; p = (p & ~(uintptr_t)PAGE_LOW) + PAGE)
				prp_put(&o, iova + (p - va));
			va += run;
		}
	}
	return 0;
}

/*
 * SGL (base spec 4.1.2): one Data Block per IOVA-contiguous run (adjacent
 * runs merged), in the command itself when there is one, else a Last
 * Segment of them in the cid's list pages; -E2BIG when they do not fit.
 */
static int build_sgl(struct nvme_qpair *q, uint16_t idx, struct zdk_nvme_sqe *sqe,
		     const struct iovec *iov, int iovcnt)
{
	struct zdk_nvme_sgl_desc one = { 0 }, *d = NULL, *last = NULL;
	uint32_t n = 0, cap = q->list_pages * PAGE / sizeof(*d);
	uint64_t list_iova = 0;

	for (int i = 0; i < iovcnt; i++) {
		uintptr_t va = (uintptr_t)iov[i].iov_base, end = va + iov[i].iov_len;

		while (va < end) {
			size_t run;
			uint64_t iova = zdk_virt2iova_run((void *)va, ZDK_MIN(end - va, UINT32_MAX), &run);

			if (iova == ZDK_BAD_IOVA)
				return -EFAULT;
			va += run;
			if (last && last->addr + last->len == iova && last->len + run <= UINT32_MAX) {
				last->len += (uint32_t)run;
				continue;
			}
			if (n == 1 && !d) {
				d = (struct zdk_nvme_sgl_desc *)req_list(q, idx, &list_iova);
				if (!d)
					return -ENOMEM;
				d[0] = one;
			}
			if (n == cap)
				return -E2BIG;
			last = d ? &d[n] : &one;
			*last = (struct zdk_nvme_sgl_desc){
				.addr = iova, .len = (uint32_t)run, .type = ZDK_NVME_SGL_DATA_BLOCK,
			};
			n++;
		}
	}
	if (n == 0)
		return -EINVAL;
	sqe->flags |= ZDK_NVME_FLAG_PSDT_SGL;
	sqe->sgl1 = d ? (struct zdk_nvme_sgl_desc){
		.addr = list_iova, .len = n * (uint32_t)sizeof(*d), .type = ZDK_NVME_SGL_LAST_SEGMENT,
	} : one;
	return 0;
}

/* The reqs[] index of the command id the next commit takes. */
static uint16_t next_idx(const struct zdk_nvme_qpair *qp)
{
	return qp->free_cids[qp->free_head & qp->cid_mask] & qp->cid_mask;
}

/* Hand a built command to the controller under the oldest free command id. */
static void commit(struct zdk_nvme_qpair *qp, struct zdk_nvme_sqe *sqe, zdk_nvme_cb cb, void *arg)
{
	uint16_t cid;
	struct zdk_nvme_req *req;
	struct zdk_nvme_sqe *slot = zdk_nvme_qpair_slot(qp, &cid, &req, cb, arg);

	sqe->cid = cid;
	*slot = *sqe;
	zdk_nvme_qpair_push(qp, slot, req);
}

/* Describe @iov in @sqe: an SGL where wanted and possible, else PRPs. */
static int build_data(struct nvme_qpair *q, uint16_t idx, struct zdk_nvme_sqe *sqe,
		      const struct iovec *iov, int iovcnt, size_t len)
{
	bool prp_ok = iov_fits_prp(iov, iovcnt);
	bool multi = iovcnt > 1 || (((uintptr_t)iov[0].iov_base & PAGE_LOW) + len > 2 * PAGE);
	int rc = -E2BIG;

	for (int i = 0; i < iovcnt; i++)
		if (!iov[i].iov_base)
			return -EINVAL;
	sqe->flags = 0;
	sqe->mptr = 0;
	if (q->qp.ctrlr->sgl && (!prp_ok || (q->prefer_sgl && multi)))
		rc = build_sgl(q, idx, sqe, iov, iovcnt);
	if (rc == -E2BIG) {
		/* SGLs not wanted, or too many runs for one segment. */
		sqe->flags = 0;
		rc = prp_ok ? build_prp(q, idx, sqe, iov, iovcnt) : -EINVAL;
	}
	return rc;
}

int nvme_qpair_submit_data(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
			   const struct iovec *iov, int iovcnt, zdk_nvme_cb cb, void *arg)
{
	struct zdk_nvme_sqe sqe = *cmd;
	size_t len = 0;
	int rc;

	if (qp->free_head == qp->free_tail)
		return -EAGAIN;
	if (iovcnt < 0 || iovcnt > NVME_MAX_IOV || cb == NULL)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > qp->ctrlr->max_xfer)
		return -EINVAL;
	if (iovcnt > 0) {
		/* The command id the commit will take: its list pages are used here. */
		rc = build_data(nvme_qpair(qp), next_idx(qp), &sqe, iov, iovcnt, len);
		if (rc)
			return rc;
	}
	commit(qp, &sqe, cb, arg);
	return 0;
}

/* Small command data (a DSM range) copied into the command id's list page. */
int nvme_qpair_submit_copy(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
			   const void *data, size_t len, zdk_nvme_cb cb, void *arg)
{
	struct zdk_nvme_sqe sqe = *cmd;
	uint64_t iova;
	void *page;

	if (qp->free_head == qp->free_tail)
		return -EAGAIN;
	if (len > PAGE || cb == NULL)
		return -EINVAL;
	page = req_list(nvme_qpair(qp), next_idx(qp), &iova);
	if (!page)
		return -ENOMEM;
	memcpy(page, data, len);
	sqe.flags = 0;
	sqe.mptr = 0;
	sqe.prp1 = iova;
	sqe.prp2 = 0;
	commit(qp, &sqe, cb, arg);
	return 0;
}

int zdk_nvme_qpair_submit(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd, void *buf,
			  size_t len, zdk_nvme_cb cb, void *arg)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	/* Without a buffer the command's own PRPs go through; a length needs one. */
	if (!buf && len)
		return -EINVAL;
	return nvme_qpair_submit_data(qp, cmd, &iov, len ? 1 : 0, cb, arg);
}

int zdk_nvme_qpair_submitv(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
			   const struct iovec *iov, int iovcnt, zdk_nvme_cb cb, void *arg)
{
	return nvme_qpair_submit_data(qp, cmd, iov, iovcnt, cb, arg);
}

/* Complete reqs[@idx] in software with @status (after a reset or a failure). */
static void complete_sw(struct zdk_nvme_qpair *qp, uint32_t idx, uint16_t status)
{
	struct zdk_nvme_req *req = &qp->reqs[idx];
	struct zdk_nvme_cpl cpl = {
		.sqid = nvme_qpair(qp)->qid, .cid = req->cid, .status = status,
	};
	zdk_nvme_cb cb = req->cb;

	req->cb = NULL;
	req->flags = 0;
	zdk_nvme_qpair_cid_put(qp, req->cid, qp->cid_mask);
	cb(req->cb_arg, &cpl);
}

/* Complete in software every outstanding command marked NVME_REQ_FAIL. */
static void complete_marked(struct zdk_nvme_qpair *qp)
{
	for (uint32_t idx = 0; idx <= qp->cid_mask; idx++) {
		struct zdk_nvme_req *req = &qp->reqs[idx];

		if (req->cb && (req->flags & NVME_REQ_FAIL))
			complete_sw(qp, idx, req->status);
	}
}

static void mark(struct zdk_nvme_req *req, uint16_t status)
{
	req->flags |= NVME_REQ_FAIL;
	req->status = status;
}

static void fail_all(struct nvme_qpair *q)
{
	uint16_t st = __atomic_load_n(&q->qp.ctrlr->removed, __ATOMIC_ACQUIRE)
			      ? ZDK_NVME_STATUS_REMOVED
			      : ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION);

	for (uint32_t idx = 0; idx <= q->qp.cid_mask; idx++)
		if (q->qp.reqs[idx].cb)
			mark(&q->qp.reqs[idx], st);
	complete_marked(&q->qp);
}

/*
 * Completions the controller posted before it was reset and that were not
 * polled yet: keep their status so that they are delivered, not re-executed.
 */
static void harvest_locked(struct nvme_qpair *q)
{
	struct zdk_nvme_qpair *qp = &q->qp;

	for (uint32_t n = 0; n < q->entries; n++) {
		struct zdk_nvme_cpl *cpl = &qp->cq[qp->cq_head];
		struct zdk_nvme_req *req;

		if ((cpl->status & 1) != qp->phase)
			break;
		zdk_io_rmb(); /* phase before the rest of the entry */
		req = &qp->reqs[cpl->cid & qp->cid_mask];
		/* Aborted by the reset's own queue deletion: resubmitted instead. */
		if (req->cb && req->cid == cpl->cid && !(req->flags & NVME_REQ_FAIL) &&
		    ZDK_NVME_CPL_STATUS(cpl) != ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION))
			mark(req, ZDK_NVME_CPL_STATUS(cpl));
		if (++qp->cq_head > qp->mask) {
			qp->cq_head = 0;
			qp->phase ^= 1;
		}
	}
}

/*
 * The qpair's shadow slots, when the controller has shadow doorbells: all
 * four (tail, head and their EventIdx) zeroed while its queues do not exist,
 * as a new queue starts from 0 (a stale EventIdx would skip a doorbell).
 */
static void shadow_setup_locked(struct nvme_qpair *q)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;
	volatile uint32_t *sq = NULL, *cq = NULL;

	if (c->dbbuf_on) {
		sq = c->dbbuf + nvme_dbbuf_slot(c, 2u * q->qid);
		cq = c->dbbuf + nvme_dbbuf_slot(c, 2u * q->qid + 1);
		sq[0] = cq[0] = 0;
		sq[ZDK_NVME_PAGE_SIZE / 4] = cq[ZDK_NVME_PAGE_SIZE / 4] = 0;
	}
	q->qp.sq_shadow = sq;
	q->qp.cq_shadow = cq;
}

/*
 * Create I/O CQ then SQ (base spec 5.4, 5.5), physically contiguous (PC).
 * The CQ interrupts (IEN) on its own MSI-X vector (IV) in interrupt mode.
 */
static int create_queues_locked(struct nvme_qpair *q)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;
	uint32_t qsize = (q->entries - 1) << 16 | q->qid;
	struct zdk_nvme_sqe cq = {
		.opc = ZDK_NVME_ADM_CREATE_CQ, .prp1 = q->cq_iova, .cdw10 = qsize,
		.cdw11 = q->intr ? (uint32_t)q->iv << 16 | ZDK_NVME_CQ_IEN | ZDK_NVME_CQ_PC
				 : ZDK_NVME_CQ_PC,
	};
	struct zdk_nvme_sqe sq = {
		.opc = ZDK_NVME_ADM_CREATE_SQ, .prp1 = q->sq_iova, .cdw10 = qsize,
		.cdw11 = (uint32_t)q->qid << 16 | 1,
	};
	struct zdk_nvme_sqe del = { .opc = ZDK_NVME_ADM_DELETE_CQ, .cdw10 = q->qid };
	int rc;

	shadow_setup_locked(q);
	rc = nvme_admin_locked(c, &cq, NULL, 0, NULL);
	if (rc)
		return rc;
	q->live = true;
	rc = nvme_admin_locked(c, &sq, NULL, 0, NULL);
	if (rc && nvme_admin_locked(c, &del, NULL, 0, NULL) == 0)
		q->live = false;
	return rc;
}

/*
 * Delete the SQ, then its CQ (base spec 5.6, 5.7). Until both are gone the
 * controller may still fetch from the SQ and post to the CQ: q->live stays
 * set and the memory must be kept. A timeout resets the controller, whose
 * disable takes the queues too (nvme_qpairs_quiesced_locked()).
 */
int nvme_qpair_delete_locked(struct nvme_qpair *q)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;
	struct zdk_nvme_sqe dsq = { .opc = ZDK_NVME_ADM_DELETE_SQ, .cdw10 = q->qid };
	struct zdk_nvme_sqe dcq = { .opc = ZDK_NVME_ADM_DELETE_CQ, .cdw10 = q->qid };
	int rc;

	if (!q->live)
		return 0;
	rc = nvme_admin_locked(c, &dsq, NULL, 0, NULL);
	if (!rc)
		rc = nvme_admin_locked(c, &dcq, NULL, 0, NULL);
	if (!rc)
		q->live = false;
	return q->live ? (rc ? rc : -EIO) : 0;
}

static void qpair_destroy(struct nvme_qpair *q)
{
	nvme_qpair_fini(q);
	free(q);
}

/*
 * The controller was disabled (CSTS.RDY 0): it holds no queue any more, so
 * the memory of qpairs freed while their deletion failed can go now.
 */
void nvme_qpairs_quiesced_locked(struct zdk_nvme_ctrlr *c)
{
	struct nvme_qpair *q, *next;

	for (q = c->qpairs; q; q = q->next)
		q->live = false;
	for (q = c->zombies; q; q = next) {
		next = q->next;
		c->qid_used[q->qid] = 0;
		qpair_destroy(q);
	}
	c->zombies = NULL;
}

/* Keep @q's memory (and its qid) until the controller is quiesced. */
static void qpair_park_locked(struct nvme_qpair *q)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;

	ZDK_WARN("%s: I/O queue %u could not be deleted: its memory is kept until the next "
		 "controller reset, as the controller may still write it", c->name, q->qid);
	c->qid_used[q->qid] = 1;
	q->next = c->zombies;
	c->zombies = q;
}

/*
 * The controller was reset under this qpair: recreate its queues and
 * resubmit what was outstanding; commands that timed out, or everything if
 * the controller is gone, are failed back. Runs on the owning thread.
 */
static void reconnect(struct nvme_qpair *q)
{
	struct zdk_nvme_qpair *qp = &q->qp;
	struct zdk_nvme_ctrlr *c = qp->ctrlr;
	bool failed;

	pthread_mutex_lock(&c->lock);
	failed = c->failed;
	q->gen = atomic_load(&c->gen);
	/* The reset is done: the controller writes nothing more to the old CQ. */
	harvest_locked(q);
	if (!failed) {
		memset(qp->cq, 0, q->entries * sizeof(*qp->cq));
		qp->sq_tail = qp->sq_rung = qp->cq_head = qp->cq_rung = 0;
		qp->phase = 1;
		failed = create_queues_locked(q) != 0;
		if (!failed)
			nvme_qpair_doorbells(q, true);
	}
	pthread_mutex_unlock(&c->lock);
	for (uint32_t idx = 0; idx <= qp->cid_mask; idx++) {
		struct zdk_nvme_req *req = &qp->reqs[idx];

		if (!req->cb || (req->flags & NVME_REQ_FAIL))
			continue;
		if (failed)
			mark(req, ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION));
		else if (req->epoch & NVME_REQ_ABORTED)
			mark(req, ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_REQUESTED));
		else {
			req->epoch = qp->epoch;
			qp->sq[qp->sq_tail] = req->sqe;
			qp->sq_tail = (uint16_t)((qp->sq_tail + 1) & qp->mask);
		}
	}
	zdk_nvme_qpair_flush(qp);
	complete_marked(qp);
	ZDK_NOTICE("%s: qpair %u reconnected after reset%s", c->name, q->qid,
		   failed ? ": controller failed, commands failed back" : "");
}

/* Abort a command that ran past its timeout; on the second time, reset. */
static bool check_timeouts(struct nvme_qpair *q)
{
	struct zdk_nvme_qpair *qp = &q->qp;
	struct zdk_nvme_ctrlr *c = qp->ctrlr;

	for (uint32_t idx = 0; idx <= qp->cid_mask; idx++) {
		struct zdk_nvme_req *req = &qp->reqs[idx];
		uint16_t cid = req->cid;
		struct zdk_nvme_sqe abort = {
			.opc = ZDK_NVME_ADM_ABORT, .cdw10 = (uint32_t)cid << 16 | q->qid,
		};

		/* Epochs last half a timeout: 3 epochs old is past it. */
		if (!req->cb || qp->epoch - (req->epoch & ~NVME_REQ_ABORTED) < 3 * 2)
			continue;
		if (req->epoch & NVME_REQ_ABORTED) {
			ZDK_ERR("%s: qpair %u cid %u not completed after Abort: resetting controller",
				c->name, q->qid, cid);
			nvme_ctrlr_reset_if(c, q->gen);
			return true;
		}
		ZDK_WARN("%s: qpair %u cid %u opcode 0x%02x timed out: sending Abort", c->name,
			 q->qid, cid, req->sqe.opc);
		req->epoch = qp->epoch | NVME_REQ_ABORTED;
		if (zdk_nvme_ctrlr_admin(c, &abort, NULL, 0, NULL) == -ETIMEDOUT)
			return true;
	}
	return false;
}

/* Entries with a cid that was not outstanding: a device bug, said once per qpair. */
void nvme_qpair_note_dropped(struct nvme_qpair *q)
{
	if (zdk_likely(!q->qp.ndropped || q->dropped_logged))
		return;
	q->dropped_logged = true;
	ZDK_WARN("%s: qpair %u: completion entry for a command id that is not outstanding: "
		 "dropped (counted in ndropped; said once)", q->qp.ctrlr->name, q->qid);
}

void zdk_nvme_qpair_tick(struct zdk_nvme_qpair *qp)
{
	struct nvme_qpair *q = nvme_qpair(qp);
	struct zdk_nvme_ctrlr *c = qp->ctrlr;
	uint64_t now;

	__atomic_store_n(&qp->tick, NVME_TICK_POLLS, __ATOMIC_RELAXED);
	if (q->qid == 0)
		return;
	q->last_tick_tsc = NVME_TSC();
	nvme_qpair_note_dropped(q);
	if (q->gen != atomic_load(&c->gen)) {
		reconnect(q);
		return;
	}
	if (nvme_ctrlr_failed(c)) {
		fail_all(q);
		return;
	}
	now = NVME_TSC();
	if (q->timeout_tsc && now - q->epoch_start >= q->timeout_tsc / 2) {
		qp->epoch += 2;
		q->epoch_start = now;
		if (check_timeouts(q)) {
			__atomic_store_n(&qp->tick, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	/* Stuck with work outstanding: is the controller alive? (3.1.3.6) */
	if (qp->ncpl == q->last_ncpl && zdk_nvme_qpair_outstanding(qp) &&
	    now - q->last_csts_tsc >= nvme_ms_to_tsc(NVME_CSTS_CHECK_MS)) {
		uint32_t csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);

		q->last_csts_tsc = now;
		/* All-ones from a device lib/pci is taking away: not a fault to
		 * reset for; the removal fails the commands in a moment. */
		if (csts == UINT32_MAX && c->pci && zdk_pci_device_removed(c->pci))
			csts = 0;
		if (csts == UINT32_MAX || (csts & ZDK_NVME_CSTS_CFS)) {
			ZDK_ERR("%s: controller fatal status (CSTS 0x%x): resetting", c->name, csts);
			nvme_ctrlr_reset_if(c, q->gen);
			__atomic_store_n(&qp->tick, 1, __ATOMIC_RELAXED);
		}
	}
	q->last_ncpl = qp->ncpl;
}

uint32_t nvme_list_pages(uint32_t max_xfer)
{
	uint32_t entries = max_xfer / PAGE, pages = 1;

	/* A full page holds PRPS_PER_PAGE entries, or one less and a chain pointer. */
	while (entries > PRPS_PER_PAGE) {
		entries -= PRPS_PER_PAGE - 1;
		pages++;
	}
	return pages;
}

static uint32_t qpair_entries(const struct zdk_nvme_ctrlr *c, uint32_t want)
{
	uint32_t max = ZDK_NVME_CAP_MQES(c->cap) + 1, n = 2;

	while (n * 2 <= want && n * 2 <= max && n * 2 <= 65536)
		n *= 2;
	return n;
}

int zdk_nvme_qpair_alloc(struct zdk_nvme_ctrlr *c, const struct zdk_nvme_qpair_opts *opts,
			 struct zdk_nvme_qpair **out)
{
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o) };
	struct nvme_qpair *q;
	uint16_t qid = 0;
	int rc;

	if (opts && zdk_opts_copy(&o, sizeof(o), opts, opts->size)) {
		ZDK_ERR("%s: qpair opts.size is %zu, this zdk knows %zu bytes: set it to "
			"sizeof(struct zdk_nvme_qpair_opts)", c->name, opts->size, sizeof(o));
		return -EINVAL;
	}
	if (o.entries == 0)
		o.entries = NVME_IO_ENTRIES_DEFAULT;
	if (!ZDK_IS_POW2(o.entries) || o.entries < 2) {
		ZDK_ERR("%s: qpair entries %u: must be a power of two >= 2", c->name, o.entries);
		return -EINVAL;
	}
	if (o.flags & ~(uint64_t)ZDK_NVME_QPAIR_F_INTR) {
		ZDK_ERR("%s: qpair opts.flags 0x%llx: unknown flags (this zdk knows "
			"ZDK_NVME_QPAIR_F_INTR)", c->name, (unsigned long long)o.flags);
		return -EINVAL;
	}
	if (o.timeout_ms == 0)
		o.timeout_ms = NVME_IO_TIMEOUT_MS_DEFAULT;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->intr = o.flags & ZDK_NVME_QPAIR_F_INTR;
	q->efd = -1;
	q->prefer_sgl = o.prefer_sgl;
	q->qp.batch = o.batch;
	q->list_pages = nvme_list_pages(c->max_xfer);
	q->timeout_tsc = o.timeout_ms == ZDK_NVME_TIMEOUT_NONE ? 0 : nvme_ms_to_tsc(o.timeout_ms);
	q->epoch_start = NVME_TSC();

	pthread_mutex_lock(&c->lock);
	for (uint16_t i = 1; i <= c->nr_io_queues && !qid; i++)
		if (!c->qid_used[i])
			qid = i;
	if (!qid) {
		ZDK_ERR("%s: all %u I/O queues are in use: free a qpair first", c->name,
			c->nr_io_queues);
		rc = -ENOSPC;
		goto err_unlock;
	}
	if (q->intr) {
		rc = nvme_pci_irq_get_locked(c, qid);
		if (rc < 0)
			goto err_unlock;
		q->efd = rc;
		q->iv = qid;
	}
	rc = nvme_qpair_init(q, c, qid, qpair_entries(c, o.entries));
	if (rc)
		goto err_unlock;
	q->gen = atomic_load(&c->gen);
	q->last_tick_tsc = NVME_TSC();
	rc = create_queues_locked(q);
	if (rc) {
		ZDK_ERR("%s: creating I/O queue %u failed (%d)", c->name, qid, rc);
		if (q->live) {
			qpair_park_locked(q);
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
		goto err_fini;
	}
	c->qid_used[qid] = 1;
	q->next = c->qpairs;
	c->qpairs = q;
	pthread_mutex_unlock(&c->lock);
	*out = &q->qp;
	return 0;

err_fini:
	nvme_qpair_fini(q);
err_unlock:
	pthread_mutex_unlock(&c->lock);
	free(q);
	return rc;
}

void zdk_nvme_qpair_free(struct zdk_nvme_qpair *qp)
{
	struct nvme_qpair *q = nvme_qpair(qp), **pp;
	struct zdk_nvme_ctrlr *c;

	if (!qp)
		return;
	c = qp->ctrlr;
	if (c->handed_over) {
		nvme_qpair_inert_drop(q);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (!nvme_ctrlr_failed(c))
		nvme_qpair_delete_locked(q);
	else if (__atomic_load_n(&c->removed, __ATOMIC_ACQUIRE))
		q->live = false; /* no controller is left to write the queues */
	for (pp = &c->qpairs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	if (q->live) {
		qpair_park_locked(q);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->qid_used[q->qid] = 0;
	pthread_mutex_unlock(&c->lock);
	qpair_destroy(q);
}

/* Host memory only: the queues and their memory are another process's. */
void nvme_qpair_inert_drop(struct nvme_qpair *q)
{
	struct zdk_nvme_ctrlr *c = q->qp.ctrlr;

	for (struct nvme_qpair **pp = &c->qpairs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	free(q->inherited);
	free(q->qp.free_cids);
	free(q->qp.reqs);
	free(q);
	if (!c->refs && !c->qpairs)
		nvme_ctrlr_inert_put(c);
}

int zdk_nvme_qpair_intr_fd(const struct zdk_nvme_qpair *qp)
{
	const struct nvme_qpair *q = (const struct nvme_qpair *)qp;

	return q->intr ? q->efd : -ENOTSUP;
}

int zdk_nvme_qpair_intr_enable(struct zdk_nvme_qpair *qp)
{
	struct nvme_qpair *q = nvme_qpair(qp);
	uint64_t cnt;

	if (!q->intr)
		return -ENOTSUP;
	/* Failed or removed: the next polls fail what is outstanding; with
	 * nothing outstanding there is nothing to wait for but the timeout. */
	if (nvme_ctrlr_failed(qp->ctrlr))
		return zdk_nvme_qpair_outstanding(qp) ? -EAGAIN : 0;
	/* A reset to reconnect from, or a long sleep that would starve the
	 * slow-path checks (timeouts, CSTS.CFS): run them on the next poll. */
	if (q->gen != atomic_load(&qp->ctrlr->gen) ||
	    NVME_TSC() - q->last_tick_tsc >= nvme_ms_to_tsc(NVME_INTR_TICK_MS)) {
		__atomic_store_n(&qp->tick, 1, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	/* Signals of completions polled already: they must not wake us now. */
	sys_read(q->efd, &cnt, sizeof(cnt)); /* an eventfd read resets it */
	/*
	 * A controller signals a vector while its CQ holds entries the host has
	 * not acknowledged: report every consumed one, so that the next posted
	 * entry raises the interrupt (base spec 3.3.1.2, 7.5.1.1).
	 */
	if (qp->cq_rung != qp->cq_head) {
		/* With shadow doorbells, the slot and always the MMIO doorbell:
		 * the controller must not miss this one. */
		if (qp->cq_shadow)
			*qp->cq_shadow = qp->cq_head;
		zdk_mmio_write32(zdk_nvme_qpair_db(&qp->cq_db), qp->cq_head);
		qp->cq_rung = qp->cq_head;
	}
	/* The head doorbell before the look at the CQ: an entry posted in
	 * between is then either seen here or signalled. */
	zdk_mb();
	if ((*(volatile uint16_t *)&qp->cq[qp->cq_head].status & 1) == qp->phase)
		return -EAGAIN;
	/* Commands queued in batch mode must reach the controller before we sleep. */
	zdk_nvme_qpair_flush(qp);
	return 0;
}

void zdk_nvme_qpair_intr_disable(struct zdk_nvme_qpair *qp)
{
	/* No per-CQ mask for MSI-X in NVMe: polling again is all there is. */
	(void)qp;
}
