/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_test_util.h - what the NVMe test programs share: a controller over
 * the fake, a completion record that counts its calls, draining a qpair.
 * Included after the driver's .c files.
 */
#ifndef NVME_TEST_UTIL_H
#define NVME_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "test_env.h"

static struct fake_nvme fake;
static struct zdk_nvme_ctrlr *ctrlr;

static inline void setup_with(void (*tweak)(struct fake_nvme *))
{
	fake_nvme_init(&fake);
	if (tweak)
		tweak(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr) == 0);
}

static inline void teardown(void)
{
	nvme_ctrlr_destroy(ctrlr);
	ctrlr = NULL;
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

struct done {
	int calls;
	uint16_t status;
	uint16_t cid;
};

static inline void done_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct done *d = arg;

	d->calls++;
	d->status = ZDK_NVME_CPL_STATUS(cpl);
	d->cid = cpl->cid;
}

/* Run the controller and poll until @qp has nothing outstanding. */
static inline void drain(struct zdk_nvme_qpair *qp)
{
	for (int i = 0; i < 100000 && zdk_nvme_qpair_outstanding(qp); i++) {
		test_fake_run(&fake);
		zdk_nvme_qpair_poll(qp, 0);
	}
	CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 0);
}

static inline void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static inline bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

#endif
