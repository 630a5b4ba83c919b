/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_handover.c - NVMe controllers across a live handover, without a
 * reset: the old process writes, per controller, the registers it relies
 * on (CAP, BAR size), Identify data, namespaces, counters, and each queue
 * pair's memory (VA and IOVA), size, SQ tail, CQ head, phase, last doorbell
 * values, free command ids (with their generations, in FIFO order) and the
 * commands in flight (command id, a copy of the SQE, the application's
 * tag). The new process rebuilds the same queue pairs over the same queue
 * memory, after checking that the controller is still enabled on the same
 * admin queue (CC, CSTS, AQA, ASQ, ACQ are read, never written), and polls
 * on from where the old one stopped: completions of commands the old
 * process submitted reach the new one's inherited() handler, once each.
 *
 * Section "nvme" (version 1.0): u32 controllers; per controller a record:
 * name[32], u64 CAP, u64 BAR0 length, u32 doorbell stride, max qid, I/O
 * queues granted, ready timeout ms, admin timeout ms, max transfer, SGL,
 * NN; u64 enables, resets, handovers; u64 scratch VA, IOVA; Identify
 * Controller (4096 bytes); u32 namespaces and a record each (u32 nsid, u32
 * LBA shift, u64 blocks, u32 max blocks, u32 active); the admin qpair
 * record; u32 I/O qpairs and a record each. A qpair record: u32 qid, u32
 * entries, u64 SQ VA, SQ IOVA, CQ VA, CQ IOVA; u32 SQ tail, SQ doorbell,
 * CQ head, CQ doorbell, phase, flags (1 batch, 2 prefer SGL), timeout ms,
 * list pages; u64 list pool VA, IOVA, completions seen; u32 free ids and
 * u16 each; u32 commands in flight and a record each (u32 cid, u32 flags
 * (1 aborted once), u64 tag, the 64-byte SQE).
 */
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "nvme"
#include "handover.h"
#include "zdk_log.h"
#include "zdk_pci.h"
#include "nvme_internal.h"

#define NVME_HO_SECTION "nvme"
#define NVME_HO_VERSION HANDOVER_VERSION(1, 0)
#define NAME_LEN 32
#define QP_BATCH 1u
#define QP_PREFER_SGL 2u
#define REQ_ABORTED 1u
#define CTRLR_REC_MIN (4 + NAME_LEN + 2 * 8 + 8 * 4 + 5 * 8 + 4096 + 4)
#define NS_REC_MIN (4 + 4 + 4 + 8 + 4 + 4)
#define QP_REC_MIN (4 + 2 * 4 + 4 * 8 + 8 * 4 + 3 * 8 + 4)
#define REQ_REC_MIN (4 + 2 * 4 + 8 + 64)
#define MAX_CTRLRS 64

/* Controllers exported (old side) or imported (new side) by this handover. */
static struct zdk_nvme_ctrlr *ho_ctrlrs[MAX_CTRLRS];
static unsigned ho_nctrlrs;

static void inherited_done(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct nvme_inherited *in = arg;
	struct nvme_qpair *q = in->q;

	q->ho.inherited(q->ho.ctx, in->tag, cpl);
}

static int ops_take(struct zdk_nvme_handover_ops *o, const struct zdk_nvme_handover_ops *in)
{
	if (!in || zdk_opts_copy(o, sizeof(*o), in, in->size)) {
		ZDK_ERR("zdk_nvme_handover_ops.size is %zu, this zdk knows %zu bytes: set it to "
			"sizeof(struct zdk_nvme_handover_ops)", in ? in->size : 0, sizeof(*o));
		return -EINVAL;
	}
	return 0;
}

int zdk_nvme_qpair_handover_set(struct zdk_nvme_qpair *qp, const struct zdk_nvme_handover_ops *ops)
{
	struct zdk_nvme_handover_ops o;
	int rc = ops_take(&o, ops);

	if (rc)
		return rc;
	nvme_qpair(qp)->ho.tag = o.tag;
	nvme_qpair(qp)->ho.ctx = o.ctx;
	return 0;
}

uint16_t zdk_nvme_qpair_id(const struct zdk_nvme_qpair *qp)
{
	return ((const struct nvme_qpair *)qp)->qid;
}

int zdk_nvme_ctrlr_counters_get(struct zdk_nvme_ctrlr *c, struct zdk_nvme_ctrlr_counters *cnt)
{
	struct zdk_nvme_ctrlr_counters k = { .size = sizeof(k) };

	if (!cnt || cnt->size < sizeof(cnt->size) || cnt->size > sizeof(k))
		return -EINVAL;
	k.enables = c->nr_enables;
	k.resets = c->nr_resets;
	k.handovers = c->nr_handovers;
	k.cc = nvme_reg_read32(c, ZDK_NVME_REG_CC);
	k.csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);
	k.asq = nvme_reg_read64(c, ZDK_NVME_REG_ASQ);
	k.acq = nvme_reg_read64(c, ZDK_NVME_REG_ACQ);
	k.admin_sq_iova = c->admin.sq_iova;
	k.admin_cq_iova = c->admin.cq_iova;
	k.size = cnt->size;
	memcpy(cnt, &k, cnt->size);
	return 0;
}

