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
#define FAKE_BAR_SIZE 0x4000
#define FAKE_MAXQ 16
#define FAKE_NS_BLOCKS_512 (16384)  /* 8 MiB */
#define FAKE_NS_BLOCKS_4K (2048)    /* 8 MiB */

struct fake_queue {
	uint64_t iova;
	uint32_t size;
	uint32_t head;   /* SQ: next entry to fetch; CQ: last head doorbell */
	uint32_t tail;   /* CQ: next entry to post */
	uint16_t cqid;   /* SQ: its CQ */
	uint8_t phase;   /* CQ */
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
	bool reverse;          /* complete each run's I/O in reverse order */
	int dup_next;          /* post the next I/O completion twice */
	/* what it saw */
	struct fake_held held[64];
	int nheld;
	uint32_t nr_io, nr_admin, nr_abort, nr_sgl, nr_chain, nr_resets, nr_shutdown, nr_bad_db;
	uint32_t nr_cq_full;
	uint16_t last_sqe_flags;
	uint64_t last_prp2;
};

void fake_nvme_init(struct fake_nvme *f);
void fake_nvme_fini(struct fake_nvme *f);
void fake_nvme_run(struct fake_nvme *f);
/* The disk bytes of @nsid at @lba. */
uint8_t *fake_nvme_disk(struct fake_nvme *f, uint32_t nsid, uint64_t lba);

#endif /* FAKE_NVME_H */
