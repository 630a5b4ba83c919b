/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_nvme.c - the software NVMe controller behind the unit tests. It
 * follows the base spec strictly where the driver could get it wrong (PRP
 * offsets, list chaining, SGL descriptors, queue sizes, phase bit, CQ full)
 * and answers with an error status when a rule is broken.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_nvme.h"

#define PAGE 4096u
#define SC(sc) ZDK_NVME_STATUS(0, sc)
#define SC_INVALID_OPCODE SC(0x01)
#define SC_INVALID_FIELD SC(0x02)
#define SC_DATA_XFER_ERROR SC(0x04)
#define SC_LBA_RANGE SC(0x80)
#define SC_PRP_OFFSET SC(0x13)
#define SC_SGL_INVALID SC(0x0e)
#define SC_INVALID_QID ZDK_NVME_STATUS(1, 0x01)

static uint32_t reg32(struct fake_nvme *f, uint32_t off)
{
	return *(volatile uint32_t *)(f->bar + off);
}

static void set32(struct fake_nvme *f, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(f->bar + off) = v;
}

static uint64_t reg64(struct fake_nvme *f, uint32_t off)
{
	return reg32(f, off) | (uint64_t)reg32(f, off + 4) << 32;
}

/* Queue memory (from the driver's arena, contiguous by construction). */
static void *va(uint64_t iova)
{
	return (void *)(uintptr_t)(iova - FAKE_IOVA_OFFSET + 4096);
}

/* The next byte of the hostile stream; 0 (behave) once it is exhausted. */
static uint8_t evil_byte(struct fake_nvme *f)
{
	return f->evil && f->evil_pos < f->evil_len ? f->evil[f->evil_pos++] : 0;
}

static uint64_t evil_bytes(struct fake_nvme *f, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)evil_byte(f) << (8 * i);
	return v;
}

/*
 * Copy between @mem and host memory at @addr, page by page as a device
 * does: each 4 KiB page is translated on its own, so a buffer the driver
 * wrongly described as contiguous reaches whatever frame follows.
 */
static uint16_t dma(uint64_t addr, uint8_t *mem, uint64_t len, bool to_host)
{
	while (len) {
		uint64_t n = PAGE - (addr & (PAGE - 1));
		void *p;

		if (n > len)
			n = len;
		p = fake_dma_va(addr, n);
		if (!p)
			return SC_DATA_XFER_ERROR;
		if (to_host)
			memcpy(p, mem, n);
		else
			memcpy(mem, p, n);
		addr += n;
		mem += n;
		len -= n;
	}
	return 0;
}

static uint32_t db(struct fake_nvme *f, unsigned idx)
{
	return reg32(f, 0x1000 + idx * (4u << f->dstrd));
}

static void db_clear(struct fake_nvme *f, unsigned idx)
{
	set32(f, 0x1000 + idx * (4u << f->dstrd), 0);
}

/* What the fake leaves in an I/O queue's MMIO doorbell with shadow doorbells. */
#define DB_IDLE UINT32_MAX

/* Slot @idx of the Shadow Doorbell (@ei false) or EventIdx buffer. */
static volatile uint32_t *dbbuf_slot(struct fake_nvme *f, unsigned idx, bool ei)
{
	volatile uint32_t *p = fake_dma_va((ei ? f->eis_iova : f->dbs_iova) + idx * (4u << f->dstrd), 4);

	if (!p)
		abort(); /* the driver gave a buffer it does not own */
	return p;
}

/* An MMIO doorbell write to I/O doorbell @idx since the last look: counted, consumed. */
static bool db_kick(struct fake_nvme *f, unsigned idx)
{
	if (*(volatile uint32_t *)(f->bar + 0x1000 + idx * (4u << f->dstrd)) == DB_IDLE)
		return false;
	f->nr_db_mmio++;
	*(volatile uint32_t *)(f->bar + 0x1000 + idx * (4u << f->dstrd)) = DB_IDLE;
	return true;
}

