/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * user.c - another user's rights (user.h): the tools run as root and must
 * tell what alice may do, so access() is of no use; the owner/group/mode
 * rules are applied as the kernel applies them (without ACLs), and
 * pam_limits's memlock lines are read as it reads them.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rights.h"
#include "user.h"

static int parse_id(const char *s, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v > 0x7fffffffUL ? -EINVAL : 0;
}

static void user_groups(struct user_id *u)
{
	int n = USER_MAX_GROUPS;

	u->groups[0] = u->gid;
	u->ngroups = 1;
	if (u->has_name && getgrouplist(u->name, u->gid, u->groups, &n) >= 0)
		u->ngroups = n;
}

int user_lookup(const char *spec, struct user_id *u)
{
	char buf[128], tmp[4096];
	struct passwd pw, *found = NULL;
	unsigned long uid, gid;
	char *colon;

	memset(u, 0, sizeof(*u));
	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (!buf[0])
		return -EINVAL;
	if (parse_id(buf, &uid) == 0) {
		getpwuid_r((uid_t)uid, &pw, tmp, sizeof(tmp), &found);
		u->uid = (uid_t)uid;
		u->gid = found ? found->pw_gid : (gid_t)uid;
	} else {
		getpwnam_r(buf, &pw, tmp, sizeof(tmp), &found);
		if (!found)
			return -ENOENT;
		u->uid = found->pw_uid;
		u->gid = found->pw_gid;
	}
	if (colon) {
		if (parse_id(colon + 1, &gid))
			return -EINVAL;
		u->gid = (gid_t)gid;
	}
	u->has_name = found != NULL;
	snprintf(u->name, sizeof(u->name), "%.63s", found ? found->pw_name : buf);
	user_groups(u);
	return 0;
}

bool user_may(const struct user_id *u, uid_t owner, gid_t group, mode_t mode, int want)
{
	int bits;

	if (u->uid == 0)
		return !(want & X_OK) || S_ISDIR(mode) || (mode & 0111);
	if (owner == u->uid) {
		bits = (mode >> 6) & 7;
	} else {
		bits = mode & 7;
		for (int i = 0; i < u->ngroups; i++)
			if (u->groups[i] == group) {
				bits = (mode >> 3) & 7;
				break;
			}
	}
	return (bits & want) == want;
}

int user_access(const struct user_id *u, const char *root, const char *path, int want,
		char *denied, size_t len)
{
	size_t rlen = root ? strlen(root) : 0;
	char dir[4096];
	struct stat st;

	if (stat(path, &st))
		return -ENOENT;
	/* Every directory on the way must be searchable. */
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *slash = strrchr(dir, '/'); slash && slash > dir; slash = strrchr(dir, '/')) {
		struct stat ds;

		*slash = '\0';
		if (strlen(dir) < rlen)
			break;
		if (stat(dir, &ds) == 0 && !user_may(u, ds.st_uid, ds.st_gid, ds.st_mode, X_OK)) {
			snprintf(denied, len, "%s", dir);
			return -EACCES;
		}
	}
	if (!user_may(u, st.st_uid, st.st_gid, st.st_mode, want)) {
		snprintf(denied, len, "%s", path);
		return -EACCES;
	}
	return 0;
}

void user_file_owner(const char *path, char *buf, size_t len)
{
	char owner[64], group[64];
	struct group gr, *found = NULL;
	char tmp[1024];
	struct stat st;

	buf[0] = '\0';
	if (stat(path, &st))
		return;
	rights_user_name(st.st_uid, owner, sizeof(owner));
	if (getgrgid_r(st.st_gid, &gr, tmp, sizeof(tmp), &found) == 0 && found)
		snprintf(group, sizeof(group), "%s", found->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	snprintf(buf, len, "%s:%s, mode %04o", owner, group, (unsigned)(st.st_mode & 07777));
}

/* pam_limits's precedence: lower is stronger. */
enum { SRC_USER, SRC_GROUP, SRC_ALL, SRC_NONE };

static bool in_group(const struct user_id *u, const char *name)
{
	struct group gr, *found = NULL;
	char tmp[4096];

	if (getgrnam_r(name, &gr, tmp, sizeof(tmp), &found) || !found)
		return false;
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == found->gr_gid)
			return true;
	for (char **m = found->gr_mem; *m; m++)
		if (!strcmp(*m, u->name))
			return true;
	return false;
}

