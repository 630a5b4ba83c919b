/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor.c - zdk-doctor: is this machine ready to run zdk? Each check prints
 * [ OK ], [WARN] or [FAIL], and under a warning or failure the one command or
 * setting that fixes it. Exit 0 only when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "doctor.h"
#include "iommu_facts.h"
#include "host_probe.h"
#include "pci_sysfs.h"
#include "zdk_version.h"

#define MAX_NODES 64
#define CAP_IPC_LOCK_BIT 14 /* <linux/capability.h> */
#define IOMMU_FIX "enable VT-d/AMD-Vi in firmware and boot with intel_iommu=on (amd_iommu=on on AMD)"

struct doctor {
	struct pci_sysfs fs;
	FILE *out;
	int fails;
	int warns;
	struct zdk_pci_addr *addrs; /* -a, NULL: every function on vfio-pci */
	int naddrs;
	uint64_t mem_mib[MAX_NODES]; /* -m, per node */
	int nmem;
	bool json;  /* --json: one object, the verdicts in an array */
	int nchecks; /* verdicts written (JSON: an object is open after the first) */
};

enum verdict { OK, WARN, FAIL };

/* @s as a JSON string. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

__attribute__((format(printf, 3, 0)))
static void vsay(struct doctor *dr, const char *key, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (dr->json) {
		fprintf(dr->out, ", \"%s\": ", key);
		json_str(dr->out, msg);
	} else {
		fprintf(dr->out, "%s\n", msg);
	}
}

__attribute__((format(printf, 3, 4)))
static void verdict(struct doctor *dr, enum verdict v, const char *fmt, ...)
{
	static const char *const tags[] = { [OK] = "[ OK ]", [WARN] = "[WARN]", [FAIL] = "[FAIL]" };
	static const char *const names[] = { [OK] = "ok", [WARN] = "warn", [FAIL] = "fail" };
	va_list ap;

	dr->fails += v == FAIL;
	dr->warns += v == WARN;
	if (dr->json)
		fprintf(dr->out, "%s\n    {\"verdict\": \"%s\"", dr->nchecks ? "}," : "", names[v]);
	else
		fprintf(dr->out, "%s ", tags[v]);
	dr->nchecks++;
	va_start(ap, fmt);
	vsay(dr, "check", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void fix(struct doctor *dr, const char *fmt, ...)
{
	va_list ap;

	if (!dr->json)
		fprintf(dr->out, "       fix: ");
	va_start(ap, fmt);
	vsay(dr, "fix", fmt, ap);
	va_end(ap);
}

static const char *path_in(const char *root, const char *dflt, const char *rel, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%s/%s", root ? root : dflt, rel);
	return buf;
}

static void check_iommu(struct doctor *dr)
{
	int noiommu = host_noiommu_enabled(&dr->fs);

	if (host_iommu_present(&dr->fs)) {
		verdict(dr, OK, "IOMMU: enabled");
	} else if (noiommu == 1) {
		verdict(dr, WARN, "IOMMU: none; zdk can run only in VFIO's unsafe no-IOMMU mode");
		fix(dr, IOMMU_FIX);
	} else {
		verdict(dr, FAIL, "IOMMU: none enabled");
		fix(dr, IOMMU_FIX);
	}
	if (noiommu == 1) {
		verdict(dr, WARN, "no-IOMMU mode: enabled (enable_unsafe_noiommu_mode=Y): devices "
			"can DMA anywhere in memory, IOVA = physical address");
		fix(dr, "with an IOMMU, echo N > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	} else {
		verdict(dr, OK, "no-IOMMU mode: off");
	}
}

static void check_vfio(struct doctor *dr)
{
	if (host_iommufd_present(&dr->fs)) {
		verdict(dr, OK, "iommufd: /dev/iommu present");
	} else {
		verdict(dr, WARN, "iommufd: no /dev/iommu");
		fix(dr, "type1 will be used; Linux >= 6.6 with CONFIG_IOMMUFD for iommufd");
	}
	if (pci_sysfs_vfio_pci_present(&dr->fs)) {
		verdict(dr, OK, "vfio-pci: loaded");
	} else {
		verdict(dr, FAIL, "vfio-pci: not loaded");
		fix(dr, "modprobe vfio-pci");
	}
}

/*
 * The forms of the kernel's DMA interface here, and the IOMMU behind the
 * first device zdk could use: facts, not checks (an absent form is not a
 * failure; check_iommu/check_vfio judge what zdk needs).
 */
