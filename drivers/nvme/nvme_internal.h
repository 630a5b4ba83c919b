/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_internal.h - state shared by the NVMe driver's files; not installed.
 */
#ifndef NVME_INTERNAL_H
#define NVME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "zdk_nvme.h"

struct zdk_pci_device;

#define NVME_ADMIN_ENTRIES 32
#define NVME_IO_ENTRIES_DEFAULT 256
#define NVME_MAX_IO_QUEUES 64
#define NVME_MAX_XFER (4u << 20)       /* cap on MDTS: bounds the PRP list pages */
#define NVME_IO_TIMEOUT_MS_DEFAULT 30000
#define NVME_ADMIN_TIMEOUT_MS 10000
#define NVME_SHUTDOWN_TIMEOUT_MS 5000   /* at least, as Linux's nvme shutdown_timeout */
#define NVME_SHUTDOWN_TIMEOUT_MAX_MS 60000 /* at most, whatever RTD3E says (Linux too) */
#define NVME_TICK_POLLS 4096           /* polls between two slow-path checks */
#define NVME_CSTS_CHECK_MS 10          /* fastest CSTS.CFS check when stuck */
#define NVME_MAX_IOV 256               /* SGL descriptors in one list page */
#define NVME_MAX_NS 1024               /* nsids in one active namespace list page */
#define NVME_INTR_TICK_MS 100          /* a sleeping qpair's slow-path checks, at least */

/* zdk_nvme_req.flags, set and cleared within the slow paths */
#define NVME_REQ_FAIL (1u << 0)        /* to be completed by the driver with req->status */
/* zdk_nvme_req.epoch: the low bit marks a command that timed out once and was aborted */
#define NVME_REQ_ABORTED 1u

/*
 * The seams the unit tests replace before including the .c files: how the
 * driver waits (the fake controller runs there) and where time comes from.
 */
#ifndef NVME_IDLE
#define NVME_IDLE(ctrlr, us) nvme_idle_default(us)
#endif
#ifndef NVME_TSC
#define NVME_TSC() zdk_rdtsc()
#endif

/* A queue pair as the driver sees it: the public part first. */
struct nvme_qpair {
	struct zdk_nvme_qpair qp;
	uint16_t qid;
	uint32_t entries;
	uint64_t sq_iova;
	uint64_t cq_iova;
	uint32_t gen;            /* controller generation the queues belong to */
	uint64_t timeout_tsc;    /* 0: no timeouts */
	uint64_t epoch_start;
	uint64_t last_ncpl;
	uint64_t last_csts_tsc;
	uint32_t list_pages;     /* PRP/SGL list pages per command id */
	void *list_pool;
	uint64_t list_pool_iova;
	bool prefer_sgl;
	bool dropped_logged;     /* qp.ndropped was logged */
	/* interrupt mode (ZDK_NVME_QPAIR_F_INTR): the CQ's MSI-X vector and its eventfd */
	bool intr;
	uint16_t iv;
	int efd;
	uint64_t last_tick_tsc;  /* when zdk_nvme_qpair_tick() last ran */
	bool live;               /* the controller may have its queues: never free them */
	struct nvme_qpair *next; /* in ctrlr->qpairs or ctrlr->zombies */
	/* live handover (nvme_handover.c) */
	struct zdk_nvme_handover_ops ho;    /* tag (old side), inherited (new side) */
	struct nvme_inherited *inherited;   /* per command id: an inherited command's tag */
	bool unclaimed;          /* taken over, not zdk_nvme_qpair_inherit()ed yet */
};

/* The callback argument of a command inherited from another process. */
struct nvme_inherited {
	struct nvme_qpair *q;
	uint64_t tag;
};