/* Old side: the tag of command @req of @q, or why none can be given. */
static int req_tag(struct nvme_qpair *q, const struct zdk_nvme_req *req, uint64_t *tag)
{
	if (req->cb == inherited_done) {
		*tag = ((const struct nvme_inherited *)req->cb_arg)->tag;
		return 0;
	}
	if (nvme_ns_cb_internal(req->cb) || nvme_ctrlr_cb_internal(req->cb) ||
	    (req->flags & NVME_REQ_FAIL)) {
		ZDK_ERR("%s: qpair %u: a split or synchronous I/O (cid %u) is in flight: poll "
			"until it completes, then hand over", q->qp.ctrlr->name, q->qid, req->cid);
		return -EBUSY;
	}
	if (!q->ho.tag) {
		ZDK_ERR("%s: qpair %u has %u commands in flight and no tag function: call "
			"zdk_nvme_qpair_handover_set() (or drain it) before the handover",
			q->qp.ctrlr->name, q->qid, zdk_nvme_qpair_outstanding(&q->qp));
		return -EINVAL;
	}
	*tag = q->ho.tag(q->ho.ctx, req->cb, req->cb_arg);
	return 0;
}

static void sqe_write(struct hwriter *w, const struct zdk_nvme_sqe *sqe)
{
	hw_bytes(w, sqe, sizeof(*sqe));
}

static int qpair_write(struct hwriter *w, struct nvme_qpair *q)
{
	struct zdk_nvme_qpair *qp = &q->qp;
	uint32_t nfree = zdk_nvme_qpair_nfree(qp), ninflight = qp->cid_mask + 1 - nfree;
	size_t rec = hw_record_begin(w);
	uint64_t tsc_hz = zdk_tsc_hz();

	hw_u32(w, q->qid);
	hw_u32(w, q->entries);
	hw_u64(w, (uintptr_t)qp->sq);
	hw_u64(w, q->sq_iova);
	hw_u64(w, (uintptr_t)qp->cq);
	hw_u64(w, q->cq_iova);
	hw_u32(w, qp->sq_tail);
	hw_u32(w, qp->sq_rung);
	hw_u32(w, qp->cq_head);
	hw_u32(w, qp->cq_rung);
	hw_u32(w, qp->phase);
	hw_u32(w, (qp->batch ? QP_BATCH : 0) | (q->prefer_sgl ? QP_PREFER_SGL : 0));
	hw_u32(w, q->timeout_tsc ? (uint32_t)ZDK_MAX(q->timeout_tsc * 1000 / tsc_hz, 1) : 0);
	hw_u32(w, q->list_pages);
	hw_u64(w, (uintptr_t)q->list_pool);
	hw_u64(w, q->list_pool_iova);
	hw_u64(w, qp->ncpl);
	hw_u32(w, nfree);
	for (uint32_t i = 0; i < nfree; i++)
		hw_u16(w, qp->free_cids[(uint16_t)(qp->free_head + i) & qp->cid_mask]);
	hw_u32(w, ninflight);
	for (uint32_t idx = 0; idx <= qp->cid_mask; idx++) {
		const struct zdk_nvme_req *req = &qp->reqs[idx];
		uint64_t tag = 0;
		size_t r;
		int rc;

		if (!req->cb)
			continue;
		rc = req_tag(q, req, &tag);
		if (rc)
			return rc;
		r = hw_record_begin(w);
		hw_u32(w, req->cid);
		hw_u32(w, (req->epoch & NVME_REQ_ABORTED) ? REQ_ABORTED : 0);
		hw_u64(w, tag);
		sqe_write(w, &req->sqe);
		hw_record_end(w, r);
	}
	hw_record_end(w, rec);
	return 0;
}

/* What would make the blob lie about @c: refuse now, the caller retries. */
static int ctrlr_check_idle(struct zdk_nvme_ctrlr *c)
{
	if (nvme_ctrlr_failed(c) || c->in_reset) {
		ZDK_ERR("%s is failed or in a reset: it cannot be handed over live", c->name);
		return -EBUSY;
	}
	if (c->zombies) {
		ZDK_ERR("%s: a queue that could not be deleted is parked: reset the controller "
			"before handing it over", c->name);
		return -EBUSY;
	}
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next)
		if (q->gen != atomic_load(&c->gen)) {
			ZDK_ERR("%s: qpair %u has not reconnected since a reset: poll it first",
				c->name, q->qid);
			return -EBUSY;
		}
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next)
		if (q->intr) {
			ZDK_ERR("%s: qpair %u uses interrupts (ZDK_NVME_QPAIR_F_INTR), whose "
				"vectors stay with this process: hand over polled qpairs only",
				c->name, q->qid);
			return -EBUSY;
		}
	if (zdk_nvme_qpair_outstanding(&c->admin.qp)) {
		ZDK_ERR("%s: an admin command is in flight: hand over between admin commands",
			c->name);
		return -EBUSY;
	}
	return 0;
}

