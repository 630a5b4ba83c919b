// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_igb_rxtx.c - the igb data path against a fake 82576 that the input
 * drives: the bytes choose the ring sizes, the interleaving of rx/tx bursts,
 * device completions, stop/start and queue teardown (igb_harness.c), and,
 * when the first byte is odd, every lie of the hostile device (absurd
 * write-back lengths, missing EOP, error bits, stray and stale DD, all-ones
 * registers: fake_igb_hostile()). One stream feeds both, as libFuzzer likes.
 *
 * Checked after every step, abort() on violation: every mbuf in exactly one
 * place and no misuse seen by the checked pool; no received length beyond
 * its buffer; with an honest device, every frame received and sent exactly
 * once, in order, intact. ASan/UBSan catch any index outside the rings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake_igb.h"
#include "igb_harness.h"
#include "test_mem.h"
#include "zdk_eth_driver.h"
#include "zdk_log.h"

#define NB_MBUF 12288 /* two rings of 4096 and what the application holds */
#define MAX_STEPS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_igb *fk;
static struct zdk_mempool *mp;
static struct harness h;

static uint32_t stream_pick(void *arg, uint32_t lo, uint32_t hi)
{
	return fake_igb_stream_pick(arg, lo, hi);
}

static void once(void)
{
	test_lcore_set(0);
	zdk_log_level = 0; /* the driver's warnings about a lying device are expected */
	fk = fake_igb_create("0000:07:00.0", 7);
	if (!fk || fake_igb_driver()->probe(&fk->pci) ||
	    zdk_mbuf_pool_create("fuzz", NB_MBUF, 64, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp)) {
		fprintf(stderr, "fuzz-igb-rxtx: setup failed\n");
		abort();
	}
}

/* Mostly small rings (fast runs), now and then any advertised size. */
static uint16_t ring_size(struct fake_igb_stream *s)
{
	uint8_t b = fake_igb_stream_u8(s);

	return (uint16_t)(64 + 32 * (b < 224 ? b % 8 : fake_igb_stream_pick(s, 0, 126)));
}

static void violated(const char *when)
{
	fprintf(stderr, "fuzz-igb-rxtx: %s, step %llu, rings %u/%u, %s device: %s\n", when,
		(unsigned long long)h.steps, h.nb_rxd, h.nb_txd, h.hostile ? "hostile" : "honest",
		h.err);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_igb_stream s = { data, size, 0 };
	uint16_t rxd, txd;

	if (!fk)
		once();
	if (harness_init(&h, fk, 0, mp, (struct harness_src){ stream_pick, &s }))
		abort();
	h.hostile = fake_igb_stream_u8(&s) & 1;
	h.max_burst = fake_igb_stream_u8(&s) < 200 ? 80 : 4196;
	rxd = ring_size(&s);
	txd = ring_size(&s);
	fk->bad_desc = 0;
	fake_igb_hostile(fk, h.hostile ? &s : NULL);
	if (harness_open(&h, rxd, txd))
		violated("open");
	while (s.pos < s.len && h.steps < MAX_STEPS)
		if (harness_step(&h))
			violated("step");
	fake_igb_hostile(fk, NULL);
	if (harness_fini(&h))
		violated("close");
	return 0;
}
