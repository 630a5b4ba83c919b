/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * devbind.c - zdk-devbind: show network and storage functions and their
 * drivers; bind them to vfio-pci for zdk and give them back to the kernel.
 * Like DPDK's dpdk-devbind.py, in C, on top of pci_sysfs_*.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devbind.h"
#include "host_probe.h"
#include "pci_sysfs.h"
#include "zdk_version.h"

#define VFIO_PCI "vfio-pci"

struct devbind {
	struct pci_sysfs fs;
	FILE *out;
	FILE *err;
	bool force;
	struct grant_args grant; /* --grant=USER: .user set */
	/* The functions named on the command line, bound together. */
	struct zdk_pci_addr *addrs;
	int naddrs;
};

/* Names for the functions the sandbox and common machines have. */
static const struct {
	uint16_t vendor, device;
	const char *name;
} known[] = {
	{ 0x1b36, 0x0010, "QEMU NVM Express Controller" },
	{ 0x8086, 0x10c9, "82576 Gigabit Network Connection" },
	{ 0x8086, 0x10ca, "82576 Virtual Function" },
	{ 0x8086, 0x10d3, "82574L Gigabit Network Connection" },
	{ 0x8086, 0x100e, "82540EM Gigabit Ethernet Controller" },
	{ 0x8086, 0x1533, "I210 Gigabit Network Connection" },
	{ 0x8086, 0x10fb, "82599ES 10-Gigabit SFI/SFP+ Network Connection" },
	{ 0x8086, 0x1572, "Ethernet Controller X710 for 10GbE SFP+" },
	{ 0x8086, 0x0953, "PCIe Data Center SSD" },
	{ 0x8086, 0x2922, "82801IR/IO/IH (ICH9R/DO/DH) SATA Controller [AHCI mode]" },
	{ 0x1af4, 0x1000, "Virtio network device (transitional)" },
	{ 0x1af4, 0x1041, "Virtio 1.0 network device" },
	{ 0x1af4, 0x1001, "Virtio block device (transitional)" },
	{ 0x1af4, 0x1042, "Virtio 1.0 block device" },
	{ 0x144d, 0xa808, "NVMe SSD Controller SM981/PM981/PM983" },
};

static const char *dev_name(const struct pci_sysfs_dev *d)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].vendor == d->vendor_id && known[i].device == d->device_id)
			return known[i].name;
	return d->class_code >> 8 == ZDK_PCI_CLASS_NVME >> 8 ? "NVMe controller"
	       : d->class_code >> 16 == ZDK_PCI_CLASS_NETWORK ? "Network controller"
							       : "Storage controller";
}

static void print_dev(struct devbind *db, const struct pci_sysfs_dev *d)
{
	char why[128];
	int busy;

	fprintf(db->out, "%s '%s' %04x:%04x drv=%s", d->name, dev_name(d), d->vendor_id,
		d->device_id, d->driver[0] ? d->driver : "none");
	if (d->iommu_group >= 0)
		fprintf(db->out, " iommu_group=%d", d->iommu_group);
	else
		fprintf(db->out, " iommu_group=none");
	fprintf(db->out, " numa_node=%d", d->numa_node);
	if (d->vfio_cdev[0])
		fprintf(db->out, " cdev=%s", d->vfio_cdev);
	if (d->driver_override[0] && strcmp(d->driver_override, d->driver))
		fprintf(db->out, " override=%s", d->driver_override);
	busy = pci_sysfs_dev_in_use(&db->fs, &d->addr, why, sizeof(why));
	if (busy > 0)
		fprintf(db->out, " *in use: %s*", why);
	fputc('\n', db->out);
}

enum bucket { BUCKET_VFIO, BUCKET_KERNEL, BUCKET_NONE };

static enum bucket bucket_of(const struct pci_sysfs_dev *d)
{
	if (!d->driver[0])
		return BUCKET_NONE;
	return strcmp(d->driver, VFIO_PCI) ? BUCKET_KERNEL : BUCKET_VFIO;
}