static void ctrlr_head_write(struct hwriter *w, const struct zdk_nvme_ctrlr *c)
{
	char name[NAME_LEN] = { 0 };

	memcpy(name, c->name, strnlen(c->name, NAME_LEN - 1));
	hw_bytes(w, name, NAME_LEN);
	hw_u64(w, c->cap);
	hw_u64(w, c->regs_len);
	hw_u32(w, c->db_stride);
	hw_u32(w, c->max_qid);
	hw_u32(w, c->nr_io_queues);
	hw_u32(w, c->ready_timeout_ms);
	hw_u32(w, c->admin_timeout_ms);
	hw_u32(w, c->max_xfer);
	hw_u32(w, c->sgl);
	hw_u32(w, c->nn);
	hw_u64(w, c->nr_enables);
	hw_u64(w, c->nr_resets);
	hw_u64(w, c->nr_handovers);
	hw_u64(w, (uintptr_t)c->scratch);
	hw_u64(w, c->scratch_iova);
	hw_bytes(w, &c->id, sizeof(c->id));
	hw_u32(w, c->nr_ns);
	for (uint32_t i = 0; i < c->nr_ns; i++) {
		const struct zdk_nvme_ns *ns = &c->ns[i];
		size_t r = hw_record_begin(w);

		hw_u32(w, ns->nsid);
		hw_u32(w, ns->lba_shift);
		hw_u64(w, ns->nblocks);
		hw_u32(w, ns->max_blocks);
		hw_u32(w, ns->active);
		hw_record_end(w, r);
	}
}

static int ctrlr_write(struct hwriter *w, struct zdk_nvme_ctrlr *c)
{
	size_t rec = hw_record_begin(w);
	uint32_t n = 0;
	int rc;

	ctrlr_head_write(w, c);
	rc = qpair_write(w, &c->admin);
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next)
		n++;
	hw_u32(w, n);
	for (struct nvme_qpair *q = c->qpairs; q && !rc; q = q->next) {
		/* What batch mode has not rung yet, the controller gets now. */
		zdk_nvme_qpair_flush(&q->qp);
		rc = qpair_write(w, q);
	}
	hw_record_end(w, rec);
	return rc;
}

/*
 * nvme_ho_export() - every controller that is up, into @w. In reset mode
 * only checks that nothing is in flight (the application drains first).
 */
int nvme_ho_export(struct hwriter *w, bool live)
{
	struct zdk_nvme_ctrlr *c;
	uint32_t n = 0;
	int rc = 0;

	ho_nctrlrs = 0;
	for (c = zdk_nvme_ctrlr_next(NULL); c; c = zdk_nvme_ctrlr_next(c))
		n++;
	if (n > MAX_CTRLRS)
		return -ENOSPC;
	hw_u32(w, n);
	for (c = zdk_nvme_ctrlr_next(NULL); c && !rc; c = zdk_nvme_ctrlr_next(c)) {
		pthread_mutex_lock(&c->lock);
		rc = ctrlr_check_idle(c);
		if (!rc && c->dbbuf_on) {
			/* The buffers, and the controller's use of them, would have to
			 * cross too: not carried. */
			ZDK_ERR("%s: shadow doorbells are on: a handover cannot carry them; turn "
				"them off first (zdk_nvme_ctrlr_shadow_doorbell(ctrlr, false))", c->name);
			rc = -ENOTSUP;
		}
		for (struct nvme_qpair *q = c->qpairs; !rc && !live && q; q = q->next)
			if (zdk_nvme_qpair_outstanding(&q->qp)) {
				ZDK_ERR("%s: qpair %u has commands in flight: a reset handover needs "
					"them drained first", c->name, q->qid);
				rc = -EBUSY;
			}
		if (!rc && live)
			rc = ctrlr_write(w, c);
		pthread_mutex_unlock(&c->lock);
		ho_ctrlrs[ho_nctrlrs++] = c;
	}
	return rc ? rc : w->err;
}

/*
 * Never to touch the device again: doorbells to the sink, off the lists;
 * qpairs nobody claimed go now, the others when their owners free them.
 */
static void ctrlr_make_inert(struct zdk_nvme_ctrlr *c)
{
	struct nvme_qpair *q, *next;

	c->refs++; /* keep it while its qpairs go */
	for (q = c->qpairs; q; q = next) {
		next = q->next;
		nvme_qpair_doorbells(q, false);
		if (q->unclaimed)
			nvme_qpair_inert_drop(q);
	}
	nvme_qpair_doorbells(&c->admin, false);
	c->handed_over = true;
	nvme_pci_unbind(c);
	nvme_ctrlr_inert_put(c);
	nvme_ctrlr_inert_put(c); /* the probe's reference */
}

