/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * type1.c - the legacy VFIO container: /dev/vfio/vfio with every group of
 * the process in it, VFIO_TYPE1v2_IOMMU. The same container code serves the
 * no-IOMMU mode (VFIO_NOIOMMU_IOMMU, groups named noiommu-N), which has no
 * mappings at all: there the device sees physical addresses.
 */
#define ZDK_LOG_COMPONENT "type1"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommu_private.h"
#include "uapi_compat.h"
#include "zdk_log.h"

static bool is_noiommu(const struct iommu *io)
{
	return io->ops->mode == ZDK_IOMMU_NOIOMMU;
}

static int container_open(struct iommu *io)
{
	unsigned long type = is_noiommu(io) ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	int rc;

	io->fd = iommu_open_node("vfio/vfio", " (load vfio-pci: modprobe vfio-pci)");
	if (io->fd < 0)
		return io->fd;
	rc = ioctl(io->fd, VFIO_GET_API_VERSION);
	if (rc != VFIO_API_VERSION) {
		ZDK_ERR("/dev/vfio/vfio speaks VFIO API %d, zdk needs %d", rc, VFIO_API_VERSION);
		rc = -EPROTO;
		goto err_close;
	}
	/*
	 * iommufd's compat container (CONFIG_IOMMUFD_VFIO_CONTAINER) is
	 * /dev/iommu under VFIO's name: it answers iommufd's own ioctls, and
	 * IOMMU_DESTROY of the never-valid id 0 says so without side effects:
	 * ENOENT there (no such object); VFIO's own container answers EINVAL
	 * or ENOTTY to an ioctl it does not know.
	 */
	io->compat = sys_ioctl(io->fd, IOMMU_DESTROY,
			       &(struct iommu_destroy){ .size = sizeof(struct iommu_destroy) }) == -ENOENT;
	if (ioctl(io->fd, VFIO_CHECK_EXTENSION, type) != 1) {
		ZDK_ERR("the VFIO container does not support %s%s",
			is_noiommu(io) ? "the no-IOMMU mode" : "VFIO_TYPE1v2_IOMMU",
			is_noiommu(io) ? " (load vfio with enable_unsafe_noiommu_mode=1)"
				       : " (load vfio_iommu_type1)");
		rc = -ENODEV;
		goto err_close;
	}
	return 0;

err_close:
	close(io->fd);
	io->fd = -1;
	return rc;
}

static void container_close(struct iommu *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

/* Walk VFIO_IOMMU_GET_INFO's capability chain: IOVA ranges, DMA limit. */
static int type1_parse_caps(struct iommu *io, struct vfio_iommu_type1_info *info)
{
	uint32_t off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;

	while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *c = (void *)h;

			io->nranges = ZDK_MIN(c->nr_iovas, (unsigned)IOMMU_MAX_RANGES);
			for (unsigned i = 0; i < io->nranges; i++) {
				io->ranges[i].start = c->iova_ranges[i].start;
				io->ranges[i].last = c->iova_ranges[i].end;
			}
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *c = (void *)h;

			io->dma_limit = c->avail + io->dma_count;
		}
		off = h->next;
	}
	return 0;
}

static int type1_ranges(struct iommu *io)
{
	struct vfio_iommu_type1_info *info;
	size_t sz = sizeof(*info);
	int rc;

	if (is_noiommu(io)) {
		io->ranges[0].start = 0;
		io->ranges[0].last = UINT64_MAX;
		io->nranges = 1;
		io->pgsize_mask = ~4095ULL;
		return 0;
	}
	for (;;) {
		info = calloc(1, sz);
		if (!info)
			return -ENOMEM;
		info->argsz = sz;
		rc = sys_ioctl(io->fd, VFIO_IOMMU_GET_INFO, info);
		if (rc || info->argsz <= sz)
			break;
		sz = info->argsz;
		free(info);
	}
	if (!rc) {
		/* Without the IOVA-range capability, assume a 39-bit aperture. */
		io->ranges[0].start = 0;
		io->ranges[0].last = (1ULL << 39) - 1;
		io->nranges = 1;
		io->pgsize_mask = info->iova_pgsizes;
		rc = type1_parse_caps(io, info);
	}
	free(info);
	return rc;
}