/* A doorbell written for a queue that does not exist is a driver bug. */
static void check_dead_doorbells(struct fake_nvme *f)
{
	for (unsigned qid = 0; qid < FAKE_MAXQ; qid++) {
		if (!f->sq[qid].valid && db(f, 2 * qid)) {
			f->nr_bad_db++;
			db_clear(f, 2 * qid);
		}
		if (!f->cq[qid].valid && db(f, 2 * qid + 1)) {
			f->nr_bad_db++;
			db_clear(f, 2 * qid + 1);
		}
	}
}

void fake_nvme_init(struct fake_nvme *f)
{
	memset(f, 0, sizeof(*f));
	f->mqes = 2047;
	f->mdts = 0;
	f->sgls = 1;
	f->cfs_after = -1;
	f->nn = 2;
	f->lba_shift[0] = 9;
	f->lba_shift[1] = 12;
	f->nblocks[0] = FAKE_NS_BLOCKS_512;
	f->nblocks[1] = FAKE_NS_BLOCKS_4K;
	/* CAP: MQES, CQR, TO 1 (500 ms), DSTRD, CSS NVM, MPSMIN 0, MPSMAX 4. */
	fake_nvme_set_cap(f, f->mqes | 1u << 16 | 1u << 24 | (uint64_t)f->dstrd << 32 |
			      1ULL << 37 | 4ULL << 52);
	set32(f, 0x08, 0x00020000);
}

void fake_nvme_set_cap(struct fake_nvme *f, uint64_t cap)
{
	set32(f, 0x00, (uint32_t)cap);
	set32(f, 0x04, (uint32_t)(cap >> 32));
}

void fake_nvme_fini(struct fake_nvme *f)
{
	free(f->disk[0]);
	free(f->disk[1]);
}

/* The disks (8 MiB each) are allocated on first use: bring-up alone needs none. */
uint8_t *fake_nvme_disk(struct fake_nvme *f, uint32_t nsid, uint64_t lba)
{
	if (!f->disk[nsid - 1]) {
		f->disk[nsid - 1] = calloc(1, (size_t)8 << 20);
		if (!f->disk[nsid - 1])
			abort();
	}
	return f->disk[nsid - 1] + (lba << f->lba_shift[nsid - 1]);
}

/* Copy @len bytes between @mem and the command's PRPs (base spec 4.1.1). */
static uint16_t xfer_prp(struct fake_nvme *f, const struct zdk_nvme_sqe *s, uint8_t *mem,
			 uint64_t len, bool to_host)
{
	uint64_t addr = s->prp1, *list = NULL;
	/* Past two pages, PRP2 points to a list instead of the second page. */
	bool use_list = (s->prp1 & (PAGE - 1)) + len > 2 * PAGE;
	uint32_t idx = 0;
	uint16_t st;

	if (s->prp1 & 3)
		return SC_PRP_OFFSET;
	for (uint64_t done = 0, n; done < len; done += n) {
		if (done > 0 && !use_list) {
			addr = s->prp2;
		} else if (done > 0) {
			if (!list) {
				if (s->prp2 & 7)
					return SC_PRP_OFFSET;
				list = fake_dma_va(s->prp2 & ~(uint64_t)(PAGE - 1), PAGE);
				if (!list)
					return SC_DATA_XFER_ERROR;
				idx = (uint32_t)((s->prp2 & (PAGE - 1)) / 8);
			}
			/* The last entry of a list page chains when more follows. */
			if (idx == PAGE / 8 - 1 && len - done > PAGE) {
				if (list[idx] & (PAGE - 1))
					return SC_PRP_OFFSET;
				list = fake_dma_va(list[idx], PAGE);
				if (!list)
					return SC_DATA_XFER_ERROR;
				idx = 0;
				f->nr_chain++;
			}
			addr = list[idx++];
		}
		if (done > 0 && (addr & (PAGE - 1)))
			return SC_PRP_OFFSET;
		n = PAGE - (addr & (PAGE - 1));
		if (n > len - done)
			n = len - done;
		st = dma(addr, mem + done, n, to_host);
		if (st)
			return st;
	}
	return 0;
}

