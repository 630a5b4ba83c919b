/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_iommu.h - which IOMMU backend zdk runs on, and direct map/unmap for
 * tools that measure or manage DMA mappings themselves (zdk-dma-bench).
 * Drivers do not need this: the arena is mapped at init.
 */
#ifndef ZDK_IOMMU_H
#define ZDK_IOMMU_H

#include <stddef.h>
#include <stdint.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zdk_iommu_mode {
	ZDK_IOMMU_NONE = 0, /* no VFIO at all: memory works, devices do not */
	ZDK_IOMMU_IOMMUFD,  /* /dev/iommu + /dev/vfio/devices/vfioN */
	ZDK_IOMMU_TYPE1,    /* /dev/vfio/vfio container, VFIO_TYPE1v2_IOMMU */
	ZDK_IOMMU_NOIOMMU,  /* VFIO no-IOMMU mode: IOVA = physical address */
};

/** zdk_iommu_mode() - the backend chosen by zdk_eal_init(). */
ZDK_EXPORT enum zdk_iommu_mode zdk_iommu_mode(void);

/** zdk_iommu_mode_name() - "iommufd", "type1", "noiommu" or "none". */
ZDK_EXPORT const char *zdk_iommu_mode_name(enum zdk_iommu_mode mode);

/**
 * zdk_iommu_form() - which form of the kernel interface the backend runs on:
 * "iommufd", "type1", "type1 (served by iommufd)" (iommufd's compat
 * /dev/vfio/vfio), "noiommu (iommufd)" (the no-IOMMU cdev with an IOAS and
 * IOMMU_IOAS_NOIOMMU_GET_PA), "noiommu (group)" (/proc/self/pagemap) or
 * "none".
 */
ZDK_EXPORT const char *zdk_iommu_form(void);

/* What a tool needs to issue the backend's ioctls itself. */
struct zdk_iommu_info {
	enum zdk_iommu_mode mode;
	int fd;            /* /dev/iommu (iommufd), the container (type1, noiommu) */
	uint32_t ioas_id;  /* the process's IOAS (iommufd only) */
	uint64_t pgsize_mask; /* IOMMU page sizes the backend maps */
};

/**
 * zdk_iommu_info_get() - the backend's fd and IOAS, for raw ioctls (e.g. a
 * benchmark comparing itself with zdk). The fd stays zdk's: do not close it.
 *
 * Return: 0, or -ENODEV when there is no backend (or type1 has no device yet).
 */
ZDK_EXPORT int zdk_iommu_info_get(struct zdk_iommu_info *info);

/** zdk_iommu_has_map_file() - iommufd with IOMMU_IOAS_MAP_FILE (Linux 6.13+). */
ZDK_EXPORT int zdk_iommu_has_map_file(void);

/**
 * zdk_iommu_map() - map [@va, @va+@len) at @iova in the process's IOAS or
 * container, with no bookkeeping (zdk_dma_map() is the managed form).
 *
 * Return: 0 or a negative errno (-ENOSPC at type1's dma_entry_limit).
 */
ZDK_EXPORT int zdk_iommu_map(void *va, uint64_t iova, size_t len);

/**
 * zdk_iommu_map_file() - map @len bytes of file @fd from @offset at @iova
 * (iommufd IOMMU_IOAS_MAP_FILE; memfd or hugetlbfs files).
 *
 * Return: 0, -EOPNOTSUPP if the backend or kernel lacks it, or the kernel's
 * error.
 */
ZDK_EXPORT int zdk_iommu_map_file(int fd, uint64_t offset, uint64_t iova, size_t len);

/** zdk_iommu_unmap() - unmap exactly a range mapped by the calls above. */
ZDK_EXPORT int zdk_iommu_unmap(uint64_t iova, size_t len);

/**
 * zdk_iommu_iova_alloc() - reserve @len bytes of IOVA space (aligned to
 * @align) inside the ranges the IOMMU reports, outside the arena.
 *
 * Return: 0 and *@iova set, or -ENOSPC.
 */
ZDK_EXPORT int zdk_iommu_iova_alloc(size_t len, size_t align, uint64_t *iova);

/** zdk_iommu_iova_free() - return space from zdk_iommu_iova_alloc(). */
ZDK_EXPORT void zdk_iommu_iova_free(uint64_t iova, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_IOMMU_H */