static int group_get(struct iommu *io, int num, struct iommu_group **out)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct iommu_group *g;
	char path[PATH_MAX], fix[512];
	int rc;

	for (g = io->groups; g; g = g->next)
		if (g->num == num) {
			g->users++;
			*out = g;
			return 0;
		}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/vfio/%s%d", iommu_env.dev_root,
		 is_noiommu(io) ? "noiommu-" : "", num);
	g->fd = sys_open(path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		rc = g->fd;
		ZDK_ERR("cannot open %s: %s%s", path, strerror(-rc),
			rc == -EBUSY ? " (another process has this group open)"
			: rc == -ENOENT ? " (is the device bound to vfio-pci?)"
			: iommu_open_fix(rc, path, NULL, fix, sizeof(fix)));
		goto err_free;
	}
	rc = sys_ioctl(g->fd, VFIO_GROUP_GET_STATUS, &st);
	if (rc)
		goto err_close_group;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		/* pci.c names the culprit from sysfs before it gets here. */
		ZDK_ERR("IOMMU group %d is not viable: bind every device in it to vfio-pci "
			"(zdk-doctor names them)", num);
		rc = -EPERM;
		goto err_close_group;
	}
	rc = sys_ioctl(g->fd, VFIO_GROUP_SET_CONTAINER, &io->fd);
	if (rc) {
		ZDK_ERR("cannot add group %d to the container: %s", num, strerror(-rc));
		goto err_close_group;
	}
	g->num = num;
	g->users = 1;
	g->next = io->groups;
	io->groups = g;
	*out = g;
	return 0;

err_close_group:
	close(g->fd);
err_free:
	free(g);
	return rc;
}

static void group_put(struct iommu *io, struct iommu_group *g)
{
	struct iommu_group **pp;

	if (--g->users)
		return;
	for (pp = &io->groups; *pp != g; pp = &(*pp)->next)
		;
	*pp = g->next;
	sys_ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
	close(g->fd);
	free(g);
	/*
	 * The last group out takes VFIO's container IOMMU and mappings along.
	 * iommufd's compat container keeps its IOAS, mappings and all: they
	 * are not lost (mapping them again would fail with EEXIST), only the
	 * IOMMU type is set again with the next group.
	 */
	if (!io->groups) {
		io->ready = false;
		if (io->on_lost && !io->compat)
			io->on_lost(io);
	}
}

static int container_set_iommu(struct iommu *io)
{
	unsigned long type = is_noiommu(io) ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	int rc;

	rc = sys_ioctl(io->fd, VFIO_SET_IOMMU, (void *)type);
	if (rc) {
		ZDK_ERR("VFIO_SET_IOMMU(%s) failed: %s", io->ops->name, strerror(-rc));
		return rc;
	}
	io->ready = true;
	io->dma_count = 0;
	return type1_ranges(io);
}

static int container_dev_attach(struct iommu *io, const struct iommu_dev_info *info, int *fd)
{
	struct iommu_group *g;
	int rc, dfd;

	rc = group_get(io, info->group, &g);
	if (rc)
		return rc;
	if (!io->ready) {
		rc = container_set_iommu(io);
		if (rc)
			goto err_put_group;
	}
	dfd = sys_ioctl_ret(g->fd, VFIO_GROUP_GET_DEVICE_FD, (void *)info->bdf);
	if (dfd < 0) {
		rc = dfd;
		ZDK_ERR("%s: VFIO_GROUP_GET_DEVICE_FD failed: %s%s", info->bdf, strerror(-rc),
			rc == -EBUSY ? " (the device is already open)" : "");
		goto err_put_group;
	}
	*fd = dfd;
	return 0;

err_put_group:
	group_put(io, g);
	return rc;
}

static void container_dev_detach(struct iommu *io, const struct iommu_dev_info *info, int fd)
{
	struct iommu_group *g;

	close(fd);
	for (g = io->groups; g; g = g->next)
		if (g->num == info->group) {
			group_put(io, g);
			return;
		}
}

static int type1_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};
	int rc;

	rc = sys_ioctl(io->fd, VFIO_IOMMU_MAP_DMA, &m);
	if (rc == -ENOSPC)
		ZDK_ERR("the type1 DMA mapping limit is reached (%u mappings; vfio_iommu_type1 "
			"dma_entry_limit): map fewer, larger ranges, or raise it with "
			"'modprobe vfio_iommu_type1 dma_entry_limit=N'", io->dma_count);
	else if (!rc)
		__atomic_fetch_add(&io->dma_count, 1, __ATOMIC_RELAXED);
	return rc;
}

static int type1_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = len,
	};
	int rc;

	rc = sys_ioctl(io->fd, VFIO_IOMMU_UNMAP_DMA, &u);
	if (!rc)
		__atomic_fetch_sub(&io->dma_count, 1, __ATOMIC_RELAXED);
	return rc;
}

const struct iommu_ops iommu_type1_ops = {
	.name = "type1",
	.mode = ZDK_IOMMU_TYPE1,
	.open = container_open,
	.close = container_close,
	.dev_attach = container_dev_attach,
	.dev_detach = container_dev_detach,
	.map = type1_map,
	.unmap = type1_unmap,
	.ranges = type1_ranges,
};

/* No-IOMMU: the device bypasses translation; there is nothing to map. */
static int noiommu_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	return 0;
}

static int noiommu_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	return 0;
}

const struct iommu_ops iommu_noiommu_ops = {
	.name = "noiommu",
	.mode = ZDK_IOMMU_NOIOMMU,
	.open = container_open,
	.close = container_close,
	.dev_attach = container_dev_attach,
	.dev_detach = container_dev_detach,
	.map = noiommu_map,
	.unmap = noiommu_unmap,
	.ranges = type1_ranges,
};