/* SGL: one Data Block, or a Last Segment of Data Blocks (base spec 4.1.2). */
static uint16_t xfer_sgl(struct fake_nvme *f, const struct zdk_nvme_sqe *s, uint8_t *mem,
			 uint64_t len, bool to_host)
{
	const struct zdk_nvme_sgl_desc *d = &s->sgl1;
	uint32_t n = 1;
	uint64_t done = 0;

	f->nr_sgl++;
	if (d->type == ZDK_NVME_SGL_LAST_SEGMENT) {
		if (d->len % 16 || d->len == 0)
			return SC_SGL_INVALID;
		n = d->len / 16;
		d = fake_dma_va(d->addr, d->len);
		if (!d)
			return SC_DATA_XFER_ERROR;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t c = d[i].len;
		uint16_t st;

		if (d[i].type != ZDK_NVME_SGL_DATA_BLOCK || c > len - done)
			return SC_SGL_INVALID;
		st = dma(d[i].addr, mem + done, c, to_host);
		if (st)
			return st;
		done += c;
	}
	return done == len ? 0 : SC_SGL_INVALID;
}

static uint16_t xfer(struct fake_nvme *f, const struct zdk_nvme_sqe *s, void *mem, uint64_t len,
		     bool to_host)
{
	f->last_sqe_flags = s->flags;
	f->last_prp2 = s->prp2;
	switch (s->flags >> 6) {
	case 0:
		return xfer_prp(f, s, mem, len, to_host);
	case 1:
		return xfer_sgl(f, s, mem, len, to_host);
	default:
		return SC_INVALID_FIELD;
	}
}

/*
 * Hostile Identify data: a few fields the driver sizes or indexes with
 * (MDTS, NN, SGLS, RTD3E; the active list; NSZE, NLBAF, FLBAS, LBA formats)
 * overwritten with bytes from the stream.
 */
static void evil_identify(struct fake_nvme *f, uint8_t cns, uint8_t *buf)
{
	static const uint16_t ctrlr_off[] = { 77, 516, 536, 88, 520, 512 };
	static const uint16_t ns_off[] = { 0, 25, 26, 128, 132, 136, 188, 252 };
	unsigned n = evil_byte(f) % 8;

	for (unsigned i = 0; i < n; i++) {
		uint8_t pick = evil_byte(f), width = (uint8_t)(1u << (evil_byte(f) % 4));
		uint32_t off;
		uint64_t v;

		if (cns == ZDK_NVME_CNS_CTRLR)
			off = ctrlr_off[pick % (sizeof(ctrlr_off) / sizeof(ctrlr_off[0]))];
		else if (cns == ZDK_NVME_CNS_NS)
			off = ns_off[pick % (sizeof(ns_off) / sizeof(ns_off[0]))];
		else
			off = (pick % 64) * 4u;
		v = evil_bytes(f, width);
		memcpy(buf + off, &v, width);
	}
}

/*
 * A hostile namespace format is also the one the fake then uses: a device
 * that transfers other sizes than it reports writes past any buffer, and
 * no driver can prevent that. The disk keeps its bytes.
 */
static void evil_ns_apply(struct fake_nvme *f, uint32_t nsid, const uint8_t *buf)
{
	const struct zdk_nvme_id_ns *id = (const void *)buf;
	uint32_t fmt = id->flbas & 0xf, lbads;
	uint64_t bytes = f->nblocks[nsid - 1] << f->lba_shift[nsid - 1];

	if (id->nlbaf >= 16)
		fmt |= (uint32_t)((id->flbas >> 5) & 3) << 4;
	lbads = (id->lbaf[fmt & 63] >> 16) & 0xff;
	if (lbads < 9 || lbads > 16)
		return;
	f->lba_shift[nsid - 1] = lbads;
	f->nblocks[nsid - 1] = bytes >> lbads;
}

