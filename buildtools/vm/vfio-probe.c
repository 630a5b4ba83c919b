/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-vfio-probe - open a PCI device through raw VFIO and print its BAR0
 * NVMe registers: the sandbox's self-check that both IOMMU backends reach
 * the device, independent of libzdk.
 *
 *   zdk-vfio-probe type1 BDF    group + container (type1v2, or the no-IOMMU
 *                               container when the group is noiommu-N)
 *   zdk-vfio-probe iommufd BDF  /dev/iommu + /dev/vfio/devices/vfioN, bound
 *                               with VFIO_DEVICE_BIND_IOMMUFD and attached to
 *                               a fresh IOAS (the 7.3 no-IOMMU cdev,
 *                               noiommu-vfioN, takes the same steps)
 *
 * Prints "<backend> <BDF> CAP 0x... VS 0x... (NVMe x.y.z)"; exit 0 on success,
 * 1 on any error (named on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uapi_compat.h"

#define NVME_REG_CAP 0x00 /* NVMe base spec 2.0, 3.1.4.1 */
#define NVME_REG_VS 0x08  /* NVMe base spec 2.0, 3.1.4.2 */

struct probe {
	const char *bdf;
	int noiommu;
	int container; /* type1: /dev/vfio/vfio; iommufd: /dev/iommu */
	int group;
	int device;
};

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int sys_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int fail(const char *what, const char *name, int err)
{
	fprintf(stderr, "zdk-vfio-probe: %s %s: %s\n", what, name, strerror(-err));
	return err;
}

/* The N of /sys/bus/pci/devices/BDF/iommu_group -> .../iommu_groups/N. */
static int group_path(const char *bdf, char *out, size_t len, int *noiommu)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *n;
	ssize_t r;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	r = readlink(link, target, sizeof(target) - 1);
	if (r < 0)
		return fail("no IOMMU group for", bdf, -errno);
	target[r] = '\0';
	n = strrchr(target, '/') + 1;
	snprintf(out, len, "/dev/vfio/%s", n);
	*noiommu = access(out, F_OK) != 0;
	if (*noiommu)
		snprintf(out, len, "/dev/vfio/noiommu-%s", n);
	return 0;
}

