/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * grant.c - zdk-devbind --grant=USER BDF...: give a user what zdk needs to
 * run without root (doc/nonroot.md, "granted access"): the devices' VFIO
 * nodes (/dev/vfio/devices/vfioN and /dev/iommu for iommufd, the group's
 * /dev/vfio/N for type1), a directory of theirs in each hugetlbfs mount,
 * and the RLIMIT_MEMLOCK figure. Node ownership lasts until the nodes are
 * made again (reboot, rebind); --persist prints the udev, tmpfiles.d and
 * limits.d files that make it last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devbind.h"
#include "host_probe.h"
#include "pci_sysfs.h"
#include "rights.h"
#include "user.h"

struct grant {
	const struct grant_args *g;
	const struct pci_sysfs *fs;
	struct user_id u;
	FILE *out, *err;
	int fails;
};

static const char *dev_root(const struct grant *gr)
{
	return gr->fs->dev ? gr->fs->dev : "/dev";
}

/*
 * One node to the user. @shared nodes (/dev/iommu, /dev/vfio/vfio) serve
 * every user: taken only from root, never from another user.
 */
static void grant_node(struct grant *gr, const char *who, const char *path, bool shared)
{
	struct stat st;
	char owner[96];

	if (stat(path, &st))
		return;
	if (st.st_uid == gr->u.uid && (st.st_mode & 0600) == 0600) {
		fprintf(gr->out, "%s: %s: already %s's\n", who, path, gr->u.name);
		return;
	}
	if (shared && gr->u.uid && user_may(&gr->u, st.st_uid, st.st_gid, st.st_mode, R_OK | W_OK)) {
		fprintf(gr->out, "%s: %s: %s may use it already\n", who, path, gr->u.name);
		return;
	}
	if (shared && gr->u.uid && st.st_uid != 0) {
		user_file_owner(path, owner, sizeof(owner));
		fprintf(gr->err, "%s: %s belongs to another user (%s): for several users make a "
			"group, e.g. chgrp zdk %s && chmod 0660 %s, and add each user to it\n",
			who, path, owner, path, path);
		gr->fails++;
		return;
	}
	if (chown(path, gr->u.uid, (gid_t)-1) || chmod(path, (st.st_mode & 07777) | 0600)) {
		fprintf(gr->err, "%s: cannot give %s to %s: %s (run zdk-devbind --grant as root)\n",
			who, path, gr->u.name, strerror(errno));
		gr->fails++;
		return;
	}
	fprintf(gr->out, "%s: %s -> %s, mode %04o\n", who, path, gr->u.name,
		(unsigned)((st.st_mode & 07777) | 0600));
}

