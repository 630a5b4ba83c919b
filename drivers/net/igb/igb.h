/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb.h - the igb driver's private state, shared by its control path
 * (igb.c) and data path (igb_rxtx.c).
 */
#ifndef IGB_H
#define IGB_H

#include <stdbool.h>
#include <stdint.h>
#include "igb_regs.h"
#include "zdk_eth_driver.h"
#include "zdk_mbuf.h"

#define IGB_NB_QUEUES 8       /* RSS spreads over up to 8 queues on the 82576 */
#define IGB_MIN_DESC 64
#define IGB_MAX_DESC 4096
#define IGB_DESC_ALIGN 32     /* ring sizes: multiples of the RS/refill batch */
/* Ring sizes need not be powers of two (64..4096 in steps of 32): indices
 * wrap by compare-and-subtract, never by a mask; the refill and RS batches
 * never straddle the ring end because every size is a batch multiple. */
#define IGB_TX_RS_THRESH 32   /* RS (report status) on every 32nd descriptor */
#define IGB_RX_FREE_THRESH 32 /* give buffers back in batches of 32 */

struct igb_rx_queue {
	union igb_rx_desc *ring;
	struct zdk_mbuf **sw_ring;   /* the mbuf behind each descriptor */
	volatile uint32_t *rdt;      /* tail register */
	struct zdk_mempool *mp;
	uint64_t rearm;              /* mbuf rearm_data for this queue */
	uint64_t iova_delta;         /* mbuf address -> its packet's IOVA (rx_refill) */
	uint64_t ol_flags;           /* ZDK_MBUF_F_RX_RSS_HASH with RSS */
	uint16_t nb_desc;
	uint16_t next;               /* next descriptor to look at */
	uint16_t nb_hold;            /* consumed, waiting for new buffers */
	uint16_t refill;             /* the oldest of them: the next refill batch */
	uint16_t max_len;            /* SRRCTL buffer size: longer write-backs are bad */
	uint16_t port;
	uint16_t qid;
	bool discard;                /* in a frame without EOP: drop up to its EOP */
	uint64_t packets;
	uint64_t bytes;
	uint64_t nombuf;
	uint64_t errors;             /* descriptors dropped: length, no EOP, RXE */
	uint64_t ring_iova;
} __zdk_cache_aligned;

struct igb_tx_queue {
	union igb_tx_desc *ring;
	struct zdk_mbuf **sw_ring;   /* the mbuf of each in-flight descriptor */
	volatile uint32_t *tdt;      /* tail register */
	uint16_t nb_desc;
	uint16_t tail;               /* next descriptor to fill */
	uint16_t nb_free;            /* descriptors we may fill */
	uint16_t next_dd;            /* the RS descriptor that ends the oldest batch */
	uint16_t qid;
	uint64_t packets;
	uint64_t bytes;
	uint64_t ring_iova;
} __zdk_cache_aligned;

/* The counters read from the clear-on-read registers, accumulated. */
struct igb_hw_stats {
	uint64_t gprc, gptc, gorc, gotc, mpc, rnbc, crcerrs, rlec, rxerrc;
	uint64_t rqdpc[IGB_NB_QUEUES];
};

struct igb_dev {
	struct zdk_eth_dev *eth;
	struct zdk_pci_device *pci;
	uint8_t *bar;                /* BAR 0: the registers */
	struct igb_hw_stats hw;
	struct igb_hw_stats base;    /* at the last stats reset */
	/* receive interrupts (igb_intr.c): MSI-X vector q for rx queue q */
	int efd[IGB_NB_QUEUES];
	uint16_t nr_vectors;         /* 0: not set up */
};

/*
 * Register access. The host unit tests build with IGB_FAKE_MMIO to route
 * control-path accesses to a software model of the device; the burst
 * functions write the tail registers directly.
 */
#ifdef IGB_FAKE_MMIO
uint32_t igb_fake_read(struct igb_dev *igb, uint32_t reg);
void igb_fake_write(struct igb_dev *igb, uint32_t reg, uint32_t val);
#define igb_read igb_fake_read
#define igb_write igb_fake_write
#else
static inline uint32_t igb_read(struct igb_dev *igb, uint32_t reg)
{
	return zdk_mmio_read32(igb->bar + reg);
}

static inline void igb_write(struct igb_dev *igb, uint32_t reg, uint32_t val)
{
	zdk_mmio_write32(igb->bar + reg, val);
}
#endif

/* igb_rxtx.c */
int igb_rx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket,
		       struct zdk_mempool *mp);
int igb_tx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket);
void igb_rx_queue_release(struct zdk_eth_dev *dev, uint16_t q);
void igb_tx_queue_release(struct zdk_eth_dev *dev, uint16_t q);
int igb_rx_queue_start(struct igb_dev *igb, struct igb_rx_queue *rxq);
int igb_tx_queue_start(struct igb_dev *igb, struct igb_tx_queue *txq);
void igb_rx_queue_stop(struct igb_dev *igb, struct igb_rx_queue *rxq);
void igb_tx_queue_stop(struct igb_dev *igb, struct igb_tx_queue *txq);
uint16_t igb_rx_burst(void *rxq, struct zdk_mbuf **pkts, uint16_t n);
uint16_t igb_tx_burst(void *txq, struct zdk_mbuf **pkts, uint16_t n);
/* Whether the device has written back the descriptor rx_burst looks at next. */
bool igb_rx_queue_pending(const struct igb_rx_queue *rxq);

/* igb_intr.c */
extern const struct zdk_eth_intr_ops igb_intr_ops;
/* Mask every queue interrupt (stop). */
void igb_intr_mask_all(struct igb_dev *igb);
/* Undo the vectors and their programming (configure, close, remove). */
void igb_intr_teardown(struct igb_dev *igb);

#endif /* IGB_H */
