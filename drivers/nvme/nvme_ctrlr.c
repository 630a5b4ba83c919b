/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_ctrlr.c - controller bring-up, reset and shutdown (base spec 3.5.1
 * and 3.6), the admin queue, Identify and namespaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "nvme"
#include "sys.h"
#include "zdk_log.h"
#include "nvme_internal.h"

/*
 * Wait until (CSTS & @mask) == @want, up to @ms (@why names the limit).
 * All ones is a device gone from the bus: -ENODEV at once, no wait.
 */
static int wait_csts(struct zdk_nvme_ctrlr *c, uint32_t mask, uint32_t want, uint32_t ms,
		     const char *why)
{
	uint64_t start = NVME_TSC(), deadline = start + nvme_ms_to_tsc(ms);

	for (;;) {
		uint32_t csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);

		if (csts == UINT32_MAX) {
			ZDK_ERR("%s: CSTS reads all ones: the device is gone", c->name);
			return -ENODEV;
		}
		if ((csts & mask) == want)
			return 0;
		if (NVME_TSC() > deadline) {
			ZDK_ERR("%s: CSTS 0x%x did not reach 0x%x/0x%x within %u ms (%s)",
				c->name, csts, want, mask, ms, why);
			return -ETIMEDOUT;
		}
		/* Poll finely at first, then every millisecond (a shutdown may take a minute). */
		NVME_IDLE(c, NVME_TSC() - start < nvme_ms_to_tsc(10) ? 100 : 1000);
	}
}

/* CC.EN 1 -> 0 and wait for CSTS.RDY 0 (base spec 3.6.1). */
static int ctrlr_disable(struct zdk_nvme_ctrlr *c)
{
	uint32_t cc = nvme_reg_read32(c, ZDK_NVME_REG_CC);
	uint32_t csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);

	/* Changing EN while RDY still lags it is undefined: let it settle. */
	if ((cc & ZDK_NVME_CC_EN) && !(csts & ZDK_NVME_CSTS_RDY) && !(csts & ZDK_NVME_CSTS_CFS))
		wait_csts(c, ZDK_NVME_CSTS_RDY, ZDK_NVME_CSTS_RDY, c->ready_timeout_ms, "CAP.TO");
	nvme_reg_write32(c, ZDK_NVME_REG_CC, cc & ~ZDK_NVME_CC_EN);
	return wait_csts(c, ZDK_NVME_CSTS_RDY, 0, c->ready_timeout_ms, "CAP.TO");
}

/*
 * Disable, and say whether the controller is known to DMA no more: RDY
 * went to 0, or it reads all ones (removed from the bus).
 */
static int ctrlr_quiesce(struct zdk_nvme_ctrlr *c)
{
	int rc = ctrlr_disable(c);

	return rc == -ENODEV ? 0 : rc;
}

/* Admin queue registers, then CC with EN, then wait for RDY (base spec 3.5.1). */
static int ctrlr_enable(struct zdk_nvme_ctrlr *c)
{
	uint32_t aq = NVME_ADMIN_ENTRIES - 1;

	nvme_qpair_ring_reset(&c->admin);
	c->nr_enables++;
	nvme_reg_write32(c, ZDK_NVME_REG_AQA, aq << 16 | aq);
	nvme_reg_write64(c, ZDK_NVME_REG_ASQ, c->admin.sq_iova);
	nvme_reg_write64(c, ZDK_NVME_REG_ACQ, c->admin.cq_iova);
	nvme_reg_write32(c, ZDK_NVME_REG_CC,
			 ZDK_NVME_CC_CSS_NVM | ZDK_NVME_CC_MPS(ZDK_NVME_PAGE_SHIFT) |
				 ZDK_NVME_CC_IOSQES(6) | ZDK_NVME_CC_IOCQES(4) | ZDK_NVME_CC_EN);
	return wait_csts(c, ZDK_NVME_CSTS_RDY | ZDK_NVME_CSTS_CFS, ZDK_NVME_CSTS_RDY,
			 c->ready_timeout_ms, "CAP.TO");
}

struct sync_cpl {
	struct zdk_nvme_cpl cpl;
	bool done;
};

