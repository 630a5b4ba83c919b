/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * user.h - another user's rights, as the tools that prepare a machine for
 * running zdk without root see them (zdk-devbind --grant, zdk-doctor
 * --user, zdk-launch; doc/nonroot.md): who the user is, what a file's
 * owner, group and mode let them do, and the memlock limit a login of
 * theirs gets from /etc/security/limits.conf and limits.d.
 */
#ifndef ZDK_APP_USER_H
#define ZDK_APP_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USER_MAX_GROUPS 64

struct user_id {
	uid_t uid;
	gid_t gid;
	char name[64];   /* the login name, or the uid as a number */
	bool has_name;   /* a passwd entry exists */
	gid_t groups[USER_MAX_GROUPS]; /* supplementary, the primary included */
	int ngroups;
};

/*
 * user_lookup() - @spec is a login name, a uid, or "uid:gid". A uid with no
 * passwd entry gets @gid = uid (or the one given) and no other group.
 * Return: 0, -ENOENT (no such name) or -EINVAL (malformed).
 */
int user_lookup(const char *spec, struct user_id *u);

/* R_OK, W_OK, X_OK as st_mode bits grant them to @u (root: everything but X on no x bit). */
bool user_may(const struct user_id *u, uid_t owner, gid_t group, mode_t mode, int want);

/*
 * user_access() - whether @u may @want (R_OK|W_OK|X_OK) @path, searching
 * (X_OK) every directory from @root down to it. POSIX ACLs are not read.
 * @denied: set to the path that refuses (@path or a directory), when any.
 * Return: 0, -EACCES or -ENOENT.
 */
int user_access(const struct user_id *u, const char *root, const char *path, int want,
		char *denied, size_t len);

/* "root:root, mode 0600" for @path, or "" if it cannot be read. */
void user_file_owner(const char *path, char *buf, size_t len);

/*
 * user_memlock_limit() - the RLIMIT_MEMLOCK pam_limits gives a login of @u,
 * from <@etc>/security/limits.conf then limits.d/ *.conf (@etc NULL:
 * "/etc"), in KiB (MEMLOCK_UNLIMITED for unlimited): a line for the user
 * beats one for a group or uid range, which beats "*"; among equals the
 * last read wins.
 * @where: set to the file and line that decided the soft limit.
 * Return: 1 found, 0 no memlock line applies (the system default holds).
 */
int user_memlock_limit(const struct user_id *u, const char *etc, uint64_t *soft_kib,
		       uint64_t *hard_kib, char *where, size_t len);

/*
 * user_memlock_need() - the RLIMIT_MEMLOCK, in KiB, that @procs zdk
 * processes of @mib MiB of arena each need under iommufd's per-user
 * accounting (type1 and RLIMIT_MODE=1 need one process's share each), and
 * in @why the arithmetic, for @ndevs devices (which add nothing).
 */
uint64_t user_memlock_need(uint64_t mib, unsigned procs, unsigned ndevs, char *why, size_t len);

#endif /* ZDK_APP_USER_H */
