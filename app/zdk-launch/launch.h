/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * launch.h - zdk-launch as functions, so unit tests can run each step over a
 * fake /dev and /sys and check what the program would be given.
 */
#ifndef ZDK_LAUNCH_H
#define ZDK_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pci_sysfs.h"
#include "user.h"

#define LAUNCH_MAX_DEVS 64

/* Exit codes before the exec; after it, the program's own. */
#define LAUNCH_ERROR 125 /* something could not be opened or dropped */
#define LAUNCH_USAGE 2
#define LAUNCH_EXEC 127  /* the program could not be run */

struct launch {
	/* options */
	const char *user;
	struct zdk_pci_addr addrs[LAUNCH_MAX_DEVS];
	int naddrs;
	uint64_t mem_mib;      /* -m: the hugepage file's size (default 128) */
	uint64_t huge_size;    /* --huge-size: 0 = the system's default */
	const char *huge_dir;  /* --huge-dir: a file there (unlinked) instead of a memfd */
	bool no_huge;          /* --no-huge: a plain memfd, and --no-huge for zdk */
	uint64_t memlock_kib;  /* --memlock: 0 = what the arena needs */
	bool verbose;
	struct pci_sysfs fs;   /* hidden --sysfs-root, --dev-root: tests */
	char **prog;           /* PROGRAM ARGS..., NULL-terminated */
	int nprog;
	FILE *err;
	/* what was opened; -1 none */
	struct user_id u;
	int iommufd;
	int dev_fds[LAUNCH_MAX_DEVS];
	int huge_fd;
	bool per_process;      /* IOMMU_OPTION_RLIMIT_MODE = 1 took */
};

/* Return: 0, 1 (--help or --version printed), or -1 (usage; said on l->err). */
int launch_parse(struct launch *l, int argc, char **argv, FILE *out, FILE *err);

/*
 * launch_open() - as root: the user looked up, /dev/iommu opened (process
 * accounting asked for), each device's VFIO cdev, the hugepage file made
 * and sized. All close-on-exec until launch_exec().
 * Return: 0, or -1 with what failed and its fix on l->err.
 */
int launch_open(struct launch *l);

/* The program's argv: PROGRAM, the descriptor options, then ARGS. malloc()ed. */
char **launch_argv(const struct launch *l);

/* The RLIMIT_MEMLOCK, in KiB, the program gets. */
uint64_t launch_memlock_kib(const struct launch *l);

/*
 * launch_drop() - RLIMIT_MEMLOCK set, then every privilege dropped: the
 * user's groups, gid and uid, no capability in any set (bounding and
 * ambient included), no_new_privs. Checked after, not assumed.
 * Return: 0, or -1 with what failed on l->err.
 */
int launch_drop(struct launch *l);

/* launch_close() - close what launch_open() opened (a failed launch). */
void launch_close(struct launch *l);

/*
 * launch_main() - all of it, then execvp(): returns only on failure, with
 * LAUNCH_USAGE, LAUNCH_ERROR or LAUNCH_EXEC (0 after --help).
 */
int launch_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* ZDK_LAUNCH_H */