static void check_iommu_forms(struct doctor *dr)
{
	struct pci_sysfs_dev *devs, d;
	struct iommu_facts f;
	char cdev[32] = "";
	int n;

	if (dr->naddrs && !pci_sysfs_dev_read(&dr->fs, &dr->addrs[0], &d) && d.vfio_cdev[0])
		snprintf(cdev, sizeof(cdev), "%s", d.vfio_cdev);
	if (!dr->naddrs) {
		n = pci_sysfs_scan(&dr->fs, &devs);
		for (int i = 0; i < n && !cdev[0]; i++)
			if (!strcmp(devs[i].driver, "vfio-pci") && devs[i].vfio_cdev[0])
				snprintf(cdev, sizeof(cdev), "%s", devs[i].vfio_cdev);
		if (n > 0)
			free(devs);
	}
	iommu_facts_probe(dr->fs.dev ? dr->fs.dev : "/dev", cdev[0] ? cdev : NULL, &f);
	verdict(dr, OK, "IOMMU forms: iommufd %s; type1 through %s; no-IOMMU group %s; "
		"no-IOMMU through iommufd %s",
		f.iommufd ? "yes" : "no",
		!f.container ? "no container" : !f.type1v2 ? "a container without type1v2"
		: f.container_by_iommufd ? "iommufd's compat container (no dma_entry_limit, "
		  "memlock charged per user)" : "VFIO's own container",
		f.noiommu_group ? "yes" : "no",
		f.noiommu_cdev ? "supported by the kernel" : "no");
	if (f.hw) {
		verdict(dr, OK, "IOMMU hardware (via %s): %s", cdev, f.hw_desc);
		if (f.ranges[0])
			verdict(dr, OK, "IOVA ranges (via %s): %s", cdev, f.ranges);
	}
}

/* Return: 0 usable, -ENOENT missing, -EACCES not readable and writable. */
static int node_access(const char *path)
{
	if (access(path, F_OK))
		return -ENOENT;
	return faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) ? -EACCES : 0;
}

/* One device node: OK, or FAIL for permissions; @missing says how absence counts. */
static int check_node(struct doctor *dr, const char *bdf, const char *path, enum verdict missing,
		      const char *missing_fix)
{
	int rc = node_access(path);

	if (rc == 0) {
		verdict(dr, OK, "%s: %s accessible", bdf, path);
	} else if (rc == -EACCES) {
		verdict(dr, FAIL, "%s: permission denied on %s", bdf, path);
		fix(dr, "run as root, or chown the node to your user (a udev rule makes it last)");
	} else {
		verdict(dr, missing, "%s: %s missing", bdf, path);
		fix(dr, "%s", missing_fix);
	}
	return rc;
}

static void check_nodes(struct doctor *dr, const struct pci_sysfs_dev *d)
{
	char path[PATH_MAX], rel[128], bind_fix[192];
	bool iommufd_ok = false;
	int rc;

	snprintf(bind_fix, sizeof(bind_fix), "bind it again (zdk-devbind --bind=vfio-pci %s); "
		 "check devtmpfs/udev", d->name);
	/* iommufd: /dev/iommu and the device's cdev. */
	if (host_iommufd_present(&dr->fs)) {
		rc = check_node(dr, d->name, path_in(dr->fs.dev, "/dev", "iommu", path, sizeof(path)),
				FAIL, "modprobe iommufd");
		if (d->vfio_cdev[0]) {
			snprintf(rel, sizeof(rel), "vfio/devices/%s", d->vfio_cdev);
			rc |= check_node(dr, d->name, path_in(dr->fs.dev, "/dev", rel, path,
							      sizeof(path)), FAIL, bind_fix);
			iommufd_ok = rc == 0;
		} else {
			verdict(dr, WARN, "%s: no VFIO device cdev (kernel without "
				"CONFIG_VFIO_DEVICE_CDEV)", d->name);
			fix(dr, "type1 will be used; Linux >= 6.6 with CONFIG_VFIO_DEVICE_CDEV "
			    "for iommufd");
		}
	}
	/* type1 (and no-IOMMU): the container and the group. */
	check_node(dr, d->name, path_in(dr->fs.dev, "/dev", "vfio/vfio", path, sizeof(path)),
		   iommufd_ok ? WARN : FAIL, "modprobe vfio (with CONFIG_VFIO_CONTAINER)");
	snprintf(rel, sizeof(rel), "vfio/noiommu-%d", d->iommu_group);
	if (node_access(path_in(dr->fs.dev, "/dev", rel, path, sizeof(path))) == -ENOENT)
		snprintf(rel, sizeof(rel), "vfio/%d", d->iommu_group);
	check_node(dr, d->name, path_in(dr->fs.dev, "/dev", rel, path, sizeof(path)),
		   iommufd_ok ? WARN : FAIL, bind_fix);
}

