/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommufd.c - the iommufd backend: /dev/iommu, one IOAS for the process,
 * devices through their VFIO cdev (/dev/vfio/devices/vfioN) bound with
 * VFIO_DEVICE_BIND_IOMMUFD and attached to the IOAS with
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT (Linux 6.6+). Files (the arena's memfd or
 * hugetlbfs file) are mapped with IOMMU_IOAS_MAP_FILE where the kernel has
 * it (Linux 6.13+), which pins by folio instead of walking user pages.
 *
 * The same code serves VFIO's no-IOMMU mode through iommufd (Linux 7.3):
 * the device's cdev is /dev/vfio/devices/noiommu-vfioN, the IOAS it attaches
 * to is a software page table that pins what is mapped, and
 * IOMMU_IOAS_NOIOMMU_GET_PA tells the physical address behind an IOVA. The
 * device is then given physical addresses; the IOAS's IOVAs are only the
 * handles of pinned memory. Replaces /proc/self/pagemap (which needs
 * CAP_SYS_ADMIN for frame numbers and pins nothing).
 */
#define ZDK_LOG_COMPONENT "iommufd"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iommu_private.h"
#include "uapi_compat.h"
#include "zdk_log.h"

static int iommufd_ranges(struct iommu *io)
{
	struct iommu_iova_range r[IOMMU_MAX_RANGES];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q),
		.ioas_id = io->ioas_id,
		.num_iovas = IOMMU_MAX_RANGES,
		.allowed_iovas = (uintptr_t)r,
	};
	int rc;

	rc = sys_ioctl(io->fd, IOMMU_IOAS_IOVA_RANGES, &q);
	if (rc == -EMSGSIZE)
		ZDK_WARN("more than %d IOVA ranges; using the first ones", IOMMU_MAX_RANGES);
	else if (rc)
		return rc;
	io->nranges = ZDK_MIN(q.num_iovas, (unsigned)IOMMU_MAX_RANGES);
	for (unsigned i = 0; i < io->nranges; i++) {
		io->ranges[i].start = r[i].start;
		io->ranges[i].last = r[i].last;
	}
	/* iommufd maps any page-aligned range; the hardware splits it. */
	io->pgsize_mask = q.out_iova_alignment ? ~(q.out_iova_alignment - 1) : ~4095ULL;
	return 0;
}

static int iommufd_open(struct iommu *io)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int rc;

	io->fd = iommu_open_node("iommu", " (a kernel with CONFIG_IOMMUFD, or --iommu=type1)");
	if (io->fd < 0)
		return io->fd;
	rc = sys_ioctl(io->fd, IOMMU_IOAS_ALLOC, &alloc);
	if (rc) {
		ZDK_ERR("IOMMU_IOAS_ALLOC failed: %s", strerror(-rc));
		close(io->fd);
		io->fd = -1;
		return rc;
	}
	io->ioas_id = alloc.out_ioas_id;
	io->map_file = -1;
	/* No-IOMMU: the software domain that pins and knows physical
	 * addresses comes with the first device. */
	io->ready = !io->ops->phys;
	return iommufd_ranges(io);
}

static void iommufd_close(struct iommu *io)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = io->ioas_id };

	if (io->fd < 0)
		return;
	sys_ioctl(io->fd, IOMMU_DESTROY, &d);
	close(io->fd);
	io->fd = -1;
}

static int iommufd_dev_attach(struct iommu *io, const struct iommu_dev_info *info, int *fd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = ZDK_VFIO_BIND_IOMMUFD_ARGSZ,
		.iommufd = io->fd,
	};
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = ZDK_VFIO_ATTACH_PT_ARGSZ,
		.pt_id = io->ioas_id,
	};
	char path[PATH_MAX];
	int dfd, rc;

	if (!info->cdev) {
		ZDK_ERR("%s has no VFIO device cdev (is it bound to vfio-pci, on a kernel with "
			"CONFIG_VFIO_DEVICE_CDEV?); use --iommu=type1", info->bdf);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/vfio/devices/%s", iommu_env.dev_root, info->cdev);
	dfd = sys_open(path, O_RDWR | O_CLOEXEC);
	if (dfd < 0) {
		rc = dfd;
		ZDK_ERR("cannot open %s for %s: %s%s", path, info->bdf, strerror(-rc),
			rc == -EACCES ? " (run as root or give your user access to it)"
			: rc == -EBUSY ? " (another process has it open)"
			: rc == -EPERM && io->ops->phys ? " (a no-IOMMU device needs "
				"CAP_SYS_RAWIO: run as root)" : "");
		return rc;
	}
	rc = sys_ioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_BIND_IOMMUFD failed: %s%s", info->bdf, strerror(-rc),
			rc == -EINVAL || rc == -EBUSY ? " (is another process using the device?)" : "");
		goto err_close_dev;
	}
	rc = sys_ioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u failed: %s", info->bdf,
			io->ioas_id, strerror(-rc));
		goto err_close_dev;
	}
	*fd = dfd;
	if (io->ops->phys)
		io->ready = true;
	/* Attaching can narrow the usable IOVA ranges (reserved regions). */
	return iommufd_ranges(io);

