/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

static int type1_probe(int fd)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	return xioctl(fd, VFIO_IOMMU_GET_INFO, &info);
}

/* The IOAS is the first object id that answers IOVA_RANGES like an IOAS. */
static int iommufd_probe(int fd, uint32_t *ioas_id)
{
	uint32_t id;
	int ret;

	for (id = 1; id < 256; id++) {
		struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = id };

		ret = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q);
		if (ret == 0 || ret == -EMSGSIZE) {
			*ioas_id = id;
			return 0;
		}
	}
	return -ENOENT;
}

int raw_iommu_find(struct raw_iommu *r, enum zdk_iommu_mode mode)
{
	const char *want = mode == ZDK_IOMMU_TYPE1 ? "/dev/vfio/vfio" : "/dev/iommu";
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while (ret && (de = readdir(d))) {
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want))
			continue;
		r->mode = mode;
		r->fd = fd;
		r->ioas_id = 0;
		ret = mode == ZDK_IOMMU_TYPE1 ? type1_probe(fd) : iommufd_probe(fd, &r->ioas_id);
	}
	closedir(d);
	return ret ? -ENOENT : 0;
}

int raw_map(const struct raw_iommu *r, void *va, uint64_t iova, size_t len)
{
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

	if (r->mode != ZDK_IOMMU_IOMMUFD)
		return -EOPNOTSUPP;
	ret = xioctl(r->fd, IOMMU_IOAS_MAP_FILE, &m);
	return ret == -ENOTTY ? -EOPNOTSUPP : ret;
}

int raw_unmap(const struct raw_iommu *r, uint64_t iova, size_t len)
{
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
