/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * launch.c - zdk-launch: start a zdk program as an unprivileged user on
 * descriptors opened as root (doc/nonroot.md, "handed-over descriptors";
 * the pattern of QEMU's iommufd backend under libvirt).
 *
 *   zdk-launch --user=USER [-a BDF]... [-m MiB] -- PROGRAM [ZDK OPTIONS] [-- ARGS]
 *
 * As root it opens /dev/iommu (asking iommufd to charge pins to the process,
 * IOMMU_OPTION_RLIMIT_MODE = 1, so that RLIMIT_MEMLOCK can be set for this
 * program alone), each device's /dev/vfio/devices/vfioN and a hugepage
 * memfd of -m MiB; sets RLIMIT_MEMLOCK to what that arena pins; drops to
 * USER with no capability at all and no_new_privs; and execs PROGRAM with
 * --iommufd-fd, --vfio-fd and --huge-fd put before its own options. No
 * other descriptor of the launcher's reaches the program.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/memfd.h>

#include "launch.h"
#include "rights.h"
#include "uapi_compat.h"
#include "zdk_version.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zdk-launch --user=USER [-a BDF]... [-m MiB] [options] -- PROGRAM [ARGS...]\n"
		"As root: open /dev/iommu, the VFIO cdev of each device and a hugepage file,\n"
		"set RLIMIT_MEMLOCK to what the arena pins, drop to USER with no capability,\n"
		"and run PROGRAM with --iommufd-fd, --vfio-fd and --huge-fd before ARGS\n"
		"(zdk's options come first: ARGS are PROGRAM's zdk options, --, its own).\n"
		"  -u, --user=USER        name, uid or uid:gid to run PROGRAM as\n"
		"  -a, --allow=BDF        a device to hand over (repeatable; bound to vfio-pci)\n"
		"  -m MiB                 the arena's hugepage file (default 128)\n"
		"      --huge-size=2M|1G  its page size (default: the system's)\n"
		"      --huge-dir=DIR     make it in this hugetlbfs mount (unlinked) instead of\n"
		"                         a memfd\n"
		"      --no-huge          4 KiB pages (a plain memfd), and --no-huge for zdk\n"
		"      --memlock=KiB      RLIMIT_MEMLOCK to give (default: the arena's pages;\n"
		"                         more for zdk_dma_map() regions; or unlimited)\n"
		"      --verbose          say what is handed over before running PROGRAM\n"
		"  -v, --version          the zdk release\n"
		"  -h, --help             this help\n"
		"Exit status: PROGRAM's; 125 when launching failed, 127 when PROGRAM could\n"
		"not be run, 2 for bad options.\n");
}

enum { OPT_HUGE_SIZE = 256, OPT_HUGE_DIR, OPT_NO_HUGE, OPT_MEMLOCK, OPT_VERBOSE,
       OPT_SYSFS_ROOT, OPT_DEV_ROOT };

static const struct option long_opts[] = {
	{ "user", required_argument, NULL, 'u' },
	{ "allow", required_argument, NULL, 'a' },
	{ "socket-mem", required_argument, NULL, 'm' },
	{ "huge-size", required_argument, NULL, OPT_HUGE_SIZE },
	{ "huge-dir", required_argument, NULL, OPT_HUGE_DIR },
	{ "no-huge", no_argument, NULL, OPT_NO_HUGE },
	{ "memlock", required_argument, NULL, OPT_MEMLOCK },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	/* Hidden: for tests over a fake tree. */
	{ "sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT },
	{ "dev-root", required_argument, NULL, OPT_DEV_ROOT },
	{ NULL, 0, NULL, 0 },
};

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || !*v ? -1 : 0;
}