err_close_dev:
	close(dfd);
	return rc;
}

static void iommufd_dev_detach(struct iommu *io, const struct iommu_dev_info *info, int fd)
{
	/* Closing the cdev detaches and unbinds it. */
	close(fd);
}

static int iommufd_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = io->ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return sys_ioctl(io->fd, IOMMU_IOAS_MAP, &m);
}

static int iommufd_map_file(struct iommu *io, int fd, uint64_t off, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map_file m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = io->ioas_id,
		.fd = fd,
		.start = off,
		.length = len,
		.iova = iova,
	};
	int rc;

	if (io->map_file == 0)
		return -EOPNOTSUPP;
	rc = sys_ioctl(io->fd, IOMMU_IOAS_MAP_FILE, &m);
	if (rc == -ENOTTY || rc == -EOPNOTSUPP) {
		io->map_file = 0;
		return -EOPNOTSUPP;
	}
	if (rc == 0)
		io->map_file = 1;
	return rc;
}

static int iommufd_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = io->ioas_id,
		.iova = iova,
		.length = len,
	};

	return sys_ioctl(io->fd, IOMMU_IOAS_UNMAP, &u);
}

static int iommufd_noiommu_phys(struct iommu *io, uint64_t iova, uint64_t len, uint64_t *pa,
				uint64_t *contig)
{
	struct iommu_ioas_noiommu_get_pa q = {
		.size = sizeof(q),
		.ioas_id = io->ioas_id,
		.iova = iova,
		.length = len,
	};
	int rc;

	rc = sys_ioctl(io->fd, IOMMU_IOAS_NOIOMMU_GET_PA, &q);
	if (rc) {
		ZDK_ERR("IOMMU_IOAS_NOIOMMU_GET_PA at IOVA 0x%llx failed: %s%s",
			(unsigned long long)iova, strerror(-rc),
			rc == -EPERM ? " (it needs CAP_SYS_RAWIO: run as root)" : "");
		return rc;
	}
	/* The kernel's answer is trusted no further than it must be. */
	if (!q.length || q.length > len) {
		ZDK_ERR("IOMMU_IOAS_NOIOMMU_GET_PA at IOVA 0x%llx answered %llu bytes for %llu",
			(unsigned long long)iova, (unsigned long long)q.length,
			(unsigned long long)len);
		return -EIO;
	}
	*pa = q.out_phys;
	*contig = q.length;
	return 0;
}

const struct iommu_ops iommu_iommufd_ops = {
	.name = "iommufd",
	.mode = ZDK_IOMMU_IOMMUFD,
	.open = iommufd_open,
	.close = iommufd_close,
	.dev_attach = iommufd_dev_attach,
	.dev_detach = iommufd_dev_detach,
	.map = iommufd_map,
	.map_file = iommufd_map_file,
	.unmap = iommufd_unmap,
	.ranges = iommufd_ranges,
};

const struct iommu_ops iommu_noiommu_cdev_ops = {
	.name = "noiommu",
	.mode = ZDK_IOMMU_NOIOMMU,
	.open = iommufd_open,
	.close = iommufd_close,
	.dev_attach = iommufd_dev_attach,
	.dev_detach = iommufd_dev_detach,
	.map = iommufd_map,
	.map_file = iommufd_map_file,
	.unmap = iommufd_unmap,
	.ranges = iommufd_ranges,
	.phys = iommufd_noiommu_phys,
};