static void sync_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct sync_cpl *s = arg;

	s->cpl = *cpl;
	s->done = true;
}

/*
 * The admin SQ doorbell (the admin qpair is in batch mode). With shadow
 * doorbells its slot is kept current too, but the MMIO doorbell is always
 * written: the admin queue keeps MMIO doorbells (as Linux does; QEMU
 * copies those writes into the slot, and reads the slot once configured).
 */
static void admin_ring(struct zdk_nvme_ctrlr *c)
{
	struct zdk_nvme_qpair *qp = &c->admin.qp;

	/* The SQE stores before the tail, in the slot and the doorbell. */
	zdk_io_wmb();
	if (c->dbbuf_on)
		c->dbbuf[0] = qp->sq_tail;
	zdk_mmio_write32(zdk_nvme_qpair_db(&qp->sq_db), qp->sq_tail);
	qp->sq_rung = qp->sq_tail;
}

int nvme_admin_locked(struct zdk_nvme_ctrlr *c, const struct zdk_nvme_sqe *cmd, void *buf,
		      size_t len, struct zdk_nvme_cpl *cpl)
{
	struct sync_cpl s = { .done = false };
	uint64_t deadline;
	int rc;

	if (c->failed)
		return -EIO;
	rc = zdk_nvme_qpair_submit(&c->admin.qp, cmd, buf, len, sync_cb, &s);
	if (rc)
		return rc;
	admin_ring(c);
	deadline = NVME_TSC() + nvme_ms_to_tsc(c->admin_timeout_ms);
	while (!s.done) {
		if (zdk_nvme_qpair_poll(&c->admin.qp, 0))
			continue;
		if (NVME_TSC() > deadline) {
			ZDK_ERR("%s: admin opcode 0x%02x timed out after %u ms%s", c->name,
				cmd->opc, c->admin_timeout_ms, c->in_reset ? "" : ": resetting controller");
			/* A reset's own commands cannot recover by resetting again. */
			if (!c->in_reset)
				nvme_ctrlr_reset_locked(c);
			else
				nvme_ctrlr_set_failed(c, true);
			return -ETIMEDOUT;
		}
		NVME_IDLE(c, 0);
	}
	nvme_qpair_note_dropped(&c->admin);
	/* The head the poll wrote to the MMIO doorbell, in the slot too. */
	if (c->dbbuf_on)
		c->dbbuf[nvme_dbbuf_slot(c, 1)] = c->admin.qp.cq_rung;
	if (cpl)
		*cpl = s.cpl;
	if (ZDK_NVME_CPL_IS_ERROR(&s.cpl)) {
		ZDK_DEBUG("%s: admin opcode 0x%02x failed: SCT 0x%x SC 0x%02x", c->name, cmd->opc,
			  ZDK_NVME_STATUS_SCT(s.cpl.status), ZDK_NVME_STATUS_SC(s.cpl.status));
		return -EIO;
	}
	return 0;
}

