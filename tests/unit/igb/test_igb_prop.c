/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_igb_prop.c - property tests of the igb data path on the fake 82576
 * (igb_harness.c): over the ring sizes the port advertises, bursts from 1 to
 * beyond the ring, random headrooms and lengths, random interleavings with
 * stop/start and queue teardown, an honest and a hostile device. Every
 * failure prints its seed: ZDK_TEST_SEED=N reproduces it, ZDK_TEST_CASES=N
 * runs longer (ZDK_TEST_CASES=125 sweeps every ring size).
 */
#include "../zdk_test.h"
#include "../zdk_prop.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_igb.h"
#include "igb.h"
#include "igb_harness.h"
#include "test_mem.h"
#include "zdk_eth_driver.h"
#include "zdk_log.h"

/* Rings of 4096 + 4095 in flight + what the application holds. */
#define NB_MBUF 12288
#define NB_SIZES ((IGB_MAX_DESC - IGB_MIN_DESC) / IGB_DESC_ALIGN + 1)

static struct zdk_mempool *mp;
static struct fake_igb *fk;
static struct harness h;

static uint32_t prop_pick(void *arg, uint32_t lo, uint32_t hi)
{
	return (uint32_t)zdk_prop_pick(arg, lo, hi);
}

static int setup(void)
{
	test_lcore_set(0);
	fk = fake_igb_create("0000:05:00.0", 5);
	if (!fk || fake_igb_driver()->probe(&fk->pci))
		return -1;
	return zdk_mbuf_pool_create("igb-prop", NB_MBUF, 64, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp);
}

static int teardown(void)
{
	fake_igb_driver()->remove(&fk->pci);
	fake_igb_destroy(fk);
	zdk_mbuf_pool_destroy(mp);
	return test_dma_live() == 0 ? 0 : -1;
}

/* A failed step: its message, the seed, and stop. */
#define HARNESS_OK(p, call)                                                                   \
	do {                                                                                  \
		if ((call) != 0)                                                              \
			printf("%s: case %u, step %" PRIu64 ", rings %u/%u: %s\n", (p)->name, \
			       (p)->step, h.steps, h.nb_rxd, h.nb_txd, h.err);                \
		ZDK_PROP_CHECK(p, h.err[0] == '\0');                                          \
	} while (0)

/* The sizes to visit: the edges first, then the others in a seeded order. */
static void sizes_order(struct zdk_prop *p, uint16_t *sizes)
{
	static const uint16_t edges[] = { 64, 96, 4064, 4096 };
	unsigned n = 0, i;

	for (i = 0; i < 4; i++)
		sizes[n++] = edges[i];
	for (i = 0; i < NB_SIZES; i++) {
		uint16_t s = (uint16_t)(IGB_MIN_DESC + i * IGB_DESC_ALIGN);

		if (s != 64 && s != 96 && s != 4064 && s != 4096)
			sizes[n++] = s;
	}
	for (i = NB_SIZES - 1; i > 4; i--) {
		unsigned j = 4 + (unsigned)zdk_prop_pick(p, 0, i - 4);
		uint16_t t = sizes[i];

		sizes[i] = sizes[j];
		sizes[j] = t;
	}
}

/*
 * Ring sizes: rx and tx each get the edges and a seeded sample of the other
 * advertised sizes (ZDK_TEST_CASES=125: all of them), with traffic until
 * both rings went round at least twice.
 */
static void test_ring_sizes(void)
{
	uint16_t sizes[NB_SIZES];
	unsigned cases = ZDK_MIN(zdk_prop_cases(6), NB_SIZES);
	struct zdk_prop p;

	zdk_prop_begin(&p, "igb-ring-sizes");
	sizes_order(&p, sizes);
	for (p.step = 0; p.step < cases; p.step++) {
		uint16_t rxd = sizes[p.step], txd = sizes[cases - 1 - p.step];

		CU_ASSERT_FATAL(harness_init(&h, fk, 0, mp, (struct harness_src){ prop_pick, &p }) == 0);
		HARNESS_OK(&p, harness_open(&h, rxd, txd));
		while (h.rx_frames < 2u * rxd || h.tx_frames < 2u * txd)
			HARNESS_OK(&p, harness_step_traffic(&h));
		HARNESS_OK(&p, harness_fini(&h));
	}
}