static int parse_opt(struct launch *l, int c, const char *arg)
{
	switch (c) {
	case 'u':
		l->user = arg;
		return 0;
	case 'a':
		if (l->naddrs == LAUNCH_MAX_DEVS || zdk_pci_addr_parse(arg, &l->addrs[l->naddrs])) {
			fprintf(l->err, "zdk-launch: -a '%s': not a PCI address (dddd:bb:dd.f), or "
				"more than %d\n", arg, LAUNCH_MAX_DEVS);
			return -1;
		}
		l->naddrs++;
		return 0;
	case 'm':
		if (parse_u64(arg, &l->mem_mib) || l->mem_mib > (1u << 30)) {
			fprintf(l->err, "zdk-launch: -m '%s': give MiB, e.g. -m 256\n", arg);
			return -1;
		}
		return 0;
	case OPT_HUGE_SIZE:
		l->huge_size = !strcmp(arg, "2M") ? 2u << 20 : !strcmp(arg, "1G") ? 1u << 30 : 0;
		if (!l->huge_size) {
			fprintf(l->err, "zdk-launch: --huge-size '%s': 2M or 1G\n", arg);
			return -1;
		}
		return 0;
	case OPT_HUGE_DIR:
		l->huge_dir = arg;
		return 0;
	case OPT_NO_HUGE:
		l->no_huge = true;
		return 0;
	case OPT_MEMLOCK:
		if (!strcmp(arg, "unlimited"))
			l->memlock_kib = MEMLOCK_UNLIMITED;
		else if (parse_u64(arg, &l->memlock_kib)) {
			fprintf(l->err, "zdk-launch: --memlock '%s': KiB, or unlimited\n", arg);
			return -1;
		}
		return 0;
	case OPT_VERBOSE:
		l->verbose = true;
		return 0;
	case OPT_SYSFS_ROOT:
		l->fs.sys = arg;
		return 0;
	case OPT_DEV_ROOT:
		l->fs.dev = arg;
		return 0;
	}
	return -1;
}

int launch_parse(struct launch *l, int argc, char **argv, FILE *out, FILE *err)
{
	int c;

	memset(l, 0, sizeof(*l));
	l->err = err;
	l->mem_mib = 128;
	l->iommufd = l->huge_fd = -1;
	for (int i = 0; i < LAUNCH_MAX_DEVS; i++)
		l->dev_fds[i] = -1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+u:a:m:hv", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(out);
			return 1;
		}
		if (c == 'v') {
			fprintf(out, "zdk-launch (zdk %s)\n", zdk_version());
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(err, "zdk-launch: bad option '%s' (see -h)\n", argv[optind - 1]);
			return -1;
		}
		if (parse_opt(l, c, optarg))
			return -1;
	}
	if (!l->user || optind == argc) {
		fprintf(err, "zdk-launch: %s (see -h)\n", !l->user ? "whom to run as? give --user=USER"
			: "which program? give it after --");
		return -1;
	}
	if (l->no_huge && (l->huge_dir || l->huge_size)) {
		fprintf(err, "zdk-launch: --no-huge conflicts with --huge-dir and --huge-size\n");
		return -1;
	}
	l->prog = argv + optind;
	l->nprog = argc - optind;
	return 0;
}

static int open_node(struct launch *l, const char *rel, const char *why)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", l->fs.dev ? l->fs.dev : "/dev", rel);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fprintf(l->err, "zdk-launch: cannot open %s%s: %s%s\n", path, why, strerror(errno),
			errno == ENOENT && !strcmp(rel, "iommu")
			? " (zdk-launch hands over iommufd descriptors: it needs a kernel with "
			  "CONFIG_IOMMUFD; with type1 only, use zdk-devbind --grant)"
			: errno == EBUSY ? " (another process has it open)"
			: errno == EACCES ? " (run zdk-launch as root)" : "");
	return fd;
}

/* iommufd charges pins to the user by default; to the process once asked (by root). */
static void ask_per_process(struct launch *l)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 1,
	};

	l->per_process = ioctl(l->iommufd, IOMMU_OPTION, &opt) == 0;
	if (!l->per_process)
		fprintf(l->err, "zdk-launch: warning: iommufd keeps charging pins to %s as a whole "
			"(IOMMU_OPTION_RLIMIT_MODE: %s): RLIMIT_MEMLOCK must then cover every zdk "
			"process of %s at once (--memlock)\n", l->u.name, strerror(errno), l->u.name);
}

static int open_devices(struct launch *l)
{
	for (int i = 0; i < l->naddrs; i++) {
		char name[ZDK_PCI_ADDR_LEN], rel[64], why[64];
		struct pci_sysfs_dev d;

		zdk_pci_addr_format(&l->addrs[i], name, sizeof(name));
		if (pci_sysfs_dev_read(&l->fs, &l->addrs[i], &d)) {
			fprintf(l->err, "zdk-launch: %s: no such PCI function (zdk-devbind lists "
				"them)\n", name);
			return -1;
		}
		if (strcmp(d.driver, "vfio-pci") || !d.vfio_cdev[0]) {
			fprintf(l->err, "zdk-launch: %s is bound to %s%s: zdk-devbind "
				"--bind=vfio-pci %s\n", name, d.driver[0] ? d.driver : "no driver",
				d.driver[0] && !strcmp(d.driver, "vfio-pci")
				? " but has no VFIO cdev (CONFIG_VFIO_DEVICE_CDEV)" : "", name);
			return -1;
		}
		snprintf(rel, sizeof(rel), "vfio/devices/%s", d.vfio_cdev);
		snprintf(why, sizeof(why), " for %s", name);
		l->dev_fds[i] = open_node(l, rel, why);
		if (l->dev_fds[i] < 0)
			return -1;
	}
	return 0;
}