int zdk_nvme_ctrlr_admin(struct zdk_nvme_ctrlr *c, const struct zdk_nvme_sqe *cmd, void *buf,
			 size_t len, struct zdk_nvme_cpl *cpl)
{
	int rc;

	if (!c || !cmd)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	rc = nvme_admin_locked(c, cmd, buf, len, cpl);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Set Features, Number of Queues (base spec 5.27.1.5): 0-based counts. */
static int set_num_queues(struct zdk_nvme_ctrlr *c)
{
	uint32_t want = c->max_qid - 1u;
	struct zdk_nvme_sqe cmd = {
		.opc = ZDK_NVME_ADM_SET_FEATURES, .cdw10 = ZDK_NVME_FEAT_NUM_QUEUES,
		.cdw11 = want << 16 | want,
	};
	struct zdk_nvme_cpl cpl;
	uint32_t nsq, ncq;
	int rc;

	rc = nvme_admin_locked(c, &cmd, NULL, 0, &cpl);
	if (rc) {
		ZDK_ERR("%s: Set Features (Number of Queues) failed", c->name);
		return rc;
	}
	nsq = (cpl.dw0 & 0xffff) + 1;
	ncq = (cpl.dw0 >> 16) + 1;
	/* Never more than asked for, whatever the answer: BAR0 holds no more doorbells. */
	c->nr_io_queues = (uint16_t)ZDK_MIN(ZDK_MIN(nsq, ncq), c->max_qid);
	return 0;
}

/*
 * While the controller still answers, delete the I/O queues first, SQ then
 * CQ (as for a shutdown, base spec 3.6.2): it aborts their commands in order
 * instead of dropping them mid-flight at CC.EN 0, which QEMU's controller
 * does not survive reliably. Commands aborted this way are resubmitted.
 */
static void delete_io_queues_locked(struct zdk_nvme_ctrlr *c, uint32_t gen)
{
	uint32_t csts = nvme_reg_read32(c, ZDK_NVME_REG_CSTS);

	if (c->failed || csts == UINT32_MAX || (csts & ZDK_NVME_CSTS_CFS) ||
	    !(csts & ZDK_NVME_CSTS_RDY))
		return;
	for (struct nvme_qpair *q = c->qpairs; q && !c->failed; q = q->next) {
		/* Queues of a qpair not reconnected since an earlier reset are gone already. */
		if (q->gen != gen)
			continue;
		nvme_qpair_delete_locked(q);
	}
}

/*
 * Doorbell Buffer Config (admin opcode 7Ch): PRP1 the Shadow Doorbell
 * buffer, PRP2 the EventIdx buffer, each one memory page. Only the admin
 * queue's slots are set here (to its doorbells' values); each I/O queue
 * zeroes its own before it is created (nvme_qpair.c), so an owner still
 * writing its slot during a reset cannot leave a stale value behind.
 */
static int dbbuf_config_locked(struct zdk_nvme_ctrlr *c)
{
	volatile uint32_t *ei = c->dbbuf + ZDK_NVME_PAGE_SIZE / 4;
	struct zdk_nvme_sqe cmd = {
		.opc = ZDK_NVME_ADM_DBBUF_CONFIG, .prp1 = c->dbbuf_iova,
		.prp2 = zdk_virt2iova((const uint8_t *)c->dbbuf + ZDK_NVME_PAGE_SIZE),
	};
	int rc;

	c->dbbuf[0] = c->admin.qp.sq_tail;
	c->dbbuf[nvme_dbbuf_slot(c, 1)] = c->admin.qp.cq_rung;
	ei[0] = ei[nvme_dbbuf_slot(c, 1)] = 0;
	rc = nvme_admin_locked(c, &cmd, NULL, 0, NULL);
	if (rc)
		ZDK_ERR("%s: Doorbell Buffer Config failed (%d)", c->name, rc);
	return rc;
}

int zdk_nvme_ctrlr_shadow_doorbell(struct zdk_nvme_ctrlr *c, bool on)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (on == c->dbbuf_on)
		goto out_unlock;
	if (c->qpairs || c->zombies) {
		ZDK_ERR("%s: shadow doorbells can be turned %s only while the controller has no "
			"I/O qpair: free them first", c->name, on ? "on" : "off");
		rc = -EBUSY;
		goto out_unlock;
	}
	if (!on) {
		/* Only a controller reset takes the buffers back (base spec 3.7.2). */
		c->dbbuf_on = false;
		rc = nvme_ctrlr_reset_locked(c);
		goto out_unlock;
	}
	if (!(c->id.oacs & ZDK_NVME_OACS_DBBUF)) {
		ZDK_ERR("%s: no shadow doorbells: the controller lacks Doorbell Buffer Config "
			"(OACS bit 8)", c->name);
		rc = -ENOTSUP;
		goto out_unlock;
	}
	if ((2u * c->max_qid + 2) * c->db_stride > ZDK_NVME_PAGE_SIZE) {
		ZDK_ERR("%s: no shadow doorbells: a doorbell stride of %u bytes does not fit %u "
			"queues' slots in one page", c->name, c->db_stride, c->max_qid + 1u);
		rc = -ENOTSUP;
		goto out_unlock;
	}
	if (!c->dbbuf) {
		c->dbbuf = zdk_dma_zalloc(2 * ZDK_NVME_PAGE_SIZE, ZDK_NVME_PAGE_SIZE, ZDK_SOCKET_ANY,
					  &c->dbbuf_iova);
		if (!c->dbbuf) {
			rc = -ENOMEM;
			goto out_unlock;
		}
	}
	rc = dbbuf_config_locked(c);
	if (!rc) {
		c->dbbuf_on = true;
		ZDK_INFO("%s: shadow doorbells on", c->name);
	}
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int nvme_ctrlr_reset_locked(struct zdk_nvme_ctrlr *c)
{
	int rc;

	/* Until each owner recreates its queues, its doorbells go nowhere. */
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next)
		nvme_qpair_doorbells(q, false);
	c->in_reset = true;
	c->nr_resets++;
	delete_io_queues_locked(c, atomic_fetch_add(&c->gen, 1));
	nvme_ctrlr_set_failed(c, false);
	if (ctrlr_quiesce(c) == 0)
		nvme_qpairs_quiesced_locked(c);
	rc = ctrlr_enable(c);
	if (!rc)
		rc = set_num_queues(c);
	/* A reset took the buffers from the controller: give them again, or
	 * every qpair goes back to MMIO doorbells when it reconnects. */
	if (!rc && c->dbbuf_on && dbbuf_config_locked(c)) {
		ZDK_WARN("%s: shadow doorbells off after the reset", c->name);
		c->dbbuf_on = false;
	}
	nvme_ctrlr_set_failed(c, rc != 0);
	c->in_reset = false;
	/* Make every owner thread look at its qpair on its next poll, and wake
	 * those asleep on their interrupt (zdk_nvme_qpair_intr_enable()). */
	for (struct nvme_qpair *q = c->qpairs; q; q = q->next) {
		uint64_t one = 1;

		__atomic_store_n(&q->qp.tick, 1, __ATOMIC_RELAXED);
		if (q->intr)
			sys_write(q->efd, &one, sizeof(one));
	}
	if (rc)
		ZDK_ERR("%s: reset failed (%d): the controller is out of service", c->name, rc);
	else
		ZDK_NOTICE("%s: controller reset", c->name);
	return rc;
}