static void check_group(struct doctor *dr, const struct pci_sysfs_dev *d)
{
	struct pci_sysfs_dev *m;
	char others[512] = "", culprits[512] = "";
	size_t lo = 0, lc = 0;
	int n;

	n = pci_sysfs_group_list(&dr->fs, d->iommu_group, &m);
	if (n < 0) {
		verdict(dr, FAIL, "%s: cannot read IOMMU group %d: %s", d->name, d->iommu_group,
			strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(m[i].name, d->name) == 0)
			continue;
		if (lo < sizeof(others))
			lo += (size_t)snprintf(others + lo, sizeof(others) - lo, "%s%s (%s)",
					       lo ? ", " : "", m[i].name,
					       m[i].driver[0] ? m[i].driver : "no driver");
		if (!pci_sysfs_driver_viable(m[i].driver) && lc < sizeof(culprits))
			lc += (size_t)snprintf(culprits + lc, sizeof(culprits) - lc, " %s", m[i].name);
	}
	free(m);
	if (lc) {
		verdict(dr, FAIL, "%s: IOMMU group %d is not viable: it also holds %s", d->name,
			d->iommu_group, others);
		fix(dr, "bind the whole group: zdk-devbind --bind=vfio-pci%s %s", culprits, d->name);
	} else {
		verdict(dr, OK, "%s: IOMMU group %d viable (%s%s)", d->name, d->iommu_group,
			lo ? "with " : "alone", others);
	}
}

/* Free hugepage memory on @node (-1: the global pools) in MiB. */
static uint64_t node_free_mib(const struct host_hugepages *p, int n, int node)
{
	uint64_t mib = 0;

	for (int i = 0; i < n; i++)
		if (p[i].node == node)
			mib += (p[i].size >> 20) * p[i].free;
	return mib;
}

/* DMA memory is best on the device's own node: say when that node has none free. */
static void check_numa(struct doctor *dr, const struct pci_sysfs_dev *d)
{
	struct host_hugepages *p;
	bool known = false;
	uint64_t mib;
	int n;

	n = host_hugepages_read(&dr->fs, &p);
	for (int i = 0; i < n; i++)
		known |= p[i].node == d->numa_node;
	mib = node_free_mib(p, n, d->numa_node);
	free(p);
	if (d->numa_node < 0 || !known)
		return; /* no NUMA, or a node without hugepage pools: nothing to say */
	if (mib) {
		verdict(dr, OK, "%s: on NUMA node %d, %llu MiB of hugepages free there", d->name,
			d->numa_node, (unsigned long long)mib);
		return;
	}
	verdict(dr, WARN, "%s: on NUMA node %d, which has no free hugepages: its DMA memory "
		"would be remote", d->name, d->numa_node);
	fix(dr, "echo 256 > /sys/devices/system/node/node%d/hugepages/hugepages-2048kB/"
	    "nr_hugepages", d->numa_node);
}