/* Random interleavings of everything, honest device. */
static void test_interleavings(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "igb-interleavings");
	for (p.step = 0; p.step < zdk_prop_cases(10); p.step++) {
		CU_ASSERT_FATAL(harness_init(&h, fk, 0, mp, (struct harness_src){ prop_pick, &p }) == 0);
		h.max_burst = (uint32_t)zdk_prop_pick(&p, 1, IGB_MAX_DESC + 100);
		HARNESS_OK(&p, harness_open(&h, (uint16_t)(64 + 32 * zdk_prop_pick(&p, 0, 20)),
					   (uint16_t)(64 + 32 * zdk_prop_pick(&p, 0, 20))));
		for (unsigned s = 0; s < 120; s++)
			HARNESS_OK(&p, harness_step(&h));
		HARNESS_OK(&p, harness_fini(&h));
	}
}

/* The same against a device whose write-backs lie (fake_igb_hostile()). */
static void test_hostile_device(void)
{
	static uint8_t bytes[1 << 16];
	struct fake_igb_stream s = { bytes, sizeof(bytes), 0 };
	unsigned lies = 0;
	struct zdk_prop p;

	zdk_prop_begin(&p, "igb-hostile");
	for (p.step = 0; p.step < zdk_prop_cases(10); p.step++) {
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)zdk_prop_next(&p);
		s.pos = 0;
		CU_ASSERT_FATAL(harness_init(&h, fk, 0, mp, (struct harness_src){ prop_pick, &p }) == 0);
		h.hostile = true;
		fk->lies = 0;
		fake_igb_hostile(fk, &s);
		HARNESS_OK(&p, harness_open(&h, (uint16_t)(64 + 32 * zdk_prop_pick(&p, 0, 10)),
					   (uint16_t)(64 + 32 * zdk_prop_pick(&p, 0, 10))));
		for (unsigned k = 0; k < 120; k++)
			HARNESS_OK(&p, harness_step(&h));
		HARNESS_OK(&p, harness_fini(&h));
		fake_igb_hostile(fk, NULL);
		lies += fk->lies;
	}
	CU_ASSERT(lies > 0); /* the device did lie */
	fk->bad_desc = 0;
}

/* queue setup takes exactly the advertised sizes, every uint16_t tried. */
static void test_setup_sizes(void)
{
	int level = zdk_log_level;
	unsigned wrong = 0;

	CU_ASSERT_FATAL(zdk_eth_dev_configure(0, 1, 1, NULL) == 0);
	zdk_log_level = 0; /* 2 x 65411 refusals, each with its message */
	for (uint32_t v = 0; v <= UINT16_MAX; v++) {
		int legal = v >= IGB_MIN_DESC && v <= IGB_MAX_DESC && v % IGB_DESC_ALIGN == 0;
		int want = legal ? 0 : -EINVAL;

		wrong += zdk_eth_rx_queue_setup(0, 0, (uint16_t)v, 0, mp) != want;
		wrong += zdk_eth_tx_queue_setup(0, 0, (uint16_t)v, 0) != want;
	}
	zdk_log_level = level;
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(0), 0);
}

/* Registers reading all-ones while the port stops (a device that fell off
 * the bus): the queues still give every mbuf back, and the port restarts. */
static void test_all_ones_stop(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "igb-all-ones-stop");
	CU_ASSERT_FATAL(harness_init(&h, fk, 0, mp, (struct harness_src){ prop_pick, &p }) == 0);
	HARNESS_OK(&p, harness_open(&h, 96, 96));
	for (unsigned k = 0; k < 40; k++)
		HARNESS_OK(&p, harness_step_traffic(&h));
	fk->all_ones = true;
	CU_ASSERT_EQUAL(zdk_eth_dev_stop(0), 0); /* the enables never read clear: warns */
	fk->all_ones = false;
	h.started = false;
	h.rx_expect = h.rx_taken;
	h.tx_expect = h.tx_taken;
	HARNESS_OK(&p, harness_check(&h));
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), 0);
	h.started = true;
	for (unsigned k = 0; k < 40; k++)
		HARNESS_OK(&p, harness_step_traffic(&h));
	HARNESS_OK(&p, harness_fini(&h));
}

static const struct zdk_test tests[] = {
	{ "queue setup takes exactly 64..4096 step 32", test_setup_sizes },
	{ "ring sizes: edges and a sample, traffic twice round", test_ring_sizes },
	{ "random interleavings, honest device", test_interleavings },
	{ "random interleavings, hostile device", test_hostile_device },
	{ "all-ones registers while stopping", test_all_ones_stop },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("igb properties on the fake 82576", setup, teardown, tests);
}
