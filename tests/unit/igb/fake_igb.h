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

#include <stdint.h>
#include "zdk_pci.h"

typedef void (*fake_igb_sink)(void *arg, unsigned queue, const uint8_t *frame, unsigned len);

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

/* Register access, for tests that check the programming. */
uint32_t fake_igb_reg(const struct fake_igb *f, uint32_t reg);



/* The driver that registered itself (ZDK_PCI_DRIVER_REGISTER). */
const struct zdk_pci_driver *fake_igb_driver(void);
#endif