/* Old side, live: the new process has them. */
void nvme_ho_release(void)
{
	for (unsigned i = 0; i < ho_nctrlrs; i++)
		ctrlr_make_inert(ho_ctrlrs[i]);
	ho_nctrlrs = 0;
}

static int bad(const char *name, const char *what)
{
	ZDK_ERR("handover blob refused: nvme section%s%s: %s", name ? ", controller " : "",
		name ? name : "", what);
	return -EBADMSG;
}

#define USER_VA_END (1ULL << 47)

static bool dma_ok(uint64_t va, uint64_t iova)
{
	return va && iova && va < USER_VA_END && !(va % ZDK_NVME_PAGE_SIZE) &&
	       !(iova % ZDK_NVME_PAGE_SIZE);
}

/* The free command ids, in FIFO order, each index once; @seen marks indexes. */
static int free_ids_parse(struct hreader *r, struct nvme_qpair *q, uint32_t nfree, uint8_t *seen)
{
	struct zdk_nvme_qpair *qp = &q->qp;

	if (nfree > (uint32_t)qp->cid_mask + 1 || !hr_count_ok(r, nfree, 2))
		return -EBADMSG;
	for (uint32_t i = 0; i < nfree; i++) {
		uint16_t cid = hr_u16(r), idx = cid & qp->cid_mask;

		if (seen[idx]++)
			return -EBADMSG;
		qp->free_cids[i] = cid;
		/* The free ring holds the next generation; reqs keep the last given out. */
		qp->reqs[idx].cid = (uint16_t)(cid - qp->cid_mask - 1);
	}
	qp->free_head = 0;
	qp->free_tail = (uint16_t)nfree;
	return 0;
}

static int inflight_parse(struct hreader *r, struct nvme_qpair *q, uint32_t n, uint8_t *seen)
{
	struct zdk_nvme_qpair *qp = &q->qp;

	if (!hr_count_ok(r, n, REQ_REC_MIN))
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		struct hreader rec;
		uint32_t cid, flags;
		uint16_t idx;
		struct zdk_nvme_req *req;

		if (!hr_record(r, REQ_REC_MIN, &rec))
			return -EBADMSG;
		cid = hr_u32(&rec);
		flags = hr_u32(&rec);
		idx = (uint16_t)(cid & qp->cid_mask);
		req = &qp->reqs[idx];
		q->inherited[idx] = (struct nvme_inherited){ .q = q, .tag = hr_u64(&rec) };
		hr_bytes(&rec, &req->sqe, sizeof(req->sqe));
		if (rec.bad || cid > UINT16_MAX || (flags & ~REQ_ABORTED) || seen[idx]++ ||
		    req->sqe.cid != cid)
			return -EBADMSG;
		req->cb = inherited_done;
		req->cb_arg = &q->inherited[idx];
		req->cid = (uint16_t)cid;
		req->epoch = (flags & REQ_ABORTED) ? NVME_REQ_ABORTED : 0;
	}
	return 0;
}

static int qpair_alloc_host(struct nvme_qpair *q, uint32_t entries)
{
	q->entries = entries;
	q->qp.mask = (uint16_t)(entries - 1);
	q->qp.cid_mask = (uint16_t)(entries / 2 - 1);
	q->qp.reqs = aligned_alloc(ZDK_CACHE_LINE, entries * sizeof(*q->qp.reqs));
	q->qp.free_cids = calloc(entries, sizeof(*q->qp.free_cids));
	q->inherited = calloc(entries / 2, sizeof(*q->inherited));
	if (!q->qp.reqs || !q->qp.free_cids || !q->inherited)
		return -ENOMEM;
	memset(q->qp.reqs, 0, entries * sizeof(*q->qp.reqs));
	return 0;
}

