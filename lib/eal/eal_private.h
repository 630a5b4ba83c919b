/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_EAL_PRIVATE_H
#define ZDK_EAL_PRIVATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "zdk_eal.h"
#include "zdk_pci.h"

#define EAL_MAX_DEVS ZDK_EAL_MAX_DEVS
#define EAL_MAX_NODES ZDK_EAL_MAX_NODES
#define EAL_DEFAULT_MEM_MB 128

/* Per node: 1 PiB, far beyond any machine, and << 20 cannot overflow. */
#define EAL_MAX_NODE_MEM_MB (1UL << 30)

/* A zdk_eal_conf once checked: addresses parsed, lcores as a set. */
struct eal_conf {
	bool lcore_set;
	unsigned char lcores[ZDK_MAX_LCORE]; /* 1 = enabled */
	unsigned main_lcore;
	struct zdk_pci_addr allow[EAL_MAX_DEVS];
	unsigned nallow;
	struct zdk_pci_addr block[EAL_MAX_DEVS];
	unsigned nblock;
	enum zdk_eal_iommu iommu;
	bool mem_set;
	size_t node_mem_mb[EAL_MAX_NODES];
	char huge_dir[PATH_MAX];
	size_t huge_size; /* 0 = default */
	bool no_huge;
	char file_prefix[64];
	int log_level; /* 0 = unchanged */
	bool no_probe;
	bool help;
	bool version;
	/* Handed over (struct zdk_eal_fd): -1 = none; never closed. */
	int iommufd_fd;
	int huge_fd;
	size_t huge_fd_size; /* the file's, in bytes (eal_fds_check()) */
	struct eal_vfio_fd {
		struct zdk_pci_addr addr;
		int fd;
	} vfio_fds[EAL_MAX_DEVS];
	unsigned nvfio_fds;
};

/* zdk_eal_init()'s argv as a zdk_eal_conf; the lists point into argv. */
struct eal_args {
	struct zdk_eal_conf conf;
	const char *allow[EAL_MAX_DEVS + 1];
	const char *block[EAL_MAX_DEVS + 1];
	unsigned nallow, nblock;
	bool help, version;
	/* --iommufd-fd, --vfio-fd (its BDF copied out of "BDF=N"), --huge-fd */
	struct zdk_eal_fd fds[EAL_MAX_DEVS + 3];
	char fd_bdfs[EAL_MAX_DEVS][32];
	unsigned nfds, nfd_bdfs;
};

/*
 * eal_parse_argv() - the options into @a, checking only what is particular
 * to text. Return: argv entries consumed, or -EINVAL with the fix logged.
 */
int eal_parse_argv(int argc, char **argv, struct eal_args *a);

/*
 * eal_conf_check() - check every field of @pub and the descriptors @fds
 * (NULL: none), whoever filled them, into @c.
 * Return: 0, or -EINVAL with the field, its option and the fix logged.
 */
int eal_conf_check(const struct zdk_eal_conf *pub, const struct zdk_eal_fd *fds,
		   struct eal_conf *c);

/*
 * eal_parse_args() - eal_parse_argv() then eal_conf_check().
 * Return: argv entries consumed (a "--" included, argv[0] not), or -EINVAL
 * with the option and the fix logged.
 */
int eal_parse_args(int argc, char **argv, struct eal_conf *conf);

/*
 * eal_fds_check() - the handed-over descriptors of @c are what they claim
 * (eal_fds.c): open read-write; /dev/iommu's and each device's VFIO cdev's
 * device numbers as <@sys_root>/class/misc/iommu/dev and the device's
 * vfio-dev/vfioN/dev say (@sys_root NULL: "/sys"); the hugepage file a
 * regular file on hugetlbfs (tmpfs with --no-huge). Sets c->huge_size from
 * the file and, without -m, the arena's size to the file's. Nothing is
 * closed, whatever the outcome.
 * Return: 0, -EBADF (not open) or -EINVAL (not of its kind), logged with
 * the option, the descriptor, what it is and what was wanted.
 */
int eal_fds_check(struct eal_conf *c, const char *sys_root);

/* "0-3,6" into @set (ZDK_MAX_LCORE entries); the first listed is *first. */
int eal_parse_lcores(const char *s, unsigned char *set, unsigned *first);
/* "2M", "1G", "2048K", "1073741824" */
int eal_parse_size(const char *s, size_t *bytes);
/* "512,512" MiB per node */
int eal_parse_socket_mem(const char *s, size_t *mb, unsigned max);


#endif
