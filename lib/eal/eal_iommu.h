/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_EAL_IOMMU_H
#define ZDK_EAL_IOMMU_H

struct iommu;
struct iommu_dev_info;

/*
 * eal_iommu_get() - the process's IOMMU backend, created on first use with
 * the mode --iommu asked for (the first device decides "auto").
 */
int eal_iommu_get(const struct iommu_dev_info *info, struct iommu **io);

#endif