/* The queue pair's positions, memory and command ids; @maxent: CAP.MQES + 1. */
static int qpair_parse(struct hreader *r, struct zdk_nvme_ctrlr *c, struct nvme_qpair *q,
		       uint32_t maxent)
{
	struct zdk_nvme_qpair *qp = &q->qp;
	uint32_t entries, v[8], nfree;
	uint64_t va[6];
	struct hreader rec;
	uint8_t *seen;
	int rc;

	if (!hr_record(r, QP_REC_MIN, &rec))
		return bad(c->name, "qpair record");
	q->qid = (uint16_t)hr_u32(&rec);
	entries = hr_u32(&rec);
	for (unsigned i = 0; i < 4; i++)
		va[i] = hr_u64(&rec);
	for (unsigned i = 0; i < 8; i++)
		v[i] = hr_u32(&rec);
	va[4] = hr_u64(&rec);
	va[5] = hr_u64(&rec);
	hr_u64(&rec); /* completions the old process saw */
	if (rec.bad || !ZDK_IS_POW2(entries) || entries < 2 || entries > maxent || entries > 65536)
		return bad(c->name, "qpair size");
	if (v[0] >= entries || v[1] >= entries || v[2] >= entries || v[3] >= entries || v[4] > 1)
		return bad(c->name, "qpair head, tail or phase out of range");
	if ((v[5] & ~(QP_BATCH | QP_PREFER_SGL)) || v[7] != nvme_list_pages(q->qid ? c->max_xfer
										    : NVME_MAX_XFER))
		return bad(c->name, "qpair flags or list pages");
	if (!dma_ok(va[0], va[1]) || !dma_ok(va[2], va[3]) ||
	    ((va[4] || va[5]) && !dma_ok(va[4], va[5])))
		return bad(c->name, "qpair memory");
	rc = qpair_alloc_host(q, entries);
	if (rc)
		return rc;
	qp->ctrlr = c;
	qp->sq = (struct zdk_nvme_sqe *)(uintptr_t)va[0];
	q->sq_iova = va[1];
	qp->cq = (struct zdk_nvme_cpl *)(uintptr_t)va[2];
	q->cq_iova = va[3];
	qp->sq_tail = (uint16_t)v[0];
	qp->sq_rung = (uint16_t)v[1];
	qp->cq_head = (uint16_t)v[2];
	qp->cq_rung = (uint16_t)v[3];
	qp->phase = (uint16_t)v[4];
	qp->batch = v[5] & QP_BATCH;
	q->prefer_sgl = v[5] & QP_PREFER_SGL;
	q->timeout_tsc = v[6] ? nvme_ms_to_tsc(v[6]) : 0;
	q->list_pages = v[7];
	q->list_pool = (void *)(uintptr_t)va[4];
	q->list_pool_iova = va[5];
	qp->tick = NVME_TICK_POLLS;
	q->epoch_start = NVME_TSC();
	seen = calloc((size_t)qp->cid_mask + 1, 1);
	if (!seen)
		return -ENOMEM;
	nfree = hr_u32(&rec);
	rc = free_ids_parse(&rec, q, nfree, seen);
	if (!rc) {
		uint32_t n = hr_u32(&rec);

		rc = n + nfree != (uint32_t)qp->cid_mask + 1 ? -EBADMSG
							      : inflight_parse(&rec, q, n, seen);
	}
	free(seen);
	return rc || rec.bad ? bad(c->name, "qpair command ids") : 0;
}

static int ns_parse(struct hreader *r, struct zdk_nvme_ctrlr *c)
{
	uint32_t n = hr_u32(r), prev = 0;

	if (n > NVME_MAX_NS || !hr_count_ok(r, n, NS_REC_MIN))
		return bad(c->name, "namespace count");
	c->ns = n ? calloc(n, sizeof(*c->ns)) : NULL;
	if (n && !c->ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct zdk_nvme_ns *ns = &c->ns[i];
		struct hreader rec;
		uint32_t active;

		if (!hr_record(r, NS_REC_MIN, &rec))
			return bad(c->name, "namespace record");
		ns->ctrlr = c;
		ns->nsid = hr_u32(&rec);
		ns->lba_shift = hr_u32(&rec);
		ns->nblocks = hr_u64(&rec);
		ns->max_blocks = hr_u32(&rec);
		active = hr_u32(&rec);
		if (rec.bad || ns->nsid <= prev || ns->nsid > c->nn || active > 1)
			return bad(c->name, "namespace id");
		prev = ns->nsid;
		c->nr_ns++;
		if (!active)
			continue;
		if (ns->lba_shift < 9 || ns->lba_shift > 16 || (1u << ns->lba_shift) > c->max_xfer ||
		    !ns->nblocks || ns->max_blocks != ZDK_MIN(c->max_xfer >> ns->lba_shift, 65536u))
			return bad(c->name, "namespace format");
		ns->lba_size = 1u << ns->lba_shift;
		ns->active = true;
	}
	return 0;
}

/* CAP and BAR0 as bring-up derived the rest from them. */
static int ctrlr_regs_check(const struct zdk_nvme_ctrlr *c, uint64_t regs_len)
{
	uint32_t stride = 4u << ZDK_NVME_CAP_DSTRD(c->cap);

	if (ZDK_NVME_CAP_MQES(c->cap) == 0 || ZDK_NVME_CAP_MPSMIN(c->cap) != 0 ||
	    !(ZDK_NVME_CAP_CSS(c->cap) & 1) || c->db_stride != stride)
		return -EBADMSG;
	if (regs_len < ZDK_NVME_REG_DBS + 4ull * stride || regs_len > (1ull << 30))
		return -EBADMSG;
	if (c->max_qid != ZDK_MIN((regs_len - ZDK_NVME_REG_DBS) / (2u * stride) - 1,
				  (uint64_t)NVME_MAX_IO_QUEUES) || c->nr_io_queues > c->max_qid)
		return -EBADMSG;
	if (c->ready_timeout_ms != ZDK_MAX(ZDK_NVME_CAP_TO(c->cap), 1u) * 500 ||
	    !c->admin_timeout_ms || c->admin_timeout_ms > 600000)
		return -EBADMSG;
	if (!ZDK_IS_POW2(c->max_xfer) || c->max_xfer < 2 * ZDK_NVME_PAGE_SIZE ||
	    c->max_xfer > NVME_MAX_XFER)
		return -EBADMSG;
	return 0;
}

