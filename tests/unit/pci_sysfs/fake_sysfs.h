/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_sysfs.h - build a fake /sys, /dev and /proc in a temp dir for the
 * pci_sysfs, zdk-devbind and zdk-doctor unit tests. Setup failures abort the
 * test program: a test whose tree is wrong must not pass.
 */
#ifndef FAKE_SYSFS_H
#define FAKE_SYSFS_H

#include <limits.h>
#include <stdint.h>

#include "pci_sysfs.h"

struct fake_sysfs {
	char root[256];      /* the temp dir */
	char sys[PATH_MAX];  /* root/sys */
	char dev[PATH_MAX];  /* root/dev */
	char proc[PATH_MAX]; /* root/proc */
	struct pci_sysfs fs;
};

/* An empty machine: the sysfs, /dev and /proc skeleton, no devices. */
void fake_create(struct fake_sysfs *f);
/* Remove the whole tree. */
void fake_destroy(struct fake_sysfs *f);

/* Write a file (parents created) under the root: fake_file(f, "sys/x", "%d", 1). */
void fake_file(struct fake_sysfs *f, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Create a directory and its parents. */
void fake_dir(struct fake_sysfs *f, const char *rel);
/* Create a symlink @rel pointing at @target (relative, as sysfs does). */
void fake_link(struct fake_sysfs *f, const char *rel, const char *target);
/* Remove a file or symlink. */
void fake_unlink(struct fake_sysfs *f, const char *rel);
/* The content of a file (static buffer; "" for an empty or missing file). */
const char *fake_read(struct fake_sysfs *f, const char *rel);
/* The absolute path of @rel (static buffer). */
const char *fake_path(struct fake_sysfs *f, const char *rel);

/* A PCI driver directory with its bind/unbind files. */
void fake_driver(struct fake_sysfs *f, const char *driver);

/*
 * A PCI function under sys/devices/pci0000:00/@bdf with the
 * sys/bus/pci/devices link, in IOMMU group @group (-1: none), bound to
 * @driver (NULL: none).
 */
void fake_pci(struct fake_sysfs *f, const char *bdf, uint16_t vendor, uint16_t device,
	      uint32_t class_code, int numa_node, int group, const char *driver);
/* Rebind a fake function: @driver NULL removes the driver link. */
void fake_pci_driver(struct fake_sysfs *f, const char *bdf, const char *driver);
/* A network interface of @bdf with its operstate and flags. */
void fake_netdev(struct fake_sysfs *f, const char *bdf, const char *ifname, const char *operstate,
		 unsigned flags);
/* A block device of @bdf (under nvme/nvme0 as the kernel puts it). */
void fake_blockdev(struct fake_sysfs *f, const char *bdf, const char *name);
/* A hugepage pool: @node -1 is the global one. */
void fake_hugepages(struct fake_sysfs *f, int node, unsigned long kb, unsigned long nr,
		    unsigned long nfree);

#endif /* FAKE_SYSFS_H */