static void check_device(struct doctor *dr, const struct zdk_pci_addr *a)
{
	struct pci_sysfs_dev d;
	char bdf[ZDK_PCI_ADDR_LEN];
	bool bound;

	zdk_pci_addr_format(a, bdf, sizeof(bdf));
	if (pci_sysfs_dev_read(&dr->fs, a, &d)) {
		verdict(dr, FAIL, "%s: no such PCI function", bdf);
		fix(dr, "zdk-devbind --status lists the network and storage functions");
		return;
	}
	bound = strcmp(d.driver, "vfio-pci") == 0;
	if (bound) {
		verdict(dr, OK, "%s: bound to vfio-pci", bdf);
	} else {
		verdict(dr, FAIL, "%s: %s%s, not vfio-pci", bdf, d.driver[0] ? "bound to " : "",
			d.driver[0] ? d.driver : "no driver");
		fix(dr, "zdk-devbind --bind=vfio-pci %s", bdf);
	}
	if (d.iommu_group < 0) {
		verdict(dr, FAIL, "%s: no IOMMU group", bdf);
		fix(dr, "enable the IOMMU (intel_iommu=on), or VFIO's unsafe no-IOMMU mode");
		return;
	}
	check_group(dr, &d);
	if (bound)
		check_nodes(dr, &d);
	check_numa(dr, &d);
}

static void check_devices(struct doctor *dr)
{
	struct pci_sysfs_dev *devs;
	int n, bound = 0;

	if (dr->naddrs) {
		for (int i = 0; i < dr->naddrs; i++)
			check_device(dr, &dr->addrs[i]);
		return;
	}
	n = pci_sysfs_scan(&dr->fs, &devs);
	for (int i = 0; i < n; i++) {
		if (strcmp(devs[i].driver, "vfio-pci"))
			continue;
		check_device(dr, &devs[i].addr);
		bound++;
	}
	free(devs);
	if (!bound) {
		verdict(dr, FAIL, "devices: none bound to vfio-pci");
		fix(dr, "zdk-devbind --status lists them; zdk-devbind --bind=vfio-pci BDF");
	}
}

static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1ull << 30)
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes >> 30));
	else
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes >> 20));
	return buf;
}

static void check_socket_mem(struct doctor *dr, const struct host_hugepages *p, int n,
			     bool per_node)
{
	for (int node = 0; node < dr->nmem; node++) {
		uint64_t want = dr->mem_mib[node];
		uint64_t have = node_free_mib(p, n, per_node ? node : -1);
		unsigned long nr2m = 0;

		if (!want)
			continue;
		if (have >= want) {
			verdict(dr, OK, "hugepages: node %d has %llu MiB free, -m asks %llu MiB", node,
				(unsigned long long)have, (unsigned long long)want);
			continue;
		}
		for (int i = 0; i < n; i++)
			if (p[i].node == (per_node ? node : -1) && p[i].size == 2u << 20)
				nr2m = p[i].nr;
		/* The 2 MiB pages to reserve in all so that the shortfall is covered. */
		nr2m += (want - have + 1) / 2;
		verdict(dr, FAIL, "hugepages: node %d has %llu MiB free, -m asks %llu MiB", node,
			(unsigned long long)have, (unsigned long long)want);
		if (per_node)
			fix(dr, "echo %lu > /sys/devices/system/node/node%d/hugepages/"
			    "hugepages-2048kB/nr_hugepages", nr2m, node);
		else
			fix(dr, "echo %lu > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
			    nr2m);
	}
}

static void check_mounts(struct doctor *dr, const struct host_hugepages *p, int n);

static void check_hugepages(struct doctor *dr)
{
	struct host_hugepages *p;
	bool per_node = false;
	uint64_t free_total = 0;
	char sz[16], where[16];
	int n;

	n = host_hugepages_read(&dr->fs, &p);
	for (int i = 0; i < n; i++)
		per_node |= p[i].node >= 0;
	for (int i = 0; i < n; i++) {
		if (p[i].node >= 0 ? !per_node : per_node)
			continue;
		free_total += p[i].free;
		if (!p[i].nr)
			continue;
		if (p[i].node >= 0)
			snprintf(where, sizeof(where), "node %d", p[i].node);
		verdict(dr, p[i].free ? OK : WARN, "hugepages: %lu x %s on %s, %lu free", p[i].nr,
			size_str(p[i].size, sz, sizeof(sz)), p[i].node >= 0 ? where : "all nodes",
			p[i].free);
		if (!p[i].free)
			fix(dr, "stop what holds them, or reserve more");
	}
	if (!free_total) {
		verdict(dr, FAIL, "hugepages: none free");
		fix(dr, "echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages "
		    "(or boot with hugepages=256), or run with --no-huge");
	} else {
		check_socket_mem(dr, p, n, per_node);
		check_mounts(dr, p, n);
	}
	free(p);
}

