/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_nvme.h - the NVMe PCIe poll-mode driver.
 *
 * Controllers come from zdk_eal_init()'s probe (every allowed 1b36:0010 or
 * device bound to vfio-pci) or from zdk_nvme_ctrlr_attach(). Each thread
 * allocates its own queue pair; submit and poll are lock-free and inline:
 * submit builds the command in the submission queue slot and rings one
 * doorbell (or leaves it to poll in batch mode), poll scans completions by
 * phase bit and rings the head doorbell once a quarter of the queue is used.
 *
 * Buffers come from the arena (zdk_dma_zalloc()) or from zdk_dma_map(); they
 * need not be IOVA-contiguous (zdk_dma_map()ped pages in no-IOMMU mode are
 * not, nor is a buffer across two mappings): each memory page is translated
 * on its own. Transfers up to two memory pages take the inline path; bigger
 * ones use a PRP list (or SGL Data Blocks, one per IOVA-contiguous run)
 * built out of line. Completion callbacks run inside zdk_nvme_qpair_poll(), may
 * submit new commands and must not keep the zdk_nvme_cpl pointer.
 */
#ifndef ZDK_NVME_H
#define ZDK_NVME_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "zdk_common.h"
#include "zdk_mem.h"
#include "zdk_nvme_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zdk_nvme_ctrlr;

/**
 * typedef zdk_nvme_cb - completion callback.
 * @arg: the argument given at submission.
 * @cpl: the completion entry; ZDK_NVME_CPL_STATUS(cpl) is 0 on success.
 *
 * Called exactly once per accepted command, from zdk_nvme_qpair_poll() on
 * the thread that owns the queue pair.
 */
typedef void (*zdk_nvme_cb)(void *arg, const struct zdk_nvme_cpl *cpl);

/* A namespace; read-only for applications. */
struct zdk_nvme_ns {
	struct zdk_nvme_ctrlr *ctrlr;
	uint32_t nsid;
	uint32_t lba_shift; /* log2 of the LBA size */
	uint32_t lba_size;  /* bytes */
	uint64_t nblocks;   /* namespace size in LBAs (NSZE) */
	uint32_t max_blocks; /* most LBAs in one command (MDTS and NLB limit) */
	bool active;
};

/* Per command id state; private to the driver. */
struct zdk_nvme_req {
	zdk_nvme_cb cb;      /* NULL when the cid is free */
	void *cb_arg;
	uint32_t epoch;      /* qpair epoch (even) at submission; odd once aborted */
	uint16_t cid;        /* the whole cid last given out: generation | index */
	uint16_t flags;      /* NVME_REQ_* in nvme_internal.h, slow paths only */
	uint16_t status;     /* for a completion delivered by the driver */
	struct zdk_nvme_sqe sqe __zdk_cache_aligned; /* copy kept for a resubmission after reset */
};

/*
 * A queue pair. Fields are private; the hot ones are here so that submit
 * and poll can be inline. One thread owns a qpair; nothing in it is locked.
 *
 * Command ids: the low bits index reqs[] (entries / 2 of them), the upper
 * bits are a generation that advances each time the id is freed, and free
 * ids are reused oldest first. A completion counts only if its whole cid is
 * outstanding: a duplicate or late entry for an id that was completed and
 * given to a new command since is dropped, not taken for the new one.
 */
struct zdk_nvme_qpair {
	/* submission side */
	struct zdk_nvme_sqe *sq;
	volatile uint32_t *sq_db; /* written by a reset on another thread: atomic */
	struct zdk_nvme_req *reqs;
	uint16_t *free_cids; /* FIFO ring of free cids, with their next generation */
	uint16_t free_head;  /* next to take */
	uint16_t free_tail;  /* next free slot; tail - head = free ids */
	uint16_t cid_mask;   /* command ids - 1 */
	uint32_t epoch;   /* advances by 2 every half timeout */
	uint16_t sq_tail;
	uint16_t sq_rung; /* tail value last written to the doorbell */
	uint16_t mask;    /* entries - 1 (entries is a power of two) */
	bool batch;       /* ring the SQ doorbell in poll, not in submit */
	/* Shadow doorbells (zdk_nvme_ctrlr_shadow_doorbell()): the SQ tail's
	 * slot in the Shadow Doorbell buffer, NULL when off; its EventIdx is
	 * one page further. In what was padding: no offset moves. */
	volatile uint32_t *sq_shadow;
	/* completion side */
	struct zdk_nvme_cpl *cq __zdk_cache_aligned;
	volatile uint32_t *cq_db;
	uint16_t cq_head;
	uint16_t cq_rung; /* head value last written to the doorbell */
	uint16_t phase;
	uint32_t tick;    /* polls left before the slow-path check; atomic (a reset sets 1) */
	uint64_t ncpl;    /* completions seen */
	uint64_t ndropped; /* entries whose cid was not outstanding (device bug) */
	volatile uint32_t *cq_shadow; /* the CQ head's slot, as sq_shadow (padding too) */
	/* control path, private */
	struct zdk_nvme_ctrlr *ctrlr __zdk_cache_aligned;
};