static uint16_t identify(struct fake_nvme *f, const struct zdk_nvme_sqe *s)
{
	static uint8_t buf[4096];

	memset(buf, 0, sizeof(buf));
	if ((s->cdw10 & 0xff) == ZDK_NVME_CNS_CTRLR) {
		struct zdk_nvme_id_ctrlr *id = (void *)buf;

		id->vid = 0x1b36;
		memcpy(id->sn, "FAKE0001            ", 20);
		memcpy(id->mn, "zdk fake controller                     ", 40);
		id->mdts = f->mdts;
		id->nn = f->nn;
		memcpy(buf + 88, &f->rtd3e, 4); /* RTD3E */
		id->sqes = 0x66;
		id->cqes = 0x44;
		id->oncs = ZDK_NVME_ONCS_DSM | ZDK_NVME_ONCS_WRITE_ZEROES;
		id->sgls = f->sgls;
		id->oacs = f->no_dbbc ? 0 : 1u << 8;
	} else if ((s->cdw10 & 0xff) == ZDK_NVME_CNS_ACTIVE_NS) {
		uint32_t *ids = (void *)buf;

		ids[0] = 1;
		ids[1] = f->nn >= 2 ? 2 : 0;
	} else if ((s->cdw10 & 0xff) == ZDK_NVME_CNS_NS && (s->nsid == 1 || s->nsid == 2)) {
		struct zdk_nvme_id_ns *ns = (void *)buf;

		ns->nsze = ns->ncap = f->nblocks[s->nsid - 1];
		ns->nlbaf = 1;
		ns->flbas = (uint8_t)(s->nsid - 1);
		ns->lbaf[0] = 9u << 16;
		ns->lbaf[1] = 12u << 16;
	} else {
		return SC_INVALID_FIELD;
	}
	if (f->evil) {
		evil_identify(f, s->cdw10 & 0xff, buf);
		if ((s->cdw10 & 0xff) == ZDK_NVME_CNS_NS)
			evil_ns_apply(f, s->nsid, buf);
	}
	return xfer(f, s, buf, sizeof(buf), true);
}

static void post(struct fake_nvme *f, uint16_t sqid, uint16_t cid, uint16_t status, uint32_t dw0);