static int ctrlr_head_parse(struct hreader *r, struct zdk_nvme_ctrlr *c)
{
	uint64_t regs_len, scratch_va;
	uint32_t sgl;

	hr_bytes(r, c->name, NAME_LEN);
	if (!memchr(c->name, '\0', NAME_LEN))
		return bad(NULL, "controller name");
	c->cap = hr_u64(r);
	regs_len = hr_u64(r);
	c->db_stride = hr_u32(r);
	c->max_qid = (uint16_t)hr_u32(r);
	c->nr_io_queues = (uint16_t)hr_u32(r);
	c->ready_timeout_ms = hr_u32(r);
	c->admin_timeout_ms = hr_u32(r);
	c->max_xfer = hr_u32(r);
	sgl = hr_u32(r);
	c->nn = hr_u32(r);
	c->nr_enables = hr_u64(r);
	c->nr_resets = hr_u64(r);
	c->nr_handovers = hr_u64(r);
	scratch_va = hr_u64(r);
	c->scratch_iova = hr_u64(r);
	hr_bytes(r, &c->id, sizeof(c->id));
	c->regs_len = (size_t)regs_len;
	c->sgl = sgl;
	c->scratch = (void *)(uintptr_t)scratch_va;
	if (r->bad || sgl > 1 || ctrlr_regs_check(c, regs_len))
		return bad(c->name, "capabilities");
	if (!dma_ok(scratch_va, c->scratch_iova))
		return bad(c->name, "scratch buffer");
	return ns_parse(r, c);
}

static void ctrlr_parsed_free(struct zdk_nvme_ctrlr *c)
{
	struct nvme_qpair *q, *next;

	for (q = c->qpairs; q; q = next) {
		next = q->next;
		free(q->inherited);
		free(q->qp.free_cids);
		free(q->qp.reqs);
		free(q);
	}
	c->qpairs = NULL;
	c->refs = 0;
	nvme_ctrlr_inert_put(c);
}

static int io_qpairs_parse(struct hreader *r, struct zdk_nvme_ctrlr *c)
{
	struct nvme_qpair **tail = &c->qpairs;
	uint32_t n = hr_u32(r), maxent = ZDK_NVME_CAP_MQES(c->cap) + 1u;

	if (n > c->nr_io_queues || !hr_count_ok(r, n, QP_REC_MIN))
		return bad(c->name, "qpair count");
	for (uint32_t i = 0; i < n; i++) {
		struct nvme_qpair *q = calloc(1, sizeof(*q));
		int rc;

		if (!q)
			return -ENOMEM;
		*tail = q;
		tail = &q->next;
		rc = qpair_parse(r, c, q, maxent);
		if (rc)
			return rc;
		if (q->qid == 0 || q->qid > c->nr_io_queues || c->qid_used[q->qid]++)
			return bad(c->name, "qpair id");
		q->unclaimed = true;
		q->live = true; /* the controller has its queues: delete them before freeing */
	}
	return 0;
}

/*
 * nvme_ho_parse() - one controller from its record, into host memory only:
 * nothing of the device or the arena is read. Every field is checked
 * against what bring-up could have produced from CAP and BAR0.
 */
int nvme_ho_parse(struct hreader *r, struct zdk_nvme_ctrlr **out)
{
	struct zdk_nvme_ctrlr *c = calloc(1, sizeof(*c));
	struct hreader rec;
	int rc;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	rc = hr_record(r, CTRLR_REC_MIN, &rec) ? ctrlr_head_parse(&rec, c) : bad(NULL, "record");
	if (!rc)
		rc = qpair_parse(&rec, c, &c->admin, NVME_ADMIN_ENTRIES);
	if (!rc && (c->admin.qid != 0 || c->admin.entries != NVME_ADMIN_ENTRIES ||
		    zdk_nvme_qpair_outstanding(&c->admin.qp) || c->admin.list_pool))
		rc = bad(c->name, "admin queue");
	if (!rc)
		rc = io_qpairs_parse(&rec, c);
	if (!rc && rec.bad)
		rc = bad(c->name, "truncated");
	if (rc) {
		ctrlr_parsed_free(c);
		return rc;
	}
	c->admin.qp.ctrlr = c;
	c->admin.qp.tick = UINT32_MAX;
	c->admin.qp.batch = true; /* rung by admin_ring() (nvme_ctrlr.c) */
	*out = c;
	return 0;
}