/* A hugetlbfs mount for every page size that has free pages. */
static void check_mounts(struct doctor *dr, const struct host_hugepages *p, int n)
{
	struct host_mount *m;
	uint64_t missing[8];
	int nm, nmissing = 0, mounted = 0;
	char sz[16];

	nm = host_hugetlbfs_mounts(&dr->fs, &m);
	for (int i = 0; i < n; i++) {
		bool seen = false, found = false;

		/* Each size once: the global pool lists them all. */
		for (int j = 0; j < i; j++)
			seen |= p[j].size == p[i].size && p[j].free;
		if (seen || !p[i].free)
			continue;
		for (int k = 0; k < nm && !found; k++) {
			if (m[k].pagesize != p[i].size)
				continue;
			found = true;
			verdict(dr, OK, "hugetlbfs: %s pages mounted at %s",
				size_str(p[i].size, sz, sizeof(sz)), m[k].path);
		}
		mounted += found;
		if (!found && nmissing < 8)
			missing[nmissing++] = p[i].size;
	}
	free(m);
	/* One mounted size is enough to run; the others are a warning. */
	for (int i = 0; i < nmissing; i++) {
		size_str(missing[i], sz, sizeof(sz));
		verdict(dr, mounted ? WARN : FAIL, "hugetlbfs: no mount for %s pages", sz);
		fix(dr, "mkdir -p /dev/hugepages%s && mount -t hugetlbfs -o pagesize=%s none "
		    "/dev/hugepages%s", missing[i] == 2u << 20 ? "" : sz, sz,
		    missing[i] == 2u << 20 ? "" : sz);
	}
}

