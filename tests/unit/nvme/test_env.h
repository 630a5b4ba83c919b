/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_env.h - what the NVMe unit tests put under the driver: DMA memory
 * over malloc (the "arena": IOVA = VA - 4096 + FAKE_IOVA_OFFSET), a mock
 * zdk_dma_map() for memory of a separate window (no-IOMMU mode: each 4 KiB
 * page gets its own, deliberately non-adjacent "physical" frame; IOMMU mode:
 * each mapping one contiguous IOVA range, never adjacent to another), a fake
 * clock, the fake controller run in every busy-wait, and PCI stubs.
 */
#ifndef NVME_TEST_ENV_H
#define NVME_TEST_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_nvme.h"

extern uint64_t test_tsc;         /* fake TSC at 1 GHz */
extern struct fake_nvme *test_fake; /* run by test_idle() */
extern int test_dma_live;         /* DMA buffers not yet freed */
extern int test_dma_fail_at;      /* fail the Nth allocation from now (1-based), 0 never */
extern unsigned test_time_warp;   /* fake time per idle step x this (fuzzers: long waits fast) */
extern bool test_fake_locked;     /* serialise fake_nvme_run() (threaded tests) */

void test_idle(unsigned us);
/* Run the fake once, under the fake's lock when test_fake_locked is set. */
void test_fake_run(struct fake_nvme *f);

/*
 * External memory: test_ext_alloc() hands out @len bytes (page multiple) of
 * the window, not mapped; zdk_dma_map() maps any page-aligned part of it.
 * test_ext_reset() unmaps and frees everything and picks the mode.
 */
void *test_ext_alloc(size_t len);
void test_ext_free(void *va, size_t len);
void test_ext_reset(uint64_t seed, bool noiommu);
int test_ext_maps(void);

#define NVME_IDLE(ctrlr, us) test_idle(us)
#define NVME_TSC() __atomic_load_n(&test_tsc, __ATOMIC_RELAXED)

#endif
