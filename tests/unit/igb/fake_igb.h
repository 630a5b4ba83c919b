/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_igb.h - a software 82576 for host tests: a memory "BAR" whose
 * control registers behave like the device's (self-clearing reset, link up
 * on SLU, enables that read back, clear-on-read counters), and two calls
 * the test makes to play the device's DMA engine: fake_igb_tx_run()
 * consumes transmit descriptors up to TDT, fake_igb_rx_inject() writes a
 * frame into the next receive descriptor, both in the advanced descriptor
 * formats of the datasheet (7.1.5, 7.2.2.3), with RSS queue selection
 * through MRQC/RETA. Descriptor and buffer addresses are IOVAs, checked
 * against live DMA allocations (tests/unit/mbuf/test_mem.h).
 */
#ifndef FAKE_IGB_H
#define FAKE_IGB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zdk_pci.h"

typedef void (*fake_igb_sink)(void *arg, unsigned queue, const uint8_t *frame, unsigned len);

/*
 * A byte stream that drives a hostile device (fake_igb_hostile()): each
 * descriptor the device writes back takes a byte that says whether it tells
 * the truth or which lie it tells. An exhausted stream reads as zeros (the
 * truth). Tests and the fuzzer share one stream with their own choices.
 */
struct fake_igb_stream {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

/* The next byte, 0 once the stream is exhausted. */
uint8_t fake_igb_stream_u8(struct fake_igb_stream *s);
/* A value in [lo, hi] from the next bytes (lo once exhausted). */
uint32_t fake_igb_stream_pick(struct fake_igb_stream *s, uint32_t lo, uint32_t hi);

struct fake_igb {
	struct zdk_pci_device pci;
	uint8_t *bar;
	uint8_t mac[6];
	/* device counters behind the clear-on-read registers */
	uint32_t gprc, gptc, mpc;
	uint64_t gorc, gotc;
	uint32_t rqdpc[16];
	fake_igb_sink sink;
	void *sink_arg;
	unsigned bad_desc; /* tx descriptors the device would reject */
	struct fake_igb_stream *hostile; /* NULL: an honest device */
	unsigned lies;     /* write-backs the hostile device falsified */
	bool all_ones;     /* every register read returns 0xffffffff (device gone) */
	/*
	 * MSI-X (7.3): msix_vectors in the table (10, as QEMU's); the stubs of
	 * zdk_pci_irq_enable() give each a real eventfd. In MSI-X mode (GPIE) a
	 * receive write-back sets EICR bit IVAR0[q], and a bit set in EICR and
	 * EIMS sends its message (the eventfd written), then EIAC clears it.
	 */
	unsigned msix_vectors;
	int irq_efd[16];
	unsigned nr_vectors;      /* enabled through VFIO */
	uint32_t eicr, eims;
	unsigned nr_irqs;         /* messages sent */
};

/* A device at @bdf with MAC 02:fa:4e:00:00:@id. */
struct fake_igb *fake_igb_create(const char *bdf, unsigned id);
void fake_igb_destroy(struct fake_igb *f);
void fake_igb_set_sink(struct fake_igb *f, fake_igb_sink sink, void *arg);

/* Transmit everything between TDH and TDT on every enabled queue.
 * Return: frames sent. */
unsigned fake_igb_tx_run(struct fake_igb *f);

/* Receive one frame. Return: the queue it landed on, -EPERM (filtered by
 * address), -ENOBUFS (no descriptor: dropped and counted in RQDPC),
 * -EIO (receiver disabled, or a buffer IOVA outside DMA memory). */
int fake_igb_rx_inject(struct fake_igb *f, const uint8_t *frame, unsigned len);

/* The same, but the write-back says what the test wants: @wb_len (the
 * descriptor keeps its low 16 bits) and @status (DD, EOP, errors), while
 * the buffer gets the @len bytes of @frame. */
int fake_igb_rx_inject_wb(struct fake_igb *f, const uint8_t *frame, unsigned len,
			  uint32_t wb_len, uint32_t status);

/* The RSS hash the fake computes for @frame (not Toeplitz: any function
 * will do to check the queue selection and the descriptor field). */
uint32_t fake_igb_rss_hash(const uint8_t *frame, unsigned len);

/*
 * Hostile mode (@s not NULL): from now on the device misbehaves as @s says,
 * write-back by write-back. Receive write-backs may carry a length of 0,
 * beyond the buffer or anything in 16 bits, lack EOP, carry error bits or a
 * random status, and stray write-backs (DD set) land on any descriptor,
 * given or not. Transmit may set DD on any descriptor, or not on an RS
 * one, or stop early. It never writes into a buffer whose descriptor
 * already shows DD: what the driver must survive is lies in descriptors,
 * not DMA into memory it took back (no driver can stop that; the IOMMU
 * does). NULL: honest again.
 */
void fake_igb_hostile(struct fake_igb *f, struct fake_igb_stream *s);

/* Transmit on queue @q at most @max descriptors between TDH and TDT.
 * Return: frames sent. */
unsigned fake_igb_tx_run_queue(struct fake_igb *f, unsigned q, unsigned max);

/* Register access, for tests that check the programming. */
uint32_t fake_igb_reg(const struct fake_igb *f, uint32_t reg);



/* The driver that registered itself (ZDK_PCI_DRIVER_REGISTER). */
const struct zdk_pci_driver *fake_igb_driver(void);
#endif