/* [@va, +@len) is arena memory at [@iova, +@len), one contiguous run. */
static bool arena_at(const void *va, uint64_t iova, size_t len)
{
	size_t run;

	return zdk_virt2iova_run(va, len, &run) == iova && run == len;
}

static int ctrlr_memory_check(const struct zdk_nvme_ctrlr *c)
{
	if (!arena_at(c->scratch, c->scratch_iova, ZDK_NVME_PAGE_SIZE))
		return -EFAULT;
	for (const struct nvme_qpair *q = &c->admin; q; q = q == &c->admin ? c->qpairs : q->next) {
		size_t pool = (size_t)q->list_pages * ZDK_NVME_PAGE_SIZE * q->entries;

		if (!arena_at(q->qp.sq, q->sq_iova, q->entries * sizeof(*q->qp.sq)) ||
		    !arena_at(q->qp.cq, q->cq_iova, q->entries * sizeof(*q->qp.cq)) ||
		    (q->list_pool && !arena_at(q->list_pool, q->list_pool_iova, pool)))
			return -EFAULT;
	}
	return 0;
}

/*
 * The controller must be as the old process left it: enabled with zdk's
 * configuration, ready, not shut down, on the same admin queue. Only reads.
 */
static int ctrlr_state_check(struct zdk_nvme_ctrlr *c)
{
	uint32_t want_cc = ZDK_NVME_CC_CSS_NVM | ZDK_NVME_CC_MPS(ZDK_NVME_PAGE_SHIFT) |
			   ZDK_NVME_CC_IOSQES(6) | ZDK_NVME_CC_IOCQES(4) | ZDK_NVME_CC_EN;
	uint32_t aq = NVME_ADMIN_ENTRIES - 1;
	uint32_t cc = nvme_reg_read32(c, ZDK_NVME_REG_CC);
	uint32_t csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);
	const char *what = NULL;

	if (nvme_reg_read64(c, ZDK_NVME_REG_CAP) != c->cap)
		what = "CAP differs: another controller?";
	else if ((cc & 0x00fffff1u) != want_cc)
		what = "CC is not zdk's enabled configuration";
	else if (csts == UINT32_MAX || (csts & (ZDK_NVME_CSTS_RDY | ZDK_NVME_CSTS_CFS |
						ZDK_NVME_CSTS_SHST_MASK)) != ZDK_NVME_CSTS_RDY)
		what = "CSTS is not ready (or fatal, or shut down)";
	else if (nvme_reg_read32(c, ZDK_NVME_REG_AQA) != (aq << 16 | aq) ||
		 nvme_reg_read64(c, ZDK_NVME_REG_ASQ) != c->admin.sq_iova ||
		 nvme_reg_read64(c, ZDK_NVME_REG_ACQ) != c->admin.cq_iova)
		what = "the admin queue is not the one handed over";
	if (!what)
		return 0;
	ZDK_ERR("%s: %s (CC 0x%x, CSTS 0x%x): it cannot be taken over live; restart instead",
		c->name, what, cc, csts);
	return -EIO;
}

/* Bind a parsed controller to its adopted device, after checking both. */
static int ctrlr_take(struct zdk_nvme_ctrlr *c)
{
	struct zdk_pci_device *dev = zdk_pci_device_find(c->name);
	size_t len = 0;
	void *bar;
	int rc;

	if (!dev || dev->driver || dev->class_code != 0x010802) {
		ZDK_ERR("%s: handed over as an NVMe controller, but not among the devices taken "
			"over (or not NVMe)", c->name);
		return -ENODEV;
	}
	rc = zdk_pci_bar_map(dev, 0, &bar, &len);
	if (rc)
		return rc;
	if (len != c->regs_len) {
		ZDK_ERR("%s: BAR0 is %zu bytes, the old process had %zu", c->name, len, c->regs_len);
		return -ENODEV;
	}
	c->regs = bar;
	rc = ctrlr_state_check(c);
	if (rc)
		return rc;
	if (ctrlr_memory_check(c)) {
		ZDK_ERR("%s: a queue of the handed-over state is not in the arena at its IOVA",
			c->name);
		return -EFAULT;
	}
	nvme_qpair_doorbells(&c->admin, true);
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next) {
		nvme_qpair_doorbells(q, true);
		c->qid_used[q->qid] = 1;
	}
	c->nr_handovers++;
	nvme_pci_bind(dev, c);
	ZDK_INFO("%s: taken over live (enabled %llu times, reset %llu, taken over %llu)",
		 c->name, (unsigned long long)c->nr_enables, (unsigned long long)c->nr_resets,
		 (unsigned long long)c->nr_handovers);
	return 0;
}