static uint16_t admin(struct fake_nvme *f, const struct zdk_nvme_sqe *s, uint32_t *dw0)
{
	uint16_t qid = s->cdw10 & 0xffff;
	uint32_t size = (s->cdw10 >> 16) + 1;

	f->nr_admin++;
	switch (s->opc) {
	case ZDK_NVME_ADM_IDENTIFY:
		return identify(f, s);
	case ZDK_NVME_ADM_SET_FEATURES:
		if ((s->cdw10 & 0xff) != ZDK_NVME_FEAT_NUM_QUEUES)
			return SC_INVALID_FIELD;
		*dw0 = (FAKE_MAXQ - 2) << 16 | (FAKE_MAXQ - 2);
		if (evil_byte(f) & 1)
			*dw0 = (uint32_t)evil_bytes(f, 4);
		return 0;
	case ZDK_NVME_ADM_CREATE_CQ:
		if (qid == 0 || qid >= FAKE_MAXQ || f->cq[qid].valid || size > f->mqes + 1u ||
		    !(s->cdw11 & 1))
			return SC_INVALID_QID;
		/* IEN with a vector beyond the MSI-X table: Invalid Interrupt Vector. */
		if ((s->cdw11 & 2) && (s->cdw11 >> 16) >= f->nr_vectors)
			return ZDK_NVME_STATUS(1, 0x08);
		f->cq[qid] = (struct fake_queue){ .iova = s->prp1, .size = size, .phase = 1,
						  .iv = (uint16_t)(s->cdw11 >> 16),
						  .ien = s->cdw11 & 2, .valid = true };
		db_clear(f, 2 * qid + 1);
		if (f->dbbuf)
			set32(f, 0x1000 + (2 * qid + 1) * (4u << f->dstrd), DB_IDLE);
		return 0;
	case ZDK_NVME_ADM_CREATE_SQ:
		if (qid == 0 || qid >= FAKE_MAXQ || f->sq[qid].valid || !f->cq[s->cdw11 >> 16].valid)
			return SC_INVALID_QID;
		f->sq[qid] = (struct fake_queue){ .iova = s->prp1, .size = size,
						  .cqid = (uint16_t)(s->cdw11 >> 16), .valid = true };
		db_clear(f, 2 * qid);
		f->kicked[qid] = false;
		if (f->dbbuf)
			set32(f, 0x1000 + 2 * qid * (4u << f->dstrd), DB_IDLE);
		return 0;
	case ZDK_NVME_ADM_DELETE_SQ:
	case ZDK_NVME_ADM_DELETE_CQ: {
		struct fake_queue *q = s->opc == ZDK_NVME_ADM_DELETE_SQ ? f->sq : f->cq;

		if (qid == 0 || qid >= FAKE_MAXQ || !q[qid].valid)
			return SC_INVALID_QID;
		if (f->fail_delete) {
			f->nr_delete_failed++;
			return SC(0x06);
		}
		/* Explicit abort of what the SQ still holds (base spec 5.7). */
		for (int i = 0; s->opc == ZDK_NVME_ADM_DELETE_SQ && i < f->nheld; i++)
			if (f->held[i].sqid == qid) {
				post(f, qid, f->held[i].sqe.cid, SC(0x08), 0);
				f->held[i--] = f->held[--f->nheld];
			}
		q[qid].valid = false;
		db_clear(f, 2 * qid + (s->opc == ZDK_NVME_ADM_DELETE_CQ));
		return 0;
	}
	case ZDK_NVME_ADM_DBBUF_CONFIG:
		if (f->no_dbbc)
			return SC_INVALID_OPCODE;
		if ((s->prp1 | s->prp2) & (PAGE - 1) || !fake_dma_va(s->prp1, PAGE) ||
		    !fake_dma_va(s->prp2, PAGE))
			return SC_INVALID_FIELD;
		f->nr_dbbc++;
		f->dbbuf = true;
		f->dbs_iova = s->prp1;
		f->eis_iova = s->prp2;
		/* QEMU stores every existing queue's doorbell values in the slots. */
		for (unsigned q = 0; q < FAKE_MAXQ; q++) {
			if (f->sq[q].valid) {
				*dbbuf_slot(f, 2 * q, false) = q ? f->sq[q].head : db(f, 0);
				if (q)
					set32(f, 0x1000 + 2 * q * (4u << f->dstrd), DB_IDLE);
			}
			if (f->cq[q].valid) {
				*dbbuf_slot(f, 2 * q + 1, false) = db(f, 2 * q + 1);
				if (q)
					set32(f, 0x1000 + (2 * q + 1) * (4u << f->dstrd), DB_IDLE);
			}
		}
		return 0;
	case ZDK_NVME_ADM_ABORT:
		f->nr_abort++;
		*dw0 = 1; /* not aborted */
		for (int i = 0; i < f->nheld && f->abort_works; i++) {
			if (f->held[i].sqid == qid && f->held[i].sqe.cid == s->cdw10 >> 16) {
				post(f, qid, f->held[i].sqe.cid, SC(0x07), 0);
				f->held[i] = f->held[--f->nheld];
				*dw0 = 0;
				break;
			}
		}
		return 0;
	default:
		return SC_INVALID_OPCODE;
	}
}

