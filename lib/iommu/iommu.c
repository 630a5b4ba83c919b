/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommu.c - choosing the backend at run time, and the calls every backend
 * shares: device attach/detach, raw map/unmap, IOVA space outside the arena.
 */
#define ZDK_LOG_COMPONENT "iommu"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "iommu_private.h"
#include "zdk_log.h"

struct iommu *iommu_g;
struct iommu_env iommu_env = { .dev_root = "/dev", .sys_root = "/sys" };

int iommu_open_node(const char *rel, const char *enoent_fix)
{
	char path[PATH_MAX], fix[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", iommu_env.dev_root, rel);
	fd = sys_open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ZDK_ERR("cannot open %s: %s%s", path, strerror(-fd),
			fd == -ENOENT && enoent_fix ? enoent_fix
			: iommu_open_fix(fd, path, NULL, fix, sizeof(fix)));
	return fd;
}

static bool path_exists(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

/* Any entry of <root>/@rel whose name starts with @prefix (NULL: any but . and ..). */
static bool dir_has_entry(const char *root, const char *rel, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *d;
	bool any = false;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!any && (d = readdir(dir)))
		any = prefix ? !strncmp(d->d_name, prefix, strlen(prefix)) : d->d_name[0] != '.';
	closedir(dir);
	return any;
}

static bool noiommu_enabled(void)
{
	char path[PATH_MAX], c = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/module/vfio/parameters/enable_unsafe_noiommu_mode",
		 iommu_env.sys_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

const struct iommu_ops *iommu_select(enum iommu_request req, const struct iommu_dev_info *first,
				     const char **why, int *err)
{
	bool has_iommu = dir_has_entry(iommu_env.sys_root, "class/iommu", NULL);
	bool has_iommufd = path_exists(iommu_env.dev_root, "iommu");
	bool has_container = path_exists(iommu_env.dev_root, "vfio/vfio");
	bool has_cdev = first ? first->cdev != NULL : path_exists(iommu_env.dev_root, "vfio/devices");
	bool noiommu = noiommu_enabled();
	/* Linux 7.3 names a no-IOMMU device's cdev noiommu-vfioN. */
	bool noiommu_cdev = first ? first->cdev && !strncmp(first->cdev, "noiommu-", 8)
				  : dir_has_entry(iommu_env.dev_root, "vfio/devices", "noiommu-");
	bool noiommu_by_iommufd = noiommu && has_iommufd && noiommu_cdev;

	*err = 0;
	/* A launcher handed over iommufd descriptors: /dev may not even show them. */
	if (iommu_handover_active()) {
		*why = "its descriptors were handed over (--iommufd-fd, --vfio-fd)";
		return &iommu_iommufd_ops;
	}
	switch (req) {
	case IOMMU_REQ_IOMMUFD:
		*why = "asked for with --iommu=iommufd";
		if (has_iommufd && has_cdev && has_iommu)
			return &iommu_iommufd_ops;
		ZDK_ERR("--iommu=iommufd: %s; use a kernel with CONFIG_IOMMUFD and "
			"CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+), or --iommu=type1",
			!has_iommu ? "no IOMMU is enabled" : !has_iommufd ? "/dev/iommu is missing"
			: "the device has no VFIO cdev (/dev/vfio/devices/vfioN)");
		*err = -ENODEV;
		return NULL;
	case IOMMU_REQ_TYPE1:
		*why = "asked for with --iommu=type1";
		if (has_container && has_iommu)
			return &iommu_type1_ops;
		ZDK_ERR("--iommu=type1: %s", !has_iommu
			? "no IOMMU is enabled (enable VT-d/AMD-Vi and boot with intel_iommu=on)"
			: "/dev/vfio/vfio is missing (modprobe vfio-pci; a kernel with CONFIG_VFIO_CONTAINER "
			  "or CONFIG_IOMMUFD_VFIO_CONTAINER)");
		*err = -ENODEV;
		return NULL;
	case IOMMU_REQ_NOIOMMU:
	case IOMMU_REQ_NOIOMMU_IOMMUFD:
	case IOMMU_REQ_NOIOMMU_GROUP:
		if (!noiommu) {
			ZDK_ERR("--iommu=noiommu: the VFIO no-IOMMU mode is not enabled: "
				"echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
			*err = -ENODEV;
			return NULL;
		}
		if (req != IOMMU_REQ_NOIOMMU_GROUP && noiommu_by_iommufd) {
			*why = req == IOMMU_REQ_NOIOMMU ? "asked for with --iommu=noiommu; the "
				"device has a no-IOMMU cdev and /dev/iommu exists"
				: "asked for with --iommu=noiommu-iommufd";
			return &iommu_noiommu_cdev_ops;
		}
		if (req == IOMMU_REQ_NOIOMMU_IOMMUFD) {
			ZDK_ERR("--iommu=noiommu-iommufd: %s; it needs Linux 7.3+ with "
				"CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV (which give the "
				"no-IOMMU cdev /dev/vfio/devices/noiommu-vfioN), or use "
				"--iommu=noiommu-group", !has_iommufd ? "/dev/iommu is missing"
				: "the device has no no-IOMMU cdev");
			*err = -ENODEV;
			return NULL;
		}
		if (has_container) {
			*why = req == IOMMU_REQ_NOIOMMU_GROUP ? "asked for with --iommu=noiommu-group"
				: "asked for with --iommu=noiommu; no no-IOMMU cdev with /dev/iommu, "
				  "so the group";
			return &iommu_noiommu_ops;
		}
		ZDK_ERR("--iommu=%s: /dev/vfio/vfio is missing (the no-IOMMU group needs a "
			"container: CONFIG_VFIO_CONTAINER or CONFIG_IOMMUFD_VFIO_CONTAINER)%s",
			req == IOMMU_REQ_NOIOMMU_GROUP ? "noiommu-group" : "noiommu",
			req == IOMMU_REQ_NOIOMMU ? "; no no-IOMMU cdev either" : "");
		*err = -ENODEV;
		return NULL;
	case IOMMU_REQ_AUTO:
		break;
	}
	if (has_iommu && has_iommufd && has_cdev) {
		*why = "/dev/iommu and the device's VFIO cdev exist";
		return &iommu_iommufd_ops;
	}
	if (has_iommu && has_container) {
		*why = !has_iommufd ? "/dev/iommu is missing" : "the device has no VFIO cdev";
		return &iommu_type1_ops;
	}
	if (!has_iommu && noiommu_by_iommufd) {
		*why = "no IOMMU is enabled and VFIO's no-IOMMU mode is; the device has a "
		       "no-IOMMU cdev";
		return &iommu_noiommu_cdev_ops;
	}
	if (!has_iommu && noiommu && has_container) {
		*why = "no IOMMU is enabled and VFIO's no-IOMMU mode is";
		return &iommu_noiommu_ops;
	}
	*why = !has_iommu ? "no IOMMU is enabled" : "VFIO is not loaded";
	if (first) {
		ZDK_ERR("cannot open %s: %s; enable VT-d/AMD-Vi and boot with intel_iommu=on, "
			"or (unsafe) enable VFIO's no-IOMMU mode and pass --iommu=noiommu",
			first->bdf, *why);
		*err = -ENODEV;
	}
	return NULL;
}

/* What the init orchestrator chose: the request, and the DMA hooks. */
static struct {
	enum iommu_request req;
	int (*on_attach)(struct iommu *io);
	void (*on_lost)(struct iommu *io);
} chosen;

void iommu_configure(enum iommu_request req, int (*on_attach)(struct iommu *io),
		     void (*on_lost)(struct iommu *io))
{
	chosen.req = req;
	chosen.on_attach = on_attach;
	chosen.on_lost = on_lost;
}

static int iommu_start(const struct iommu_ops *ops, const char *why)
{
	int rc = iommu_create(ops, &iommu_g);

	if (rc)
		return rc;
	iommu_g->on_attach = chosen.on_attach;
	iommu_g->on_lost = chosen.on_lost;
	if (ops->mode == ZDK_IOMMU_NOIOMMU)
		ZDK_WARN("IOMMU backend: %s (%s). DEVICES CAN DMA TO ANY MEMORY: use this "
			 "only where no IOMMU exists and the device is trusted", iommu_form(iommu_g),
			 why);
	else if (iommu_g->compat)
		ZDK_NOTICE("IOMMU backend: %s (%s). What differs from VFIO's own container: "
			   "no dma_entry_limit, and pinned memory is charged to the user's "
			   "RLIMIT_MEMLOCK as iommufd does", iommu_form(iommu_g), why);
	else
		ZDK_NOTICE("IOMMU backend: %s (%s)", iommu_form(iommu_g), why);
	return 0;
}

int iommu_get(const struct iommu_dev_info *info, struct iommu **io)
{
	const struct iommu_ops *ops;
	const char *why;
	int rc;

	if (!iommu_g) {
		ops = iommu_select(chosen.req, info, &why, &rc);
		if (!ops)
			return rc ? rc : -ENODEV;
		rc = iommu_start(ops, why);
		if (rc)
			return rc;
	}
	*io = iommu_g;
	return 0;
}

int iommu_create(const struct iommu_ops *ops, struct iommu **out)
{
	struct iommu *io;
	int rc;

	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->ops = ops;
	io->fd = -1;
	pthread_spin_init(&io->lock, PTHREAD_PROCESS_PRIVATE);
	rc = ops->open(io);
	if (rc) {
		pthread_spin_destroy(&io->lock);
		free(io);
		return rc;
	}
	*out = io;
	return 0;
}

void iommu_destroy(struct iommu *io)
{
	if (!io)
		return;
	io->ops->close(io);
	extents_fini(&io->extents);
	pthread_spin_destroy(&io->lock);
	free(io);
}

int iommu_dev_attach(struct iommu *io, const struct iommu_dev_info *info, int *fd)
{
	int rc = io->ops->dev_attach(io, info, fd);

	if (rc)
		return rc;
	io->ndevs++;
	rc = io->on_attach ? io->on_attach(io) : 0;
	if (rc) {
		iommu_dev_detach(io, info, *fd);
		*fd = -1;
	}
	return rc;
}

void iommu_dev_detach(struct iommu *io, const struct iommu_dev_info *info, int fd)
{
	io->ops->dev_detach(io, info, fd);
	io->ndevs--;
	/* No-IOMMU through iommufd: with the last device goes the software
	 * domain that pinned the pages and knew their addresses. */
	if (io->ops->phys && !io->ndevs && io->ready) {
		io->ready = false;
		if (io->on_lost)
			io->on_lost(io);
	}
}

int iommu_group_fd(const struct iommu *io, int num)
{
	for (const struct iommu_group *g = io->groups; g; g = g->next)
		if (g->num == num)
			return g->fd;
	return -ENOENT;
}

int iommu_extent_add(struct iommu *io, uint64_t iova, uint64_t len)
{
	return extents_insert(&io->extents, iova, len, 0, 0, 0);
}

int iommu_extent_del(struct iommu *io, uint64_t iova, uint64_t len)
{
	return extents_remove(&io->extents, iova, len, NULL);
}

const char *iommu_form(const struct iommu *io)
{
	if (io->ops == &iommu_noiommu_cdev_ops)
		return "noiommu (iommufd)";
	if (io->ops == &iommu_noiommu_ops)
		return "noiommu (group)";
	if (io->compat)
		return "type1 (served by iommufd)";
	return io->ops->name;
}

/* Public API */

const char *zdk_iommu_form(void)
{
	return iommu_g ? iommu_form(iommu_g) : "none";
}

enum zdk_iommu_mode zdk_iommu_mode(void)
{
	return iommu_g ? iommu_g->ops->mode : ZDK_IOMMU_NONE;
}

const char *zdk_iommu_mode_name(enum zdk_iommu_mode mode)
{
	switch (mode) {
	case ZDK_IOMMU_IOMMUFD:
		return "iommufd";
	case ZDK_IOMMU_TYPE1:
		return "type1";
	case ZDK_IOMMU_NOIOMMU:
		return "noiommu";
	default:
		return "none";
	}
}

int zdk_iommu_info_get(struct zdk_iommu_info *info)
{
	if (!iommu_g || !iommu_g->ready)
		return -ENODEV;
	info->mode = iommu_g->ops->mode;
	info->fd = iommu_g->fd;
	info->ioas_id = iommu_g->ioas_id;
	info->pgsize_mask = iommu_g->pgsize_mask;
	return 0;
}

int zdk_iommu_has_map_file(void)
{
	return iommu_g && iommu_g->ops->map_file && iommu_g->map_file != 0;
}

static int iommu_check(void)
{
	if (!iommu_g) {
		ZDK_ERR("no IOMMU backend: zdk_eal_init() found no VFIO (see zdk-doctor)");
		return -ENODEV;
	}
	if (!iommu_g->ready) {
		ZDK_ERR("the type1 container has no device yet: open a device first");
		return -ENODEV;
	}
	return 0;
}

int zdk_iommu_map(void *va, uint64_t iova, size_t len)
{
	int rc = iommu_check();

	return rc ? rc : iommu_g->ops->map(iommu_g, va, iova, len);
}

int zdk_iommu_map_file(int fd, uint64_t offset, uint64_t iova, size_t len)
{
	int rc = iommu_check();

	if (rc)
		return rc;
	if (!iommu_g->ops->map_file)
		return -EOPNOTSUPP;
	return iommu_g->ops->map_file(iommu_g, fd, offset, iova, len);
}

int zdk_iommu_unmap(uint64_t iova, size_t len)
{
	int rc = iommu_check();

	return rc ? rc : iommu_g->ops->unmap(iommu_g, iova, len);
}

int zdk_iommu_iova_alloc(size_t len, size_t align, uint64_t *iova)
{
	int rc = iommu_check();

	if (rc)
		return rc;
	pthread_spin_lock(&iommu_g->lock);
	rc = iova_pick(iommu_g->ranges, iommu_g->nranges, &iommu_g->extents, ZDK_BAD_IOVA, len,
		       align ? align : 4096, iova);
	if (!rc)
		rc = iommu_extent_add(iommu_g, *iova, len);
	pthread_spin_unlock(&iommu_g->lock);
	return rc;
}

void zdk_iommu_iova_free(uint64_t iova, size_t len)
{
	if (!iommu_g)
		return;
	pthread_spin_lock(&iommu_g->lock);
	iommu_extent_del(iommu_g, iova, len);
	pthread_spin_unlock(&iommu_g->lock);
}
