/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_env.h - the host stand-ins for the core the virtio unit tests need:
 * DMA memory over aligned malloc with IOVA != VA, the PCI calls answered by
 * fake devices, the IOMMU mode, lcores, time and the log.
 */
#ifndef TEST_ENV_H
#define TEST_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "zdk_iommu.h"
#include "zdk_pci.h"

/* IOVA = VA ^ this, so a VA put in a descriptor points nowhere. */
#define TEST_IOVA_XOR (1ULL << 46)

/* The VA behind [@iova, @iova + @len) if it lies in one live DMA block. */
void *test_dma_ptr(uint64_t iova, size_t len);
/* Live zdk_dma_zalloc() blocks. */
unsigned test_dma_live(void);
/* Make the @n-th zdk_dma_zalloc() from now fail (1 = the next); 0 = never. */
void test_dma_fail_nth(unsigned n);

/* What zdk_lcore_id() answers (ZDK_LCORE_ANY: mempools without caches). */
extern unsigned test_lcore;

/* What zdk_iommu_mode() answers. */
extern enum zdk_iommu_mode test_iommu_mode;

/* The last ZDK_ERR message, and how many there were. */
extern char test_last_err[512];
extern unsigned test_errs;
/* Every ZDK_ERR message, one per line, since the test last emptied it. */
extern char test_err_log[4096];

/* The PCI driver registered by the driver's constructor. */
extern struct zdk_pci_driver *test_pci_driver;

/* zdk_pci_cfg_read/zdk_pci_bar_map/bus_master are served by this hook. */
struct fake_virtio;
struct fake_virtio *fake_virtio_of(struct zdk_pci_device *pdev);

#endif /* TEST_ENV_H */
