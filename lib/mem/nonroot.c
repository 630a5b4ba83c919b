/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nonroot.c - the arena without root (doc/nonroot.md): RLIMIT_MEMLOCK
 * checked before anything is pinned, and explained when the kernel refuses
 * a pin; a hugepage file handed over by a launcher (--huge-fd), used and
 * never closed; the per-user directory zdk-devbind --grant makes in a
 * hugetlbfs mount the user may not write to.
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "rights.h"
#include "sys.h"
#include "zdk_log.h"

static const char *mib_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 20))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	return buf;
}

/* What iommufd's per-user accounting adds to a message. */
static const char *per_user_note(enum memlock_acct acct, const struct memlock_self *st,
				 char *buf, size_t len)
{
	if (acct != MEMLOCK_PER_USER)
		return "";
	snprintf(buf, len, ". iommufd charges the pins of every process of uid %u together: "
		 "with several zdk processes at once, the limit must cover the sum of their "
		 "arenas", (unsigned)st->uid);
	return buf;
}

int mem_pin_check(const struct iommu *io, uint64_t bytes, const char *what)
{
	char fix[640], note[192], sz[32];
	enum memlock_acct acct = iommu_pin_acct(io);
	struct memlock_self st;
	uint64_t need;

	if (memlock_self_read(NULL, &st) || memlock_fits(&st, acct, bytes))
		return 0;
	need = memlock_need_kib(&st, acct, bytes);
	memlock_fix(&st, need, fix, sizeof(fix));
	ZDK_ERR("pinning %s (%s) for DMA needs RLIMIT_MEMLOCK >= %llu KiB, yours is %llu KiB: "
		"%s%s", what, mib_str(bytes, sz, sizeof(sz)), (unsigned long long)need,
		(unsigned long long)st.cur_kib, fix, per_user_note(acct, &st, note, sizeof(note)));
	return -ENOMEM;
}

void mem_pin_refused(const struct iommu *io, uint64_t bytes, const char *what, int rc)
{
	enum memlock_acct acct = iommu_pin_acct(io);
	char fix[640], note[192], sz[32];
	struct memlock_self st;
	uint64_t need;

	if (rc != -ENOMEM || memlock_self_read(NULL, &st) || st.cap_ipc_lock ||
	    st.cur_kib == MEMLOCK_UNLIMITED || acct == MEMLOCK_NONE)
		return;
	need = memlock_need_kib(&st, acct, bytes);
	if (acct == MEMLOCK_PER_USER && need <= st.cur_kib)
		need = st.cur_kib + memlock_kib(bytes); /* the others hold what is missing */
	memlock_fix(&st, need, fix, sizeof(fix));
	ZDK_ERR("the kernel refused to pin %s (%s): RLIMIT_MEMLOCK (%llu KiB) is used up%s%s; "
		"%s", what, mib_str(bytes, sz, sizeof(sz)), (unsigned long long)st.cur_kib,
		acct == MEMLOCK_PER_USER ? " by the processes of this user" : "",
		per_user_note(acct, &st, note, sizeof(note)), fix);
}

int mem_seg_open_handed(struct mem_seg *s, int fd)
{
	struct stat st;
	int rc;

	if (sys_flock(fd, LOCK_EX | LOCK_NB)) {
		ZDK_ERR("--huge-fd %d: the file is in use by another zdk process: hand each "
			"process its own", fd);
		return -EBUSY;
	}
	s->fd = fd;
	s->handed = true;
	rc = sys_fstat(fd, &st);
	if (!rc && (uint64_t)st.st_size >= s->len)
		return 0;
	rc = sys_ftruncate(fd, (off_t)s->len);
	if (rc)
		ZDK_ERR("--huge-fd %d: the file holds %lld bytes and cannot grow to the %zu MiB "
			"arena: %s; size it for -m (zdk-launch -m does)", fd,
			(long long)st.st_size, s->len >> 20, strerror(-rc));
	return rc;
}

void mem_seg_release_handed(struct mem_seg *s)
{
	sys_flock(s->fd, LOCK_UN);
	s->fd = -1;
	s->handed = false;
}

void mem_huge_dir_user(char *dir, size_t len)
{
	char mine[PATH_MAX];

	if (!dir[0] || sys_access_eff(dir, W_OK | X_OK) == 0)
		return;
	if ((size_t)snprintf(mine, sizeof(mine), "%s/zdk-%u", dir, (unsigned)geteuid()) >=
	    sizeof(mine) || sys_access_eff(mine, W_OK | X_OK))
		return;
	ZDK_INFO("%s is not writable for uid %u: using %s", dir, (unsigned)geteuid(), mine);
	snprintf(dir, len, "%s", mine);
}

const char *mem_huge_dir_fix(int rc, const char *file, char *buf, size_t len)
{
	char dir[PATH_MAX], *slash;
	size_t n;

	if (rc != -EACCES && rc != -EPERM)
		return "";
	if (sys_access_eff(file, F_OK) == 0) { /* another user's file, in a shared directory */
		n = (size_t)snprintf(buf, len, " (");
		rights_hint(file, "read-write", NULL, buf + n, len - n);
		n = strlen(buf);
		snprintf(buf + n, len - n, "; or give this process its own --file-prefix)");
		return buf;
	}
	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	n = (size_t)snprintf(buf, len, " (");
	rights_hint(dir, "write", NULL, buf + n, len - n);
	n = strlen(buf);
	snprintf(buf + n, len - n, "; --grant makes %s/zdk-%u, which zdk then uses by itself; "
		 "or pass --huge-dir with a hugetlbfs directory you may write)", dir,
		 (unsigned)geteuid());
	return buf;
}
