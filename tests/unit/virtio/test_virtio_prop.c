/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_virtio_prop.c - property tests of drivers/net/virtio on the fake
 * device, through vnet_model.h: every pair of ring sizes the driver accepts
 * (powers of two from 32 to the device's queue size, up to 1024 here), bursts
 * from 1 to twice the ring, tx mbufs of any headroom (0..11 included: no
 * room for the header) and length, and random interleavings of bursts, the
 * device taking and returning buffers in any order, stop/start and teardown.
 * The invariants are checked after every step; a failure prints the seed.
 *
 * ZDK_TEST_SEED=N replays a run; ZDK_TEST_CASES=N runs N cases per test
 * (the default keeps the suite to a few seconds under ASan).
 */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "zdk_prop.h"
#include "vnet_model.h"

#define STEPS 150

static uint8_t prop_byte(void *arg)
{
	return (uint8_t)zdk_prop_next(arg);
}

/*
 * Case c runs rx rings of 32 << (c % 6) and tx rings of 32 << (c / 6 % 6),
 * so 36 cases cover every pair, on a device whose queue size is at least
 * the larger one.
 */
static void run(const char *name, bool hostile, unsigned dflt_cases)
{
	struct zdk_prop p;
	char why[512];

	zdk_prop_begin(&p, name);
	for (unsigned c = 0; c < zdk_prop_cases(dflt_cases); c++) {
		unsigned rx = c % 6, tx = c / 6 % 6, top = rx > tx ? rx : tx;
		struct vnet_model_conf conf = {
			.rx_desc = (uint16_t)(32u << rx),
			.tx_desc = (uint16_t)(32u << tx),
			.qmax = (uint16_t)(32u << zdk_prop_pick(&p, top, 5)),
			.steps = STEPS,
			.hostile = hostile,
		};
		struct vnet_model_src src = { .next = prop_byte, .arg = &p };
		int ret;

		p.step = c;
		ret = vnet_model_run(&conf, &src, why, sizeof(why));
		if (ret)
			printf("\n%s: case %u (rx %u, tx %u, device queues %u): %s\n", name, c,
			       conf.rx_desc, conf.tx_desc, conf.qmax, why);
		ZDK_PROP_CHECK(&p, ret == 0);
	}
}

/* An honest device: data integrity both ways, every mbuf accounted for. */
static void test_data_path(void)
{
	run("virtio-data-path", false, 36);
}

/* A lying device: no mbuf lost, freed or handed out twice, no length beyond a buffer. */
static void test_hostile_device(void)
{
	run("virtio-hostile-device", true, 36);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio-prop", NULL, NULL);
	CU_add_test(s, "data path, honest device", test_data_path);
	CU_add_test(s, "data path, hostile device", test_hostile_device);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
