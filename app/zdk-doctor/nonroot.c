/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nonroot.c - zdk-doctor --user=USER: can USER run zdk without root, and
 * how (doc/nonroot.md)? Two ways, each judged whole:
 * - granted access: USER may read and write the devices' VFIO nodes
 *   (/dev/iommu and /dev/vfio/devices/vfioN, or /dev/vfio/vfio and the
 *   group's node), write a directory in the hugetlbfs mount, and a login of
 *   theirs gets the RLIMIT_MEMLOCK the arenas pin;
 * - handed-over descriptors: zdk-launch, as root, can open iommufd and each
 *   device's cdev (type1 has no such way), and sets the limit itself.
 * Rights are read as the kernel applies them (owner, group, mode; not ACLs),
 * for the user's uid and groups, since the doctor usually runs as root.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_private.h"
#include "host_probe.h"
#include "rights.h"
#include "user.h"

#define MAX_ITEMS 40

struct item {
	bool ok;
	char msg[1024];
	char fix[1024];
};

struct way {
	const char *name; /* "granted access", "handed over" */
	struct item items[MAX_ITEMS];
	int n;
	int missing;
};

struct ucheck {
	struct doctor *dr;
	struct user_id u;
	uint64_t mib;      /* one process's arena */
	char bdfs[256];    /* " BDF BDF...": the devices, for the fix commands */
	int ndevs;
};

__attribute__((format(printf, 3, 4)))
static struct item *add(struct way *w, bool ok, const char *fmt, ...)
{
	struct item *it = &w->items[w->n < MAX_ITEMS ? w->n++ : MAX_ITEMS - 1];
	va_list ap;

	it->ok = ok;
	it->fix[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
	w->missing += !ok;
	return it;
}

static const char *dev_root(const struct doctor *dr)
{
	return dr->fs.dev ? dr->fs.dev : "/dev";
}

/* Read-write on @rel under /dev: 0, -ENOENT, or -EACCES with @denied set. */
static int node_rw(struct ucheck *uc, const char *rel, char *denied, size_t len)
{
	char path[PATH_MAX];

	path_in(uc->dr->fs.dev, "/dev", rel, path, sizeof(path));
	snprintf(denied, len, "%s", path);
	return user_access(&uc->u, dev_root(uc->dr), path, R_OK | W_OK, denied, len);
}

static void denied_item(struct ucheck *uc, struct way *w, const char *bdf, const char *path)
{
	char owner[96];
	struct item *it;

	user_file_owner(path, owner, sizeof(owner));
	it = add(w, false, "%s: %s may not read and write %s (%s)", bdf, uc->u.name, path, owner);
	snprintf(it->fix, sizeof(it->fix), "as root: zdk-devbind --grant=%s%s (until reboot; "
		 "--persist prints what makes it last)", uc->u.name, uc->bdfs);
}

/* The nodes of one device, either backend. */
static void granted_device(struct ucheck *uc, struct way *w, const struct pci_sysfs_dev *d)
{
	char rel[96], den[PATH_MAX], first[PATH_MAX] = "";
	int rc;

	snprintf(rel, sizeof(rel), "vfio/noiommu-%d", d->iommu_group);
	if (node_rw(uc, rel, den, sizeof(den)) != -ENOENT) {
		struct item *it = add(w, false, "%s: VFIO's no-IOMMU mode needs CAP_SYS_RAWIO, "
				      "which no grant gives", d->name);

		snprintf(it->fix, sizeof(it->fix), "enable the IOMMU, or run as root");
		return;
	}
	if (d->vfio_cdev[0]) {
		snprintf(rel, sizeof(rel), "vfio/devices/%s", d->vfio_cdev);
		rc = node_rw(uc, "iommu", den, sizeof(den));
		if (rc == 0)
			rc = node_rw(uc, rel, den, sizeof(den));
		if (rc == 0) {
			add(w, true, "%s: %s may read and write /dev/iommu and %s/%s (iommufd)",
			    d->name, uc->u.name, dev_root(uc->dr), rel);
			return;
		}
		if (rc == -EACCES)
			snprintf(first, sizeof(first), "%s", den);
	}
	snprintf(rel, sizeof(rel), "vfio/%d", d->iommu_group);
	rc = node_rw(uc, "vfio/vfio", den, sizeof(den));
	if (rc == 0)
		rc = node_rw(uc, rel, den, sizeof(den));
	if (rc == 0) {
		add(w, true, "%s: %s may read and write %s/vfio/vfio and %s/%s (type1)", d->name,
		    uc->u.name, dev_root(uc->dr), dev_root(uc->dr), rel);
		return;
	}
	denied_item(uc, w, d->name, first[0] ? first : den);
}

static void granted_hugepages(struct ucheck *uc, struct way *w)
{
	struct host_mount *m;
	char dir[300], den[PATH_MAX], owner[96];
	struct item *it;
	int n = host_hugetlbfs_mounts(&uc->dr->fs, &m);

	if (n <= 0) {
		add(w, true, "hugepages: no hugetlbfs mount: zdk backs its arena with a memfd, "
		    "which needs no directory");
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/zdk-%u", m[i].path, (unsigned)uc->u.uid);
		if (user_access(&uc->u, NULL, m[i].path, W_OK | X_OK, den, sizeof(den)) == 0 ||
		    user_access(&uc->u, NULL, dir, W_OK | X_OK, den, sizeof(den)) == 0) {
			add(w, true, "hugepages: %s may make the arena's files in %s",
			    uc->u.name, access(dir, F_OK) == 0 ? dir : m[i].path);
			continue;
		}
		user_file_owner(m[i].path, owner, sizeof(owner));
		it = add(w, false, "hugepages: %s may not write %s (%s), and there is no %s of "
			 "theirs", uc->u.name, m[i].path, owner, dir);
		snprintf(it->fix, sizeof(it->fix), "as root: zdk-devbind --grant=%s%s makes %s",
			 uc->u.name, uc->bdfs, dir);
	}
	free(m);
}

static void granted_memlock(struct ucheck *uc, struct way *w)
{
	uint64_t need, soft = 8192, hard = 8192;
	char why[512], where[300], lname[80], have[64];
	struct rlimit rl;
	struct item *it;

	need = user_memlock_need(uc->mib, uc->dr->procs, (unsigned)uc->ndevs, why, sizeof(why));
	if (geteuid() == uc->u.uid && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		soft = rl.rlim_cur == RLIM_INFINITY ? MEMLOCK_UNLIMITED : rl.rlim_cur / 1024;
		snprintf(where, sizeof(where), "this process's (it runs as %s)", uc->u.name);
	} else if (!user_memlock_limit(&uc->u, uc->dr->etc, &soft, &hard, where, sizeof(where))) {
		soft = 8192;
		snprintf(where, sizeof(where), "no memlock line for %s in %s/security/limits.conf "
			 "or limits.d: a login keeps the system's default, 8192 KiB on recent "
			 "kernels and systemd", uc->u.name, uc->dr->etc ? uc->dr->etc : "/etc");
	}
	if (soft == MEMLOCK_UNLIMITED)
		snprintf(have, sizeof(have), "unlimited");
	else
		snprintf(have, sizeof(have), "%llu KiB", (unsigned long long)soft);
	if (soft == MEMLOCK_UNLIMITED || soft >= need) {
		add(w, true, "memlock: %s (%s) covers the %llu KiB needed: %s", have, where,
		    (unsigned long long)need, why);
		return;
	}
	memlock_user(uc->u.uid, lname, sizeof(lname));
	it = add(w, false, "memlock: %s gets %s (%s), %llu KiB needed: %s", uc->u.name, have,
		 where, (unsigned long long)need, why);
	snprintf(it->fix, sizeof(it->fix), "as root: echo '%s - memlock %llu' "
		 ">/etc/security/limits.d/zdk-%s.conf (new logins; systemd units: "
		 "LimitMEMLOCK=%llu)", lname, (unsigned long long)need, uc->u.name,
		 (unsigned long long)need * 1024);
}

static void handed(struct ucheck *uc, struct way *w, const struct pci_sysfs_dev *devs, int n)
{
	char path[PATH_MAX], allow[256] = "";
	struct item *it;
	bool ok = true;

	if (!host_iommufd_present(&uc->dr->fs)) {
		it = add(w, false, "zdk-launch: no %s: it hands over iommufd descriptors only",
			 path_in(uc->dr->fs.dev, "/dev", "iommu", path, sizeof(path)));
		snprintf(it->fix, sizeof(it->fix), "a kernel with CONFIG_IOMMUFD and "
			 "CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+); with type1, grant access instead");
		return;
	}
	for (int i = 0; i < n; i++) {
		if (strlen(allow) + strlen(devs[i].name) + 5 < sizeof(allow))
			strcat(strcat(allow, " -a "), devs[i].name);
		if (!devs[i].vfio_cdev[0]) {
			it = add(w, false, "zdk-launch: %s has no VFIO cdev to hand over",
				 devs[i].name);
			snprintf(it->fix, sizeof(it->fix), "a kernel with CONFIG_VFIO_DEVICE_CDEV");
			ok = false;
		}
	}
	if (ok)
		add(w, true, "zdk-launch: as root it opens /dev/iommu and the devices' cdevs, makes "
		    "a %llu MiB hugepage memfd and sets RLIMIT_MEMLOCK to %llu KiB (iommufd "
		    "charging the process): zdk-launch --user=%s%s -m %llu -- PROGRAM",
		    (unsigned long long)uc->mib,
		    (unsigned long long)memlock_kib(uc->mib << 20), uc->u.name,
		    allow[0] ? allow : " -a BDF", (unsigned long long)uc->mib);
}

/* The devices checked, on vfio-pci: -a's, else every one. */
static int user_devices(struct ucheck *uc, struct pci_sysfs_dev **out)
{
	struct doctor *dr = uc->dr;
	struct pci_sysfs_dev *devs = NULL;
	int n = 0;

	if (dr->naddrs) {
		devs = calloc((size_t)dr->naddrs, sizeof(*devs));
		for (int i = 0; devs && i < dr->naddrs; i++)
			n += pci_sysfs_dev_read(&dr->fs, &dr->addrs[i], &devs[n]) == 0;
	} else {
		n = pci_sysfs_scan(&dr->fs, &devs);
	}
	if (n < 0 || !devs) {
		free(devs);
		n = 0;
		devs = NULL;
	}
	/* Those not on vfio-pci: the machine's checks said so already. */
	for (int i = 0, k = 0; i < n; i++) {
		if (strcmp(devs[i].driver, "vfio-pci"))
			continue;
		devs[k++] = devs[i];
		uc->ndevs = k;
		if (strlen(uc->bdfs) + strlen(devs[i].name) + 2 < sizeof(uc->bdfs))
			strcat(strcat(uc->bdfs, " "), devs[i].name);
	}
	*out = devs;
	return uc->ndevs;
}

static void emit(struct ucheck *uc, const struct way *w, bool other_ready)
{
	struct doctor *dr = uc->dr;

	for (int i = 0; i < w->n; i++) {
		const struct item *it = &w->items[i];

		verdict(dr, it->ok ? OK : other_ready ? WARN : FAIL, "user %s, %s: %s", uc->u.name,
			w->name, it->msg);
		if (!it->ok && it->fix[0])
			fix(dr, "%s", it->fix);
	}
	if (!w->missing)
		verdict(dr, OK, "user %s can run zdk without root by %s", uc->u.name, w->name);
	else
		verdict(dr, other_ready ? WARN : FAIL, "user %s cannot run zdk by %s yet: %d "
			"thing%s missing (fixes above)", uc->u.name, w->name, w->missing,
			w->missing > 1 ? "s" : "");
}

void check_user(struct doctor *dr)
{
	static struct way granted = { .name = "granted access" };
	static struct way over = { .name = "handed-over descriptors (zdk-launch)" };
	struct ucheck uc = { .dr = dr, .mib = 0 };
	struct pci_sysfs_dev *devs;
	int n, rc = user_lookup(dr->user, &uc.u);

	if (rc) {
		verdict(dr, FAIL, "user %s: %s", dr->user, rc == -ENOENT ? "no such user"
			: "not a login name, uid or uid:gid");
		dr->user_ready = -1;
		return;
	}
	snprintf(dr->user_name, sizeof(dr->user_name), "%s", uc.u.name);
	dr->user_uid = (unsigned)uc.u.uid;
	if (uc.u.uid == 0) {
		verdict(dr, OK, "user %s is root: the checks above are theirs", uc.u.name);
		dr->user_ready = 3;
		return;
	}
	for (int i = 0; i < dr->nmem; i++)
		uc.mib += dr->mem_mib[i];
	if (!uc.mib)
		uc.mib = 128; /* zdk's default: 128 MiB on the node of its lcores */
	granted.n = granted.missing = over.n = over.missing = 0;
	n = user_devices(&uc, &devs);
	for (int i = 0; i < n; i++)
		granted_device(&uc, &granted, &devs[i]);
	granted_hugepages(&uc, &granted);
	granted_memlock(&uc, &granted);
	handed(&uc, &over, devs, n);
	free(devs);
	dr->user_ready = (granted.missing ? 0 : 1) | (over.missing ? 0 : 2);
	emit(&uc, &granted, !over.missing);
	emit(&uc, &over, !granted.missing);
}