static unsigned log2_u64(uint64_t v)
{
	return 63 - (unsigned)__builtin_clzll(v);
}

/* The system's default hugepage size, from /proc/meminfo. */
static uint64_t default_huge_size(void)
{
	unsigned long kb = 2048;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

static int open_huge(struct launch *l)
{
	uint64_t pg = l->no_huge ? 4096 : l->huge_size ? l->huge_size : default_huge_size();
	uint64_t len = ((l->mem_mib << 20) + pg - 1) / pg * pg;
	char path[PATH_MAX];

	if (l->huge_dir) {
		snprintf(path, sizeof(path), "%s/zdk-launch-XXXXXX", l->huge_dir);
		l->huge_fd = mkostemp(path, O_CLOEXEC);
		if (l->huge_fd >= 0)
			unlink(path); /* the arena lives as long as the descriptor */
	} else {
		unsigned flags = MFD_CLOEXEC;

		if (!l->no_huge)
			flags |= MFD_HUGETLB | (l->huge_size ? log2_u64(pg) << MFD_HUGE_SHIFT : 0);
		snprintf(path, sizeof(path), "memfd_create(%s)", l->no_huge ? "" : "MFD_HUGETLB");
		l->huge_fd = memfd_create("zdk-launch", flags);
	}
	if (l->huge_fd < 0 || ftruncate(l->huge_fd, (off_t)len)) {
		fprintf(l->err, "zdk-launch: cannot make the %llu MiB hugepage file %s: %s%s\n",
			(unsigned long long)(len >> 20), path, strerror(errno),
			l->no_huge ? "" : " (are hugepages of that size offered? --no-huge "
			"does without)");
		return -1;
	}
	l->mem_mib = len >> 20;
	return 0;
}

int launch_open(struct launch *l)
{
	char path[PATH_MAX];
	int rc = user_lookup(l->user, &l->u);

	if (rc) {
		fprintf(l->err, "zdk-launch: --user=%s: %s\n", l->user,
			rc == -ENOENT ? "no such user" : "give a login name, a uid or uid:gid");
		return -1;
	}
	if (l->u.uid == 0) {
		fprintf(l->err, "zdk-launch: --user=%s is root: run the program directly\n", l->user);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/iommu", l->fs.dev ? l->fs.dev : "/dev");
	if (l->naddrs || access(path, F_OK) == 0) {
		l->iommufd = open_node(l, "iommu", "");
		if (l->iommufd < 0)
			return -1;
		ask_per_process(l);
	}
	if (open_devices(l) || open_huge(l)) {
		launch_close(l);
		return -1;
	}
	return 0;
}

void launch_close(struct launch *l)
{
	for (int i = 0; i < l->naddrs; i++)
		if (l->dev_fds[i] >= 0)
			close(l->dev_fds[i]);
	if (l->huge_fd >= 0)
		close(l->huge_fd);
	if (l->iommufd >= 0)
		close(l->iommufd);
	l->huge_fd = l->iommufd = -1;
	for (int i = 0; i < LAUNCH_MAX_DEVS; i++)
		l->dev_fds[i] = -1;
}

char **launch_argv(const struct launch *l)
{
	char **argv = calloc((size_t)l->nprog + l->naddrs + 4, sizeof(*argv));
	char buf[96];
	int n = 0;

	if (!argv)
		return NULL;
	argv[n++] = l->prog[0];
	if (l->iommufd >= 0) {
		snprintf(buf, sizeof(buf), "--iommufd-fd=%d", l->iommufd);
		argv[n++] = strdup(buf);
	}
	for (int i = 0; i < l->naddrs; i++) {
		char name[ZDK_PCI_ADDR_LEN];

		zdk_pci_addr_format(&l->addrs[i], name, sizeof(name));
		snprintf(buf, sizeof(buf), "--vfio-fd=%s=%d", name, l->dev_fds[i]);
		argv[n++] = strdup(buf);
	}
	snprintf(buf, sizeof(buf), "--huge-fd=%d", l->huge_fd);
	argv[n++] = strdup(buf);
	if (l->no_huge)
		argv[n++] = "--no-huge";
	for (int i = 1; i < l->nprog; i++)
		argv[n++] = l->prog[i];
	for (int i = 0; i < n; i++)
		if (!argv[i]) {
			free(argv);
			return NULL;
		}
	return argv;
}

uint64_t launch_memlock_kib(const struct launch *l)
{
	return l->memlock_kib ? l->memlock_kib : memlock_kib(l->mem_mib << 20);
}

static int cap_last(void)
{
	int last = 63;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

	if (f && fscanf(f, "%d", &last) != 1)
		last = 63;
	if (f)
		fclose(f);
	return last;
}

/* Every capability set empty, the bounding set and ambient included. */
static bool caps_empty(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	for (int c = 0; c <= cap_last(); c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0 ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			return false;
	return true;
}

static int fail(struct launch *l, const char *what)
{
	fprintf(l->err, "zdk-launch: %s: %s (zdk-launch runs as root)\n", what, strerror(errno));
	return -1;
}

int launch_drop(struct launch *l)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	uint64_t kib = launch_memlock_kib(l);
	struct rlimit rl;
	uid_t r, e, s;
	gid_t rg, eg, sg;

	rl.rlim_cur = rl.rlim_max = kib == MEMLOCK_UNLIMITED ? RLIM_INFINITY : (rlim_t)kib * 1024;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return fail(l, "cannot set RLIMIT_MEMLOCK");
	if (setgroups((size_t)l->u.ngroups, l->u.groups) ||
	    setresgid(l->u.gid, l->u.gid, l->u.gid))
		return fail(l, "cannot take the user's groups");
	/* The bounding set needs CAP_SETPCAP: before the uid changes. */
	for (int c = 0; c <= cap_last(); c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			return fail(l, "cannot empty the capability bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(l, "cannot clear the ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(l, "cannot set no_new_privs");
	if (setresuid(l->u.uid, l->u.uid, l->u.uid))
		return fail(l, "cannot become the user");
	if (syscall(SYS_capset, &h, none))
		return fail(l, "cannot clear the capabilities");
	/* Checked, not assumed. */
	if (getresuid(&r, &e, &s) || r != l->u.uid || e != l->u.uid || s != l->u.uid ||
	    getresgid(&rg, &eg, &sg) || rg != l->u.gid || eg != l->u.gid || sg != l->u.gid ||
	    !caps_empty()) {
		fprintf(l->err, "zdk-launch: privileges still held after dropping them: not "
			"running the program\n");
		return -1;
	}
	return 0;
}

/* Only the handed-over descriptors (and stdio) survive the exec. */
static int fds_for_exec(struct launch *l)
{
	int ours[LAUNCH_MAX_DEVS + 2], n = 0;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC)) {
		for (int fd = 3; fd < 4096; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	ours[n++] = l->iommufd;
	ours[n++] = l->huge_fd;
	for (int i = 0; i < l->naddrs; i++)
		ours[n++] = l->dev_fds[i];
	for (int i = 0; i < n; i++)
		if (ours[i] >= 0 && fcntl(ours[i], F_SETFD, 0))
			return fail(l, "cannot keep a descriptor open across exec");
	return 0;
}

static void say(const struct launch *l, char **argv)
{
	fprintf(l->err, "zdk-launch: %s (uid %u, gid %u), no capabilities, RLIMIT_MEMLOCK ",
		l->u.name, (unsigned)l->u.uid, (unsigned)l->u.gid);
	if (launch_memlock_kib(l) == MEMLOCK_UNLIMITED)
		fprintf(l->err, "unlimited");
	else
		fprintf(l->err, "%llu KiB", (unsigned long long)launch_memlock_kib(l));
	fprintf(l->err, " (pins charged per %s):", l->per_process ? "process" : "user");
	for (int i = 0; argv[i]; i++)
		fprintf(l->err, " %s", argv[i]);
	fputc('\n', l->err);
}

int launch_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct launch l;
	char **pargv;
	int rc = launch_parse(&l, argc, argv, out, err);

	if (rc)
		return rc > 0 ? 0 : LAUNCH_USAGE;
	if (launch_open(&l))
		return LAUNCH_ERROR;
	pargv = launch_argv(&l);
	if (!pargv || launch_drop(&l) || fds_for_exec(&l)) {
		launch_close(&l);
		return LAUNCH_ERROR;
	}
	if (l.verbose)
		say(&l, pargv);
	fflush(err);
	execvp(pargv[0], pargv);
	fprintf(err, "zdk-launch: cannot run %s as %s: %s\n", pargv[0], l.u.name, strerror(errno));
	launch_close(&l);
	return LAUNCH_EXEC;
}
