/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_nvme.h - a software NVMe controller for host unit tests: BAR0 is
 * plain memory, fake_nvme_run() plays the controller once (register
 * handshakes, doorbells, SQ entries executed against RAM disks, CQ entries
 * posted with the phase bit), and knobs inject faults.
 */
#ifndef FAKE_NVME_H
#define FAKE_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "zdk_nvme_spec.h"

/* The test memory layer maps VA to IOVA = VA - 4096 + this offset. */
#define FAKE_IOVA_OFFSET 0x10000000000000ULL
/* ... and zdk_dma_map()ped pages to "physical" frames from here on. */
#define FAKE_PHYS_BASE 0x10000000000ULL
#define FAKE_BAR_SIZE 0x4000
#define FAKE_MAXQ 16
#define FAKE_NS_BLOCKS_512 (16384)  /* 8 MiB */
#define FAKE_NS_BLOCKS_4K (2048)    /* 8 MiB */

#define FAKE_MAX_VECTORS 32

struct fake_queue {
	uint64_t iova;
	uint32_t size;
	uint32_t head;   /* SQ: next entry to fetch; CQ: last head doorbell */
	uint32_t tail;   /* CQ: next entry to post */
	uint16_t cqid;   /* SQ: its CQ */
	uint16_t iv;     /* CQ: its MSI-X vector, with ien */
	uint8_t phase;   /* CQ */
	bool ien;        /* CQ: interrupts enabled (Create I/O CQ, IEN) */
	bool valid;
};

struct fake_held {
	uint16_t sqid;
	struct zdk_nvme_sqe sqe;
};

struct fake_nvme {
	uint8_t bar[FAKE_BAR_SIZE] __attribute__((aligned(4096)));
	uint32_t dstrd;
	bool enabled;
	struct fake_queue sq[FAKE_MAXQ], cq[FAKE_MAXQ];
	uint8_t *disk[2];
	uint32_t lba_shift[2];
	uint64_t nblocks[2];
	/* identity and capabilities */
	uint8_t mdts;
	uint32_t sgls;
	uint16_t mqes;
	/* fault injection */
	int swallow;           /* drop this many next I/O commands (kept in held[]) */
	uint16_t fail_status;  /* complete the next I/O command with this status */
	int cfs_after;         /* raise CSTS.CFS after this many more I/O commands; -1 never */
	bool abort_works;      /* Abort completes a swallowed command */
	bool never_ready;      /* CC.EN never gives CSTS.RDY */
	bool hold;             /* fetch nothing (a slow controller) */
	bool io_hold;          /* fetch from the admin queue only */
	bool reverse;          /* complete each run's I/O in reverse order */
	int dup_next;          /* post the next I/O completion twice */
	int dup_late;          /* ... and again at the start of the next run */
	bool fail_delete;      /* Delete SQ/CQ fail; the queues stay */
	uint32_t rtd3e;        /* Identify RTD3E, microseconds */
	uint64_t shutdown_ns;  /* a shutdown takes this long (CSTS.SHST 01 meanwhile) */
	uint32_t nn;           /* Identify NN */
	/*
	 * Doorbell Buffer Config as QEMU's controller does it: once configured
	 * an I/O queue's tail and head are read from the shadow slots and
	 * EventIdx is written back; an I/O SQ is fetched from only after an
	 * MMIO doorbell write (a kick) and until it has caught up with the
	 * slot. The admin queue keeps MMIO doorbells (copied into its slots).
	 * MMIO doorbell writes of I/O queues are seen by a sentinel the fake
	 * leaves in the register, and counted.
	 */
	bool no_dbbc;          /* OACS bit 8 clear */
	bool dbbuf;            /* configured (a reset clears it) */
	uint64_t dbs_iova, eis_iova;
	bool kicked[FAKE_MAXQ];
	uint32_t nr_dbbc, nr_db_mmio, nr_shadow_stale;
	/*
	 * Hostile mode: a byte stream decides how the controller misbehaves
	 * (see fake_nvme.c, evil_*): mangled completion entries, Identify
	 * fields, register values. Exhausted: it behaves.
	 */
	const uint8_t *evil;
	size_t evil_len, evil_pos;
	bool evil_admin;       /* mangle admin completions too */
	/* what it saw */
	struct fake_held held[64];
	int nheld;
	uint32_t nr_io, nr_admin, nr_abort, nr_sgl, nr_chain, nr_resets, nr_shutdown, nr_bad_db;
	uint32_t nr_cq_full, nr_unsafe_shutdown, nr_delete_failed;
	uint32_t nr_enables;          /* CC.EN 0 -> 1 taken */
	uint64_t shutdown_done_ns;    /* when the shutdown in progress completes */
	struct zdk_nvme_cpl late;     /* the entry dup_late posts again */
	uint16_t late_sqid;
	bool late_pending;
	uint16_t last_sqe_flags;
	uint64_t last_prp2;
	/* MSI-X (test_env.c's zdk_pci_irq_enable() sets them): an entry posted
	 * to a CQ with IEN writes its vector's eventfd, as QEMU's controller
	 * signals while the CQ holds entries the host has not acknowledged
	 * (head doorbell != tail) */
	int irq_efd[FAKE_MAX_VECTORS];
	unsigned nr_vectors;
	uint32_t nr_irqs;             /* interrupts signalled */
	bool irq_edge;                /* signal only when the CQ was acknowledged empty */
};

void fake_nvme_init(struct fake_nvme *f);
void fake_nvme_fini(struct fake_nvme *f);
void fake_nvme_run(struct fake_nvme *f);
/* The disk bytes of @nsid at @lba. */
uint8_t *fake_nvme_disk(struct fake_nvme *f, uint32_t nsid, uint64_t lba);
/* Rewrite CAP (after changing mqes/dstrd). */
void fake_nvme_set_cap(struct fake_nvme *f, uint64_t cap);

/* Provided by the test's memory layer (test_env.c). */
/* Host memory behind [@iova, @iova + @len) if it is one piece, else NULL. */
void *fake_dma_va(uint64_t iova, uint64_t len);
uint64_t fake_now_ns(void);

#endif /* FAKE_NVME_H */