/* CAP_IPC_LOCK in the effective set, from <proc>/self/status. */
static bool has_ipc_lock(struct doctor *dr)
{
	char path[PATH_MAX], line[256];
	unsigned long long caps = 0;
	bool found = false;
	FILE *f;

	f = fopen(path_in(dr->fs.proc, "/proc", "self/status", path, sizeof(path)), "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	return caps >> CAP_IPC_LOCK_BIT & 1;
}

static void check_memlock(struct doctor *dr)
{
	uint64_t want = 0;
	struct rlimit rl;

	for (int i = 0; i < dr->nmem; i++)
		want += dr->mem_mib[i] << 20;
	if (has_ipc_lock(dr)) {
		verdict(dr, OK, "memlock: CAP_IPC_LOCK, no limit applies");
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		verdict(dr, WARN, "memlock: cannot read RLIMIT_MEMLOCK");
		fix(dr, "ulimit -l unlimited");
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY || (want && rl.rlim_cur >= want)) {
		verdict(dr, OK, "memlock: RLIMIT_MEMLOCK %s", rl.rlim_cur == RLIM_INFINITY
			? "unlimited" : "covers -m");
		return;
	}
	verdict(dr, want ? FAIL : WARN, "memlock: RLIMIT_MEMLOCK is %llu KiB%s",
		(unsigned long long)rl.rlim_cur >> 10,
		want ? ", below what -m asks" : ": DMA mappings beyond it fail");
	fix(dr, "ulimit -l unlimited (or memlock in /etc/security/limits.conf), or run as root");
}

static int parse_mem(struct doctor *dr, const char *s)
{
	char *end;

	dr->nmem = 0;
	do {
		if (dr->nmem == MAX_NODES || *s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		dr->mem_mib[dr->nmem++] = strtoull(s, &end, 10);
		if (errno || (*end && *end != ','))
			return -EINVAL;
		s = end + 1;
	} while (*end);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zdk-doctor [-a BDF]... [-m MiB[,MiB...]] [--json]\n"
		"Check that this machine can run zdk: IOMMU, iommufd, vfio-pci, the devices\n"
		"(bound to vfio-pci, IOMMU group viable, device nodes accessible), hugepages,\n"
		"hugetlbfs mounts, RLIMIT_MEMLOCK, no-IOMMU mode. Each failure says its fix.\n"
		"  -a, --allow BDF           check this device (repeatable; default: every\n"
		"                            device bound to vfio-pci)\n"
		"  -m, --socket-mem MiB,...  hugepage memory needed per NUMA node\n"
		"      --json                the verdicts as one JSON object: {\"checks\":\n"
		"                            [{\"verdict\": ok|warn|fail, \"check\", \"fix\"}...],\n"
		"                            \"fails\", \"warnings\", \"ready\"}\n"
		"  -v, --version             the zdk release\n"
		"  -h, --help                this help\n"
		"Exit status: 0 everything needed is there, 1 something is missing, 2 usage.\n");
}

enum { OPT_SYSFS_ROOT = 256, OPT_DEV_ROOT, OPT_PROC_ROOT, OPT_JSON };

static const struct option long_opts[] = {
	{ "allow", required_argument, NULL, 'a' },
	{ "socket-mem", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "version", no_argument, NULL, 'v' },
	/* Hidden: for tests over a fake tree. */
	{ "sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT },
	{ "dev-root", required_argument, NULL, OPT_DEV_ROOT },
	{ "proc-root", required_argument, NULL, OPT_PROC_ROOT },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(struct doctor *dr, int argc, char **argv)
{
	struct zdk_pci_addr *grown;
	int c;

	optind = 0; /* restart getopt: tests call doctor_main() more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "a:m:hv", long_opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			grown = realloc(dr->addrs, (size_t)(dr->naddrs + 1) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			dr->addrs = grown;
			if (zdk_pci_addr_parse(optarg, &dr->addrs[dr->naddrs])) {
				fprintf(dr->out, "zdk-doctor: '%s' is not a PCI address "
					"(dddd:bb:dd.f or bb:dd.f)\n", optarg);
				return -EINVAL;
			}
			dr->naddrs++;
			break;
		case 'm':
			if (parse_mem(dr, optarg)) {
				fprintf(dr->out, "zdk-doctor: -m '%s': give MiB per node, e.g. "
					"-m 512,512\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SYSFS_ROOT: dr->fs.sys = optarg; break;
		case OPT_DEV_ROOT: dr->fs.dev = optarg; break;
		case OPT_PROC_ROOT: dr->fs.proc = optarg; break;
		case OPT_JSON: dr->json = true; break;
		case 'h': usage(dr->out); return 1;
		case 'v': fprintf(dr->out, "zdk-doctor (zdk %s)\n", zdk_version()); return 1;
		default:
			fprintf(dr->out, "zdk-doctor: bad option '%s' (see -h)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(dr->out, "zdk-doctor: unexpected '%s' (devices go after -a)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int doctor_main(int argc, char **argv, FILE *out)
{
	struct doctor dr = { .out = out };
	int rc;

	rc = parse_args(&dr, argc, argv);
	if (rc) {
		free(dr.addrs);
		return rc > 0 ? DOCTOR_OK : DOCTOR_USAGE;
	}
	if (dr.json)
		fprintf(out, "{\n  \"checks\": [");
	check_iommu(&dr);
	check_vfio(&dr);
	check_iommu_forms(&dr);
	check_devices(&dr);
	check_hugepages(&dr);
	check_memlock(&dr);
	free(dr.addrs);
	if (dr.json)
		fprintf(out, "%s\n  ],\n  \"fails\": %d,\n  \"warnings\": %d,\n  \"ready\": %s\n}\n",
			dr.nchecks ? "}" : "", dr.fails, dr.warns, dr.fails ? "false" : "true");
	else if (dr.fails)
		fprintf(out, "zdk-doctor: %d check%s failed, %d warning%s\n", dr.fails,
			dr.fails > 1 ? "s" : "", dr.warns, dr.warns == 1 ? "" : "s");
	else
		fprintf(out, "zdk-doctor: ready for zdk (%d warning%s)\n", dr.warns,
			dr.warns == 1 ? "" : "s");
	return dr.fails ? DOCTOR_FAIL : DOCTOR_OK;
}
