/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_sysfs.c - PCI functions, IOMMU groups, VFIO and hugepages as sysfs,
 * /dev and /proc show them, and binding a function to a driver through
 * driver_override (Documentation/ABI/testing/sysfs-bus-pci).
 */
#define ZDK_LOG_COMPONENT "pci"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci_sysfs.h"
#include "sys.h"
#include "zdk_log.h"

/* IFF_UP from <net/if.h>, which clashes with <linux/if.h> in some builds. */
#define NET_IFF_UP 0x1

const char *sysfs_root_sys(const struct pci_sysfs *fs)
{
	return fs && fs->sys ? fs->sys : "/sys";
}

const char *sysfs_root_dev(const struct pci_sysfs *fs)
{
	return fs && fs->dev ? fs->dev : "/dev";
}

const char *sysfs_root_proc(const struct pci_sysfs *fs)
{
	return fs && fs->proc ? fs->proc : "/proc";
}

/* @root "/" + the formatted tail into @buf (PATH_MAX). */
__attribute__((format(printf, 3, 4)))
int sysfs_path(char *buf, const char *root, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, PATH_MAX, "%s/", root);
	if (n < 0 || n >= PATH_MAX)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || n + m >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Read a small file, without its trailing newline. Return: length or -errno. */
int sysfs_read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	n = sys_read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, rc = 0;

	/* O_TRUNC as the shell's ">" does: sysfs ignores it, a fake tree needs it. */
	fd = sys_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		rc = fd;
	else if ((n = sys_write(fd, s, len)) < 0)
		rc = (int)n;
	else if ((size_t)n != len)
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	if (rc)
		ZDK_ERR("cannot write \"%.*s\" to %s: %s%s", (int)strcspn(s, "\n"), s, path,
			strerror(-rc), rc == -EACCES || rc == -EPERM ? ": run as root" : "");
	return rc;
}

