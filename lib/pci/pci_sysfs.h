/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_sysfs.h - what the kernel says about PCI functions, their drivers and
 * IOMMU groups, VFIO, the IOMMU and hugepages: read from sysfs, /dev and
 * /proc, under roots that tests move to a fake tree.
 *
 * Shared-internal: the PCI layer and zdk_eal_init() use it, and so do the
 * tools zdk-devbind and zdk-doctor, which link libzdk; that is why these
 * functions are exported (pci_sysfs_*). The header is not installed and
 * the interface carries no stability promise to applications.
 *
 * Every int function returns 0 (or a count, or a 1/0 answer) or a negative
 * errno. Arrays handed back are malloc()ed: release them with free().
 */
#ifndef PCI_SYSFS_H
#define PCI_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>

#include "zdk_pci.h"

/* The roots everything is read under; a NULL struct or member is the real one. */
struct pci_sysfs {
	const char *sys;  /* "/sys" */
	const char *dev;  /* "/dev" */
	const char *proc; /* "/proc" */
};

#define PCI_SYSFS_NAME_LEN 64

/* PCI class codes (class << 16 | subclass << 8 | prog-if) the tools list. */
#define ZDK_PCI_CLASS_STORAGE 0x01
#define ZDK_PCI_CLASS_NETWORK 0x02
#define ZDK_PCI_CLASS_NVME 0x010802

struct pci_sysfs_dev {
	struct zdk_pci_addr addr;
	char name[PCI_SYSFS_NAME_LEN]; /* "0000:01:00.0"; a group member may be non-PCI */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsys_vendor_id;
	uint16_t subsys_device_id;
	uint32_t class_code;
	int numa_node;   /* -1 when the platform does not say */
	int iommu_group; /* -1 when none */
	char driver[PCI_SYSFS_NAME_LEN];          /* "" when no driver is bound */
	char driver_override[PCI_SYSFS_NAME_LEN]; /* "" when not set */
	char vfio_cdev[32]; /* "vfio0" under <dev>/vfio-dev/, "" when none */
	int sriov_totalvfs; /* 0 when not SR-IOV capable */
	int sriov_numvfs;
};

/**
 * pci_sysfs_scan() - every PCI function, in address order.
 * @fs: roots (NULL: the real ones).
 * @devs: set to a malloc()ed array (NULL when there are none).
 *
 * Return: the number of functions, -ENOENT (no <sys>/bus/pci/devices), or
 * -ENOMEM.
 */
int pci_sysfs_scan(const struct pci_sysfs *fs,
				  struct pci_sysfs_dev **devs);

/**
 * pci_sysfs_dev_read() - one function by address.
 * @fs: roots (NULL: the real ones).
 * @addr: the function.
 * @dev: filled in.
 *
 * Return: 0, or -ENODEV when there is no such function.
 */
int pci_sysfs_dev_read(const struct pci_sysfs *fs,
				      const struct zdk_pci_addr *addr,
				      struct pci_sysfs_dev *dev);

/**
 * pci_sysfs_group_list() - the devices of IOMMU group @group.
 * @fs: roots (NULL: the real ones).
 * @group: the group number.
 * @devs: set to a malloc()ed array in name order.
 *
 * Non-PCI members have only their name and driver filled in.
 * Return: the number of devices, -ENOENT (no such group), or -ENOMEM.
 */
int pci_sysfs_group_list(const struct pci_sysfs *fs, int group,
					struct pci_sysfs_dev **devs);

/**
 * pci_sysfs_driver_viable() - whether a device bound to @driver leaves
 * its IOMMU group usable by VFIO.
 * @driver: a driver name, or "" for none.
 *
 * As the kernel decides it: no driver, or one that manages DMA itself
 * (driver_managed_dma: vfio-pci and its variant drivers, pci-stub, pcieport).
 */
bool pci_sysfs_driver_viable(const char *driver);

/**
 * pci_sysfs_group_viable() - whether every device of @group is bound to
 * a viable driver (see pci_sysfs_driver_viable()).
 * @fs: roots (NULL: the real ones).
 * @group: the group number.
 * @culprit: when not viable and not NULL, set to the first offending device.
 *
 * Return: 1 viable, 0 not viable, -ENOENT (no such group), -ENOMEM.
 */