static int open_type1(struct probe *p)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int type, ret;

	ret = group_path(p->bdf, path, sizeof(path), &p->noiommu);
	if (ret < 0)
		return ret;
	p->container = sys_open("/dev/vfio/vfio", O_RDWR);
	if (p->container < 0)
		return fail("open", "/dev/vfio/vfio", p->container);
	if (ioctl(p->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return fail("unknown VFIO API version on", "/dev/vfio/vfio", -EINVAL);
	p->group = sys_open(path, O_RDWR);
	if (p->group < 0)
		return fail("open", path, p->group);
	ret = sys_ioctl(p->group, VFIO_GROUP_GET_STATUS, &status);
	if (ret < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail("group not viable (bind every device of it to vfio-pci):", path, ret ? ret : -EBUSY);
	ret = sys_ioctl(p->group, VFIO_GROUP_SET_CONTAINER, &p->container);
	if (ret < 0)
		return fail("VFIO_GROUP_SET_CONTAINER", path, ret);
	type = p->noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	ret = sys_ioctl(p->container, VFIO_SET_IOMMU, (void *)(uintptr_t)type);
	if (ret < 0)
		return fail("VFIO_SET_IOMMU", p->noiommu ? "noiommu" : "type1v2", ret);
	p->device = ioctl(p->group, VFIO_GROUP_GET_DEVICE_FD, p->bdf);
	if (p->device < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD", p->bdf, -errno);
	return 0;
}

/* /sys/bus/pci/devices/BDF/vfio-dev/vfioN -> /dev/vfio/devices/vfioN; in
 * no-IOMMU mode both are named noiommu-vfioN. */
static int cdev_path(const char *bdf, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return fail("no VFIO cdev (is it bound to vfio-pci?) for", bdf, -errno);
	while ((e = readdir(d)) && strncmp(e->d_name, "vfio", 4) &&
	       strncmp(e->d_name, "noiommu-vfio", 12))
		;
	if (e)
		snprintf(out, len, "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	return e ? 0 : fail("no vfioN in", dir, -ENOENT);
}

static int open_iommufd(struct probe *p)
{
	struct vfio_device_bind_iommufd bind = { .argsz = ZDK_VFIO_BIND_IOMMUFD_ARGSZ };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = ZDK_VFIO_ATTACH_PT_ARGSZ };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	char path[PATH_MAX], group[PATH_MAX];
	int ret;

	ret = group_path(p->bdf, group, sizeof(group), &p->noiommu);
	if (ret < 0)
		return ret;
	ret = cdev_path(p->bdf, path, sizeof(path));
	if (ret < 0)
		return ret;
	p->device = sys_open(path, O_RDWR);
	if (p->device < 0)
		return fail("open", path, p->device);
	p->container = sys_open("/dev/iommu", O_RDWR);
	if (p->container < 0)
		return fail("open", "/dev/iommu", p->container);
	ret = sys_ioctl(p->container, IOMMU_IOAS_ALLOC, &ioas);
	if (ret < 0)
		return fail("IOMMU_IOAS_ALLOC on", "/dev/iommu", ret);
	bind.iommufd = p->container;
	ret = sys_ioctl(p->device, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (ret < 0)
		return fail("VFIO_DEVICE_BIND_IOMMUFD", path, ret);
	attach.pt_id = ioas.out_ioas_id;
	ret = sys_ioctl(p->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (ret < 0 && p->noiommu)
		fprintf(stderr, "zdk-vfio-probe: noiommu attach: %s\n", strerror(-ret));
	else if (ret < 0)
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT", path, ret);
	return 0;
}

static int read_bar0(struct probe *p, const char *backend)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	volatile uint32_t *bar;
	uint64_t cap;
	uint32_t vs;
	int ret;

	ret = sys_ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, &reg);
	if (ret < 0)
		return fail("VFIO_DEVICE_GET_REGION_INFO BAR0 of", p->bdf, ret);
	if (!(reg.flags & VFIO_REGION_INFO_FLAG_MMAP) || reg.size < 0x1000)
		return fail("BAR0 cannot be mmapped on", p->bdf, -ENODEV);
	bar = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, p->device, (off_t)reg.offset);
	if (bar == MAP_FAILED)
		return fail("mmap BAR0 of", p->bdf, -errno);
	/* CAP is 64 bits; two 32-bit reads are allowed (NVMe base spec 3.1.4) */
	cap = bar[NVME_REG_CAP / 4] | (uint64_t)bar[NVME_REG_CAP / 4 + 1] << 32;
	vs = bar[NVME_REG_VS / 4];
	munmap((void *)bar, 0x1000);
	printf("%s%s %s CAP 0x%016llx VS 0x%08x (NVMe %u.%u.%u) BAR0 %llu KiB\n",
	       p->noiommu ? "noiommu-" : "", backend, p->bdf, (unsigned long long)cap, vs,
	       vs >> 16, (vs >> 8) & 0xff, vs & 0xff, (unsigned long long)reg.size >> 10);
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = { .container = -1, .group = -1, .device = -1 };
	int ret;

	if (argc != 3 || (strcmp(argv[1], "type1") && strcmp(argv[1], "iommufd"))) {
		fprintf(stderr, "usage: %s type1|iommufd BDF\n", argv[0]);
		return 2;
	}
	p.bdf = argv[2];
	ret = strcmp(argv[1], "type1") ? open_iommufd(&p) : open_type1(&p);
	if (ret == 0)
		ret = read_bar0(&p, argv[1]);
	if (p.device >= 0)
		close(p.device);
	if (p.group >= 0)
		close(p.group);
	if (p.container >= 0)
		close(p.container);
	return ret ? 1 : 0;
}