/* Which precedence @domain has for @u, SRC_NONE when it does not apply. */
static int domain_src(const struct user_id *u, const char *domain)
{
	unsigned long lo = 0, hi = (unsigned long)-1;
	const char *colon = strchr(domain, ':');

	if (!strcmp(domain, "*"))
		return SRC_ALL;
	if (domain[0] == '@')
		return in_group(u, domain + 1) ? SRC_GROUP : SRC_NONE;
	if (domain[0] == '%')
		return SRC_NONE; /* maxlogins only */
	if (colon) { /* a uid range: "1000:1000", "1000:", ":1000" */
		char a[32] = "", b[32] = "";

		snprintf(a, sizeof(a), "%.*s", (int)(colon - domain), domain);
		snprintf(b, sizeof(b), "%s", colon + 1);
		if ((a[0] && parse_id(a, &lo)) || (b[0] && parse_id(b, &hi)))
			return SRC_NONE;
		if (u->uid < lo || u->uid > hi)
			return SRC_NONE;
		return lo == hi ? SRC_USER : SRC_GROUP;
	}
	return !strcmp(domain, u->name) ? SRC_USER : SRC_NONE;
}

struct limit {
	uint64_t kib;
	int src;
	char where[256];
};

static void limit_set(struct limit *l, uint64_t kib, int src, const char *file, int line)
{
	if (src > l->src)
		return;
	l->kib = kib;
	l->src = src;
	snprintf(l->where, sizeof(l->where), "%s:%d", file, line);
}

static void limits_file(const struct user_id *u, const char *file, struct limit *soft,
			struct limit *hard)
{
	char line[512], domain[128], type[16], item[32], value[32];
	FILE *f = fopen(file, "re");
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		uint64_t kib;
		int src;

		n++;
		if (sscanf(line, " %127s %15s %31s %31s", domain, type, item, value) != 4 ||
		    domain[0] == '#' || strcmp(item, "memlock"))
			continue;
		src = domain_src(u, domain);
		if (src == SRC_NONE)
			continue;
		if (!strcmp(value, "unlimited") || !strcmp(value, "infinity") ||
		    !strcmp(value, "-1"))
			kib = MEMLOCK_UNLIMITED;
		else if (isdigit((unsigned char)value[0]))
			kib = strtoull(value, NULL, 10);
		else
			continue;
		if (!strcmp(type, "soft") || !strcmp(type, "-"))
			limit_set(soft, kib, src, file, n);
		if (!strcmp(type, "hard") || !strcmp(type, "-"))
			limit_set(hard, kib, src, file, n);
	}
	if (f)
		fclose(f);
}

int user_memlock_limit(const struct user_id *u, const char *etc, uint64_t *soft_kib,
		       uint64_t *hard_kib, char *where, size_t len)
{
	struct limit soft = { .src = SRC_NONE }, hard = { .src = SRC_NONE };
	char path[4096];
	glob_t g;

	snprintf(path, sizeof(path), "%s/security/limits.conf", etc ? etc : "/etc");
	limits_file(u, path, &soft, &hard);
	snprintf(path, sizeof(path), "%s/security/limits.d/*.conf", etc ? etc : "/etc");
	if (glob(path, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			limits_file(u, g.gl_pathv[i], &soft, &hard);
		globfree(&g);
	}
	if (soft.src == SRC_NONE)
		return 0;
	*soft_kib = soft.kib;
	/* A soft limit above the hard one is cut to it, as setrlimit() would refuse it. */
	*hard_kib = hard.src == SRC_NONE ? soft.kib : hard.kib;
	if (*soft_kib > *hard_kib)
		*soft_kib = *hard_kib;
	snprintf(where, len, "%s", soft.where);
	return 1;
}

uint64_t user_memlock_need(uint64_t mib, unsigned procs, unsigned ndevs, char *why, size_t len)
{
	uint64_t one = memlock_kib(mib << 20), all = one * (procs ? procs : 1);

	snprintf(why, len, "%u process%s x %llu MiB of arena = %llu pinned pages of 4 KiB "
		 "(hugepages count by their 4 KiB pages) = %llu KiB; %u device%s add%s nothing "
		 "(one IOAS or container per process); iommufd adds up every process of the "
		 "user, type1 counts each alone (%llu KiB each)", procs ? procs : 1,
		 procs > 1 ? "es" : "", (unsigned long long)mib, (unsigned long long)(all / 4),
		 (unsigned long long)all, ndevs, ndevs == 1 ? "" : "s", ndevs == 1 ? "s" : "",
		 (unsigned long long)one);
	return all;
}
