/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_virtio.h - a software virtio-net PCI device for host unit tests.
 *
 * It has a PCI config space with the virtio vendor capabilities, a BAR with
 * the common configuration (emulated register by register behind the
 * driver's MMIO accessors), ISR, device configuration and notify areas, and
 * plays the device side of split virtqueues in memory when the test asks:
 * it consumes transmit buffers, fills receive buffers, posts used entries.
 * Written from the virtio 1.1 spec, independently of the driver's headers.
 * Every protocol violation it notices is counted in proto_errors, every
 * access outside DMA memory in dma_faults; tests assert both stay 0.
 */
#ifndef FAKE_VIRTIO_H
#define FAKE_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdk_pci.h"

#define FAKE_NQ 3           /* receiveq1, transmitq1, controlq */
#define FAKE_RXQ 0
#define FAKE_TXQ 1
#define FAKE_CTRLQ 2
#define FAKE_BAR 4
#define FAKE_HDR_LEN 12
#define FAKE_NO_VECTOR 0xffff
#define FAKE_MAX_VECTORS 8

/* Feature bits the fake knows by name. */
#define FAKE_F_MAC (1ULL << 5)
#define FAKE_F_GUEST_TSO4 (1ULL << 7)
#define FAKE_F_MRG_RXBUF (1ULL << 15)
#define FAKE_F_STATUS (1ULL << 16)
#define FAKE_F_CTRL_VQ (1ULL << 17)
#define FAKE_F_CTRL_RX (1ULL << 18)
#define FAKE_F_EVENT_IDX (1ULL << 29)
#define FAKE_F_VERSION_1 (1ULL << 32)
#define FAKE_F_ACCESS_PLATFORM (1ULL << 33)
#define FAKE_F_DEFAULT (FAKE_F_MAC | FAKE_F_STATUS | FAKE_F_CTRL_VQ | FAKE_F_CTRL_RX | \
			FAKE_F_VERSION_1 | FAKE_F_ACCESS_PLATFORM)

struct fake_vq {
	uint16_t max_size;
	uint16_t size;
	uint16_t enable;
	uint16_t msix;                 /* queue_msix_vector, FAKE_NO_VECTOR: none */
	unsigned interrupts;           /* used buffer notifications sent (§2.6.7) */
	uint64_t desc, driver, device; /* IOVAs */
	uint16_t last_avail;           /* next avail entry the device reads */
	uint16_t used_idx;             /* the device's used->idx */
	unsigned notifies;             /* doorbell writes */
	uint16_t *held;                /* heads taken from avail, not yet used (max_size) */
	unsigned nheld;
};

struct fake_virtio {
	struct zdk_pci_device pdev;
	uint8_t cfg[256];        /* PCI config space */
	uint8_t *bar;            /* BAR4 */
	size_t bar_len;
	bool modern;             /* publish the virtio capabilities */

	uint64_t offered;        /* device features */
	uint64_t accepted;       /* driver features as written */
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t status_seen;     /* every status bit ever written */
	uint8_t generation;
	bool refuse_features;    /* clear FEATURES_OK when it is set */
	bool bump_generation;    /* change config_generation on the next device cfg read */
	unsigned resets;
	unsigned cfg_reads;      /* device-specific config reads */
	uint16_t qselect;
	struct fake_vq vq[FAKE_NQ];

	/*
	 * MSI-X (§4.1.5.1.2): a table of msix_table entries (set before probe);
	 * msix_config and queue_msix_vector read back FAKE_NO_VECTOR for an
	 * entry beyond it. Enabling through "VIRTIO" (test_env.c) gives each
	 * vector a real eventfd. After a used entry, a queue whose driver left
	 * VIRTQ_AVAIL_F_NO_INTERRUPT clear and that has a vector is signalled
	 * on it; with MSI-X off on the function that would be INTx, which
	 * nobody here handles: counted in irq_unrouted.
	 */
	uint16_t msix_table;
	uint16_t msix_config;
	unsigned nr_vectors;     /* enabled on the function; 0: MSI-X off */
	int irq_efd[FAKE_MAX_VECTORS];
	unsigned irq_enables;    /* zdk_pci_irq_enable() calls */
	unsigned irq_unrouted;

