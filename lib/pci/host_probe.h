/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host_probe.h - what the machine offers zdk (host_probe.c). Shared-internal:
 * for zdk-doctor and the tests, never installed.
 */
#ifndef HOST_PROBE_H
#define HOST_PROBE_H

#include "pci_sysfs.h" /* struct pci_sysfs: the roots */

/**
 * host_iommu_present() - 1 when an IOMMU is enabled (an entry in
 * <sys>/class/iommu, or IOMMU groups while no-IOMMU mode is off), else 0.
 */
int host_iommu_present(const struct pci_sysfs *fs);

/**
 * host_noiommu_enabled() - VFIO's enable_unsafe_noiommu_mode.
 * Return: 1 enabled, 0 disabled, -ENOENT (vfio not loaded or built without
 * no-IOMMU support).
 */
int host_noiommu_enabled(const struct pci_sysfs *fs);

/** host_iommufd_present() - 1 when <dev>/iommu exists, else 0. */
int host_iommufd_present(const struct pci_sysfs *fs);

struct host_hugepages {
	int node;            /* -1: the global pool (all nodes) */
	uint64_t size;       /* page size in bytes */
	unsigned long nr;    /* pages reserved */
	unsigned long free;  /* pages free */
};

/**
 * host_hugepages_read() - hugepage pools: the global one per size
 * (<sys>/kernel/mm/hugepages) then each node's per size
 * (<sys>/devices/system/node/nodeN/hugepages).
 * @fs: roots (NULL: the real ones).
 * @pools: set to a malloc()ed array.
 *
 * Return: the number of pools, or -ENOMEM.
 */
int host_hugepages_read(const struct pci_sysfs *fs,
					    struct host_hugepages **pools);

struct host_mount {
	char path[256];
	uint64_t pagesize; /* bytes */
};

/**
 * host_hugetlbfs_mounts() - hugetlbfs mounts from <proc>/mounts,
 * with their page size (the pagesize= option, else the default size from
 * <proc>/meminfo).
 * @fs: roots (NULL: the real ones).
 * @mounts: set to a malloc()ed array.
 *
 * Return: the number of mounts, -ENOENT (no <proc>/mounts), or -ENOMEM.
 */
int host_hugetlbfs_mounts(const struct pci_sysfs *fs,
					      struct host_mount **mounts);

#endif /* HOST_PROBE_H */