static uint16_t io(struct fake_nvme *f, const struct zdk_nvme_sqe *s)
{
	uint64_t slba = s->cdw10 | (uint64_t)s->cdw11 << 32;
	uint32_t nlb = (s->cdw12 & 0xffff) + 1, n = s->nsid - 1;
	uint64_t len;

	if (s->nsid < 1 || s->nsid > 2)
		return ZDK_NVME_STATUS(0, 0x0b);
	len = (uint64_t)nlb << f->lba_shift[n];
	if (f->mdts && len > (PAGE << f->mdts))
		return SC_INVALID_FIELD;
	switch (s->opc) {
	case ZDK_NVME_OPC_FLUSH:
		return 0;
	case ZDK_NVME_OPC_READ:
	case ZDK_NVME_OPC_WRITE:
	case ZDK_NVME_OPC_WRITE_ZEROES:
		if (slba + nlb > f->nblocks[n])
			return SC_LBA_RANGE;
		if (s->opc == ZDK_NVME_OPC_WRITE_ZEROES) {
			memset(fake_nvme_disk(f, s->nsid, slba), 0, len);
			return 0;
		}
		return xfer(f, s, fake_nvme_disk(f, s->nsid, slba), len, s->opc == ZDK_NVME_OPC_READ);
	case ZDK_NVME_OPC_DSM: {
		struct zdk_nvme_dsm_range r[256];
		uint32_t nr = (s->cdw10 & 0xff) + 1;
		uint16_t st = xfer(f, s, r, nr * sizeof(r[0]), false);

		for (uint32_t i = 0; !st && i < nr; i++) {
			if (r[i].slba + r[i].nlb > f->nblocks[n])
				return SC_LBA_RANGE;
			if (s->cdw11 & (1u << 2))
				memset(fake_nvme_disk(f, s->nsid, r[i].slba), 0,
				       (uint64_t)r[i].nlb << f->lba_shift[n]);
		}
		return st;
	}
	default:
		return SC_INVALID_OPCODE;
	}
}

/* A CQ's head: its doorbell, or with shadow doorbells its slot (EventIdx follows it). */
static uint32_t cq_head(struct fake_nvme *f, uint16_t cqid)
{
	uint32_t head;

	if (!f->dbbuf || cqid == 0)
		return db(f, 2 * cqid + 1);
	db_kick(f, 2 * cqid + 1);
	head = *dbbuf_slot(f, 2 * cqid + 1, false);
	*dbbuf_slot(f, 2 * cqid + 1, true) = head;
	return head;
}

/* Full counting the completions this run holds back for it too (base spec 3.3.1.2). */
static bool cq_full(struct fake_nvme *f, uint16_t cqid, uint32_t pending)
{
	struct fake_queue *cq = &f->cq[cqid];

	cq->head = cq_head(f, cqid);
	return (cq->head + cq->size - cq->tail - 1) % cq->size <= pending;
}

static void post_raw(struct fake_nvme *f, uint16_t sqid, uint16_t cid, uint16_t status,
		     uint32_t dw0, uint16_t sqhd)
{
	struct fake_queue *sq = &f->sq[sqid], *cq = &f->cq[sq->cqid];
	struct zdk_nvme_cpl *e;

	if (!cq->valid || !cq->size)
		return;
	e = (struct zdk_nvme_cpl *)va(cq->iova) + cq->tail;
	e->dw0 = dw0;
	e->dw1 = 0;
	e->sqhd = sqhd;
	e->sqid = sqid;
	e->cid = cid;
	/* The phase bit goes last: it publishes the entry. */
	__atomic_store_n(&e->status, (uint16_t)((status & 0xfffe) | cq->phase), __ATOMIC_RELEASE);
	cq->head = cq_head(f, sq->cqid);
	/* An interrupt for the new entry: always (QEMU), or in edge mode only
	 * when the host had acknowledged every entry before it (the strictest
	 * reading of base spec 7.5.1.1: nothing new is signalled while entries
	 * it was told of are unacknowledged). */
	if (cq->ien && cq->iv < f->nr_vectors && (!f->irq_edge || cq->head == cq->tail)) {
		uint64_t one = 1;

		f->nr_irqs++;
		if (write(f->irq_efd[cq->iv], &one, sizeof(one)) != sizeof(one))
			abort();
	}
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
}