/* The last component of a symlink's target. Return: 0 or -errno. */
static int link_base(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = sys_readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return (int)n;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

/* strncpy that always terminates, for names that may not fit. */
void sysfs_str_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int sysfs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int no_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* The entries of a directory but . and .., sorted. Return: count or -errno. */
int sysfs_dir_list(const char *path, struct dirent ***ents)
{
	return sys_scandir(path, ents, no_dots, alphasort);
}

void sysfs_dir_free(struct dirent **ents, int n)
{
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static int dev_path(const struct pci_sysfs *fs, const char *name, const char *attr,
		    char *path)
{
	return sysfs_path(path, sysfs_root_sys(fs), "bus/pci/devices/%s/%s", name, attr);
}

static long dev_num(const struct pci_sysfs *fs, const char *name, const char *attr,
		    int base, long dflt)
{
	char path[PATH_MAX], buf[32], *end;
	long v;

	if (dev_path(fs, name, attr, path) || sysfs_read_str(path, buf, sizeof(buf)) <= 0)
		return dflt;
	v = strtol(buf, &end, base);
	return *end ? dflt : v;
}

static void dev_link(const struct pci_sysfs *fs, const char *name, const char *attr,
		     char *buf, size_t len)
{
	char path[PATH_MAX];

	if (dev_path(fs, name, attr, path) || link_base(path, buf, len))
		buf[0] = '\0';
}

static void dev_vfio_cdev(const struct pci_sysfs *fs, struct pci_sysfs_dev *dev)
{
	char path[PATH_MAX];
	struct dirent **ents;
	int n;

	if (dev_path(fs, dev->name, "vfio-dev", path))
		return;
	n = sysfs_dir_list(path, &ents);
	if (n <= 0)
		return;
	if (strlen(ents[0]->d_name) < sizeof(dev->vfio_cdev))
		strcpy(dev->vfio_cdev, ents[0]->d_name);
	sysfs_dir_free(ents, n);
}

/* Fill @dev from <sys>/bus/pci/devices/@name. Return: 0 or -ENODEV. */
static int dev_fill(const struct pci_sysfs *fs, const char *name,
		    struct pci_sysfs_dev *dev)
{
	char path[PATH_MAX], group[16];

	memset(dev, 0, sizeof(*dev));
	if (strlen(name) >= sizeof(dev->name) || zdk_pci_addr_parse(name, &dev->addr) ||
	    dev_path(fs, name, "", path) || !sysfs_exists(path))
		return -ENODEV;
	strcpy(dev->name, name);
	dev->vendor_id = (uint16_t)dev_num(fs, name, "vendor", 16, 0xffff);
	dev->device_id = (uint16_t)dev_num(fs, name, "device", 16, 0xffff);
	dev->subsys_vendor_id = (uint16_t)dev_num(fs, name, "subsystem_vendor", 16, 0xffff);
	dev->subsys_device_id = (uint16_t)dev_num(fs, name, "subsystem_device", 16, 0xffff);
	dev->class_code = (uint32_t)dev_num(fs, name, "class", 16, 0);
	dev->numa_node = (int)dev_num(fs, name, "numa_node", 10, -1);
	dev->sriov_totalvfs = (int)dev_num(fs, name, "sriov_totalvfs", 10, 0);
	dev->sriov_numvfs = (int)dev_num(fs, name, "sriov_numvfs", 10, 0);
	dev_link(fs, name, "iommu_group", group, sizeof(group));
	dev->iommu_group = group[0] ? atoi(group) : -1;
	dev_link(fs, name, "driver", dev->driver, sizeof(dev->driver));
	if (dev_path(fs, name, "driver_override", path) == 0 &&
	    sysfs_read_str(path, dev->driver_override, sizeof(dev->driver_override)) > 0 &&
	    strcmp(dev->driver_override, "(null)") == 0)
		dev->driver_override[0] = '\0';
	dev_vfio_cdev(fs, dev);
	return 0;
}

int pci_sysfs_dev_read(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr,
			   struct pci_sysfs_dev *dev)
{
	char name[ZDK_PCI_ADDR_LEN];

	zdk_pci_addr_format(addr, name, sizeof(name));
	return dev_fill(fs, name, dev);
}

int pci_sysfs_scan(const struct pci_sysfs *fs, struct pci_sysfs_dev **devs)
{
	char path[PATH_MAX];
	struct dirent **ents;
	int n, count = 0;

	*devs = NULL;
	n = sysfs_path(path, sysfs_root_sys(fs), "bus/pci/devices");
	if (n == 0)
		n = sysfs_dir_list(path, &ents);
	if (n <= 0)
		return n;
	*devs = calloc((size_t)n, sizeof(**devs));
	if (!*devs) {
		sysfs_dir_free(ents, n);
		return -ENOMEM;
	}
	/* alphasort of fixed-width lowercase hex names is address order. */
	for (int i = 0; i < n; i++)
		if (dev_fill(fs, ents[i]->d_name, &(*devs)[count]) == 0)
			count++;
	sysfs_dir_free(ents, n);
	return count;
}

int pci_sysfs_group_list(const struct pci_sysfs *fs, int group,
			     struct pci_sysfs_dev **devs)
{
	char path[PATH_MAX];
	struct dirent **ents;
	int n;

	*devs = NULL;
	n = sysfs_path(path, sysfs_root_sys(fs), "kernel/iommu_groups/%d/devices", group);
	if (n == 0)
		n = sysfs_dir_list(path, &ents);
	if (n <= 0)
		return n;
	*devs = calloc((size_t)n, sizeof(**devs));
	if (!*devs) {
		sysfs_dir_free(ents, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct pci_sysfs_dev *d = &(*devs)[i];
		const char *name = ents[i]->d_name;

		if (dev_fill(fs, name, d) == 0)
			continue;
		/* Not a PCI function: its name and driver are all we need. */
		sysfs_str_copy(d->name, sizeof(d->name), name);
		d->iommu_group = group;
		d->numa_node = -1;
		if (sysfs_path(path, sysfs_root_sys(fs), "kernel/iommu_groups/%d/devices/%s/driver",
			     group, name) || link_base(path, d->driver, sizeof(d->driver)))
			d->driver[0] = '\0';
	}
	sysfs_dir_free(ents, n);
	return n;
}

bool pci_sysfs_driver_viable(const char *driver)
{
	/*
	 * The kernel lets VFIO own a group only when no device in it is bound
	 * to a driver that uses the kernel's DMA API: drivers that set
	 * driver_managed_dma are vfio-pci and its variants (mlx5_vfio_pci,
	 * hisi_acc_vfio_pci, ...), pci-stub and pcieport.
	 */
	return !driver[0] || strstr(driver, "vfio") || strcmp(driver, "pci-stub") == 0 ||
	       strcmp(driver, "pcieport") == 0;
}

int pci_sysfs_group_viable(const struct pci_sysfs *fs, int group,
			       struct pci_sysfs_dev *culprit)
{
	struct pci_sysfs_dev *devs;
	int n, viable = 1;

	n = pci_sysfs_group_list(fs, group, &devs);
	if (n < 0)
		return n;
	for (int i = 0; i < n && viable; i++) {
		if (pci_sysfs_driver_viable(devs[i].driver))
			continue;
		viable = 0;
		if (culprit)
			*culprit = devs[i];
	}
	free(devs);
	return viable;
}

static int dev_write(const struct pci_sysfs *fs, const char *name, const char *attr,
		     const char *s)
{
	char path[PATH_MAX];
	int rc = dev_path(fs, name, attr, path);

	return rc ? rc : write_str(path, s);
}

static int drivers_probe(const struct pci_sysfs *fs, const char *name)
{
	char path[PATH_MAX];
	int rc = sysfs_path(path, sysfs_root_sys(fs), "bus/pci/drivers_probe");

	return rc ? rc : write_str(path, name);
}

int pci_sysfs_bind(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr,
		       const char *driver)
{
	struct pci_sysfs_dev dev;
	char old[PCI_SYSFS_NAME_LEN + 1];
	int rc;

	if (!driver || !driver[0] || strchr(driver, '/') || strchr(driver, '\n') ||
	    strlen(driver) >= PCI_SYSFS_NAME_LEN)
		return -EINVAL;
	rc = pci_sysfs_dev_read(fs, addr, &dev);
	if (rc)
		return rc;
	if (strcmp(dev.driver, driver) == 0)
		return 0;
	/* The override makes @driver the only one the probe below may pick. */
	rc = dev_write(fs, dev.name, "driver_override", driver);
	if (rc)
		return rc;
	if (dev.driver[0]) {
		rc = dev_write(fs, dev.name, "driver/unbind", dev.name);
		if (rc)
			goto err_restore_override;
	}
	return drivers_probe(fs, dev.name);

err_restore_override:
	/* A lone newline clears the override. */
	snprintf(old, sizeof(old), "%s\n", dev.driver_override);
	dev_write(fs, dev.name, "driver_override", old);
	return rc;
}

int pci_sysfs_unbind(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr)
{
	struct pci_sysfs_dev dev;
	int rc;

	rc = pci_sysfs_dev_read(fs, addr, &dev);
	if (rc || !dev.driver[0])
		return rc;
	return dev_write(fs, dev.name, "driver/unbind", dev.name);
}

int pci_sysfs_restore(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr)
{
	struct pci_sysfs_dev dev;
	int rc;

	rc = pci_sysfs_dev_read(fs, addr, &dev);
	if (rc)
		return rc;
	/* A lone newline clears the override: the kernel picks by modalias again. */
	rc = dev_write(fs, dev.name, "driver_override", "\n");
	if (rc)
		return rc;
	if (dev.driver[0]) {
		rc = dev_write(fs, dev.name, "driver/unbind", dev.name);
		if (rc)
			return rc;
	}
	return drivers_probe(fs, dev.name);
}

/*
 * The names in <sys>/class/@cls whose device sits under @devpath, passed
 * to @fn until it returns non-zero. Return: what @fn returned, 0, or -errno.
 */
static int class_each(const struct pci_sysfs *fs, const char *cls, const char *devpath,
		      int (*fn)(const struct pci_sysfs *, const char *, char *, size_t),
		      char *why, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX];
	size_t dlen = strlen(devpath);
	struct dirent **ents;
	int n, rc = 0;

	n = sysfs_path(path, sysfs_root_sys(fs), "class/%s", cls);
	if (n == 0)
		n = sysfs_dir_list(path, &ents);
	if (n <= 0)
		return n == -ENOENT ? 0 : n;
	for (int i = 0; i < n && rc == 0; i++) {
		if (sysfs_path(path, sysfs_root_sys(fs), "class/%s/%s", cls, ents[i]->d_name) ||
		    !realpath(path, real))
			continue;
		if (strncmp(real, devpath, dlen) == 0 && real[dlen] == '/')
			rc = fn(fs, ents[i]->d_name, why, len);
	}
	sysfs_dir_free(ents, n);
	return rc;
}

static int net_up(const struct pci_sysfs *fs, const char *ifname, char *why, size_t len)
{
	char path[PATH_MAX], state[32] = "", flags[32] = "";

	if (sysfs_path(path, sysfs_root_sys(fs), "class/net/%s/operstate", ifname) == 0)
		sysfs_read_str(path, state, sizeof(state));
	if (sysfs_path(path, sysfs_root_sys(fs), "class/net/%s/flags", ifname) == 0)
		sysfs_read_str(path, flags, sizeof(flags));
	if (strcmp(state, "up") && !(strtoul(flags, NULL, 16) & NET_IFF_UP))
		return 0;
	snprintf(why, len, "network interface %s is up", ifname);
	return 1;
}

/* Whether the first field of a line of @file is "/dev/@name"; its second into @at. */
static int proc_lists(const struct pci_sysfs *fs, const char *file, const char *name,
		      char *at, size_t len)
{
	char path[PATH_MAX], line[1024], src[PATH_MAX], dst[PATH_MAX];
	int found = 0;
	FILE *f;

	if (sysfs_path(path, sysfs_root_proc(fs), "%s", file) || !(f = fopen(path, "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%4095s %4095s", src, dst) != 2 || strncmp(src, "/dev/", 5))
			continue;
		found = strcmp(src + 5, name) == 0;
		if (found)
			sysfs_str_copy(at, len, dst);
	}
	fclose(f);
	return found;
}

static int block_used(const struct pci_sysfs *fs, const char *blk, char *why, size_t len)
{
	char path[PATH_MAX], at[256];
	struct dirent **ents;
	int n;

	if (proc_lists(fs, "mounts", blk, at, sizeof(at))) {
		snprintf(why, len, "block device %s is mounted on %s", blk, at);
		return 1;
	}
	if (proc_lists(fs, "swaps", blk, at, sizeof(at))) {
		snprintf(why, len, "block device %s is used as swap", blk);
		return 1;
	}
	if (sysfs_path(path, sysfs_root_sys(fs), "class/block/%s/holders", blk) ||
	    (n = sysfs_dir_list(path, &ents)) <= 0)
		return 0;
	snprintf(why, len, "block device %s is held by %s", blk, ents[0]->d_name);
	sysfs_dir_free(ents, n);
	return 1;
}

/* Whether process @pid has one of @nodes open; @why names it. */
static int pid_holds(const struct pci_sysfs *fs, const char *pid, char nodes[][64],
		     int nnodes, char *why, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX], comm[64] = "?";
	struct dirent **fds;
	int n, found = -1;

	if (sysfs_path(path, sysfs_root_proc(fs), "%s/fd", pid) || (n = sysfs_dir_list(path, &fds)) <= 0)
		return 0; /* gone, or another user's: not ours to see */
	for (int i = 0; i < n && found < 0; i++) {
		ssize_t t;

		if (sysfs_path(path, sysfs_root_proc(fs), "%s/fd/%s", pid, fds[i]->d_name))
			continue;
		t = readlink(path, target, sizeof(target) - 1);
		if (t <= 0)
			continue;
		target[t] = '\0';
		for (int k = 0; k < nnodes && found < 0; k++)
			if (strcmp(target, nodes[k]) == 0)
				found = k;
	}
	sysfs_dir_free(fds, n);
	if (found < 0)
		return 0;
	if (sysfs_path(path, sysfs_root_proc(fs), "%s/comm", pid) == 0)
		sysfs_read_str(path, comm, sizeof(comm));
	snprintf(why, len, "%s is open in process %s (%s)", nodes[found], pid, comm);
	return 1;
}

/*
 * A process holding the function's VFIO group or device node: unbinding
 * vfio-pci from under it would block until the process lets go.
 */
static int vfio_held(const struct pci_sysfs *fs, const struct pci_sysfs_dev *d,
		     char *why, size_t len)
{
	char path[PATH_MAX], nodes[3][64];
	struct dirent **procs;
	int n, nnodes = 0, rc = 0;

	/* /proc/<pid>/fd links name the real /dev, whatever root the test moved. */
	if (d->iommu_group >= 0) {
		snprintf(nodes[nnodes++], sizeof(nodes[0]), "/dev/vfio/%d", d->iommu_group);
		snprintf(nodes[nnodes++], sizeof(nodes[0]), "/dev/vfio/noiommu-%d", d->iommu_group);
	}
	if (d->vfio_cdev[0])
		snprintf(nodes[nnodes++], sizeof(nodes[0]), "/dev/vfio/devices/%.40s", d->vfio_cdev);
	if (!nnodes || sysfs_path(path, sysfs_root_proc(fs), "%s", "") || (n = sysfs_dir_list(path, &procs)) <= 0)
		return 0;
	for (int i = 0; i < n && rc == 0; i++)
		if (procs[i]->d_name[0] >= '1' && procs[i]->d_name[0] <= '9')
			rc = pid_holds(fs, procs[i]->d_name, nodes, nnodes, why, len);
	sysfs_dir_free(procs, n);
	return rc;
}

int pci_sysfs_dev_in_use(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr,
			     char *why, size_t len)
{
	char path[PATH_MAX], devpath[PATH_MAX];
	struct pci_sysfs_dev d;
	int rc;

	rc = pci_sysfs_dev_read(fs, addr, &d);
	if (rc == 0)
		rc = dev_path(fs, d.name, "", path);
	if (rc)
		return rc;
	if (!realpath(path, devpath))
		return -ENODEV;
	why[0] = '\0';
	if (strcmp(d.driver, "vfio-pci") == 0)
		return vfio_held(fs, &d, why, len);
	rc = class_each(fs, "net", devpath, net_up, why, len);
	if (rc == 0)
		rc = class_each(fs, "block", devpath, block_used, why, len);
	return rc;
}

int pci_sysfs_driver_present(const struct pci_sysfs *fs, const char *driver)
{
	char path[PATH_MAX];

	return !strchr(driver, '/') &&
	       sysfs_path(path, sysfs_root_sys(fs), "bus/pci/drivers/%s", driver) == 0 && sysfs_exists(path);
}

int pci_sysfs_vfio_pci_present(const struct pci_sysfs *fs)
{
	return pci_sysfs_driver_present(fs, "vfio-pci");
}
