/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eal_fds.c - the descriptors a privileged launcher handed over
 * (--iommufd-fd, --vfio-fd, --huge-fd; doc/nonroot.md), checked before
 * anything else is opened: each must be open read-write and be what its
 * option says, or the process would fail later with an ioctl's errno and no
 * hint of which number was wrong. None is ever closed here: they are the
 * caller's.
 */
#define ZDK_LOG_COMPONENT "eal"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>

#include "eal_private.h"
#include "pci_sysfs.h"
#include "sys.h"
#include "zdk_log.h"

/* What a descriptor is, for messages: "a regular file", "character device 1:3". */
static const char *fd_what(const struct stat *st, char *buf, size_t len)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFCHR:
		snprintf(buf, len, "character device %u:%u", major(st->st_rdev), minor(st->st_rdev));
		return buf;
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a pipe";
	case S_IFSOCK:
		return "a socket";
	case S_IFBLK:
		return "a block device";
	}
	return "not a file";
}

/* Open, read-write, and its stat. @opt is printed before the number: "--huge-fd ". */
static int fd_open_rw(const char *opt, int fd, struct stat *st)
{
	int fl = sys_fcntl(fd, F_GETFL, 0);

	if (fl < 0) {
		ZDK_ERR("%s%d: no such open descriptor in this process: the launcher must leave "
			"it open across exec (no O_CLOEXEC, no close_range over it)", opt, fd);
		return -EBADF;
	}
	if ((fl & O_ACCMODE) != O_RDWR) {
		ZDK_ERR("%s%d is open %s: zdk needs it open read-write (O_RDWR)", opt, fd,
			(fl & O_ACCMODE) == O_RDONLY ? "read-only" : "write-only");
		return -EINVAL;
	}
	return sys_fstat(fd, st);
}

/* The "MAJ:MIN" a sysfs dev file holds, as a dev_t. */
static int sysfs_devno(const char *path, dev_t *dev)
{
	unsigned maj, min;
	char buf[32];

	if (sysfs_read_str(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -ENOENT;
	*dev = makedev(maj, min);
	return 0;
}

/* A character device whose number the sysfs file @devfile gives; @nodev: why it may not. */
static int fd_is_cdev(const char *opt, int fd, const char *devfile, const char *want,
		      const char *nodev)
{
	struct stat st;
	char what[48];
	dev_t dev;
	int rc = fd_open_rw(opt, fd, &st);

	if (rc)
		return rc;
	if (sysfs_devno(devfile, &dev)) {
		ZDK_ERR("%s%d: %s does not say which device %s is: %s", opt, fd, devfile, want,
			nodev);
		return -EINVAL;
	}
	if (!S_ISCHR(st.st_mode) || st.st_rdev != dev) {
		ZDK_ERR("%s%d is %s, not %s (character device %u:%u): the launcher handed over "
			"the wrong descriptor", opt, fd, fd_what(&st, what, sizeof(what)), want,
			major(dev), minor(dev));
		return -EINVAL;
	}
	return 0;
}

static int check_vfio_fd(const struct eal_vfio_fd *v, const char *sys_root)
{
	struct pci_sysfs fs = { .sys = sys_root };
	char bdf[ZDK_PCI_ADDR_LEN], opt[64], path[PATH_MAX], want[96];
	struct pci_sysfs_dev d;

	zdk_pci_addr_format(&v->addr, bdf, sizeof(bdf));
	snprintf(opt, sizeof(opt), "--vfio-fd %s=", bdf);
	if (pci_sysfs_dev_read(&fs, &v->addr, &d)) {
		ZDK_ERR("--vfio-fd %s=%d: no such PCI device (zdk-devbind lists them)", bdf, v->fd);
		return -EINVAL;
	}
	if (!d.vfio_cdev[0]) {
		ZDK_ERR("--vfio-fd %s=%d: %s has no VFIO cdev (driver: %s): bind it with "
			"zdk-devbind --bind=vfio-pci %s, on a kernel with CONFIG_VFIO_DEVICE_CDEV",
			bdf, v->fd, bdf, d.driver[0] ? d.driver : "none", bdf);
		return -EINVAL;
	}
	if (sysfs_path(path, sysfs_root_sys(&fs), "bus/pci/devices/%s/vfio-dev/%s/dev", bdf,
		       d.vfio_cdev))
		return -ENAMETOOLONG;
	snprintf(want, sizeof(want), "%s's /dev/vfio/devices/%s", bdf, d.vfio_cdev);
	return fd_is_cdev(opt, v->fd, path, want, "is the device bound to vfio-pci?");
}

static int check_huge_fd(struct eal_conf *c)
{
	unsigned long want = c->no_huge ? TMPFS_MAGIC : HUGETLBFS_MAGIC;
	struct statfs sfs;
	struct stat st;
	char what[48];
	int rc;

	rc = fd_open_rw("--huge-fd ", c->huge_fd, &st);
	if (!rc && !S_ISREG(st.st_mode)) {
		ZDK_ERR("--huge-fd %d is %s, not a hugepage file: hand over a hugetlbfs file or a "
			"memfd_create(MFD_HUGETLB) (zdk-launch does)", c->huge_fd,
			fd_what(&st, what, sizeof(what)));
		rc = -EINVAL;
	}
	if (!rc)
		rc = sys_fstatfs(c->huge_fd, &sfs);
	if (rc)
		return rc;
	if ((unsigned long)sfs.f_type != want) {
		ZDK_ERR("--huge-fd %d is a file on %s, not %s: %s", c->huge_fd,
			(unsigned long)sfs.f_type == TMPFS_MAGIC ? "tmpfs (a memfd without hugepages)"
			: (unsigned long)sfs.f_type == HUGETLBFS_MAGIC ? "hugetlbfs"
			: "a disk file system", c->no_huge ? "tmpfs" : "hugetlbfs",
			c->no_huge ? "with --no-huge hand over a memfd_create() without MFD_HUGETLB"
			: "hand over a hugetlbfs file or memfd_create(MFD_HUGETLB) (zdk-launch "
			  "does), or add --no-huge");
		return -EINVAL;
	}
	if (!c->no_huge && c->huge_size && c->huge_size != (size_t)sfs.f_bsize) {
		ZDK_ERR("--huge-fd %d holds %ld KiB pages, --huge-size asks %zu KiB: drop "
			"--huge-size", c->huge_fd, (long)sfs.f_bsize >> 10, c->huge_size >> 10);
		return -EINVAL;
	}
	if (!c->no_huge)
		c->huge_size = (size_t)sfs.f_bsize;
	c->huge_fd_size = (size_t)st.st_size;
	if (!c->mem_set && c->huge_fd_size < (size_t)sfs.f_bsize) {
		ZDK_ERR("--huge-fd %d is empty and no -m says how large the arena is: size the "
			"file (zdk-launch -m does) or give -m", c->huge_fd);
		return -EINVAL;
	}
	return 0;
}

int eal_fds_check(struct eal_conf *c, const char *sys_root)
{
	char path[PATH_MAX];
	int rc;

	if (c->iommufd_fd >= 0) {
		if (sysfs_path(path, sys_root ? sys_root : "/sys", "class/misc/iommu/dev"))
			return -ENAMETOOLONG;
		rc = fd_is_cdev("--iommufd-fd ", c->iommufd_fd, path, "/dev/iommu",
				"this kernel has no iommufd (CONFIG_IOMMUFD)");
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < c->nvfio_fds; i++) {
		rc = check_vfio_fd(&c->vfio_fds[i], sys_root);
		if (rc)
			return rc;
	}
	return c->huge_fd >= 0 ? check_huge_fd(c) : 0;
}