/*
 * A completion entry; in hostile mode one byte of the stream may replace
 * its cid (unknown, out of range, another command's), its status or its
 * SQ head with stream bytes, or post it twice.
 */
static void post(struct fake_nvme *f, uint16_t sqid, uint16_t cid, uint16_t status, uint32_t dw0)
{
	uint16_t sqhd = (uint16_t)f->sq[sqid].head;
	uint8_t b = (sqid || f->evil_admin) ? evil_byte(f) : 0;

	switch (b % 8) {
	case 4:
		cid = (uint16_t)evil_bytes(f, 2);
		break;
	case 5:
		status = (uint16_t)evil_bytes(f, 2);
		break;
	case 6:
		post_raw(f, sqid, cid, status, dw0, sqhd);
		break;
	case 7:
		sqhd = (uint16_t)evil_bytes(f, 2);
		break;
	}
	post_raw(f, sqid, cid, status, dw0, sqhd);
	if (sqid && f->dup_late > 0) {
		f->dup_late--;
		f->late = (struct zdk_nvme_cpl){ .dw0 = dw0, .sqhd = sqhd, .sqid = sqid, .cid = cid,
						 .status = status };
		f->late_sqid = sqid;
		f->late_pending = true;
	}
}

static void handle_cc(struct fake_nvme *f)
{
	uint32_t cc = reg32(f, ZDK_NVME_REG_CC), csts = reg32(f, ZDK_NVME_REG_CSTS);

	if ((cc & ZDK_NVME_CC_SHN_MASK) && f->enabled && !(csts & ZDK_NVME_CSTS_SHST_MASK)) {
		/* Shutdown processing (SHST 01) until shutdown_ns have passed. */
		f->shutdown_done_ns = fake_now_ns() + f->shutdown_ns;
		csts |= 1u << 2;
	}
	if ((csts & ZDK_NVME_CSTS_SHST_MASK) == 1u << 2 && fake_now_ns() >= f->shutdown_done_ns) {
		f->nr_shutdown++;
		csts = (csts & ~ZDK_NVME_CSTS_SHST_MASK) | ZDK_NVME_CSTS_SHST_DONE;
	}
	if ((cc & ZDK_NVME_CC_EN) && !f->enabled && !f->never_ready) {
		uint32_t aqa = reg32(f, ZDK_NVME_REG_AQA);

		memset(f->sq, 0, sizeof(f->sq));
		memset(f->cq, 0, sizeof(f->cq));
		f->sq[0] = (struct fake_queue){ .iova = reg64(f, ZDK_NVME_REG_ASQ),
						.size = (aqa & 0xfff) + 1, .valid = true };
		f->cq[0] = (struct fake_queue){ .iova = reg64(f, ZDK_NVME_REG_ACQ),
						.size = ((aqa >> 16) & 0xfff) + 1, .phase = 1, .valid = true };
		f->enabled = true;
		f->nr_enables++;
		csts = ZDK_NVME_CSTS_RDY;
	} else if (!(cc & ZDK_NVME_CC_EN) && (f->enabled || (csts & ZDK_NVME_CSTS_CFS))) {
		/* Disable resets the controller: every queue and held command goes. */
		if (f->enabled)
			f->nr_resets++;
		if ((csts & ZDK_NVME_CSTS_SHST_MASK) == 1u << 2)
			f->nr_unsafe_shutdown++; /* shutdown cut short */
		f->late_pending = false;
		f->enabled = false;
		f->dbbuf = false; /* a reset forgets the buffers (QEMU too) */
		f->nheld = 0;
		memset(f->bar + 0x1000, 0, sizeof(f->bar) - 0x1000);
		memset(f->sq, 0, sizeof(f->sq));
		memset(f->cq, 0, sizeof(f->cq));
		csts = 0;
	}
	set32(f, ZDK_NVME_REG_CSTS, csts);
}

