/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rights.h - what a process without root needs, and the fix when it lacks
 * it: RLIMIT_MEMLOCK for the pages it pins for DMA, and access to the files
 * it opens. Shared-internal: libzdk checks and explains with it, and the
 * tools (zdk-devbind --grant, zdk-doctor --user, zdk-launch) print the same
 * figures and commands; never installed. doc/nonroot.md is the user's side.
 *
 * What the kernel counts (Linux 6.6 to 7.3, drivers/iommu/iommufd/pages.c
 * and drivers/vfio/vfio_iommu_type1.c):
 * - every pinned 4 KiB page (PAGE_SIZE), hugepages included: a 2 MiB page
 *   is 512 of them, whether it was pinned by address (IOMMU_IOAS_MAP,
 *   VFIO_IOMMU_MAP_DMA) or by file (IOMMU_IOAS_MAP_FILE);
 * - once per mapping, however many devices or IOMMU domains share it;
 * - nothing at all for a process with CAP_IPC_LOCK;
 * - type1, and iommufd when IOMMU_OPTION_RLIMIT_MODE is 1: against the
 *   process's mm->locked_vm (VmLck: mlock() counts there too);
 * - iommufd by default: against the user's locked_vm, the sum over every
 *   process of that uid (io_uring's registered buffers count there too),
 *   checked against the RLIMIT_MEMLOCK of the process that maps.
 */
#ifndef ZDK_RIGHTS_H
#define ZDK_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MEMLOCK_PAGE 4096u /* the unit the kernel counts pins in (PAGE_SIZE) */
#define MEMLOCK_UNLIMITED UINT64_MAX

/* Who a pin is charged to. */
enum memlock_acct {
	MEMLOCK_NONE,        /* no-IOMMU: nothing is pinned */
	MEMLOCK_PER_PROCESS, /* type1; iommufd with IOMMU_OPTION_RLIMIT_MODE = 1 */
	MEMLOCK_PER_USER,    /* iommufd's default */
};

/* What this process may pin. */
struct memlock_self {
	bool cap_ipc_lock;   /* CAP_IPC_LOCK effective: no limit applies */
	uint64_t cur_kib;    /* RLIMIT_MEMLOCK soft limit, MEMLOCK_UNLIMITED or KiB */
	uint64_t max_kib;    /* the hard limit */
	uint64_t locked_kib; /* VmLck: mm->locked_vm (mlock, type1's pins) */
	uint64_t pinned_kib; /* VmPin: this process's long-term pins */
	uid_t uid;
	pid_t ppid;          /* the process that started this one */
};

/* memlock_kib() - KiB of RLIMIT_MEMLOCK that pinning @bytes uses up. */
uint64_t memlock_kib(uint64_t bytes);

/*
 * memlock_self_read() - fill @st for this process: the limits, CAP_IPC_LOCK,
 * VmLck and VmPin from <@proc>/self/status (@proc NULL: "/proc").
 * Return: 0, or the negative errno of getrlimit() (status fields missing
 * read as 0).
 */
int memlock_self_read(const char *proc, struct memlock_self *st);

/*
 * memlock_need_kib() - the RLIMIT_MEMLOCK, in KiB, the process needs so that
 * it can pin @bytes more under @acct: what it already has charged (VmLck per
 * process; at least its own VmPin per user) plus the pin. 0 when nothing is
 * counted (CAP_IPC_LOCK, no-IOMMU).
 */
uint64_t memlock_need_kib(const struct memlock_self *st, enum memlock_acct acct, uint64_t bytes);

/* memlock_fits() - whether the soft limit covers memlock_need_kib(). */
bool memlock_fits(const struct memlock_self *st, enum memlock_acct acct, uint64_t bytes);

/*
 * memlock_user() - @uid's name for limits.conf, or "UID:UID" (a uid range
 * pam_limits takes) when it has none.
 */
void memlock_user(uid_t uid, char *buf, size_t len);

/* rights_user_name() - @uid's login name, or its number. Return: 0 or -ENOENT (a number). */
int rights_user_name(uid_t uid, char *buf, size_t len);

/*
 * rights_hint() - why this process may not use @path and how root grants
 * it, as one clause: "uid 1000 (alice) has no read-write access to
 * /dev/iommu (root:root, mode 0600): as root run zdk-devbind --grant=alice
 * 0000:01:00.0, or start the program through zdk-launch --user=alice".
 * @right: "read-write" for a device node, "write" for a directory.
 * @bdf: the device the node serves, or NULL ("BDF...").
 */
void rights_hint(const char *path, const char *right, const char *bdf, char *buf, size_t len);

/*
 * memlock_fix() - what raises the limit of @st's user to @need_kib, as one
 * clause: ulimit -l where the hard limit allows it, else as root prlimit on
 * the parent process and a limits.d line for every login.
 */
void memlock_fix(const struct memlock_self *st, uint64_t need_kib, char *buf, size_t len);

#endif /* ZDK_RIGHTS_H */
