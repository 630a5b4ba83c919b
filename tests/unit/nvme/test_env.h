/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_env.h - what the NVMe unit tests put under the driver: DMA memory
 * over malloc (IOVA = VA - 4096 + FAKE_IOVA_OFFSET), a fake clock, the fake
 * controller run in every busy-wait, and PCI stubs.
 */
#ifndef NVME_TEST_ENV_H
#define NVME_TEST_ENV_H

#include <stdint.h>

#include "fake_nvme.h"

extern uint64_t test_tsc;         /* fake TSC at 1 GHz */
extern struct fake_nvme *test_fake; /* run by test_idle() */
extern int test_dma_live;         /* DMA buffers not yet freed */
extern int test_dma_fail_at;      /* fail the Nth allocation from now (1-based), 0 never */

void test_idle(unsigned us);

#define NVME_IDLE(ctrlr, us) test_idle(us)
#define NVME_TSC() test_tsc

#endif