static void print_section(struct devbind *db, const struct pci_sysfs_dev *devs, int n,
			  unsigned cls, const char *what, enum bucket b)
{
	static const char *const titles[] = {
		[BUCKET_VFIO] = "bound to vfio-pci",
		[BUCKET_KERNEL] = "using a kernel driver",
		[BUCKET_NONE] = "with no driver",
	};
	int shown = 0, len;

	len = fprintf(db->out, "%s devices %s\n", what, titles[b]) - 1;
	for (int i = 0; i < len; i++)
		fputc('=', db->out);
	fputc('\n', db->out);
	for (int i = 0; i < n; i++) {
		if (devs[i].class_code >> 16 != cls || bucket_of(&devs[i]) != b)
			continue;
		print_dev(db, &devs[i]);
		shown++;
	}
	if (!shown)
		fprintf(db->out, "<none>\n");
	fputc('\n', db->out);
}

static int status(struct devbind *db)
{
	struct pci_sysfs_dev *devs;
	int n;

	n = pci_sysfs_scan(&db->fs, &devs);
	if (n < 0) {
		fprintf(db->err, "zdk-devbind: cannot list PCI devices in %s/bus/pci/devices: %s\n",
			db->fs.sys ? db->fs.sys : "/sys", strerror(-n));
		return DEVBIND_ERROR;
	}
	for (int b = BUCKET_VFIO; b <= BUCKET_NONE; b++)
		print_section(db, devs, n, ZDK_PCI_CLASS_NETWORK, "Network", (enum bucket)b);
	for (int b = BUCKET_VFIO; b <= BUCKET_NONE; b++)
		print_section(db, devs, n, ZDK_PCI_CLASS_STORAGE, "Storage", (enum bucket)b);
	free(devs);
	return DEVBIND_OK;
}

static bool named(const struct devbind *db, const char *name)
{
	struct zdk_pci_addr a;

	if (zdk_pci_addr_parse(name, &a))
		return false;
	for (int i = 0; i < db->naddrs; i++)
		if (zdk_pci_addr_cmp(&a, &db->addrs[i]) == 0)
			return true;
	return false;
}

/*
 * VFIO opens a group only when every device in it is bound to vfio-pci or
 * a driver that leaves DMA alone; devices named on the same command line
 * will be bound to vfio-pci too.
 */
static int check_group(struct devbind *db, const struct pci_sysfs_dev *d)
{
	struct pci_sysfs_dev *members;
	int n, bad = 0;

	n = pci_sysfs_group_list(&db->fs, d->iommu_group, &members);
	if (n < 0) {
		fprintf(db->err, "%s: cannot read IOMMU group %d: %s\n", d->name, d->iommu_group,
			strerror(-n));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const struct pci_sysfs_dev *m = &members[i];

		if (strcmp(m->name, d->name) == 0 || named(db, m->name) ||
		    pci_sysfs_driver_viable(m->driver))
			continue;
		if (!bad++)
			fprintf(db->err, "%s: IOMMU group %d is not viable:", d->name,
				d->iommu_group);
		fprintf(db->err, " %s is bound to %s;", m->name, m->driver);
	}
	if (bad) {
		fprintf(db->err, " bind every device of the group: zdk-devbind --bind=vfio-pci");
		for (int i = 0; i < n; i++)
			if (!pci_sysfs_driver_viable(members[i].driver) ||
			    strcmp(members[i].name, d->name) == 0)
				fprintf(db->err, " %s", members[i].name);
		fprintf(db->err, " (or --force)\n");
	}
	free(members);
	return bad ? -1 : 0;
}

/* Refuse to take a function from whoever is using it, unless --force. */
static int check_in_use(struct devbind *db, const struct pci_sysfs_dev *d)
{
	char why[128];

	if (db->force || !d->driver[0] ||
	    pci_sysfs_dev_in_use(&db->fs, &d->addr, why, sizeof(why)) <= 0)
		return 0;
	fprintf(db->err, "%s: in use (%s): stop using it first, or --force\n",
		d->name, why);
	return -1;
}

static int check_vfio(struct devbind *db, const struct pci_sysfs_dev *d)
{
	if (d->iommu_group < 0 && host_noiommu_enabled(&db->fs) != 1 && !db->force) {
		fprintf(db->err, "%s: no IOMMU group: enable the IOMMU (firmware VT-d/AMD-Vi, "
			"boot with intel_iommu=on), or, unsafe, VFIO's no-IOMMU mode "
			"(modprobe vfio enable_unsafe_noiommu_mode=1); or --force\n", d->name);
		return -1;
	}
	if (d->iommu_group >= 0 && !db->force)
		return check_group(db, d);
	return 0;
}

