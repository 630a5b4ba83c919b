/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_sysfs.c - fake /sys, /dev and /proc trees, laid out as the kernel
 * lays out the real ones (device directories under sys/devices, symlinks
 * from sys/bus/pci/devices, iommu_group and driver links).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_sysfs.h"

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fake_sysfs: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

const char *fake_path(struct fake_sysfs *f, const char *rel)
{
	static char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", f->root, rel) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		die("path", rel);
	}
	return path;
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			die("mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		die("mkdir", buf);
}

static void mkdir_parent(const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash && slash != buf) {
		*slash = '\0';
		mkdir_p(buf);
	}
}

void fake_dir(struct fake_sysfs *f, const char *rel)
{
	mkdir_p(fake_path(f, rel));
}

void fake_file(struct fake_sysfs *f, const char *rel, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *fp;

	snprintf(path, sizeof(path), "%s", fake_path(f, rel));
	mkdir_parent(path);
	fp = fopen(path, "w");
	if (!fp)
		die("create", path);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp))
		die("write", path);
}

void fake_link(struct fake_sysfs *f, const char *rel, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", fake_path(f, rel));
	mkdir_parent(path);
	unlink(path);
	if (symlink(target, path))
		die("symlink", path);
}

void fake_unlink(struct fake_sysfs *f, const char *rel)
{
	if (unlink(fake_path(f, rel)) && errno != ENOENT)
		die("unlink", rel);
}

const char *fake_read(struct fake_sysfs *f, const char *rel)
{
	static char buf[4096];
	ssize_t n = 0;
	int fd;

	fd = open(fake_path(f, rel), O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

void fake_create(struct fake_sysfs *f)
{
	const char *tmp = getenv("TMPDIR");
	static const char *const dirs[] = {
		"sys/bus/pci/devices", "sys/bus/pci/drivers", "sys/kernel/iommu_groups",
		"sys/class/iommu", "sys/class/net", "sys/class/block", "sys/kernel/mm/hugepages",
		"dev/vfio", "proc/self",
	};

	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "%s/zdk-fake-sysfs.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		die("mkdtemp", f->root);
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->root);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->root);
	f->fs.sys = f->sys;
	f->fs.dev = f->dev;
	f->fs.proc = f->proc;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		fake_dir(f, dirs[i]);
	fake_file(f, "sys/bus/pci/drivers_probe", "%s", "");
	fake_file(f, "proc/mounts", "%s", "/dev/sda1 / ext4 rw,relatime 0 0\n");
	fake_file(f, "proc/swaps", "%s", "Filename\tType\tSize\tUsed\tPriority\n");
	fake_file(f, "proc/meminfo", "%s", "MemTotal: 4000000 kB\nHugepagesize:       2048 kB\n");
	fake_file(f, "proc/self/status", "%s", "Name:\ttest\nCapEff:\t000001ffffffffff\n");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* Modes a test set (0000 files, read-only dirs) must not block removal. */
	if (flag == FTW_DP)
		chmod(path, 0755);
	return remove(path);
}

void fake_destroy(struct fake_sysfs *f)
{
	if (!f->root[0])
		return;
	if (nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "fake_sysfs: cannot remove %s: %s\n", f->root, strerror(errno));
	f->root[0] = '\0';
}

void fake_driver(struct fake_sysfs *f, const char *driver)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", driver);
	if (access(fake_path(f, rel), F_OK) == 0)
		return;
	fake_file(f, rel, "%s", "");
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", driver);
	fake_file(f, rel, "%s", "");
}

void fake_pci_driver(struct fake_sysfs *f, const char *bdf, const char *driver)
{
	char rel[PATH_MAX], target[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
	fake_unlink(f, rel);
	if (!driver)
		return;
	fake_driver(f, driver);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	fake_link(f, rel, target);
}

void fake_pci(struct fake_sysfs *f, const char *bdf, uint16_t vendor, uint16_t device,
	      uint32_t class_code, int numa_node, int group, const char *driver)
{
	char dir[PATH_MAX], rel[PATH_MAX + 64], target[PATH_MAX];

	snprintf(dir, sizeof(dir), "sys/devices/pci0000:00/%s", bdf);
	snprintf(rel, sizeof(rel), "%s/vendor", dir);
	fake_file(f, rel, "0x%04x\n", vendor);
	snprintf(rel, sizeof(rel), "%s/device", dir);
	fake_file(f, rel, "0x%04x\n", device);
	snprintf(rel, sizeof(rel), "%s/subsystem_vendor", dir);
	fake_file(f, rel, "0x%04x\n", vendor);
	snprintf(rel, sizeof(rel), "%s/subsystem_device", dir);
	fake_file(f, rel, "0x%04x\n", 0x1100);
	snprintf(rel, sizeof(rel), "%s/class", dir);
	fake_file(f, rel, "0x%06x\n", class_code);
	snprintf(rel, sizeof(rel), "%s/numa_node", dir);
	fake_file(f, rel, "%d\n", numa_node);
	snprintf(rel, sizeof(rel), "%s/driver_override", dir);
	fake_file(f, rel, "%s", "(null)\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	fake_link(f, rel, target);
	if (group >= 0) {
		snprintf(rel, sizeof(rel), "%s/iommu_group", dir);
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
		fake_link(f, rel, target);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
		snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
		fake_link(f, rel, target);
	}
	fake_pci_driver(f, bdf, driver);
}

void fake_netdev(struct fake_sysfs *f, const char *bdf, const char *ifname, const char *operstate,
		 unsigned flags)
{
	char rel[PATH_MAX], target[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/net/%s/operstate", bdf, ifname);
	fake_file(f, rel, "%s\n", operstate);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/net/%s/flags", bdf, ifname);
	fake_file(f, rel, "0x%x\n", flags);
	snprintf(rel, sizeof(rel), "sys/class/net/%s", ifname);
	snprintf(target, sizeof(target), "../../devices/pci0000:00/%s/net/%s", bdf, ifname);
	fake_link(f, rel, target);
}

void fake_blockdev(struct fake_sysfs *f, const char *bdf, const char *name)
{
	char rel[PATH_MAX], target[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/nvme/nvme0/%s/holders", bdf, name);
	fake_dir(f, rel);
	snprintf(rel, sizeof(rel), "sys/class/block/%s", name);
	snprintf(target, sizeof(target), "../../devices/pci0000:00/%s/nvme/nvme0/%s", bdf, name);
	fake_link(f, rel, target);
}

void fake_hugepages(struct fake_sysfs *f, int node, unsigned long kb, unsigned long nr,
		    unsigned long nfree)
{
	char dir[PATH_MAX], rel[PATH_MAX + 32];

	if (node < 0)
		snprintf(dir, sizeof(dir), "sys/kernel/mm/hugepages/hugepages-%lukB", kb);
	else
		snprintf(dir, sizeof(dir), "sys/devices/system/node/node%d/hugepages/hugepages-%lukB",
			 node, kb);
	snprintf(rel, sizeof(rel), "%s/nr_hugepages", dir);
	fake_file(f, rel, "%lu\n", nr);
	snprintf(rel, sizeof(rel), "%s/free_hugepages", dir);
	fake_file(f, rel, "%lu\n", nfree);
}