static int grant_device(struct grant *gr, const struct zdk_pci_addr *a)
{
	char name[ZDK_PCI_ADDR_LEN], path[PATH_MAX];
	struct pci_sysfs_dev d;

	zdk_pci_addr_format(a, name, sizeof(name));
	if (pci_sysfs_dev_read(gr->fs, a, &d)) {
		fprintf(gr->err, "%s: no such PCI function (zdk-devbind --status lists them)\n", name);
		return -1;
	}
	if (strcmp(d.driver, "vfio-pci")) {
		fprintf(gr->err, "%s: bound to %s, not vfio-pci: zdk-devbind --bind=vfio-pci "
			"--grant=%s %s binds it and grants it\n", name, d.driver[0] ? d.driver :
			"no driver", gr->g->user, name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vfio/noiommu-%d", dev_root(gr), d.iommu_group);
	if (access(path, F_OK) == 0) {
		fprintf(gr->err, "%s: VFIO's no-IOMMU mode needs CAP_SYS_RAWIO, which no grant "
			"gives: it cannot run without root (enable the IOMMU)\n", name);
		return -1;
	}
	if (d.vfio_cdev[0]) {
		snprintf(path, sizeof(path), "%s/vfio/devices/%s", dev_root(gr), d.vfio_cdev);
		grant_node(gr, name, path, false);
	}
	snprintf(path, sizeof(path), "%s/vfio/%d", dev_root(gr), d.iommu_group);
	grant_node(gr, name, path, false);
	return 0;
}

/* <mount>/zdk-<uid>, the user's own, in each hugetlbfs mount they may not write. */
static void grant_hugepages(struct grant *gr)
{
	struct host_mount *m;
	char dir[PATH_MAX];
	int n = host_hugetlbfs_mounts(gr->fs, &m);

	if (n <= 0)
		fprintf(gr->out, "hugepages: no hugetlbfs mount; zdk then backs its arena with a "
			"memfd, which needs no directory\n");
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(m[i].path, &st))
			continue;
		if (user_may(&gr->u, st.st_uid, st.st_gid, st.st_mode, W_OK | X_OK)) {
			fprintf(gr->out, "hugepages: %s: %s may write there already\n", m[i].path,
				gr->u.name);
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/zdk-%u", m[i].path, (unsigned)gr->u.uid);
		if ((mkdir(dir, 0700) && errno != EEXIST) || chown(dir, gr->u.uid, gr->u.gid) ||
		    chmod(dir, 0700)) {
			fprintf(gr->err, "hugepages: cannot make %s for %s: %s\n", dir, gr->u.name,
				strerror(errno));
			gr->fails++;
			continue;
		}
		fprintf(gr->out, "hugepages: %s -> %s, mode 0700 (zdk uses it by itself where %s "
			"is not writable)\n", dir, gr->u.name, m[i].path);
	}
	free(m);
}

static void grant_memlock(struct grant *gr)
{
	uint64_t need, soft, hard;
	char why[512], where[300], lname[80];

	need = user_memlock_need(gr->g->mem_mib, gr->g->procs, (unsigned)gr->g->naddrs, why,
				 sizeof(why));
	memlock_user(gr->u.uid, lname, sizeof(lname));
	fprintf(gr->out, "memlock: %s needs RLIMIT_MEMLOCK >= %llu KiB: %s\n", gr->u.name,
		(unsigned long long)need, why);
	if (user_memlock_limit(&gr->u, gr->g->etc, &soft, &hard, where, sizeof(where)) &&
	    (soft == MEMLOCK_UNLIMITED || soft >= need)) {
		if (soft == MEMLOCK_UNLIMITED)
			snprintf(why, sizeof(why), "unlimited");
		else
			snprintf(why, sizeof(why), "%llu KiB", (unsigned long long)soft);
		fprintf(gr->out, "memlock: %s gives %s's logins %s: enough\n", where, gr->u.name,
			why);
		return;
	}
	fprintf(gr->out, "memlock: give it for new logins with: echo '%s - memlock %llu' "
		">/etc/security/limits.d/zdk-%s.conf; for a running shell: prlimit --pid PID "
		"--memlock=%llu:%llu; for a systemd unit: LimitMEMLOCK=%llu; zdk-launch sets it "
		"itself\n", lname, (unsigned long long)need, gr->u.name,
		(unsigned long long)need * 1024, (unsigned long long)need * 1024,
		(unsigned long long)need * 1024);
}

/* The files that make the grants last: a shell script to review, then run as root. */
static int grant_persist(struct grant *gr)
{
	const struct grant_args *g = gr->g;
	struct host_mount *m;
	char why[512], lname[80];
	uint64_t need = user_memlock_need(g->mem_mib, g->procs, (unsigned)g->naddrs, why,
					  sizeof(why));
	int n;

	memlock_user(gr->u.uid, lname, sizeof(lname));
	fprintf(gr->out, "# zdk-devbind --grant=%s --persist: review, then run as root "
		"(doc/nonroot.md)\n", g->user);
	fprintf(gr->out, "cat >/etc/udev/rules.d/70-zdk-%s.rules <<'EOF'\n"
		"SUBSYSTEM==\"misc\", KERNEL==\"iommu\", OWNER=\"%s\", MODE=\"0600\"\n", gr->u.name,
		gr->u.name);
	for (int i = 0; i < g->naddrs; i++) {
		char name[ZDK_PCI_ADDR_LEN];
		struct pci_sysfs_dev d;

		zdk_pci_addr_format(&g->addrs[i], name, sizeof(name));
		fprintf(gr->out, "SUBSYSTEM==\"vfio-dev\", KERNELS==\"%s\", OWNER=\"%s\", "
			"MODE=\"0600\"\n", name, gr->u.name);
		if (pci_sysfs_dev_read(gr->fs, &g->addrs[i], &d) == 0 && d.iommu_group >= 0)
			fprintf(gr->out, "SUBSYSTEM==\"vfio\", KERNEL==\"%d\", OWNER=\"%s\", "
				"MODE=\"0600\"\n", d.iommu_group, gr->u.name);
	}
	fprintf(gr->out, "EOF\ncat >/etc/tmpfiles.d/zdk-%s.conf <<'EOF'\n", gr->u.name);
	n = host_hugetlbfs_mounts(gr->fs, &m);
	for (int i = 0; i < n; i++)
		fprintf(gr->out, "d %s/zdk-%u 0700 %u %u -\n", m[i].path, (unsigned)gr->u.uid,
			(unsigned)gr->u.uid, (unsigned)gr->u.gid);
	if (n > 0)
		free(m);
	fprintf(gr->out, "EOF\ncat >/etc/security/limits.d/zdk-%s.conf <<'EOF'\n"
		"# %s\n%s - memlock %llu\nEOF\n", gr->u.name, why, lname, (unsigned long long)need);
	fprintf(gr->out, "udevadm control --reload && udevadm trigger --subsystem-match=misc "
		"--subsystem-match=vfio --subsystem-match=vfio-dev\n"
		"systemd-tmpfiles --create /etc/tmpfiles.d/zdk-%s.conf\n"
		"# The binding to vfio-pci does not last either: driverctl set-override BDF "
		"vfio-pci keeps it.\n", gr->u.name);
	return DEVBIND_OK;
}

int devbind_grant(const struct grant_args *g, const struct pci_sysfs *fs, FILE *out, FILE *err)
{
	struct grant gr = { .g = g, .fs = fs, .out = out, .err = err };
	char path[PATH_MAX];
	int failed = 0, rc;

	rc = user_lookup(g->user, &gr.u);
	if (rc) {
		fprintf(err, "zdk-devbind: --grant=%s: %s (give a login name, a uid or uid:gid)\n",
			g->user, rc == -ENOENT ? "no such user" : "malformed");
		return DEVBIND_USAGE;
	}
	if (g->persist)
		return grant_persist(&gr);
	fprintf(out, "zdk-devbind: granting %s (uid %u) what zdk needs without root; device "
		"nodes stay theirs until they are made again (reboot, rebind): --persist prints "
		"what makes it last\n", gr.u.name, (unsigned)gr.u.uid);
	for (int i = 0; i < g->naddrs; i++)
		failed |= grant_device(&gr, &g->addrs[i]) != 0;
	snprintf(path, sizeof(path), "%s/iommu", dev_root(&gr));
	grant_node(&gr, "iommufd", path, true);
	snprintf(path, sizeof(path), "%s/vfio/vfio", dev_root(&gr));
	grant_node(&gr, "type1", path, true);
	if (gr.u.uid) {
		grant_hugepages(&gr);
		grant_memlock(&gr);
	}
	return failed || gr.fails ? DEVBIND_ERROR : DEVBIND_OK;
}