	bool promisc;            /* the rx mode set through the control queue */
	bool reject_ctrl;        /* answer control commands VIRTIO_NET_ERR */
	unsigned ctrl_hold;      /* on a doorbell, leave the newest this many commands unanswered */
	unsigned ctrl_cmds;
	unsigned early_notifies; /* doorbells before DRIVER_OK */
	unsigned proto_errors;
	unsigned dma_faults;
	bool bus_master;
};

/* A device offering @features with queues of up to @qsize entries. */
struct fake_virtio *fake_virtio_create(uint64_t features, uint16_t qsize);
void fake_virtio_destroy(struct fake_virtio *f);

/* With @modern false, only non-virtio capabilities: a legacy-only device. */
void fake_virtio_set_modern(struct fake_virtio *f, bool modern);

/* Device config fields (virtio 1.1 §5.1.4). */
void fake_virtio_set_mac(struct fake_virtio *f, const uint8_t mac[6]);
void fake_virtio_set_link(struct fake_virtio *f, bool up);

/* Set or clear VIRTQ_USED_F_NO_NOTIFY on queue @q (the ring must be live). */
void fake_virtio_set_no_notify(struct fake_virtio *f, unsigned q, bool on);

/* Whether the driver asks for no used buffer notifications on @q (avail->flags). */
bool fake_virtio_no_interrupt(struct fake_virtio *f, unsigned q);

/* Buffers the driver made available on @q that the device has not taken. */
unsigned fake_virtio_avail(struct fake_virtio *f, unsigned q);

/*
 * Take one transmitted frame (header stripped) into @buf; return its length,
 * or -1 if none is pending.
 */
int fake_virtio_tx_pop(struct fake_virtio *f, void *buf, size_t cap);

/*
 * Deliver one frame into the next receive buffer, after a virtio_net_hdr;
 * @len may be 0 to post a bare header (a device bug the driver must count).
 * Return 0, or -1 if the driver has no receive buffer posted.
 */
int fake_virtio_rx_push(struct fake_virtio *f, const void *frame, size_t len);

/* Post the next receive buffer as used with a bogus @len (a device bug). */
int fake_virtio_rx_push_len(struct fake_virtio *f, uint32_t len);

/*
 * The cable: move up to @max frames from @from's transmit queue to @to's
 * receive queue, stopping when @to has no buffer (back-pressure, as QEMU's
 * hub does for virtio). Return the number moved.
 */
unsigned fake_virtio_wire(struct fake_virtio *from, struct fake_virtio *to, unsigned max);

/*
 * Out of order and hostile devices. A device may take buffers and return
 * them in any order (§2.6.8); these let a test do so, and lie.
 */

/* Take the next available head of @q without returning it; -1 if none. */
int fake_virtio_hold(struct fake_virtio *f, unsigned q);

/*
 * Return held transmit buffer @k (0 = the oldest held): copy its frame
 * (header stripped) into @buf, post the used entry. Return the frame length,
 * or -1 (and proto_errors++) if the chain is malformed or larger than @cap.
 */
int fake_virtio_tx_complete(struct fake_virtio *f, unsigned k, void *buf, size_t cap);

/* Fill held receive buffer @k with a header and @frame, post the used entry. */
int fake_virtio_rx_complete(struct fake_virtio *f, unsigned k, const void *frame, size_t len);

/* Write a used entry of @q as is (any id, any length) and publish it. */
void fake_virtio_used_put(struct fake_virtio *f, unsigned q, uint32_t id, uint32_t len);

/* Set @q's used->idx (and where the device writes next) to @idx. */
void fake_virtio_used_idx_set(struct fake_virtio *f, unsigned q, uint16_t idx);

/* Answer every control command posted so far (late, after a ctrl_hold). */
void fake_virtio_ctrl_answer(struct fake_virtio *f);

/* The MMIO accessors the driver is compiled against in the tests. */
uint32_t fake_mmio_read(const volatile void *addr, unsigned size);
void fake_mmio_write(volatile void *addr, uint32_t v, unsigned size);

#endif /* FAKE_VIRTIO_H */