int pci_sysfs_group_viable(const struct pci_sysfs *fs, int group,
					  struct pci_sysfs_dev *culprit);

/**
 * pci_sysfs_bind() - bind a function to @driver: write @driver to its
 * driver_override, unbind it from its current driver, ask the kernel to
 * probe it (drivers_probe).
 * @fs: roots (NULL: the real ones).
 * @addr: the function.
 * @driver: e.g. "vfio-pci".
 *
 * Nothing is done when the function is already bound to @driver. Whether
 * the kernel bound it is read back with pci_sysfs_dev_read().
 * Return: 0, -ENODEV (no such function), -EINVAL (bad driver name), or the
 * error of a sysfs write (-EACCES/-EPERM: not root).
 */
int pci_sysfs_bind(const struct pci_sysfs *fs, const struct zdk_pci_addr *addr,
				  const char *driver);

/**
 * pci_sysfs_unbind() - unbind a function from its driver (none is fine).
 * @fs: roots (NULL: the real ones).
 * @addr: the function.
 *
 * driver_override is left as it is, so vfio-pci stays the only driver that
 * may take it. Return: 0, -ENODEV, or the error of the sysfs write.
 */
int pci_sysfs_unbind(const struct pci_sysfs *fs,
				    const struct zdk_pci_addr *addr);

/**
 * pci_sysfs_restore() - give a function back to the kernel's choice of
 * driver: clear driver_override, unbind, drivers_probe.
 * @fs: roots (NULL: the real ones).
 * @addr: the function.
 *
 * Return: 0, -ENODEV, or the error of a sysfs write.
 */
int pci_sysfs_restore(const struct pci_sysfs *fs,
				     const struct zdk_pci_addr *addr);

/**
 * pci_sysfs_dev_in_use() - whether a function is in use: on a kernel
 * driver, one of its network interfaces is up, or one of its block devices
 * is mounted, used as swap or held by another block device; on vfio-pci, a
 * process has its VFIO group or device node open (<proc>/<pid>/fd).
 * @fs: roots (NULL: the real ones).
 * @addr: the function.
 * @why: set to what uses it ("network interface eth0 is up",
 *	  "/dev/vfio/12 is open in process 4242 (l2fwd)").
 * @len: size of @why.
 *
 * Return: 1 in use, 0 not, or a negative errno.
 */
int pci_sysfs_dev_in_use(const struct pci_sysfs *fs,
					const struct zdk_pci_addr *addr, char *why, size_t len);

/** pci_sysfs_driver_present() - 1 when PCI driver @driver is loaded, else 0. */
int pci_sysfs_driver_present(const struct pci_sysfs *fs, const char *driver);

/** pci_sysfs_vfio_pci_present() - 1 when the vfio-pci driver is loaded, else 0. */
int pci_sysfs_vfio_pci_present(const struct pci_sysfs *fs);

/*
 * The file helpers pci_sysfs.c and host_probe.c share: the roots of @fs
 * (NULL: the real ones), paths under them, small reads, listings.
 */
const char *sysfs_root_sys(const struct pci_sysfs *fs);
const char *sysfs_root_dev(const struct pci_sysfs *fs);
const char *sysfs_root_proc(const struct pci_sysfs *fs);
/* @root "/" + the formatted tail into @buf (PATH_MAX). Return: 0 or -ENAMETOOLONG. */
int sysfs_path(char *buf, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A small file without its trailing newline. Return: its length or -errno. */
int sysfs_read_str(const char *path, char *buf, size_t len);
int sysfs_exists(const char *path);
/* The entries of a directory but . and .., sorted. Return: count or -errno. */
int sysfs_dir_list(const char *path, struct dirent ***ents);
void sysfs_dir_free(struct dirent **ents, int n);
/* strncpy that always terminates. */
void sysfs_str_copy(char *dst, size_t len, const char *src);

#endif /* PCI_SYSFS_H */