static int bind_one(struct devbind *db, const struct zdk_pci_addr *a, const char *driver)
{
	struct pci_sysfs_dev d;
	char name[ZDK_PCI_ADDR_LEN], was[PCI_SYSFS_NAME_LEN];
	int rc;

	zdk_pci_addr_format(a, name, sizeof(name));
	rc = pci_sysfs_dev_read(&db->fs, a, &d);
	if (rc) {
		fprintf(db->err, "%s: no such PCI function (zdk-devbind --status lists them)\n", name);
		return -1;
	}
	if (strcmp(d.driver, driver) == 0) {
		fprintf(db->out, "%s: already bound to %s\n", name, driver);
		return 0;
	}
	if (!pci_sysfs_driver_present(&db->fs, driver)) {
		fprintf(db->err, "%s: driver %s is not loaded: modprobe %s\n", name, driver,
			driver);
		return -1;
	}
	if (check_in_use(db, &d) || (strcmp(driver, VFIO_PCI) == 0 && check_vfio(db, &d)))
		return -1;
	snprintf(was, sizeof(was), "%s", d.driver[0] ? d.driver : "no driver");
	rc = pci_sysfs_bind(&db->fs, a, driver);
	if (rc == 0)
		rc = pci_sysfs_dev_read(&db->fs, a, &d);
	if (rc) {
		fprintf(db->err, "%s: cannot bind to %s: %s\n", name, driver, strerror(-rc));
		return -1;
	}
	if (strcmp(d.driver, driver)) {
		fprintf(db->err, "%s: the kernel did not bind it to %s (driver now: %s): see dmesg\n",
			name, driver, d.driver[0] ? d.driver : "none");
		return -1;
	}
	fprintf(db->out, "%s: bound to %s (was %s)\n", name, driver, was);
	return 0;
}

static int unbind_one(struct devbind *db, const struct zdk_pci_addr *a)
{
	struct pci_sysfs_dev d;
	char name[ZDK_PCI_ADDR_LEN];
	int rc;

	zdk_pci_addr_format(a, name, sizeof(name));
	rc = pci_sysfs_dev_read(&db->fs, a, &d);
	if (rc) {
		fprintf(db->err, "%s: no such PCI function (zdk-devbind --status lists them)\n", name);
		return -1;
	}
	if (!d.driver[0]) {
		fprintf(db->out, "%s: has no driver\n", name);
		return 0;
	}
	if (check_in_use(db, &d))
		return -1;
	rc = pci_sysfs_unbind(&db->fs, a);
	if (rc) {
		fprintf(db->err, "%s: cannot unbind from %s: %s\n", name, d.driver, strerror(-rc));
		return -1;
	}
	fprintf(db->out, "%s: unbound from %s\n", name, d.driver);
	return 0;
}