/* New side, after the arena and the devices: every controller of the section. */
int nvme_ho_import(const void *p, size_t len)
{
	struct hreader r;
	uint32_t n;
	int rc = 0;

	hr_init(&r, p, len);
	n = hr_u32(&r);
	ho_nctrlrs = 0;
	if (r.bad || n > MAX_CTRLRS || !hr_count_ok(&r, n, CTRLR_REC_MIN))
		return bad(NULL, "controller count");
	for (uint32_t i = 0; i < n && !rc; i++) {
		struct zdk_nvme_ctrlr *c;

		rc = nvme_ho_parse(&r, &c);
		if (rc)
			break;
		rc = ctrlr_take(c);
		if (rc) {
			ctrlr_parsed_free(c);
			break;
		}
		ho_ctrlrs[ho_nctrlrs++] = c;
	}
	if (rc) {
		for (unsigned i = 0; i < ho_nctrlrs; i++)
			ctrlr_make_inert(ho_ctrlrs[i]);
		ho_nctrlrs = 0;
	}
	return rc;
}

int zdk_nvme_qpair_inherit(struct zdk_nvme_ctrlr *c, uint16_t qid,
			   const struct zdk_nvme_handover_ops *ops, struct zdk_nvme_qpair **qp)
{
	struct zdk_nvme_handover_ops o;
	struct nvme_qpair *q;
	int rc = ops_take(&o, ops);

	if (rc)
		return rc;
	for (q = c->qpairs; q && !(q->qid == qid && q->unclaimed); q = q->next)
		;
	if (!q) {
		ZDK_ERR("%s: no inherited qpair %u to claim", c->name, qid);
		return -ENOENT;
	}
	if (zdk_nvme_qpair_outstanding(&q->qp) && !o.inherited) {
		ZDK_ERR("%s: qpair %u has commands in flight: give an inherited() handler",
			c->name, qid);
		return -EINVAL;
	}
	q->ho = o;
	q->unclaimed = false;
	*qp = &q->qp;
	return 0;
}

/* Before READY: an unclaimed qpair's inherited commands would never complete. */
static int nvme_ho_ready(void)
{
	for (unsigned i = 0; i < ho_nctrlrs; i++)
		for (struct nvme_qpair *q = ho_ctrlrs[i]->qpairs; q; q = q->next)
			if (q->unclaimed && zdk_nvme_qpair_outstanding(&q->qp)) {
				ZDK_ERR("%s: inherited qpair %u has %u commands in flight and was not "
					"claimed (zdk_nvme_qpair_inherit()): not taking over",
					ho_ctrlrs[i]->name, q->qid, zdk_nvme_qpair_outstanding(&q->qp));
				return -EBUSY;
			}
	return 0;
}

/* GO: the controllers are this process's; idle qpairs nobody claimed go. */
static void nvme_ho_commit(void)
{
	for (unsigned i = 0; i < ho_nctrlrs; i++) {
		struct nvme_qpair *q = ho_ctrlrs[i]->qpairs, *next;

		for (; q; q = next) {
			next = q->next;
			if (q->unclaimed) {
				ZDK_INFO("%s: inherited qpair %u was not claimed: freed",
					 ho_ctrlrs[i]->name, q->qid);
				zdk_nvme_qpair_free(&q->qp);
			}
		}
	}
	ho_nctrlrs = 0;
}

/* GO did not come: the controllers stay the old process's; ours become inert. */
static void nvme_ho_abort(void)
{
	nvme_ho_release();
}

static int nvme_ho_export_hook(struct zdk_handover *h, enum zdk_handover_mode mode)
{
	struct hwriter w = { 0 };
	int rc = nvme_ho_export(&w, mode == ZDK_HANDOVER_LIVE);

	if (!rc && mode == ZDK_HANDOVER_LIVE && ho_nctrlrs)
		rc = handover_section_add(h, NVME_HO_SECTION, NVME_HO_VERSION,
					  HANDOVER_SECT_REQUIRED, w.buf, w.len);
	hw_free(&w);
	return rc;
}

static void nvme_ho_resume(void)
{
	ho_nctrlrs = 0;
}

static int nvme_ho_import_hook(struct zdk_handover *h)
{
	const struct handover_section *s = handover_section_get(h, NVME_HO_SECTION);

	if (!s)
		return 0;
	if (s->version >> 16 != NVME_HO_VERSION >> 16) {
		ZDK_ERR("handover: nvme section version %u.x, this zdk reads %u.x", s->version >> 16,
			NVME_HO_VERSION >> 16);
		return -EPROTO;
	}
	return nvme_ho_import(s->data, s->len);
}

static struct handover_provider nvme_ho_provider = {
	.name = "nvme",
	.order = 50,
	.export = nvme_ho_export_hook,
	.release = nvme_ho_release,
	.resume = nvme_ho_resume,
	.import = nvme_ho_import_hook,
	.ready = nvme_ho_ready,
	.commit = nvme_ho_commit,
	.abort = nvme_ho_abort,
};
HANDOVER_PROVIDER_REGISTER(nvme_ho_provider)
