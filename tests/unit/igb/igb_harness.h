/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb_harness.h - one igb port on the fake 82576 driven through random
 * interleavings of its data path and control path, with the invariants
 * checked after every step. The property tests (test_igb_prop.c, choices
 * from a seed) and the fuzzer (tests/fuzz/fuzz_igb_rxtx.c, choices from the
 * input bytes, which also drive the hostile device) share it.
 *
 * Steps: inject frames, rx_burst, tx_burst (random headroom and length per
 * mbuf), the device completing none/some/all of the transmit ring, the
 * application freeing what it holds, port stop/start, queue teardown and
 * setup with new ring sizes, close and reconfigure, all-ones register reads.
 *
 * Invariants: every mbuf is in exactly one place (pool, rx ring, tx ring,
 * application) and the checked pool saw no misuse; every received mbuf's
 * length is 1..its buffer; with an honest device, every frame the device
 * took is received exactly once, in order, with its own bytes, and every
 * frame tx_burst took reaches the wire exactly once, in order, intact
 * (frames the device held when the port stopped are lost, not duplicated).
 */
#ifndef IGB_HARNESS_H
#define IGB_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_igb.h"
#include "zdk_mbuf.h"

/* Where the harness draws its choices from: a value in [lo, hi]. */
struct harness_src {
	uint32_t (*pick)(void *arg, uint32_t lo, uint32_t hi);
	void *arg;
};

#define HARNESS_LEN_SLOTS 65536 /* > any number of frames in flight */

struct harness {
	struct fake_igb *fk;
	uint16_t port;
	struct zdk_mempool *mp;
	struct harness_src src;
	bool hostile;              /* the device lies: data checks off */
	bool ready;                /* configured, queues set up */
	bool started;
	uint16_t nb_rxd, nb_txd;
	uint32_t max_burst;        /* bursts go up to this (beyond the ring) */

	struct zdk_mbuf **app;     /* what the application holds */
	unsigned nb_app, app_cap;
	struct zdk_mbuf **burst;   /* scratch for one burst */
	uint8_t *mark;             /* per pool object, for the place count */

	uint32_t salt;             /* frame contents differ from run to run */
	uint64_t rx_taken;         /* frames the device wrote to the ring */
	uint64_t rx_expect;        /* the next one rx_burst must hand out */
	uint64_t tx_taken;         /* frames tx_burst accepted */
	uint64_t tx_expect;        /* the next one the wire must see */
	uint16_t rx_len[HARNESS_LEN_SLOTS];
	uint16_t tx_len[HARNESS_LEN_SLOTS];

	uint64_t rx_frames, tx_frames, steps;
	char err[512];             /* the first violation */
};

/* A harness on port @port of @fk with its pool @mp. Return: 0 or -ENOMEM. */
int harness_init(struct harness *h, struct fake_igb *fk, uint16_t port, struct zdk_mempool *mp,
		 struct harness_src src);

/* Close the port and give back everything the application holds; then the
 * pool must be whole. Return: 0, or -1 with h->err. */
int harness_fini(struct harness *h);

/* Configure the port with rings of @nb_rxd/@nb_txd and start it.
 * Return: 0, or -1 with h->err. */
int harness_open(struct harness *h, uint16_t nb_rxd, uint16_t nb_txd);

/* One random step, then the invariants. Return: 0, or -1 with h->err. */
int harness_step(struct harness *h);

/* Traffic only (inject, rx, tx, device), no control path: for sweeps.
 * Return: 0, or -1 with h->err. */
int harness_step_traffic(struct harness *h);

/* The invariants alone. Return: 0, or -1 with h->err. */
int harness_check(struct harness *h);

#endif /* IGB_HARNESS_H */
