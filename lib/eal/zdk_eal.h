/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_eal.h - environment initialisation (the lcores: zdk_lcore.h).
 *
 * zdk_eal_init() parses DPDK-style options, reserves the hugepage arena on
 * each NUMA node, picks the IOMMU backend, maps the arena for DMA once, opens
 * the allowed VFIO devices and probes their drivers. zdk_eal_init_conf()
 * does the same from a struct, for programs that embed zdk; the options are
 * parsed into that struct.
 */
#ifndef ZDK_EAL_H
#define ZDK_EAL_H

#include <stdbool.h>
#include <stddef.h>
#include "zdk_common.h"
#include "zdk_lcore.h" /* the lcores zdk_eal_init() starts */

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_EAL_MAX_NODES 8 /* NUMA nodes in zdk_eal_conf.socket_mem_mb */
#define ZDK_EAL_MAX_DEVS 64 /* devices in an allow or block list */

/** How the IOMMU backend is chosen (--iommu). */
enum zdk_eal_iommu {
	ZDK_EAL_IOMMU_AUTO = 0, /* iommufd, else type1; no-IOMMU only without an IOMMU */
	ZDK_EAL_IOMMU_IOMMUFD,
	ZDK_EAL_IOMMU_TYPE1,
	ZDK_EAL_IOMMU_NOIOMMU,  /* the no-IOMMU cdev + iommufd where the kernel has it, else the group */
	ZDK_EAL_IOMMU_NOIOMMU_IOMMUFD, /* only the no-IOMMU cdev + iommufd (Linux 7.3+) */
	ZDK_EAL_IOMMU_NOIOMMU_GROUP,   /* only the no-IOMMU group + /proc/self/pagemap */
};

/** What a descriptor handed to zdk stands for (struct zdk_eal_fd). */
enum zdk_eal_fd_kind {
	ZDK_EAL_FD_END = 0, /* ends the list */
	ZDK_EAL_FD_IOMMUFD, /* --iommufd-fd: an open /dev/iommu */
	ZDK_EAL_FD_VFIO,    /* --vfio-fd: a device's /dev/vfio/devices/vfioN, for @bdf */
	ZDK_EAL_FD_HUGE,    /* --huge-fd: the arena's file (hugetlbfs or a memfd) */
};

/**
 * struct zdk_eal_fd - a descriptor a privileged launcher opened for an
 * unprivileged program (doc/nonroot.md), used instead of opening a path.
 * @kind: what it is; each is checked (fstat) before anything is opened.
 * @fd: the descriptor, open read-write. It stays the caller's: zdk never
 *      closes it, on success or failure (a device's descriptor is left
 *      bound to its iommufd: it serves one zdk_eal_init()).
 * @bdf: ZDK_EAL_FD_VFIO: the device ("0000:01:00.0"), opened as with -a.
 */
struct zdk_eal_fd {
	enum zdk_eal_fd_kind kind;
	int fd;
	const char *bdf;
};

/**
 * struct zdk_eal_conf - what zdk_eal_init_conf() sets up; each field names
 * the option it stands for. Start from zdk_eal_conf_init(), which sets @size
 * and the defaults, and change what you need. Strings and lists are read
 * during the call only.
 * @size: sizeof(struct zdk_eal_conf) as the caller was compiled: fields
 *        added in later versions read as zero for an older caller.
 * @lcores: -l, CPUs like "0-3,6", the first the main lcore; NULL: the CPU
 *          the caller runs on.
 * @allow: -a, NULL-terminated PCI addresses ("0000:01:00.0"); NULL: every
 *         device bound to vfio-pci that a driver supports.
 * @block: -b, NULL-terminated PCI addresses to skip.
 * @iommu: --iommu.
 * @socket_mem_mb: -m, MiB of hugepages per NUMA node; all 0: 128 MiB on
 *                 each node that runs an lcore.
 * @huge_dir: --huge-dir, a hugetlbfs mount; NULL: found by libhugetlbfs.
 * @huge_size: --huge-size, 2 MiB or 1 GiB in bytes; 0: the system default.
 * @no_huge: --no-huge, 4 KiB pages (still DMA-mapped; refused without an IOMMU).
 * @no_probe: --no-probe, open the devices but attach no driver.
 * @file_prefix: --file-prefix, of the hugepage files; NULL: "zdk".
 * @log_level: --log-level, an enum zdk_log_level; 0: unchanged.
 */
struct zdk_eal_conf {
	size_t size;
	const char *lcores;
	const char *const *allow;
	const char *const *block;
	enum zdk_eal_iommu iommu;
	size_t socket_mem_mb[ZDK_EAL_MAX_NODES];
	const char *huge_dir;
	size_t huge_size;
	bool no_huge;
	bool no_probe;
	const char *file_prefix;
	int log_level;
};