/**
 * zdk_nvme_qpair_tick() - out-of-line checks done every few thousand polls:
 * reconnect after a controller reset, timeouts, controller fatal status.
 * Called by zdk_nvme_qpair_poll(); never call it directly.
 */
ZDK_EXPORT void zdk_nvme_qpair_tick(struct zdk_nvme_qpair *qp);

/**
 * zdk_nvme_qpair_submit() - submit any NVMe command with a contiguous buffer.
 * @qp: the queue pair.
 * @cmd: the command; the driver fills in the cid, and the data pointer
 *       (PRP or SGL) when there is a buffer; without one, the command's
 *       PRP1/PRP2 are passed through (Create I/O queue commands use that).
 * @buf: data buffer (arena or zdk_dma_map()ped), NULL for none.
 * @len: buffer length in bytes.
 * @cb: completion callback (not NULL).
 * @arg: its argument.
 *
 * Return: 0, -EAGAIN when all command ids are in use (poll, then retry),
 * -EINVAL when @len exceeds zdk_nvme_ctrlr_max_xfer() or @buf is NULL with
 * a non-zero @len, -EFAULT when any part of @buf is not DMA memory, -ENOMEM
 * when the PRP list pages cannot be allocated.
 */
ZDK_EXPORT int zdk_nvme_qpair_submit(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
				     void *buf, size_t len, zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_qpair_submitv() - zdk_nvme_qpair_submit() with a vectored buffer.
 * @iov: buffers; @iovcnt: how many (at most 256).
 *
 * A PRP list is used when every element but the first starts on a 4 KiB
 * page and every element but the last ends on one; otherwise an SGL when the
 * controller supports SGLs (one Data Block per IOVA-contiguous run, as many
 * as the command id's list pages hold). Return: as zdk_nvme_qpair_submit(),
 * and -EINVAL for a NULL element or a layout that neither can describe.
 */
ZDK_EXPORT int zdk_nvme_qpair_submitv(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
				      const struct iovec *iov, int iovcnt, zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_qpair_rw_slow() - the out-of-line part of zdk_nvme_qpair_rw():
 * transfers over two pages, unknown memory, no free command id.
 * Return: as zdk_nvme_qpair_submit().
 */
ZDK_EXPORT int zdk_nvme_qpair_rw_slow(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns,
				      uint8_t opc, void *buf, uint64_t lba, uint32_t nlb,
				      zdk_nvme_cb cb, void *arg);

#define ZDK_NVME_PAGE_SHIFT 12
#define ZDK_NVME_PAGE_SIZE (1u << ZDK_NVME_PAGE_SHIFT)

/** zdk_nvme_qpair_nfree() - command ids free on @qp. */
static inline uint32_t zdk_nvme_qpair_nfree(const struct zdk_nvme_qpair *qp)
{
	return (uint16_t)(qp->free_tail - qp->free_head);
}

/*
 * Take the oldest free command id, fill its context (*@reqp), return the SQ
 * slot to fill. (The mask is read once: stores to the uint16_t ring could
 * alias it.)
 */
static inline struct zdk_nvme_sqe *zdk_nvme_qpair_slot(struct zdk_nvme_qpair *qp, uint16_t *cidp,
						       struct zdk_nvme_req **reqp,
						       zdk_nvme_cb cb, void *arg)
{
	uint16_t cmask = qp->cid_mask;
	uint16_t cid = qp->free_cids[qp->free_head++ & cmask];
	struct zdk_nvme_req *req = &qp->reqs[cid & cmask];

	req->cb = cb;
	req->cb_arg = arg;
	req->epoch = qp->epoch;
	req->cid = cid;
	*cidp = cid;
	*reqp = req;
	return &qp->sq[qp->sq_tail];
}

/* Give @cid back, one generation on, behind every other free id (@cmask: cid_mask). */
static inline void zdk_nvme_qpair_cid_put(struct zdk_nvme_qpair *qp, uint16_t cid, uint16_t cmask)
{
	qp->free_cids[qp->free_tail++ & cmask] = (uint16_t)(cid + cmask + 1);
}

/* The doorbell pointers, which a reset on another thread may redirect. */
static inline volatile uint32_t *zdk_nvme_qpair_db(volatile uint32_t *const *db)
{
	return __atomic_load_n(db, __ATOMIC_RELAXED);
}

/*
 * Shadow doorbells (base spec, Doorbell Buffer Config): store @new in the
 * shadow slot; whether the MMIO doorbell must be written too, which is
 * when the controller's EventIdx (one page after the slot) lies in
 * [@old, @new): it has then stopped reading the slot at or before @old.
 * EventIdx is device-written: only compared, never used as an index.
 */
static inline bool zdk_nvme_shadow_update(volatile uint32_t *slot, uint16_t new_val, uint16_t old)
{
	uint16_t ei;

	*slot = new_val;
	/* The shadow store before the EventIdx load; the controller stores
	 * EventIdx before it reads the slot again (as Linux's nvme_dbbuf_*). */
	zdk_mb();
	ei = (uint16_t)slot[ZDK_NVME_PAGE_SIZE / 4];
	return (uint16_t)(new_val - ei - 1) < (uint16_t)(new_val - old);
}

/* Hand the SQ entries up to @tail to the controller: its tail doorbell. */
static inline void zdk_nvme_qpair_ring_sq(struct zdk_nvme_qpair *qp, uint16_t tail)
{
	volatile uint32_t *shadow = qp->sq_shadow;

	/* The SQE stores must be visible before the tail doorbell (base spec 3.7.1). */
	zdk_io_wmb();
	if (zdk_likely(shadow == NULL) || zdk_nvme_shadow_update(shadow, tail, qp->sq_rung))
		zdk_mmio_write32(zdk_nvme_qpair_db(&qp->sq_db), tail);
	qp->sq_rung = tail;
}

/* Report the CQ entries before @head consumed: its head doorbell. */
static inline void zdk_nvme_qpair_ring_cq(struct zdk_nvme_qpair *qp, uint16_t head)
{
	volatile uint32_t *shadow = qp->cq_shadow;

	/* Entries are consumed (loads done) before the controller may reuse them. */
	if (zdk_likely(shadow == NULL) || zdk_nvme_shadow_update(shadow, head, qp->cq_rung))
		zdk_mmio_write32(zdk_nvme_qpair_db(&qp->cq_db), head);
	qp->cq_rung = head;
}

/* Keep the command for a resubmission and hand the slot to the controller. */
static inline void zdk_nvme_qpair_push(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *sqe,
				       struct zdk_nvme_req *req)
{
	uint16_t tail = (uint16_t)((qp->sq_tail + 1) & qp->mask);

	req->sqe = *sqe;
	qp->sq_tail = tail;
	if (!qp->batch)
		zdk_nvme_qpair_ring_sq(qp, tail);
}

/**
 * zdk_nvme_qpair_rw() - submit a read or write of @nlb blocks at @lba.
 * @qp: the queue pair; @ns: the namespace; @opc: ZDK_NVME_OPC_READ or _WRITE.
 * @buf: data buffer of @nlb << @ns->lba_shift bytes (arena or zdk_dma_map()).
 * @lba: first block; @nlb: block count, at least 1. Above @ns->max_blocks
 *       (the controller's MDTS, or NLB's 65536) the driver splits the
 *       transfer into commands of @ns->max_blocks, all submitted now; @cb
 *       then runs once, after the last, with the first failure's status.
 * @cb: completion callback; @arg: its argument.
 *
 * The hot path: no argument checks beyond what keeps the queue sane and
 * the device inside the buffer (a NULL or unknown @buf is refused).
 * Return: 0, -EAGAIN when too few command ids are free (for a split, as
 * many as its commands), -EINVAL for a NULL @buf, -EFAULT for memory that
 * is not DMA memory, -ENOMEM, or as zdk_nvme_qpair_submit() for transfers
 * that span more than two pages.
 */
static inline __attribute__((always_inline)) int
zdk_nvme_qpair_rw(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns, uint8_t opc, void *buf,
		  uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	/* The SQE as four 16-byte stores, built in registers (GCC vectors, C and C++). */
	typedef uint64_t __attribute__((vector_size(16), may_alias)) zdk_nvme_sqe_part;
	uint64_t len = (uint64_t)nlb << ns->lba_shift;
	uintptr_t off = (uintptr_t)buf - zdk_mem_xlate.va_base, last = off + len - 1;
	const unsigned sh = zdk_mem_xlate.pg_shift;
	zdk_nvme_sqe_part *sq, *copy;
	uint64_t w0, iova, prp2 = 0;
	struct zdk_nvme_req *req;
	uint32_t cmask, cid, head;
	uint16_t tail, next;
	bool batch;

	/*
	 * Inline: one or two memory pages wholly inside the arena (a subtraction
	 * and a table load per page), and a free command id. Anything else
	 * (mapped memory, NULL, no blocks: len - 1 is then all ones, bigger
	 * transfers) is translated and checked out of line.
	 */
	if (zdk_unlikely(len - 1 >= 2 * ZDK_NVME_PAGE_SIZE - (off & (ZDK_NVME_PAGE_SIZE - 1)) ||
			 off >= zdk_mem_xlate.len || last >= zdk_mem_xlate.len ||
			 qp->free_head == qp->free_tail))
		return zdk_nvme_qpair_rw_slow(qp, ns, opc, buf, lba, nlb, cb, arg);
	iova = zdk_mem_xlate.pg_iova[off >> sh] + off - ((off >> sh) << sh);
	/*
	 * PRP2 is the second page when the buffer crosses one (base spec 4.1.1),
	 * translated on its own: it need not follow the first in IOVA space
	 * (no-IOMMU mode). The arena starts on a memory page, so an offset in
	 * it and its IOVA agree below 4 KiB.
	 */
	if ((off ^ last) >> ZDK_NVME_PAGE_SHIFT)
		prp2 = (zdk_mem_xlate.pg_iova[last >> sh] + last - ((last >> sh) << sh)) &
		       ~(uint64_t)(ZDK_NVME_PAGE_SIZE - 1);
	/* The oldest free command id and its context, as zdk_nvme_qpair_slot(). */
	cmask = qp->cid_mask;
	head = qp->free_head;
	qp->free_head = (uint16_t)(head + 1);
	cid = qp->free_cids[head & cmask];
	req = &qp->reqs[cid & cmask];
	req->cb = cb;
	req->cb_arg = arg;
	req->epoch = qp->epoch;
	req->cid = (uint16_t)cid;
	/* Read before the SQE stores, which may alias @qp. */
	tail = qp->sq_tail;
	next = (uint16_t)((tail + 1) & qp->mask);
	batch = qp->batch;
	qp->sq_tail = next;
	/*
	 * The SQE (base spec 4.2; NVM command set 3.3.4: SLBA in CDW10-11, NLB
	 * 0-based in CDW12, everything else 0), little endian, into the SQ slot
	 * and the cid's copy for a resubmission after a reset (the slot itself
	 * is reused once the tail comes round, maybe before the command ends).
	 */
	w0 = opc | cid << 16 | (uint64_t)ns->nsid << 32;
	{
		const zdk_nvme_sqe_part q0 = { w0, 0 },         /* CDW0, NSID, CDW2-3 */
			q1 = { 0, iova },                       /* MPTR, PRP1 */
			q2 = { prp2, lba },                     /* PRP2, CDW10-11 */
			q3 = { (uint32_t)(nlb - 1), 0 };        /* CDW12-15 */

		sq = (zdk_nvme_sqe_part *)&qp->sq[tail];
		copy = (zdk_nvme_sqe_part *)&req->sqe;
		sq[0] = copy[0] = q0;
		sq[1] = copy[1] = q1;
		sq[2] = copy[2] = q2;
		sq[3] = copy[3] = q3;
	}
	if (!batch)
		zdk_nvme_qpair_ring_sq(qp, next);
	return 0;
}

/** zdk_nvme_ns_read() - read @nlb blocks at @lba into @buf; see zdk_nvme_qpair_rw(). */
static inline int zdk_nvme_ns_read(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				   void *buf, uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	return zdk_nvme_qpair_rw(qp, ns, ZDK_NVME_OPC_READ, buf, lba, nlb, cb, arg);
}

/** zdk_nvme_ns_write() - write @nlb blocks at @lba from @buf; see zdk_nvme_qpair_rw(). */
static inline int zdk_nvme_ns_write(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				    void *buf, uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	return zdk_nvme_qpair_rw(qp, ns, ZDK_NVME_OPC_WRITE, buf, lba, nlb, cb, arg);
}

/**
 * zdk_nvme_qpair_flush() - ring the submission doorbell now (batch mode).
 * @qp: the queue pair.
 */
static inline void zdk_nvme_qpair_flush(struct zdk_nvme_qpair *qp)
{
	uint16_t tail = qp->sq_tail;

	if (tail != qp->sq_rung)
		zdk_nvme_qpair_ring_sq(qp, tail);
}

/**
 * zdk_nvme_qpair_poll() - reap completions and call their callbacks.
 * @qp: the queue pair (only from its owning thread).
 * @budget: most completions to reap; 0 means no limit.
 *
 * Rings the CQ head doorbell at most once, and in batch mode the SQ doorbell for
 * everything submitted since the last poll (callbacks included).
 * Return: the number of completions reaped.
 */
static inline uint32_t zdk_nvme_qpair_poll(struct zdk_nvme_qpair *qp, uint32_t budget)
{
	uint32_t head = qp->cq_head, n = 0, tick;

	for (;;) {
		struct zdk_nvme_cpl *cpl = &qp->cq[head];
		uint32_t status = *(volatile uint16_t *)&cpl->status, cid, cmask;
		struct zdk_nvme_req *req;
		zdk_nvme_cb cb;

		if ((status & 1) != qp->phase)
			break;
		/* Read the phase bit before the rest of the entry (base spec 4.6). */
		zdk_io_rmb();
		cid = cpl->cid;
		cmask = qp->cid_mask;
		req = &qp->reqs[cid & cmask];
		cb = req->cb;
		head = (head + 1) & qp->mask;
		qp->cq_head = (uint16_t)head;
		if (zdk_unlikely(head == 0))
			qp->phase ^= 1;
		n++;
		/*
		 * Only an outstanding cid, generation included, completes: an
		 * unknown, stale or duplicate one is dropped and counted (the tick
		 * logs it), never completed twice or taken for another command. A
		 * command aborted by a reset's queue deletion stays outstanding:
		 * the reconnect resubmits it. The SQ head is not used: the SQ never
		 * holds more than entries / 2 commands, so any value is ignored.
		 */
		if (zdk_likely(cb != NULL && req->cid == cid &&
			       (status & 0xfffe) != ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION))) {
			req->cb = NULL;
			zdk_nvme_qpair_cid_put(qp, (uint16_t)cid, (uint16_t)cmask);
			cb(req->cb_arg, cpl);
			/* The callback may have polled this qpair itself. */
			head = qp->cq_head;
		} else if (cb == NULL || req->cid != cid) {
			qp->ndropped++;
		}
		if (budget && n == budget)
			break;
	}
	/*
	 * At most entries / 2 commands are outstanding, so the controller cannot
	 * fill the CQ while fewer than entries / 4 consumed entries are not yet
	 * reported: the head doorbell (an MMIO exit) is rung only when the head
	 * has left the quarter of the queue it was last reported in.
	 */
	if (n) {
		qp->ncpl += n;
		if ((head ^ qp->cq_rung) & ~((uint32_t)qp->mask >> 2))
			zdk_nvme_qpair_ring_cq(qp, (uint16_t)head);
	}
	zdk_nvme_qpair_flush(qp);
	/*
	 * A reset on another thread stores 1 to make the owner look soon; a
	 * store lost between this load and store only delays that by a tick.
	 */
	tick = __atomic_load_n(&qp->tick, __ATOMIC_RELAXED) - 1;
	__atomic_store_n(&qp->tick, tick, __ATOMIC_RELAXED);
	if (zdk_unlikely(tick == 0))
		zdk_nvme_qpair_tick(qp);
	return n;
}

/* Controllers */

/**
 * zdk_nvme_ctrlr_attach() - open and bring up the controller at @bdf.
 * @bdf: PCI address, "dddd:bb:dd.f" or "bb:dd.f"; the device must be bound to
 *       vfio-pci (any NVMe class device, not only the ids the registry lists).
 * @ctrlr: set to the controller.
 *
 * Returns the controller zdk_eal_init() (or an earlier attach) brought up,
 * with one more reference. Every reference is dropped by
 * zdk_nvme_ctrlr_detach(); zdk_eal_cleanup() drops whatever is left.
 * Return: 0, -ENODEV (not an NVMe controller, or not found), -EBUSY, -EPERM,
 * -EACCES (see zdk_pci_device_open()), -ETIMEDOUT (controller never ready),
 * -ENOTSUP (4 KiB memory pages unsupported), -ENOMEM, -EIO (admin command
 * failed).
 */
ZDK_EXPORT int zdk_nvme_ctrlr_attach(const char *bdf, struct zdk_nvme_ctrlr **ctrlr);

/**
 * zdk_nvme_ctrlr_detach() - drop a reference from zdk_nvme_ctrlr_attach()
 * (or zdk_eal_init()'s probe); the last one shuts the controller down
 * (CC.SHN), frees it and closes the device. Every qpair must be freed first.
 * NULL is ignored.
 */
ZDK_EXPORT void zdk_nvme_ctrlr_detach(struct zdk_nvme_ctrlr *ctrlr);

/** zdk_nvme_ctrlr_next() - iterate the controllers that are up: NULL starts. */
ZDK_EXPORT struct zdk_nvme_ctrlr *zdk_nvme_ctrlr_next(struct zdk_nvme_ctrlr *prev);

/**
 * ZDK_NVME_STATUS_REMOVED - the status zdk completes a command with when its
 * controller was taken away (hot-unplug, unbind): the command may or may not
 * have reached the media. SCT 7 (vendor specific), SC 0xff: no controller
 * returns it through zdk.
 */
#define ZDK_NVME_STATUS_REMOVED ZDK_NVME_STATUS(7, 0xff)

/**
 * zdk_nvme_ctrlr_removed() - the kernel took the controller's device back
 * (ZDK_PCI_EVENT_REMOVE): every command fails with ZDK_NVME_STATUS_REMOVED;
 * detach it.
 */
ZDK_EXPORT bool zdk_nvme_ctrlr_removed(const struct zdk_nvme_ctrlr *ctrlr);

/** zdk_nvme_ctrlr_name() - the controller's name (its BDF). */
ZDK_EXPORT const char *zdk_nvme_ctrlr_name(const struct zdk_nvme_ctrlr *ctrlr);

/** zdk_nvme_ctrlr_data() - the Identify Controller data read at bring-up. */
ZDK_EXPORT const struct zdk_nvme_id_ctrlr *zdk_nvme_ctrlr_data(const struct zdk_nvme_ctrlr *ctrlr);

/** zdk_nvme_ctrlr_max_xfer() - the largest transfer in bytes (MDTS, capped at 4 MiB). */
ZDK_EXPORT uint32_t zdk_nvme_ctrlr_max_xfer(const struct zdk_nvme_ctrlr *ctrlr);

/** zdk_nvme_ctrlr_sgl_supported() - whether the controller accepts SGLs for I/O. */
ZDK_EXPORT bool zdk_nvme_ctrlr_sgl_supported(const struct zdk_nvme_ctrlr *ctrlr);

/**
 * zdk_nvme_ctrlr_reset() - disable and re-enable the controller.
 * @ctrlr: the controller.
 *
 * While the controller answers, its I/O queues are deleted first. Queue pairs
 * are recreated by their owning threads on their next polls and their
 * outstanding commands resubmitted; a command that had already timed out is
 * completed with ZDK_NVME_SC_ABORT_REQUESTED instead. If the controller
 * does not come back, every outstanding and later command completes with
 * ZDK_NVME_SC_ABORT_SQ_DELETION.
 *
 * Any thread may call it while the owners submit and poll: it shares with
 * them only atomics (the generation, each qpair's doorbell pointers and
 * tick) and the controller mutex, and each owner does its own part on its
 * next polls. An owner that loaded a doorbell pointer just before the
 * reset redirected it may ring that doorbell once more; it is rung before
 * the queue's deletion (the command is then aborted and resubmitted) or
 * reaches a deleted queue, which the controller reports as an invalid
 * doorbell write (base spec 5.2, asynchronous event) and otherwise ignores.
 * Return: 0, -ETIMEDOUT or -EIO.
 */
ZDK_EXPORT int zdk_nvme_ctrlr_reset(struct zdk_nvme_ctrlr *ctrlr);

/**
 * zdk_nvme_ctrlr_admin() - run one admin command synchronously.
 * @ctrlr: the controller.
 * @cmd: the command (cid and data pointer are filled in).
 * @buf: data buffer (arena or zdk_dma_map()ped) or NULL; @len: its length.
 * @cpl: set to the completion entry; may be NULL.
 *
 * Thread-safe (admin commands are serialised by a mutex).
 * Return: 0, -EIO when the command completed with an error status (see
 * @cpl), -ETIMEDOUT (the controller was then reset), -EINVAL, -ENOMEM.
 */
ZDK_EXPORT int zdk_nvme_ctrlr_admin(struct zdk_nvme_ctrlr *ctrlr, const struct zdk_nvme_sqe *cmd,
				    void *buf, size_t len, struct zdk_nvme_cpl *cpl);

/**
 * zdk_nvme_ctrlr_shadow_doorbell() - turn shadow doorbells on or off.
 * @ctrlr: the controller.
 * @on: true: give the controller a Shadow Doorbell and an EventIdx buffer
 *      (Doorbell Buffer Config, admin opcode 7Ch): queue pairs then store
 *      each new SQ tail and CQ head in host memory and write the MMIO
 *      doorbell only when the controller's EventIdx says it is not
 *      looking (an emulated controller saves a VM exit per doorbell).
 *      false: back to MMIO doorbells only, through a controller reset.
 *
 * Off by default. The buffers are per controller: call it before the
 * first zdk_nvme_qpair_alloc() (or after the last free). A controller
 * reset gives the buffers again; a live handover is refused while they are
 * on (zdk_handover_send() fails with -ENOTSUP: turn them off first).
 * Return: 0 (also when already in that state), -EBUSY (the controller has
 * an I/O qpair), -ENOTSUP (OACS bit 8 clear: no Doorbell Buffer Config;
 * or a doorbell stride the one-page buffer cannot hold), -ENOMEM, -EIO /
 * -ETIMEDOUT (the command or the reset failed).
 */
ZDK_EXPORT int zdk_nvme_ctrlr_shadow_doorbell(struct zdk_nvme_ctrlr *ctrlr, bool on);

/* Namespaces */

/** zdk_nvme_ns_get() - namespace @nsid if active, else NULL. */
ZDK_EXPORT const struct zdk_nvme_ns *zdk_nvme_ns_get(struct zdk_nvme_ctrlr *ctrlr, uint32_t nsid);

/** zdk_nvme_ns_next() - iterate active namespaces in nsid order: NULL starts. */
ZDK_EXPORT const struct zdk_nvme_ns *zdk_nvme_ns_next(struct zdk_nvme_ctrlr *ctrlr,
						      const struct zdk_nvme_ns *prev);

/** zdk_nvme_ns_flush() - submit a Flush. Return: as zdk_nvme_qpair_submit(). */
ZDK_EXPORT int zdk_nvme_ns_flush(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				 zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_ns_write_zeroes() - zero @nlb blocks at @lba (1..65536).
 * Return: as zdk_nvme_qpair_submit(), -ENOTSUP if the controller lacks it.
 */
ZDK_EXPORT int zdk_nvme_ns_write_zeroes(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
					uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_ns_deallocate() - Dataset Management, deallocate @nlb blocks at
 * @lba (TRIM). Return: as zdk_nvme_qpair_submit(), -ENOTSUP if the
 * controller lacks Dataset Management.
 */
ZDK_EXPORT int zdk_nvme_ns_deallocate(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				      uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_ns_readv() - vectored read; see zdk_nvme_qpair_submitv().
 * The iovec lengths must add up to @nlb blocks (else -EINVAL).
 */
ZDK_EXPORT int zdk_nvme_ns_readv(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				 const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
				 zdk_nvme_cb cb, void *arg);

/** zdk_nvme_ns_writev() - vectored write; see zdk_nvme_ns_readv(). */
ZDK_EXPORT int zdk_nvme_ns_writev(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				  const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
				  zdk_nvme_cb cb, void *arg);

/**
 * zdk_nvme_ns_rw_sync() - read or write and wait, for simple tools.
 * @write: true to write.
 *
 * Polls @qp until this command completes (split as zdk_nvme_qpair_rw()
 * says when it is larger than @ns->max_blocks); callbacks of other commands
 * on @qp run meanwhile. Return: 0, -EIO on an error status, or a
 * submission error.
 */
ZDK_EXPORT int zdk_nvme_ns_rw_sync(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
				   bool write, void *buf, uint64_t lba, uint32_t nlb);

/* Queue pairs */

struct zdk_nvme_qpair_opts {
	size_t size;         /* sizeof(struct zdk_nvme_qpair_opts), as the caller was built */
	uint32_t entries;    /* queue entries, a power of two; 0 = 256 (capped by CAP.MQES);
			      * at most entries / 2 commands are outstanding */
	uint32_t timeout_ms; /* per command; 0 = 30000, ZDK_NVME_TIMEOUT_NONE = never */
	bool batch;          /* ring the SQ doorbell in poll/flush, not per submit */
	bool prefer_sgl;     /* describe multi-page buffers with SGLs when supported */
	/* Added in 0.4, past the 24 bytes of the first layout: an older caller's
	 * size says it has none of these (they are 0 for it). */
	uint64_t flags;      /* ZDK_NVME_QPAIR_F_* */
};
#define ZDK_NVME_TIMEOUT_NONE UINT32_MAX
/*
 * The completion queue raises an MSI-X interrupt (its own vector) that
 * zdk_nvme_qpair_intr_fd() signals, so that an idle owner can sleep instead
 * of polling: see zdk_nvme_qpair_intr_enable() and zdk_idle.h.
 */
#define ZDK_NVME_QPAIR_F_INTR (1u << 0)

/**
 * zdk_nvme_qpair_alloc() - create an I/O queue pair for the calling thread.
 * @ctrlr: the controller.
 * @opts: options, or NULL for the defaults.
 * @qp: set to the queue pair.
 *
 * Return: 0, -ENOSPC (every I/O queue the controller granted is in use, or
 * with ZDK_NVME_QPAIR_F_INTR no MSI-X vector is left for it), -EINVAL (entries
 * not a power of two, or below 2; an unknown flag), -ENOTSUP (interrupts
 * asked of a controller without MSI-X), -ENOMEM, -EIO / -ETIMEDOUT (the
 * Create I/O CQ/SQ command failed).
 */
ZDK_EXPORT int zdk_nvme_qpair_alloc(struct zdk_nvme_ctrlr *ctrlr,
				    const struct zdk_nvme_qpair_opts *opts,
				    struct zdk_nvme_qpair **qp);

/**
 * zdk_nvme_qpair_free() - delete the queues and free the pair. Outstanding
 * commands are dropped without their callbacks: poll them out first.
 * If the controller fails to delete the queues it may still use them: their
 * memory (and queue id) is then kept, with a warning, until the next
 * controller reset or detach frees it. NULL is ignored.
 */
ZDK_EXPORT void zdk_nvme_qpair_free(struct zdk_nvme_qpair *qp);

/*
 * Interrupt mode (a qpair allocated with ZDK_NVME_QPAIR_F_INTR). The
 * controller raises the CQ's MSI-X vector for its completions, polled or
 * not, and zdk never reads the eventfd while the owner polls: no system call
 * on the busy path. When the owner has found nothing for a while
 * (zdk_idle.h), it calls zdk_nvme_qpair_intr_enable() and, if that returns
 * 0, sleeps until the eventfd is readable; after waking (or a timeout) it
 * calls zdk_nvme_qpair_intr_disable() and polls again. NVMe has no per-queue
 * interrupt mask for MSI-X, so "enabled" is a state of the owner, not of the
 * controller. Sleep with a timeout (100 ms is plenty): timeouts and the
 * recovery after a controller reset run from zdk_nvme_qpair_poll().
 */

/**
 * zdk_nvme_qpair_intr_fd() - the eventfd @qp's completion interrupt signals,
 * to wait on with epoll or poll() (EPOLLIN). It belongs to zdk: do not read
 * or close it; it stays valid until the qpair is freed.
 * Return: the descriptor, or -ENOTSUP (@qp was allocated without
 * ZDK_NVME_QPAIR_F_INTR).
 */
ZDK_EXPORT int zdk_nvme_qpair_intr_fd(const struct zdk_nvme_qpair *qp);

/**
 * zdk_nvme_qpair_intr_enable() - arm @qp before its owner sleeps: drain the
 * eventfd, tell the controller every completion consumed so far (the CQ head
 * doorbell: an MSI-X fires for entries the host has not acknowledged), then
 * look at the CQ once more, so that a completion posted before the arming is
 * never slept through.
 * @qp: the queue pair (only from its owning thread).
 *
 * Return: 0: nothing is waiting: sleep until the eventfd is readable;
 * -EAGAIN: a completion is there already, or the slow-path checks are due:
 * poll instead; -ENOTSUP: @qp has no interrupt.
 */
ZDK_EXPORT int zdk_nvme_qpair_intr_enable(struct zdk_nvme_qpair *qp);

/**
 * zdk_nvme_qpair_intr_disable() - the owner polls @qp again (after a wake-up
 * or a timeout). Completions keep signalling the eventfd, unread. A qpair
 * without interrupts is ignored.
 */
ZDK_EXPORT void zdk_nvme_qpair_intr_disable(struct zdk_nvme_qpair *qp);

/** zdk_nvme_qpair_outstanding() - commands submitted and not yet completed. */
static inline uint32_t zdk_nvme_qpair_outstanding(const struct zdk_nvme_qpair *qp)
{
	return (uint32_t)qp->cid_mask + 1 - zdk_nvme_qpair_nfree(qp);
}

/* Live handover (zdk_handover.h) */

/**
 * struct zdk_nvme_handover_ops - how a qpair's in-flight commands cross a
 * live handover: a callback is code and data of the old process, so each
 * command travels as a 64-bit tag that the new process completes.
 * @size: sizeof(struct zdk_nvme_handover_ops), as the caller was built.
 * @tag: old side, called by zdk_handover_send() for each command in flight
 *       with its callback and argument: a name for it that the new process
 *       understands (an index into the application's handed-over state, or
 *       an arena address, which keeps its value). Commands the process itself
 *       inherited keep their tags without a call.
 * @inherited: new side: runs from zdk_nvme_qpair_poll(), exactly once per
 *       inherited command, instead of its callback, with its tag and its
 *       completion (not to be kept). It may submit.
 * @ctx: the first argument of both.
 */
struct zdk_nvme_handover_ops {
	size_t size;
	uint64_t (*tag)(void *ctx, zdk_nvme_cb cb, void *cb_arg);
	void (*inherited)(void *ctx, uint64_t tag, const struct zdk_nvme_cpl *cpl);
	void *ctx;
};

/**
 * zdk_nvme_qpair_handover_set() - the old process: how @qp's in-flight
 * commands are tagged when it hands over (only @ops->tag is used).
 * Return: 0, -EINVAL (bad @ops->size).
 */
ZDK_EXPORT int zdk_nvme_qpair_handover_set(struct zdk_nvme_qpair *qp,
					   const struct zdk_nvme_handover_ops *ops);

/**
 * zdk_nvme_qpair_inherit() - the new process: take the qpair with queue id
 * @qid that the old process handed over, with its commands in flight,
 * command ids and queue positions as they were (no queue is created).
 * @ctrlr: a controller taken over (zdk_nvme_ctrlr_next() lists them).
 * @qid: zdk_nvme_qpair_id() of the qpair in the old process.
 * @ops: @ops->inherited completes the inherited commands (needed when any
 *       is in flight).
 * @qp: set to the qpair, owned by the calling thread from now on.
 *
 * Claim every inherited qpair that has commands in flight before
 * zdk_handover_commit(); idle ones left unclaimed are freed then.
 * Return: 0, -ENOENT (no such inherited qpair, or claimed already),
 * -EINVAL (commands in flight and no @ops->inherited, or bad @ops->size).
 */
ZDK_EXPORT int zdk_nvme_qpair_inherit(struct zdk_nvme_ctrlr *ctrlr, uint16_t qid,
				      const struct zdk_nvme_handover_ops *ops,
				      struct zdk_nvme_qpair **qp);

/** zdk_nvme_qpair_id() - the I/O queue id of @qp (1..). */
ZDK_EXPORT uint16_t zdk_nvme_qpair_id(const struct zdk_nvme_qpair *qp);

/**
 * struct zdk_nvme_ctrlr_counters - what a controller went through, kept
 * across live handovers, and its admin queue as the controller sees it.
 * @size: sizeof(struct zdk_nvme_ctrlr_counters), as the caller was built.
 * @enables: CC.EN set by zdk (bring-up, then one per reset).
 * @resets: controller resets.
 * @handovers: live takeovers by a new process.
 * @cc, @csts: the registers, read now.
 * @asq, @acq: the admin queue addresses in the registers, read now.
 * @admin_sq_iova, @admin_cq_iova: the admin queue zdk set up.
 */
struct zdk_nvme_ctrlr_counters {
	size_t size;
	uint64_t enables;
	uint64_t resets;
	uint64_t handovers;
	uint32_t cc;
	uint32_t csts;
	uint64_t asq;
	uint64_t acq;
	uint64_t admin_sq_iova;
	uint64_t admin_cq_iova;
};

/**
 * zdk_nvme_ctrlr_counters_get() - @ctrlr's counters and admin queue.
 * Return: 0, -EINVAL (bad @cnt->size).
 */
ZDK_EXPORT int zdk_nvme_ctrlr_counters_get(struct zdk_nvme_ctrlr *ctrlr,
					   struct zdk_nvme_ctrlr_counters *cnt);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_NVME_H */