struct pending {
	uint16_t sqid, cid, status;
};

static void run_sq(struct fake_nvme *f, uint16_t qid, struct pending *pend, int *npend)
{
	struct fake_queue *sq = &f->sq[qid];
	uint32_t tail = db(f, 2 * qid);

	if (f->dbbuf && qid == 0 && *dbbuf_slot(f, 0, false) != tail)
		f->nr_shadow_stale++; /* the host let the admin slot fall behind */
	if (f->dbbuf && qid && sq->valid) {
		if (db_kick(f, 2 * qid))
			f->kicked[qid] = true;
		if (!f->kicked[qid])
			return; /* no doorbell write: the controller does not look */
		tail = *dbbuf_slot(f, 2 * qid, false);
	}

	while (sq->valid && sq->head != tail && tail < sq->size) {
		struct zdk_nvme_sqe s = ((struct zdk_nvme_sqe *)va(sq->iova))[sq->head];
		uint32_t dw0 = 0;
		uint16_t st;

		if (cq_full(f, sq->cqid, qid ? (uint32_t)*npend : 0)) {
			f->nr_cq_full++; /* work waits for the host to free CQ entries */
			break;
		}

		sq->head = (sq->head + 1) % sq->size;
		if (qid == 0) {
			st = admin(f, &s, &dw0);
			post(f, qid, s.cid, st, dw0);
			continue;
		}
		f->nr_io++;
		if (f->cfs_after >= 0 && f->cfs_after-- == 0) {
			set32(f, ZDK_NVME_REG_CSTS, reg32(f, ZDK_NVME_REG_CSTS) | ZDK_NVME_CSTS_CFS);
			return;
		}
		if (f->swallow > 0 && f->nheld < 64) {
			f->swallow--;
			f->held[f->nheld++] = (struct fake_held){ .sqid = qid, .sqe = s };
			continue;
		}
		st = io(f, &s);
		if (f->fail_status) {
			st = f->fail_status;
			f->fail_status = 0;
		}
		pend[(*npend)++] = (struct pending){ qid, s.cid, st };
		if (f->dup_next > 0) {
			f->dup_next--;
			pend[(*npend)++] = (struct pending){ qid, s.cid, st };
		}
	}
	/* Caught up: say how far (EventIdx), then look once more; idle until kicked. */
	if (f->dbbuf && qid && sq->valid && sq->head == tail) {
		*dbbuf_slot(f, 2 * qid, true) = tail;
		if (*dbbuf_slot(f, 2 * qid, false) == tail)
			f->kicked[qid] = false;
	}
}

void fake_nvme_run(struct fake_nvme *f)
{
	struct pending pend[2 * 4096 + 8];
	int npend = 0;

	handle_cc(f);
	check_dead_doorbells(f);
	/* Hostile: now and then all ones, as a removed device reads. */
	if (f->evil && evil_byte(f) == 0xff)
		set32(f, ZDK_NVME_REG_CSTS, UINT32_MAX);
	if (!f->enabled || (reg32(f, ZDK_NVME_REG_CSTS) & ZDK_NVME_CSTS_CFS))
		return;
	if (f->late_pending) {
		f->late_pending = false;
		post_raw(f, f->late_sqid, f->late.cid, f->late.status, f->late.dw0, f->late.sqhd);
	}
	if (f->hold)
		return;
	for (uint16_t qid = 0; qid < (f->io_hold ? 1 : FAKE_MAXQ); qid++) {
		run_sq(f, qid, pend, &npend);
		if (reg32(f, ZDK_NVME_REG_CSTS) & ZDK_NVME_CSTS_CFS)
			return;
	}
	for (int i = 0; i < npend; i++) {
		struct pending *p = &pend[f->reverse ? npend - 1 - i : i];

		post(f, p->sqid, p->cid, p->status, 0);
	}
}
