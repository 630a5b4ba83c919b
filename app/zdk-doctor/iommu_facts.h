/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommu_facts.h - which forms of the kernel's DMA interface this machine
 * offers, and what the IOMMU behind a device is (IOMMU_GET_HW_INFO): the
 * facts zdk-doctor prints beside its checks.
 */
#ifndef DOCTOR_IOMMU_FACTS_H
#define DOCTOR_IOMMU_FACTS_H

#include <stdbool.h>

struct iommu_facts {
	bool iommufd;        /* /dev/iommu answers IOMMU_IOAS_ALLOC */
	bool container;      /* /dev/vfio/vfio opens */
	bool container_by_iommufd; /* ...and is iommufd's compat container */
	bool type1v2;        /* the container offers VFIO_TYPE1v2_IOMMU */
	bool noiommu_group;  /* the container offers VFIO_NOIOMMU_IOMMU */
	bool noiommu_cdev;   /* the kernel has IOMMU_IOAS_NOIOMMU_GET_PA */
	bool hw;             /* the rest was read through a device */
	char hw_desc[320];   /* "Intel VT-d: ..." */
	char ranges[320];    /* the IOAS's usable IOVA ranges */
	char hw_why[160];    /* why hw is false, when a device was tried */
};

/*
 * iommu_facts_probe() - fill @f from <dev_root>/iommu, <dev_root>/vfio/vfio
 * and, when @cdev ("vfio3") is given and the device is idle, from a
 * throw-away IOAS with that device attached. Nothing is changed on the
 * machine: every object made is released before the call returns.
 */
void iommu_facts_probe(const char *dev_root, const char *cdev, struct iommu_facts *f);

#endif /* DOCTOR_IOMMU_FACTS_H */