struct zdk_nvme_ctrlr {
	char name[32];
	volatile uint8_t *regs;
	size_t regs_len;
	uint64_t cap;
	uint32_t db_stride;      /* bytes between doorbells: 4 << CAP.DSTRD */
	uint16_t max_qid;        /* the highest I/O queue whose doorbells BAR0 holds */
	uint32_t ready_timeout_ms; /* CAP.TO */
	uint32_t admin_timeout_ms;
	pthread_mutex_t lock;    /* admin queue, qid allocation, reset */
	_Atomic uint32_t gen;    /* bumped by every reset */
	bool failed;             /* the last reset did not bring it back: nvme_ctrlr_failed() */
	bool removed;            /* the kernel took the device back: failed too (atomic) */
	bool in_reset;
	struct nvme_qpair admin;
	void *scratch;           /* 4 KiB DMA buffer for admin data */
	uint64_t scratch_iova;
	struct zdk_nvme_id_ctrlr id;
	uint32_t max_xfer;
	bool sgl;
	uint16_t nr_io_queues;   /* granted by Set Features */
	uint8_t qid_used[NVME_MAX_IO_QUEUES + 1];
	struct nvme_qpair *qpairs;
	struct nvme_qpair *zombies; /* freed, but their queues could not be deleted */
	uint32_t nn;             /* Identify NN: the highest nsid (any u32) */
	struct zdk_nvme_ns *ns;  /* nr_ns entries from the active list, by nsid */
	uint32_t nr_ns;
	uint32_t db_sink[2];     /* doorbells of qpairs whose queues a reset deleted */
	/* Shadow doorbells (Doorbell Buffer Config): two pages, the Shadow
	 * Doorbell buffer then the EventIdx buffer, slots as the MMIO doorbells
	 * (queue y's SQ tail at 2y * stride, CQ head at (2y + 1) * stride). */
	volatile uint32_t *dbbuf;
	uint64_t dbbuf_iova;
	bool dbbuf_on;           /* the controller has them (given again after each reset) */
	struct zdk_pci_device *pci;
	/* MSI-X for interrupt-mode qpairs (nvme_pci.c), set up with the first:
	 * vector v signals irq_efds[v]; qpair qid uses vector qid (0 is the
	 * admin queue's, which never interrupts). */
	int *irq_efds;
	uint16_t nr_vectors;
	unsigned refs;           /* probe's and each attach's (nvme_pci.c) */
	struct zdk_nvme_ctrlr *next;
	uint64_t nr_enables;     /* CC.EN set: bring-up and each reset */
	uint64_t nr_resets;
	uint64_t nr_handovers;   /* live takeovers by a new process */
	/* Handed over to another process, or a takeover that did not happen:
	 * inert, never to touch the device; freed with its last qpair and ref. */
	bool handed_over;
};

static inline struct nvme_qpair *nvme_qpair(struct zdk_nvme_qpair *qp)
{
	return (struct nvme_qpair *)qp;
}

static inline uint32_t nvme_reg_read32(struct zdk_nvme_ctrlr *c, uint32_t off)
{
	return zdk_mmio_read32(c->regs + off);
}

static inline void nvme_reg_write32(struct zdk_nvme_ctrlr *c, uint32_t off, uint32_t v)
{
	zdk_mmio_write32(c->regs + off, v);
}

/* 64-bit registers as two 32-bit accesses, low first (base spec 3.1.2). */
static inline uint64_t nvme_reg_read64(struct zdk_nvme_ctrlr *c, uint32_t off)
{
	uint64_t lo = nvme_reg_read32(c, off);

	return lo | (uint64_t)nvme_reg_read32(c, off + 4) << 32;
}

static inline void nvme_reg_write64(struct zdk_nvme_ctrlr *c, uint32_t off, uint64_t v)
{
	nvme_reg_write32(c, off, (uint32_t)v);
	nvme_reg_write32(c, off + 4, (uint32_t)(v >> 32));
}

/*
 * A reset may run on any thread while owners poll their qpairs. What it
 * shares with them goes through atomics, never plain loads and stores:
 * c->gen (seq_cst), c->failed (release/acquire: an owner that sees it set
 * fails its commands back), each qpair's tick (relaxed: a reset stores 1 so
 * the owner looks soon) and doorbell pointers (relaxed: redirected to a
 * sink, the owner writes whichever it loads). Everything else of a qpair
 * is touched by its owner only, or under c->lock by reconnect().
 */
static inline bool nvme_ctrlr_failed(const struct zdk_nvme_ctrlr *c)
{
	return __atomic_load_n(&c->failed, __ATOMIC_ACQUIRE);
}

