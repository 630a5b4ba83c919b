/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rights.c - RLIMIT_MEMLOCK arithmetic and file rights, each with its fix
 * (rights.h says what the kernel counts and where).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rights.h"
#include "sys.h"

#define CAP_IPC_LOCK_BIT 14 /* <linux/capability.h> */

uint64_t memlock_kib(uint64_t bytes)
{
	return (bytes + MEMLOCK_PAGE - 1) / MEMLOCK_PAGE * (MEMLOCK_PAGE / 1024);
}

static uint64_t rlim_kib(rlim_t v)
{
	return v == RLIM_INFINITY ? MEMLOCK_UNLIMITED : (uint64_t)v / 1024;
}

int memlock_self_read(const char *proc, struct memlock_self *st)
{
	unsigned long long caps = 0, kib;
	char path[256], line[256];
	struct rlimit rl;
	FILE *f;
	int rc;

	memset(st, 0, sizeof(*st));
	st->uid = geteuid();
	st->ppid = getppid();
	rc = sys_getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rc)
		return rc;
	st->cur_kib = rlim_kib(rl.rlim_cur);
	st->max_kib = rlim_kib(rl.rlim_max);
	snprintf(path, sizeof(path), "%s/self/status", proc ? proc : "/proc");
	if (sys_fopen(path, "re", &f))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			st->cap_ipc_lock = caps >> CAP_IPC_LOCK_BIT & 1;
		else if (sscanf(line, "VmLck: %llu kB", &kib) == 1)
			st->locked_kib = kib;
		else if (sscanf(line, "VmPin: %llu kB", &kib) == 1)
			st->pinned_kib = kib;
	}
	fclose(f);
	return 0;
}

uint64_t memlock_need_kib(const struct memlock_self *st, enum memlock_acct acct, uint64_t bytes)
{
	if (st->cap_ipc_lock || acct == MEMLOCK_NONE)
		return 0;
	return (acct == MEMLOCK_PER_PROCESS ? st->locked_kib : st->pinned_kib) + memlock_kib(bytes);
}

bool memlock_fits(const struct memlock_self *st, enum memlock_acct acct, uint64_t bytes)
{
	uint64_t need = memlock_need_kib(st, acct, bytes);

	return need == 0 || st->cur_kib == MEMLOCK_UNLIMITED || need <= st->cur_kib;
}

int rights_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &found) == 0 && found) {
		snprintf(buf, len, "%s", found->pw_name);
		return 0;
	}
	snprintf(buf, len, "%u", (unsigned)uid);
	return -ENOENT;
}

static void group_name(gid_t gid, char *buf, size_t len)
{
	struct group gr, *found = NULL;
	char tmp[1024];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &found) == 0 && found)
		snprintf(buf, len, "%s", found->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned)gid);
}

void memlock_user(uid_t uid, char *buf, size_t len)
{
	if (rights_user_name(uid, buf, len))
		snprintf(buf, len, "%u:%u", (unsigned)uid, (unsigned)uid);
}

void rights_hint(const char *path, const char *right, const char *bdf, char *buf, size_t len)
{
	char user[64], owner[64], group[64], mode[80] = "";
	uid_t uid = geteuid();
	struct stat st;

	rights_user_name(uid, user, sizeof(user));
	if (sys_stat(path, &st) == 0) {
		rights_user_name(st.st_uid, owner, sizeof(owner));
		group_name(st.st_gid, group, sizeof(group));
		snprintf(mode, sizeof(mode), "%.20s:%.20s, mode %04o", owner, group,
			 (unsigned)(st.st_mode & 07777));
	}
	snprintf(buf, len, "uid %u (%s) has no %s access to %s%s%s%s: as root run zdk-devbind "
		 "--grant=%s %s, or start the program through zdk-launch --user=%s "
		 "(doc/nonroot.md)", (unsigned)uid, user, right, path, mode[0] ? " (" : "", mode,
		 mode[0] ? ")" : "", user, bdf ? bdf : "BDF...", user);
}

void memlock_fix(const struct memlock_self *st, uint64_t need_kib, char *buf, size_t len)
{
	char user[64];

	memlock_user(st->uid, user, sizeof(user));
	if (st->max_kib == MEMLOCK_UNLIMITED || need_kib <= st->max_kib) {
		snprintf(buf, len, "raise it yourself with ulimit -l %llu (your hard limit allows "
			 "it), or for every login set '%s - memlock %llu' in "
			 "/etc/security/limits.d/zdk.conf", (unsigned long long)need_kib, user,
			 (unsigned long long)need_kib);
		return;
	}
	snprintf(buf, len, "as root, prlimit --pid %d --memlock=%llu:%llu raises it for the "
		 "process that started this one (pid %d), or set '%s - memlock %llu' in "
		 "/etc/security/limits.d/zdk.conf for every login (systemd units: "
		 "LimitMEMLOCK=%llu); zdk-launch sets it for the program it starts",
		 (int)st->ppid, (unsigned long long)need_kib * 1024,
		 (unsigned long long)need_kib * 1024, (int)st->ppid, user,
		 (unsigned long long)need_kib, (unsigned long long)need_kib * 1024);
}