static int restore_one(struct devbind *db, const struct zdk_pci_addr *a)
{
	struct pci_sysfs_dev d;
	char name[ZDK_PCI_ADDR_LEN], was[PCI_SYSFS_NAME_LEN];
	int rc;

	zdk_pci_addr_format(a, name, sizeof(name));
	rc = pci_sysfs_dev_read(&db->fs, a, &d);
	if (rc) {
		fprintf(db->err, "%s: no such PCI function (zdk-devbind --status lists them)\n", name);
		return -1;
	}
	if (check_in_use(db, &d))
		return -1;
	snprintf(was, sizeof(was), "%s", d.driver[0] ? d.driver : "no driver");
	rc = pci_sysfs_restore(&db->fs, a);
	if (rc == 0)
		rc = pci_sysfs_dev_read(&db->fs, a, &d);
	if (rc) {
		fprintf(db->err, "%s: cannot restore: %s\n", name, strerror(-rc));
		return -1;
	}
	if (!d.driver[0] || strcmp(d.driver, VFIO_PCI) == 0) {
		fprintf(db->err, "%s: no kernel driver took it (driver now: %s): load the module "
			"of its driver (modprobe), see its modalias\n", name,
			d.driver[0] ? d.driver : "none");
		return -1;
	}
	fprintf(db->out, "%s: bound to %s (was %s)\n", name, d.driver, was);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zdk-devbind [--status]\n"
		"       zdk-devbind --bind=DRIVER [--force] BDF...\n"
		"       zdk-devbind --unbind [--force] BDF...\n"
		"       zdk-devbind --restore [--force] BDF...\n"
		"       zdk-devbind [--bind=vfio-pci] --grant=USER [-m MiB] [--procs N] BDF...\n"
		"       zdk-devbind --grant=USER --persist BDF...\n"
		"Show network and storage PCI functions and their drivers; bind them to\n"
		"vfio-pci for zdk, and back to the kernel; let a user run zdk without root.\n"
		"  -s, --status       list the functions by driver (the default)\n"
		"  -b, --bind=DRIVER  bind to DRIVER (vfio-pci, or a kernel driver)\n"
		"  -u, --unbind       unbind from the current driver\n"
		"  -r, --restore      give back to the kernel's driver (clears driver_override)\n"
		"      --force        bind even if the kernel uses the function or its IOMMU\n"
		"                     group is not viable\n"
		"  -g, --grant=USER   give USER (name, uid or uid:gid) the devices' VFIO nodes\n"
		"                     and /dev/iommu, a directory in each hugetlbfs mount, and\n"
		"                     say the RLIMIT_MEMLOCK it needs (doc/nonroot.md); until\n"
		"                     reboot. --grant=root takes the nodes back\n"
		"      --persist      with --grant: print the udev, tmpfiles.d and limits.d\n"
		"                     files that grant the same at every boot (changes nothing)\n"
		"  -m MiB             with --grant: hugepage memory of each zdk process (128)\n"
		"      --procs N      with --grant: zdk processes the user runs at once (1)\n"
		"  -v, --version      the zdk release\n"
		"  -h, --help         this help\n"
		"BDF is dddd:bb:dd.f or bb:dd.f. Exit status: 0 ok, 1 error, 2 usage.\n");
}

enum action { ACT_STATUS, ACT_BIND, ACT_UNBIND, ACT_RESTORE, ACT_GRANT };

enum { OPT_FORCE = 256, OPT_SYSFS_ROOT, OPT_PROC_ROOT, OPT_DEV_ROOT, OPT_ETC_ROOT, OPT_PERSIST,
       OPT_PROCS };

static const struct option long_opts[] = {
	{ "status", no_argument, NULL, 's' },
	{ "bind", required_argument, NULL, 'b' },
	{ "unbind", no_argument, NULL, 'u' },
	{ "restore", no_argument, NULL, 'r' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "grant", required_argument, NULL, 'g' },
	{ "persist", no_argument, NULL, OPT_PERSIST },
	{ "procs", required_argument, NULL, OPT_PROCS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	/* Hidden: for tests over a fake tree. */
	{ "sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT },
	{ "proc-root", required_argument, NULL, OPT_PROC_ROOT },
	{ "dev-root", required_argument, NULL, OPT_DEV_ROOT },
	{ "etc-root", required_argument, NULL, OPT_ETC_ROOT },
	{ NULL, 0, NULL, 0 },
};

/* A count above 0 into *@u64 or *@u. */
static int parse_count(const char *s, uint64_t *u64, unsigned *u)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !v || v > (u ? 4096ULL : 1ULL << 30))
		return -1;
	if (u64)
		*u64 = v;
	else
		*u = (unsigned)v;
	return 0;
}

