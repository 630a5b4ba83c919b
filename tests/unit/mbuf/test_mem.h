/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mem.h - the host test environment for the NIC libraries: DMA memory
 * from malloc, a settable lcore id, and logging, so ring/mbuf/eth/igb code
 * runs without zdk_eal_init(). IOVAs are the virtual address plus
 * TEST_IOVA_OFFSET, so code that puts a virtual address where an IOVA
 * belongs is caught by test_iova_to_va().
 */
#ifndef TEST_MEM_H
#define TEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define TEST_IOVA_OFFSET 0x100000000000ULL

/* The virtual address of [iova, iova + len) if it lies inside one live DMA
 * allocation, else NULL. */
void *test_iova_to_va(uint64_t iova, size_t len);

/* Live zdk_dma_zalloc() allocations (leak checks). */
unsigned test_dma_live(void);

/* Make the next zdk_dma_zalloc() calls fail after @n successes (-1: never). */
void test_dma_fail_after(int n);

/* The lcore id zdk_lcore_id() returns on the calling thread. */
void test_lcore_set(unsigned lcore);

#endif
