/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi_compat.h"
#include "raw.h"

/* The only place this file reads errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int raw_iommu_find(struct raw_iommu *r, enum zdk_iommu_mode mode)
{
	struct zdk_iommu_info info;
	int ret = zdk_iommu_info_get(&info);

	if (ret)
		return ret;
	if (info.mode != mode)
		return -ENOENT;
	r->mode = mode;
	r->iommufd = mode == ZDK_IOMMU_IOMMUFD || !strcmp(zdk_iommu_form(), "noiommu (iommufd)");
	r->fd = info.fd;
	r->ioas_id = info.ioas_id;
	return 0;
}

int raw_map(const struct raw_iommu *r, void *va, uint64_t iova, size_t len)
{
	if (!r->iommufd && r->mode != ZDK_IOMMU_TYPE1)
		return -EOPNOTSUPP;
	if (r->mode == ZDK_IOMMU_TYPE1) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)va,
			.iova = iova,
			.size = len,
		};

		return xioctl(r->fd, VFIO_IOMMU_MAP_DMA, &m);
	} else {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = r->ioas_id,
			.user_va = (uintptr_t)va,
			.length = len,
			.iova = iova,
		};

		return xioctl(r->fd, IOMMU_IOAS_MAP, &m);
	}
}

int raw_map_file(const struct raw_iommu *r, int fd, uint64_t off, uint64_t iova, size_t len)
{
	struct iommu_ioas_map_file m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = r->ioas_id,
		.fd = fd,
		.start = off,
		.length = len,
		.iova = iova,
	};
	int ret;

	if (!r->iommufd)
		return -EOPNOTSUPP;
	ret = xioctl(r->fd, IOMMU_IOAS_MAP_FILE, &m);
	return ret == -ENOTTY ? -EOPNOTSUPP : ret;
}

int raw_unmap(const struct raw_iommu *r, uint64_t iova, size_t len)
{
	if (!r->iommufd && r->mode != ZDK_IOMMU_TYPE1)
		return -EOPNOTSUPP;
	if (r->mode == ZDK_IOMMU_TYPE1) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = iova,
			.size = len,
		};
		int ret = xioctl(r->fd, VFIO_IOMMU_UNMAP_DMA, &u);

		/* The kernel reports what it unmapped; a short unmap is an error. */
		return ret ? ret : u.size == len ? 0 : -ENOENT;
	} else {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = r->ioas_id,
			.iova = iova,
			.length = len,
		};
		int ret = xioctl(r->fd, IOMMU_IOAS_UNMAP, &u);

		return ret ? ret : u.length == len ? 0 : -ENOENT;
	}
}