static inline void nvme_ctrlr_set_failed(struct zdk_nvme_ctrlr *c, bool failed)
{
	__atomic_store_n(&c->failed, failed, __ATOMIC_RELEASE);
}

static inline uint64_t nvme_ms_to_tsc(uint64_t ms)
{
	return ms * zdk_tsc_hz() / 1000;
}

void nvme_idle_default(unsigned us);

/* nvme_ctrlr.c */
int nvme_ctrlr_create(void *bar, size_t bar_len, const char *name, struct zdk_nvme_ctrlr **out);
void nvme_ctrlr_destroy(struct zdk_nvme_ctrlr *c);
int nvme_ctrlr_reset_locked(struct zdk_nvme_ctrlr *c);
int nvme_ctrlr_reset_if(struct zdk_nvme_ctrlr *c, uint32_t seen_gen);
int nvme_admin_locked(struct zdk_nvme_ctrlr *c, const struct zdk_nvme_sqe *cmd, void *buf,
		      size_t len, struct zdk_nvme_cpl *cpl);

/* The shadow slot (in 32-bit words) of doorbell @idx: 2 qid for the SQ, 2 qid + 1 the CQ. */
static inline uint32_t nvme_dbbuf_slot(const struct zdk_nvme_ctrlr *c, uint32_t idx)
{
	return idx * (c->db_stride / 4);
}

/* nvme_qpair.c */
int nvme_qpair_init(struct nvme_qpair *q, struct zdk_nvme_ctrlr *c, uint16_t qid, uint32_t entries);
void nvme_qpair_fini(struct nvme_qpair *q);
void nvme_qpair_ring_reset(struct nvme_qpair *q);
void nvme_qpair_doorbells(struct nvme_qpair *q, bool live);
uint32_t nvme_list_pages(uint32_t max_xfer);
void nvme_qpair_note_dropped(struct nvme_qpair *q);
int nvme_qpair_delete_locked(struct nvme_qpair *q);
void nvme_qpairs_quiesced_locked(struct zdk_nvme_ctrlr *c);
int nvme_qpair_submit_data(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
			   const struct iovec *iov, int iovcnt, zdk_nvme_cb cb, void *arg);
int nvme_qpair_submit_copy(struct zdk_nvme_qpair *qp, const struct zdk_nvme_sqe *cmd,
			   const void *data, size_t len, zdk_nvme_cb cb, void *arg);

/* nvme_pci.c */
void nvme_ctrlr_list_add(struct zdk_nvme_ctrlr *c);
void nvme_ctrlr_list_del(struct zdk_nvme_ctrlr *c);
/* Make @dev's driver the NVMe one with @c (a takeover), or undo it. */
void nvme_pci_bind(struct zdk_pci_device *dev, struct zdk_nvme_ctrlr *c);
void nvme_pci_unbind(struct zdk_nvme_ctrlr *c);
/* MSI-X vector @qid for an interrupt-mode qpair (enabling MSI-X the first
 * time), under c->lock: its eventfd, or -ENOTSUP / -ENOSPC / -errno. */
int nvme_pci_irq_get_locked(struct zdk_nvme_ctrlr *c, uint16_t qid);

/* Driver callbacks no tag can name: split I/O, synchronous commands. */
bool nvme_ns_cb_internal(zdk_nvme_cb cb);
bool nvme_ctrlr_cb_internal(zdk_nvme_cb cb);

/*
 * An inert controller (handed over, or a takeover that did not happen)
 * drops a reference (nvme_pci.c), or one of its qpairs goes (nvme_qpair.c):
 * host memory only, and the controller with the last of both.
 */
void nvme_ctrlr_inert_put(struct zdk_nvme_ctrlr *c);
void nvme_qpair_inert_drop(struct nvme_qpair *q);

/* nvme_handover.c */
/* The section's body: export (old side), parse one controller, import. */
struct hwriter;
struct hreader;
int nvme_ho_export(struct hwriter *w, bool live);
int nvme_ho_parse(struct hreader *r, struct zdk_nvme_ctrlr **c);
int nvme_ho_import(const void *p, size_t len);
void nvme_ho_release(void);

#endif /* NVME_INTERNAL_H */