/** zdk_eal_conf_init() - @conf with every default, and its size set. */
ZDK_EXPORT void zdk_eal_conf_init(struct zdk_eal_conf *conf);

/**
 * zdk_eal_init_conf() - initialise zdk from @conf (see zdk_eal_init()).
 * Return: 0, or the negative errno zdk_eal_init() documents; -EINVAL also
 * when @conf->size is 0 or larger than this library knows (a newer header).
 */
ZDK_EXPORT int zdk_eal_init_conf(const struct zdk_eal_conf *conf);

/**
 * zdk_eal_init_conf_fds() - zdk_eal_init_conf() with descriptors a
 * privileged launcher opened (the options --iommufd-fd, --vfio-fd and
 * --huge-fd of zdk_eal_init(); doc/nonroot.md).
 * @conf: as for zdk_eal_init_conf().
 * @fds: used instead of /dev/iommu, the devices' cdevs and a hugepage
 *       file; a list ended by ZDK_EAL_FD_END, NULL for none. With a
 *       hugepage file and no @conf->socket_mem_mb, the arena is the file's
 *       size. Each descriptor stays the caller's (see struct zdk_eal_fd).
 * Return: as zdk_eal_init_conf(); -EBADF for a descriptor that is not open,
 * -EINVAL for one that is not what its kind says.
 */
ZDK_EXPORT int zdk_eal_init_conf_fds(const struct zdk_eal_conf *conf,
				     const struct zdk_eal_fd *fds);

/**
 * zdk_eal_init() - initialise zdk from command-line options.
 * @argc: argument count, as given to main().
 * @argv: arguments; argv[0] is the program name. Options end at the first
 *        non-option or at "--".
 *
 * Accepts -l/--lcores, -a/--allow, -b/--block, --no-probe, --iommu,
 * -m/--socket-mem, --huge-dir, --huge-size, --no-huge, --file-prefix,
 * --log-level, --iommufd-fd, --vfio-fd, --huge-fd, -h/--help (see
 * zdk_eal_usage()).
 *
 * Return: the number of argv entries consumed, argv[0] not counted (as in
 * DPDK: the application then parses argc - ret, argv + ret, whose argv[0]
 * is the program name again), or a negative errno: -EINVAL for bad
 * options, -ENOMEM for too few hugepages, -ENODEV for a missing device or
 * IOMMU, -EBUSY for a device bound to another driver or in use, -EPERM for
 * a group that is not viable, -EACCES for device node permissions, -EBADF
 * for a handed-over descriptor that is not open (one of the wrong kind is
 * -EINVAL; neither is closed), -ENOMEM also for RLIMIT_MEMLOCK too low,
 * -EALREADY if zdk is already initialised, -ECANCELED after --help (usage
 * printed, nothing initialised). Each failure is logged with
 * the thing at fault and the fix.
 */
ZDK_EXPORT int zdk_eal_init(int argc, char **argv);

struct zdk_handover;

/**
 * zdk_eal_init_takeover() - zdk_eal_init() for a process that takes over
 * from another one (zdk_handover.h).
 * @argc, @argv: as zdk_eal_init()'s. The lcores, the log level and the like
 *        are this process's; the memory and the devices come from the old
 *        process: -m, --huge-* and --no-huge are ignored, -a may only name
 *        devices it hands over, --iommu must allow iommufd.
 * @h: from zdk_handover_connect().
 *
 * Live: the arena is mapped at the old process's addresses (which must be
 * free here: call this first thing in main()), the iommufd, its IOAS and
 * the devices are adopted without a reset, the pinned pages are charged to
 * this process (IOMMU_IOAS_CHANGE_PROCESS), and the drivers rebuild their
 * state without writing a register; nothing is written until
 * zdk_handover_commit(). Reset: waits until the old process has closed its
 * devices, then opens them as zdk_eal_init() does (the controllers are
 * reset).
 * Return: as zdk_eal_init(), and -EADDRINUSE (the arena's addresses are
 * taken in this process), -EBADMSG (the state does not check out: the
 * reason logged), -ECONNABORTED (the old process did not close its
 * devices). On failure the old process keeps everything.
 */
ZDK_EXPORT int zdk_eal_init_takeover(int argc, char **argv, struct zdk_handover *h);

/**
 * zdk_eal_cleanup() - release everything zdk_eal_init() acquired: drivers
 * removed, devices closed, DMA unmapped, hugepage files removed, fds closed
 * (but not those handed over with struct zdk_eal_fd: they are the caller's).
 * Safe to call when init failed or was never called.
 */
ZDK_EXPORT void zdk_eal_cleanup(void);

/**
 * zdk_eal_usage() - print the option summary on stdout.
 * @prog: program name for the first line.
 */
ZDK_EXPORT void zdk_eal_usage(const char *prog);


#ifdef __cplusplus
}
#endif

#endif /* ZDK_EAL_H */
