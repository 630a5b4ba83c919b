/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * raw.h - the kernel's map/unmap ioctls called directly on zdk's own
 * container or IOAS, the baseline zdk's overhead is measured against.
 */
#ifndef DMA_BENCH_RAW_H
#define DMA_BENCH_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdk_iommu.h"

struct raw_iommu {
	enum zdk_iommu_mode mode; /* type1, iommufd, or noiommu */
	bool iommufd;             /* an IOAS answers (iommufd, or no-IOMMU through it) */
	int fd;                   /* zdk's container or /dev/iommu; not ours */
	uint32_t ioas_id;         /* iommufd */
};

/*
 * raw_iommu_find() - the fd (and IOAS) zdk_eal_init() opened for @mode,
 * from zdk_iommu_info_get(), so the raw ioctls hit the same container or
 * IOAS as zdk's calls.
 * No-IOMMU through iommufd has an IOAS (its maps pin); the no-IOMMU group
 * has nothing to map: raw_map() answers -EOPNOTSUPP there.
 * Return: 0, -ENOENT (another backend runs), or -ENODEV (none).
 */
int raw_iommu_find(struct raw_iommu *r, enum zdk_iommu_mode mode);

int raw_map(const struct raw_iommu *r, void *va, uint64_t iova, size_t len);
/* Return: 0, -EOPNOTSUPP when the kernel lacks IOMMU_IOAS_MAP_FILE, -errno. */
int raw_map_file(const struct raw_iommu *r, int fd, uint64_t off, uint64_t iova, size_t len);
int raw_unmap(const struct raw_iommu *r, uint64_t iova, size_t len);

#endif /* DMA_BENCH_RAW_H */