/* Parse the options; the BDFs after them land in db->addrs. */
static int parse_args(struct devbind *db, int argc, char **argv, enum action *act,
		      const char **driver)
{
	int c, acts = 0;

	optind = 0; /* restart getopt: tests call devbind_main() more than once */
	opterr = 0;
	*act = ACT_STATUS;
	db->grant.mem_mib = 128;
	db->grant.procs = 1;
	while ((c = getopt_long(argc, argv, "sb:urg:m:hv", long_opts, NULL)) != -1) {
		switch (c) {
		case 'g': db->grant.user = optarg; break;
		case OPT_PERSIST: db->grant.persist = true; break;
		case 'm':
		case OPT_PROCS:
			if (parse_count(optarg, c == 'm' ? &db->grant.mem_mib : NULL,
					c == 'm' ? NULL : &db->grant.procs)) {
				fprintf(db->err, "zdk-devbind: %s '%s': give a number above 0\n",
					c == 'm' ? "-m" : "--procs", optarg);
				return -1;
			}
			break;
		case OPT_DEV_ROOT: db->fs.dev = optarg; break;
		case OPT_ETC_ROOT: db->grant.etc = optarg; break;
		case 's': *act = ACT_STATUS; acts++; break;
		case 'b': *act = ACT_BIND; *driver = optarg; acts++; break;
		case 'u': *act = ACT_UNBIND; acts++; break;
		case 'r': *act = ACT_RESTORE; acts++; break;
		case OPT_FORCE: db->force = true; break;
		case OPT_SYSFS_ROOT: db->fs.sys = optarg; break;
		case OPT_PROC_ROOT: db->fs.proc = optarg; break;
		case 'h': usage(db->out); return 1;
		case 'v': fprintf(db->out, "zdk-devbind (zdk %s)\n", zdk_version()); return 1;
		default:
			fprintf(db->err, "zdk-devbind: bad option '%s' (see -h)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (acts > 1) {
		fprintf(db->err, "zdk-devbind: give one of --status, --bind, --unbind, --restore\n");
		return -1;
	}
	if (db->grant.user && (*act == ACT_UNBIND || *act == ACT_RESTORE ||
			       (*act == ACT_BIND && strcmp(*driver, VFIO_PCI)))) {
		fprintf(db->err, "zdk-devbind: --grant goes alone or with --bind=vfio-pci\n");
		return -1;
	}
	if (!db->grant.user && db->grant.persist) {
		fprintf(db->err, "zdk-devbind: --persist goes with --grant=USER\n");
		return -1;
	}
	if (db->grant.user && *act == ACT_STATUS)
		*act = ACT_GRANT;
	if ((*act == ACT_STATUS) != (optind == argc)) {
		fprintf(db->err, "zdk-devbind: %s\n", *act == ACT_STATUS
			? "a BDF needs --bind, --unbind or --restore" : "which device? give a BDF");
		return -1;
	}
	db->naddrs = argc - optind;
	db->addrs = calloc((size_t)db->naddrs + 1, sizeof(*db->addrs));
	if (!db->addrs)
		return -1;
	for (int i = 0; i < db->naddrs; i++) {
		if (zdk_pci_addr_parse(argv[optind + i], &db->addrs[i])) {
			fprintf(db->err, "zdk-devbind: '%s' is not a PCI address "
				"(dddd:bb:dd.f or bb:dd.f)\n", argv[optind + i]);
			return -1;
		}
	}
	return 0;
}

int devbind_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct devbind db = { .out = out, .err = err };
	const char *driver = NULL;
	enum action act;
	int rc, failed = 0;

	rc = parse_args(&db, argc, argv, &act, &driver);
	if (rc) {
		free(db.addrs);
		return rc > 0 ? DEVBIND_OK : DEVBIND_USAGE;
	}
	if (act == ACT_STATUS) {
		rc = status(&db);
		free(db.addrs);
		return rc;
	}
	for (int i = 0; i < db.naddrs && act != ACT_GRANT; i++) {
		if (act == ACT_BIND)
			failed |= bind_one(&db, &db.addrs[i], driver) != 0;
		else if (act == ACT_UNBIND)
			failed |= unbind_one(&db, &db.addrs[i]) != 0;
		else
			failed |= restore_one(&db, &db.addrs[i]) != 0;
	}
	if (db.grant.user && !failed) {
		db.grant.addrs = db.addrs;
		db.grant.naddrs = db.naddrs;
		rc = devbind_grant(&db.grant, &db.fs, out, err);
		failed = rc != DEVBIND_OK;
		if (rc == DEVBIND_USAGE) {
			free(db.addrs);
			return rc;
		}
	}
	free(db.addrs);
	return failed ? DEVBIND_ERROR : DEVBIND_OK;
}