int nvme_ctrlr_reset_if(struct zdk_nvme_ctrlr *c, uint32_t seen_gen)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	/* Another thread may have reset it since this one saw it fail. */
	if (atomic_load(&c->gen) == seen_gen)
		rc = nvme_ctrlr_reset_locked(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int zdk_nvme_ctrlr_reset(struct zdk_nvme_ctrlr *c)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = nvme_ctrlr_reset_locked(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int identify(struct zdk_nvme_ctrlr *c, uint8_t cns, uint32_t nsid)
{
	struct zdk_nvme_sqe cmd = { .opc = ZDK_NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	memset(c->scratch, 0, ZDK_NVME_PAGE_SIZE);
	return nvme_admin_locked(c, &cmd, c->scratch, ZDK_NVME_PAGE_SIZE, NULL);
}

/*
 * Identify Namespace (NVM command set 4.1.5.1). Values out of range (a
 * format index beyond NLBAF, an LBA size outside 512 B..64 KiB or above the
 * largest transfer, no blocks) leave the namespace inactive, with a log.
 */
static void ns_setup(struct zdk_nvme_ctrlr *c, struct zdk_nvme_ns *ns, const struct zdk_nvme_id_ns *id)
{
	uint32_t fmt = id->flbas & 0xf, lbaf, lbads;

	if (id->nlbaf >= 16)
		fmt |= (uint32_t)((id->flbas >> 5) & 3) << 4;
	if (fmt > id->nlbaf) {
		ZDK_WARN("%s: namespace %u: FLBAS selects format %u of %u (NLBAF): skipped", c->name,
			 ns->nsid, fmt, id->nlbaf + 1u);
		return;
	}
	lbaf = id->lbaf[fmt];
	lbads = (lbaf >> 16) & 0xff;
	if (id->nsze == 0 || lbads < 9 || lbads > 16 || (1u << lbads) > c->max_xfer) {
		ZDK_WARN("%s: namespace %u: LBA data size 2^%u (%llu blocks, largest transfer %u) "
			 "unusable, skipped", c->name, ns->nsid, lbads, (unsigned long long)id->nsze,
			 c->max_xfer);
		return;
	}
	if (lbaf & 0xffff) {
		ZDK_WARN("%s: namespace %u: metadata (%u bytes per LBA) is not supported, skipped",
			 c->name, ns->nsid, lbaf & 0xffff);
		return;
	}
	ns->lba_shift = lbads;
	ns->lba_size = 1u << lbads;
	ns->nblocks = id->nsze;
	ns->max_blocks = ZDK_MIN(c->max_xfer >> lbads, 65536u);
	ns->active = true;
	ZDK_INFO("%s: namespace %u: %llu blocks of %u bytes", c->name, ns->nsid,
		 (unsigned long long)ns->nblocks, ns->lba_size);
}

/*
 * Identify the active namespace list (CNS 02h), then each namespace (CNS
 * 00h). NN is any u32 the device says: the table is sized by the list (at
 * most NVME_MAX_NS ids, in increasing order, 0 ends it), never by NN.
 */
static int ns_scan(struct zdk_nvme_ctrlr *c)
{
	uint32_t ids[NVME_MAX_NS], n = 0, prev = 0;
	int rc;

	c->nn = c->id.nn;
	if (c->nn == 0)
		return 0;
	rc = identify(c, ZDK_NVME_CNS_ACTIVE_NS, 0);
	if (rc) {
		ZDK_ERR("%s: Identify (active namespace list) failed", c->name);
		return rc;
	}
	memcpy(ids, c->scratch, sizeof(ids));
	while (n < NVME_MAX_NS && ids[n])
		n++;
	if (n == 0)
		return 0;
	c->ns = calloc(n, sizeof(*c->ns));
	if (!c->ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct zdk_nvme_ns *ns = &c->ns[c->nr_ns];

		/* A list out of order or past NN would break lookups: skip those ids. */
		if (ids[i] <= prev || ids[i] > c->nn) {
			ZDK_WARN("%s: active namespace list: nsid %u out of order or above NN %u, "
				 "skipped", c->name, ids[i], c->nn);
			continue;
		}
		prev = ids[i];
		ns->ctrlr = c;
		ns->nsid = ids[i];
		rc = identify(c, ZDK_NVME_CNS_NS, ids[i]);
		if (rc) {
			ZDK_ERR("%s: Identify (namespace %u) failed", c->name, ids[i]);
			return rc;
		}
		ns_setup(c, ns, c->scratch);
		c->nr_ns++;
	}
	return 0;
}

static int ctrlr_identify(struct zdk_nvme_ctrlr *c)
{
	uint32_t mps_min = ZDK_NVME_PAGE_SIZE << ZDK_NVME_CAP_MPSMIN(c->cap);
	int rc;

	rc = identify(c, ZDK_NVME_CNS_CTRLR, 0);
	if (rc) {
		ZDK_ERR("%s: Identify Controller failed", c->name);
		return rc;
	}
	memcpy(&c->id, c->scratch, sizeof(c->id));
	c->max_xfer = NVME_MAX_XFER;
	if (c->id.mdts && c->id.mdts < 20)
		c->max_xfer = ZDK_MIN(NVME_MAX_XFER, mps_min << c->id.mdts);
	c->sgl = (c->id.sgls & 3) == 1 || (c->id.sgls & 3) == 2;
	ZDK_INFO("%s: %.40s sn %.20s, max transfer %u KiB, SGL %s", c->name, c->id.mn, c->id.sn,
		 c->max_xfer >> 10, c->sgl ? "yes" : "no");
	return 0;
}

static int ctrlr_check_cap(struct zdk_nvme_ctrlr *c)
{
	c->cap = nvme_reg_read64(c, ZDK_NVME_REG_CAP);
	if (c->cap == UINT64_MAX) {
		ZDK_ERR("%s: BAR0 reads all ones: the device is gone or not enabled", c->name);
		return -ENODEV;
	}
	/* zdk uses 4 KiB memory pages (CC.MPS 0) and the NVM command set. */
	if (ZDK_NVME_CAP_MPSMIN(c->cap) != 0 || !(ZDK_NVME_CAP_CSS(c->cap) & 1)) {
		ZDK_ERR("%s: controller lacks 4 KiB pages or the NVM command set (CAP 0x%llx)",
			c->name, (unsigned long long)c->cap);
		return -ENOTSUP;
	}
	/* MQES is 0-based and at least 1 (base spec 3.1.3.1): a queue holds two entries. */
	if (ZDK_NVME_CAP_MQES(c->cap) == 0) {
		ZDK_ERR("%s: CAP.MQES is 0 (CAP 0x%llx): not an NVMe controller that works", c->name,
			(unsigned long long)c->cap);
		return -ENODEV;
	}
	c->db_stride = 4u << ZDK_NVME_CAP_DSTRD(c->cap);
	c->ready_timeout_ms = ZDK_MAX(ZDK_NVME_CAP_TO(c->cap), 1u) * 500;
	/* Queue y's two doorbells end at 1000h + (2y + 2) * stride (base spec 3.1.3.24). */
	if (c->regs_len < ZDK_NVME_REG_DBS + 4u * c->db_stride) {
		ZDK_ERR("%s: BAR0 of %zu bytes cannot hold the doorbells of even one I/O queue "
			"(stride %u)", c->name, c->regs_len, c->db_stride);
		return -ENODEV;
	}
	c->max_qid = (uint16_t)ZDK_MIN((c->regs_len - ZDK_NVME_REG_DBS) / (2u * c->db_stride) - 1,
				       (size_t)NVME_MAX_IO_QUEUES);
	if (c->max_qid < NVME_MAX_IO_QUEUES)
		ZDK_INFO("%s: BAR0 of %zu bytes holds the doorbells of %u I/O queues", c->name,
			 c->regs_len, c->max_qid);
	return 0;
}

int nvme_ctrlr_create(void *bar, size_t bar_len, const char *name, struct zdk_nvme_ctrlr **out)
{
	struct zdk_nvme_ctrlr *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->regs = bar;
	c->regs_len = bar_len;
	c->admin_timeout_ms = NVME_ADMIN_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	rc = ctrlr_check_cap(c);
	if (rc)
		goto err_free;
	c->scratch = zdk_dma_zalloc(ZDK_NVME_PAGE_SIZE, ZDK_NVME_PAGE_SIZE, ZDK_SOCKET_ANY,
				    &c->scratch_iova);
	if (!c->scratch) {
		rc = -ENOMEM;
		goto err_free;
	}
	/* Until Identify says more; list pages for the largest transfer zdk allows. */
	c->max_xfer = ZDK_NVME_PAGE_SIZE * 2;
	c->admin.list_pages = nvme_list_pages(NVME_MAX_XFER);
	rc = nvme_qpair_init(&c->admin, c, 0, NVME_ADMIN_ENTRIES);
	if (rc)
		goto err_free_scratch;
	c->admin.qp.tick = UINT32_MAX;
	c->admin.qp.batch = true; /* rung by admin_ring() */
	pthread_mutex_lock(&c->lock);
	rc = ctrlr_disable(c);
	if (!rc)
		rc = ctrlr_enable(c);
	if (!rc)
		rc = ctrlr_identify(c);
	if (!rc)
		rc = set_num_queues(c);
	if (!rc)
		rc = ns_scan(c);
	pthread_mutex_unlock(&c->lock);
	if (rc)
		goto err_disable;
	*out = c;
	return 0;

err_disable:
	ctrlr_disable(c);
	free(c->ns);
	nvme_qpair_fini(&c->admin);
err_free_scratch:
	zdk_dma_free(c->scratch);
err_free:
	pthread_mutex_destroy(&c->lock);
	free(c);
	return rc;
}

/* Controllers that never stopped: kept, and reachable (not a leak report). */
static struct zdk_nvme_ctrlr *leaked;
static pthread_mutex_t leaked_lock = PTHREAD_MUTEX_INITIALIZER;

static void leaked_add(struct zdk_nvme_ctrlr *c)
{
	pthread_mutex_lock(&leaked_lock);
	c->next = leaked;
	leaked = c;
	pthread_mutex_unlock(&leaked_lock);
}

/*
 * How long a normal shutdown may take: RTD3E (Identify Controller, in
 * microseconds, base spec 5.17.2.1), and as Linux does, at least 5 s (also
 * when it is 0, unreported) and at most 60 s, whatever the device claims.
 */
static uint32_t shutdown_timeout_ms(const struct zdk_nvme_ctrlr *c)
{
	uint32_t ms = (uint32_t)(((uint64_t)c->id.rtd3e + 999) / 1000);

	return ZDK_MIN(ZDK_MAX(ms, (uint32_t)NVME_SHUTDOWN_TIMEOUT_MS),
		       (uint32_t)NVME_SHUTDOWN_TIMEOUT_MAX_MS);
}

/* Normal shutdown (CC.SHN, base spec 3.6.2), waiting per RTD3E, then disable. */
void nvme_ctrlr_destroy(struct zdk_nvme_ctrlr *c)
{
	uint32_t cc;

	if (!c)
		return;
	if (c->qpairs)
		ZDK_WARN("%s: destroyed with qpairs still allocated", c->name);
	if (__atomic_load_n(&c->removed, __ATOMIC_ACQUIRE)) {
		/* Gone: nothing to shut down, and it can DMA nowhere now. */
		pthread_mutex_lock(&c->lock);
		nvme_qpairs_quiesced_locked(c);
		pthread_mutex_unlock(&c->lock);
		goto out_free;
	}
	cc = nvme_reg_read32(c, ZDK_NVME_REG_CC);
	if (cc & ZDK_NVME_CC_EN) {
		nvme_reg_write32(c, ZDK_NVME_REG_CC, (cc & ~ZDK_NVME_CC_SHN_MASK) | ZDK_NVME_CC_SHN_NORMAL);
		wait_csts(c, ZDK_NVME_CSTS_SHST_MASK, ZDK_NVME_CSTS_SHST_DONE, shutdown_timeout_ms(c),
			  "RTD3E");
	}
	if (ctrlr_quiesce(c)) {
		/* It may still DMA to the admin queue or a parked qpair: keep them. */
		ZDK_ERR("%s: the controller did not stop: its queue memory is kept", c->name);
		leaked_add(c);
		return;
	}
	nvme_qpairs_quiesced_locked(c);
out_free:
	free(c->ns);
	nvme_qpair_fini(&c->admin);
	zdk_dma_free(c->scratch);
	zdk_dma_free((void *)c->dbbuf);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool zdk_nvme_ctrlr_removed(const struct zdk_nvme_ctrlr *c)
{
	return __atomic_load_n(&c->removed, __ATOMIC_ACQUIRE);
}

const char *zdk_nvme_ctrlr_name(const struct zdk_nvme_ctrlr *c)
{
	return c->name;
}

const struct zdk_nvme_id_ctrlr *zdk_nvme_ctrlr_data(const struct zdk_nvme_ctrlr *c)
{
	return &c->id;
}

uint32_t zdk_nvme_ctrlr_max_xfer(const struct zdk_nvme_ctrlr *c)
{
	return c->max_xfer;
}

bool zdk_nvme_ctrlr_sgl_supported(const struct zdk_nvme_ctrlr *c)
{
	return c->sgl;
}

/* The entry for @nsid in the table (sorted by nsid), or NULL. */
static struct zdk_nvme_ns *ns_find(struct zdk_nvme_ctrlr *c, uint32_t nsid)
{
	uint32_t lo = 0, hi = c->nr_ns;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->ns[mid].nsid == nsid)
			return &c->ns[mid];
		if (c->ns[mid].nsid < nsid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct zdk_nvme_ns *zdk_nvme_ns_get(struct zdk_nvme_ctrlr *c, uint32_t nsid)
{
	const struct zdk_nvme_ns *ns = ns_find(c, nsid);

	return ns && ns->active ? ns : NULL;
}

const struct zdk_nvme_ns *zdk_nvme_ns_next(struct zdk_nvme_ctrlr *c, const struct zdk_nvme_ns *prev)
{
	for (uint32_t i = prev ? (uint32_t)(prev - c->ns) + 1 : 0; i < c->nr_ns; i++)
		if (c->ns[i].active)
			return &c->ns[i];
	return NULL;
}

bool nvme_ctrlr_cb_internal(zdk_nvme_cb cb)
{
	return cb == sync_cb;
}
