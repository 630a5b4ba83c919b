/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_net.h - the virtio-net port's queues and device, shared by
 * virtio_net.c (the port and its data path) and virtio_intr.c (receive
 * interrupts). Private to drivers/net/virtio.
 */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "zdk_eth_driver.h"
#include "zdk_mbuf.h"
#include "virtio_pci.h"
#include "virtqueue.h"

#define VNET_MAX_RXQ 1 /* one queue pair */

struct vnet_rxq {
	struct virtq vq;
	struct zdk_mempool *mp;
	uint64_t rearm;     /* rearm_data of a fresh mbuf of this port */
	uint16_t buf_len;   /* of the pool's mbufs, headroom included */
	uint32_t data_room; /* buf_len - headroom: the longest frame */
	uint64_t packets, bytes, errors, nombuf;
	uint16_t id;
} __zdk_cache_aligned;

/* A tx packet sent as a chain: what its head descriptor's cookie points to. */
struct vnet_tx_chain {
	struct zdk_mbuf *m;
	uint16_t tail; /* the data descriptor */
};
#define VNET_TX_CHAIN_TAG 2 /* in a head's cookie: a struct vnet_tx_chain, not an mbuf */

struct vnet_txq {
	struct virtq vq;
	uint64_t packets, bytes;
	uint16_t id;
	uint16_t foreign;             /* in order: mbufs in flight not from pool */
	struct zdk_mempool *pool;     /* of the first mbuf sent: reclaimed in bulk to it */
	struct vnet_tx_chain *chains; /* per head descriptor id */
	void *hdr;                    /* DMA: the zero header chains point to */
	uint64_t hdr_iova;
} __zdk_cache_aligned;

struct vnet_ctrl {
	uint8_t class;
	uint8_t cmd;
	uint8_t data;
	uint8_t ack;
};

struct vnet_dev {
	struct virtio_pci vp;
	struct zdk_eth_dev *eth;
	struct zdk_ether_addr mac;
	uint16_t rxq_max, txq_max;
	bool has_ctrl;            /* CTRL_VQ and CTRL_RX negotiated */
	struct virtq cvq;
	struct vnet_ctrl *ctrl;   /* DMA memory: one command per slot */
	uint64_t ctrl_iova;
	unsigned ctrl_slots;      /* at most VNET_CTRL_SLOTS, 3 descriptors each */
	unsigned ctrl_busy;       /* slots the device has not returned, one bit each */
	uint64_t ctrl_timeout_ns; /* how long a command waits for its ack */

	/* Receive interrupts (virtio_intr.c): MSI-X vector 1 + q for rx queue q. */
	uint16_t msix_table;      /* the device's MSI-X table size; 0: none */
	uint16_t nr_vectors;      /* enabled through VFIO; 0: not set up */
	int efd[1 + VNET_MAX_RXQ];
};

/* virtio_intr.c */
extern const struct zdk_eth_intr_ops vnet_intr_ops;
void vnet_intr_probe(struct vnet_dev *vd);
uint16_t vnet_intr_rx_vector(const struct vnet_dev *vd, uint16_t q);
void vnet_intr_teardown(struct vnet_dev *vd);

#endif /* VIRTIO_NET_H */
