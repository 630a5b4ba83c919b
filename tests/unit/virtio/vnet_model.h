/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnet_model.h - one virtio-net port on the fake device, driven step by step
 * by a stream of bytes, with the driver's invariants checked after each step.
 *
 * The bytes choose the steps: rx and tx bursts of 1 to beyond the ring, tx
 * mbufs of any headroom and length, the device taking some, all or none of
 * the buffers and returning them in any order, stop/start, the rx mode
 * through the control queue, the application freeing what it holds. A
 * hostile model adds the device's lies: used entries with any id and length,
 * used->idx moved anywhere, control commands answered late or never.
 *
 * Checked after every step: every mbuf is in exactly one place (the pool,
 * a ring, the application) and the pool saw no misuse; an mbuf handed out is
 * not handed out again and its length fits its buffer. While the device has
 * not lied: every frame it was given is received once, byte for byte, and
 * every frame sent reaches it once, byte for byte, unless a stop dropped it
 * (a reset drops what the device held). The property test feeds seeded
 * random bytes to an honest model; the fuzzer feeds its input to a hostile one.
 */
#ifndef VNET_MODEL_H
#define VNET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vnet_model_conf {
	uint16_t qmax;     /* the device's queue size (a power of two, >= 32) */
	uint16_t rx_desc;  /* ring sizes, powers of two in 32..qmax */
	uint16_t tx_desc;
	unsigned steps;    /* at most this many steps (fewer if the bytes run out) */
	bool hostile;      /* the device may lie */
};

/* Where the bytes come from: @data until it runs out, or @next forever. */
struct vnet_model_src {
	const uint8_t *data;
	size_t len, off;
	uint8_t (*next)(void *arg);
	void *arg;
};

/*
 * Run the model; 0, or -1 with the broken invariant and the step in @why.
 * Everything it creates is gone when it returns.
 */
int vnet_model_run(const struct vnet_model_conf *conf, struct vnet_model_src *src, char *why,
		   size_t why_len);

#endif /* VNET_MODEL_H */
