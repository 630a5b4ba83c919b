/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_doctor.c - zdk-doctor over fake sysfs/dev/proc trees: a ready
 * machine passes, and each missing piece gives its [FAIL] or [WARN] line,
 * its fix, and the exit status.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../zdk_test.h"

#include "doctor.h"
#include "fake_sysfs.h"
#include "rights.h"
#include "zdk_log.h"

#define NVME "0000:01:00.0"
#define HDA "0000:00:1f.3"

static struct fake_sysfs f;
static char *out;

/* zdk-doctor's argv on the fake tree, then @extra (NULL-terminated). */
static int argv_build(char **argv, const char *const *extra)
{
	const char *base[] = { "zdk-doctor", "--sysfs-root", f.sys, "--dev-root", f.dev,
			       "--proc-root", f.proc };
	int argc = 0;

	for (; argc < 7; argc++)
		argv[argc] = (char *)base[argc];
	for (; extra && *extra && argc < 31; extra++)
		argv[argc++] = (char *)*extra;
	argv[argc] = NULL;
	return argc;
}

/* Run zdk-doctor on the fake tree; the arguments end with NULL. */
static int run(int dummy, ...)
{
	const char *extra[24];
	char *argv[32];
	int n = 0, argc, rc;
	size_t len;
	va_list ap;
	FILE *o;

	va_start(ap, dummy);
	while (n < 23 && (extra[n] = va_arg(ap, const char *)))
		n++;
	extra[n] = NULL;
	va_end(ap);
	argc = argv_build(argv, extra);
	free(out);
	o = open_memstream(&out, &len);
	CU_ASSERT_FATAL(o != NULL);
	rc = doctor_main(argc, argv, o);
	fclose(o);
	return rc;
}
#define RUN(...) run(0, ##__VA_ARGS__, NULL)

/* Does the output have this line (or the start of one)? */
static int has(const char *line)
{
	const char *p = out;

	while ((p = strstr(p, line))) {
		if (p == out || p[-1] == '\n')
			return 1;
		p++;
	}
	fprintf(stderr, "\nmissing line \"%s\" in:\n%s", line, out);
	return 0;
}

/* The sandbox guest in small: everything zdk needs, NVMe on vfio-pci. */
static void ready_machine(void)
{
	fake_create(&f);
	fake_dir(&f, "sys/class/iommu/dmar0");
	fake_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "%s", "N\n");
	fake_file(&f, "dev/iommu", "%s", "");
	fake_file(&f, "dev/vfio/vfio", "%s", "");
	fake_file(&f, "dev/vfio/3", "%s", "");
	fake_file(&f, "dev/vfio/devices/vfio0", "%s", "");
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 3, "vfio-pci");
	fake_file(&f, "sys/devices/pci0000:00/" NVME "/vfio-dev/vfio0/dev", "%s", "");
	fake_pci(&f, "0000:02:00.0", 0x8086, 0x10c9, 0x020000, 0, 4, "igb");
	fake_hugepages(&f, -1, 2048, 64, 64);
	fake_hugepages(&f, 0, 2048, 64, 64);
	fake_file(&f, "proc/mounts", "%s",
		  "/dev/sda1 / ext4 rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n");
}

static void test_ready(void)
{
	ready_machine();
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT_PTR_NULL(strstr(out, "[FAIL]"));
	CU_ASSERT_PTR_NULL(strstr(out, "[WARN]"));
	CU_ASSERT(has("[ OK ] IOMMU: enabled"));
	CU_ASSERT(has("[ OK ] no-IOMMU mode: off"));
	CU_ASSERT(has("[ OK ] iommufd: /dev/iommu present"));
	CU_ASSERT(has("[ OK ] vfio-pci: loaded"));
	/* Without -a: every device on vfio-pci, and only those. */
	CU_ASSERT(has("[ OK ] " NVME ": bound to vfio-pci"));
	CU_ASSERT_PTR_NULL(strstr(out, "0000:02:00.0"));
	CU_ASSERT(has("[ OK ] " NVME ": IOMMU group 3 viable (alone)"));
	CU_ASSERT(has("[ OK ] hugepages: 64 x 2M on node 0, 64 free"));
	CU_ASSERT(has("[ OK ] hugetlbfs: 2M pages mounted at /dev/hugepages"));
	CU_ASSERT(has("[ OK ] memlock: CAP_IPC_LOCK, no limit applies"));
	CU_ASSERT(has("[ OK ] " NVME ": on NUMA node 0, 128 MiB of hugepages free there"));
	CU_ASSERT(has("zdk-doctor: ready for zdk (0 warnings)"));

	CU_ASSERT_EQUAL(RUN("-a", "01:00.0", "-m", "128"), DOCTOR_OK);
	CU_ASSERT(has("[ OK ] hugepages: node 0 has 128 MiB free, -m asks 128 MiB"));
	fake_destroy(&f);
}

static void test_no_iommu(void)
{
	ready_machine();
	/* No IOMMU: no dmar, no groups. */
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/class/iommu/dmar0")), 0);
	fake_unlink(&f, "sys/kernel/iommu_groups/3/devices/" NVME);
	fake_unlink(&f, "sys/kernel/iommu_groups/4/devices/0000:02:00.0");
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/kernel/iommu_groups/3/devices")), 0);
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/kernel/iommu_groups/3")), 0);
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/kernel/iommu_groups/4/devices")), 0);
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/kernel/iommu_groups/4")), 0);
	fake_unlink(&f, "sys/devices/pci0000:00/" NVME "/iommu_group");
	CU_ASSERT_EQUAL(RUN("-a", NVME), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] IOMMU: none enabled"));
	CU_ASSERT(has("       fix: enable VT-d/AMD-Vi in firmware and boot with intel_iommu=on"));
	CU_ASSERT(has("[FAIL] " NVME ": no IOMMU group"));

	/* No-IOMMU mode on, the device in its vfio-noiommu group: warnings only. */
	fake_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "%s", "Y\n");
	fake_link(&f, "sys/devices/pci0000:00/" NVME "/iommu_group", "../../../kernel/iommu_groups/0");
	fake_link(&f, "sys/kernel/iommu_groups/0/devices/" NVME, "../../../../devices/pci0000:00/" NVME);
	fake_file(&f, "dev/vfio/noiommu-0", "%s", "");
	fake_unlink(&f, "dev/iommu");
	CU_ASSERT_EQUAL(RUN("-a", NVME), DOCTOR_OK);
	CU_ASSERT(has("[WARN] IOMMU: none; zdk can run only in VFIO's unsafe no-IOMMU mode"));
	CU_ASSERT(has("[WARN] no-IOMMU mode: enabled"));
	CU_ASSERT(has("[WARN] iommufd: no /dev/iommu"));
	CU_ASSERT(has("       fix: type1 will be used; Linux >= 6.6 with CONFIG_IOMMUFD for iommufd"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "vfio/noiommu-0 accessible"));
	fake_destroy(&f);
}

static void test_vfio_and_device(void)
{
	ready_machine();
	fake_unlink(&f, "sys/bus/pci/drivers/vfio-pci/bind");
	fake_unlink(&f, "sys/bus/pci/drivers/vfio-pci/unbind");
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/bus/pci/drivers/vfio-pci")), 0);
	fake_pci_driver(&f, NVME, "nvme");
	CU_ASSERT_EQUAL(RUN("-a", NVME), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] vfio-pci: not loaded"));
	CU_ASSERT(has("       fix: modprobe vfio-pci"));
	CU_ASSERT(has("[FAIL] " NVME ": bound to nvme, not vfio-pci"));
	CU_ASSERT(has("       fix: zdk-devbind --bind=vfio-pci " NVME));
	CU_ASSERT(has("zdk-doctor: 2 checks failed"));

	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] devices: none bound to vfio-pci"));
	CU_ASSERT_EQUAL(RUN("-a", "0000:0a:00.0"), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] 0000:0a:00.0: no such PCI function"));
	fake_destroy(&f);
}

static void test_group(void)
{
	ready_machine();
	fake_pci(&f, "0000:00:1c.0", 0x8086, 0x2940, 0x060400, -1, 3, "pcieport");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT(has("[ OK ] " NVME ": IOMMU group 3 viable (with 0000:00:1c.0 (pcieport))"));
	fake_pci(&f, HDA, 0x8086, 0x293e, 0x040300, -1, 3, "snd_hda_intel");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] " NVME ": IOMMU group 3 is not viable: it also holds "
		      "0000:00:1c.0 (pcieport), " HDA " (snd_hda_intel)"));
	CU_ASSERT(has("       fix: bind the whole group: zdk-devbind --bind=vfio-pci " HDA " " NVME));
	fake_destroy(&f);
}

static void test_nodes_missing(void)
{
	ready_machine();
	/* iommufd usable: the type1 nodes missing is a warning. */
	fake_unlink(&f, "dev/vfio/3");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[WARN] " NVME ": "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/vfio/3 missing"));
	/* Without iommufd, it is a failure. */
	fake_unlink(&f, "dev/iommu");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/vfio/3 missing\n       fix: bind it again "
				      "(zdk-devbind --bind=vfio-pci " NVME ")"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[FAIL] " NVME ": "));
	/* A cdev sysfs names but /dev lacks. */
	fake_file(&f, "dev/iommu", "%s", "");
	fake_file(&f, "dev/vfio/3", "%s", "");
	fake_unlink(&f, "dev/vfio/devices/vfio0");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/vfio/devices/vfio0 missing"));
	fake_destroy(&f);
}

/* Run doctor as nobody in a child: root passes every permission check. */
static int run_unprivileged(void)
{
	static char buf[8192];
	char *argv[32];
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		FILE *o = fdopen(fds[1], "w");

		close(fds[0]);
		if (!o || (geteuid() == 0 && (setgid(65534) || setuid(65534))))
			_exit(99);
		_exit(doctor_main(argv_build(argv, NULL), argv, o) + (fflush(o) ? 100 : 0));
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	free(out);
	out = strdup(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_permissions(void)
{
	ready_machine();
	CU_ASSERT_EQUAL(chmod(f.root, 0755), 0); /* mkdtemp made it 0700 */
	CU_ASSERT_EQUAL(chmod(fake_path(&f, "dev/vfio/3"), 0600), 0);
	CU_ASSERT_EQUAL(chmod(fake_path(&f, "dev/iommu"), 0600), 0);
	CU_ASSERT_EQUAL(run_unprivileged(), DOCTOR_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/vfio/3\n       fix: uid 65534 ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/vfio/3 (root:root, mode 0600): as root run "
				      "zdk-devbind --grant="));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " " NVME ", or start the program through zdk-launch "
				      "--user="));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[FAIL] " NVME ": permission denied on "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/iommu\n"));
	fake_destroy(&f);
}

static void test_hugepages(void)
{
	ready_machine();
	fake_hugepages(&f, -1, 2048, 64, 0);
	fake_hugepages(&f, 0, 2048, 64, 0);
	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT(has("[WARN] hugepages: 64 x 2M on node 0, 0 free"));
	CU_ASSERT(has("[FAIL] hugepages: none free"));
	CU_ASSERT(has("       fix: echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"));

	/* -m per node: node 0 short, node 1 absent. */
	fake_hugepages(&f, -1, 2048, 64, 64);
	fake_hugepages(&f, 0, 2048, 64, 64);
	CU_ASSERT_EQUAL(RUN("-m", "256,64"), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] hugepages: node 0 has 128 MiB free, -m asks 256 MiB"));
	CU_ASSERT(has("       fix: echo 128 > /sys/devices/system/node/node0/hugepages/"
		      "hugepages-2048kB/nr_hugepages"));
	CU_ASSERT(has("[FAIL] hugepages: node 1 has 0 MiB free, -m asks 64 MiB"));
	CU_ASSERT_EQUAL(RUN("-m", "100,0"), DOCTOR_OK);

	/* The device on a node whose pool is empty: a warning naming that node. */
	fake_hugepages(&f, 1, 2048, 0, 0);
	fake_file(&f, "sys/devices/pci0000:00/" NVME "/numa_node", "%s", "1\n");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT(has("[WARN] " NVME ": on NUMA node 1, which has no free hugepages: its DMA "
		      "memory would be remote"));
	CU_ASSERT(has("       fix: echo 256 > /sys/devices/system/node/node1/hugepages/"
		      "hugepages-2048kB/nr_hugepages"));
	fake_file(&f, "sys/devices/pci0000:00/" NVME "/numa_node", "%s", "0\n");

	/* Mounts: none for the only size fails; a second size unmounted warns. */
	fake_file(&f, "proc/mounts", "%s", "/dev/sda1 / ext4 rw 0 0\n");
	CU_ASSERT_EQUAL(RUN(), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] hugetlbfs: no mount for 2M pages"));
	CU_ASSERT(has("       fix: mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M "
		      "none /dev/hugepages"));
	fake_file(&f, "proc/mounts", "%s", "none /dev/hugepages hugetlbfs rw 0 0\n");
	fake_hugepages(&f, -1, 1048576, 1, 1);
	fake_hugepages(&f, 0, 1048576, 1, 1);
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT(has("[ OK ] hugetlbfs: 2M pages mounted at /dev/hugepages")); /* meminfo default */
	CU_ASSERT(has("[WARN] hugetlbfs: no mount for 1G pages"));
	CU_ASSERT(has("       fix: mkdir -p /dev/hugepages1G && mount -t hugetlbfs -o pagesize=1G "
		      "none /dev/hugepages1G"));
	fake_destroy(&f);
}

static void test_memlock(void)
{
	struct rlimit saved, low;

	ready_machine();
	fake_file(&f, "proc/self/status", "%s", "Name:\tx\nCapEff:\t0000000000000000\n");
	CU_ASSERT_FATAL(getrlimit(RLIMIT_MEMLOCK, &saved) == 0);
	low = saved;
	low.rlim_cur = 64 << 10;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_MEMLOCK, &low) == 0);
	CU_ASSERT_EQUAL(RUN(), DOCTOR_OK);
	CU_ASSERT(has("[WARN] memlock: RLIMIT_MEMLOCK is 64 KiB: DMA mappings beyond it fail"));
	CU_ASSERT(has("       fix: ulimit -l unlimited"));
	CU_ASSERT_EQUAL(RUN("-m", "64"), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] memlock: RLIMIT_MEMLOCK is 64 KiB, below what -m asks"));
	CU_ASSERT(has("       fix: pinning -m's 64 MiB needs 65536 KiB: "));
	CU_ASSERT_FATAL(setrlimit(RLIMIT_MEMLOCK, &saved) == 0);
	fake_destroy(&f);
}

static void test_usage(void)
{
	ready_machine();
	CU_ASSERT_EQUAL(RUN("-h"), DOCTOR_OK);
	CU_ASSERT(has("Usage: zdk-doctor"));
	CU_ASSERT_EQUAL(RUN("-m", "abc"), DOCTOR_USAGE);
	CU_ASSERT_EQUAL(RUN("-m", ""), DOCTOR_USAGE);
	CU_ASSERT_EQUAL(RUN("-m", "64,"), DOCTOR_USAGE);
	CU_ASSERT_EQUAL(RUN("-a", "01:00"), DOCTOR_USAGE);
	CU_ASSERT(has("zdk-doctor: '01:00' is not a PCI address"));
	CU_ASSERT_EQUAL(RUN(NVME), DOCTOR_USAGE);
	CU_ASSERT_EQUAL(RUN("--bogus"), DOCTOR_USAGE);
	fake_destroy(&f);
}

static int contains(const char *s)
{
	return strstr(out, s) != NULL;
}

/* --json: the same verdicts as one object a script can read (checked with
 * python3's json module when the host has it). */
static void test_json(void)
{
	FILE *py;
	int rc;

	ready_machine();
	CU_ASSERT_EQUAL(RUN("--json"), DOCTOR_OK);
	CU_ASSERT(contains("\"verdict\": \"ok\", \"check\": \"IOMMU: enabled\""));
	CU_ASSERT(contains("\"fails\": 0"));
	CU_ASSERT(contains("\"ready\": true"));
	CU_ASSERT_PTR_NULL(strstr(out, "[ OK ]"));
	fake_destroy(&f);

	ready_machine();
	fake_pci_driver(&f, NVME, "nvme");
	CU_ASSERT_EQUAL(RUN("--json", "-a", NVME), DOCTOR_FAIL);
	CU_ASSERT(contains("\"verdict\": \"fail\", \"check\": \"" NVME ": bound to nvme, not vfio-pci\", "
		      "\"fix\": \"zdk-devbind --bind=vfio-pci " NVME "\""));
	CU_ASSERT(contains("\"ready\": false"));
	CU_ASSERT(contains("\"fix\": "));
	py = popen("python3 -c 'import json,sys; d=json.load(sys.stdin); "
		   "sys.exit(0 if d[\"fails\"] > 0 and d[\"checks\"] else 1)' 2>/dev/null", "w");
	if (py) {
		fputs(out, py);
		rc = pclose(py);
		/* 127: no python3 here; anything else is the verdict on the JSON */
		if (WIFEXITED(rc) && WEXITSTATUS(rc) != 127)
			CU_ASSERT_EQUAL(WEXITSTATUS(rc), 0);
	}
	fake_destroy(&f);
}

static void test_version(void)
{
	ready_machine();
	CU_ASSERT_EQUAL(RUN("--version"), DOCTOR_OK);
	CU_ASSERT(has("zdk-doctor (zdk "));
	fake_destroy(&f);
}

/*
 * --user: another user's rights, read from owner, group and mode. The fake
 * nodes belong to whoever runs the test; the user checked is someone else
 * (1000, or the next uid when the test itself runs as 1000).
 */
static void test_user(void)
{
	uid_t other = geteuid() == 1000 ? 1001 : 1000;
	char uid[16], range[64], line[PATH_MAX + 1024], name[64], etc[PATH_MAX];

	snprintf(uid, sizeof(uid), "%u", (unsigned)other);
	rights_user_name(other, name, sizeof(name));
	ready_machine();
	CU_ASSERT_EQUAL(chmod(f.root, 0755), 0); /* mkdtemp made it 0700 */
	fake_dir(&f, "dev/hugepages");
	snprintf(line, sizeof(line), "%s", fake_path(&f, "dev/hugepages"));
	fake_file(&f, "proc/mounts", "hugetlbfs %s hugetlbfs rw,pagesize=2M 0 0\n", line);
	snprintf(etc, sizeof(etc), "%s", fake_path(&f, "etc"));
	fake_dir(&f, "etc/security/limits.d");
	chmod(fake_path(&f, "dev/iommu"), 0600);
	chmod(fake_path(&f, "dev/vfio/devices/vfio0"), 0600);
	chmod(fake_path(&f, "dev/vfio/3"), 0600);

	/* Nothing granted: granted access fails; zdk-launch would do. */
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc), DOCTOR_OK);
	snprintf(line, sizeof(line), "[WARN] user %s, granted access: " NVME ": %s may not read "
		 "and write %s", name, name, fake_path(&f, "dev/iommu"));
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "       fix: as root: zdk-devbind --grant=%s " NVME
		 " (until reboot; --persist prints what makes it last)", name);
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "[WARN] user %s, granted access: hugepages: %s may not "
		 "write %s", name, name, fake_path(&f, "dev/hugepages"));
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "[WARN] user %s, granted access: memlock: %s gets 8192 KiB "
		 "(no memlock line for %s in %s/security/limits.conf or limits.d", name, name,
		 name, etc);
	CU_ASSERT(has(line));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "131072 KiB needed: 1 process x 128 MiB of arena = "
				      "32768 pinned pages of 4 KiB"));
	snprintf(line, sizeof(line), "[ OK ] user %s, handed-over descriptors (zdk-launch): "
		 "zdk-launch: as root it opens /dev/iommu", name);
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "zdk-launch --user=%s -a " NVME " -m 128 -- PROGRAM", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, line));
	snprintf(line, sizeof(line), "[ OK ] user %s can run zdk without root by handed-over "
		 "descriptors (zdk-launch)", name);
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "[WARN] user %s cannot run zdk by granted access yet: 3 "
		 "things missing (fixes above)", name);
	CU_ASSERT(has(line));

	/* Granted: the nodes theirs (a mode that lets them), a directory, a limit. */
	chmod(fake_path(&f, "dev/iommu"), 0666);
	chmod(fake_path(&f, "dev/vfio/devices/vfio0"), 0666);
	snprintf(line, sizeof(line), "dev/hugepages/zdk-%u", (unsigned)other);
	fake_dir(&f, line);
	chmod(fake_path(&f, line), 0777);
	snprintf(range, sizeof(range), "%u:%u", (unsigned)other, (unsigned)other);
	fake_file(&f, "etc/security/limits.conf", "*\thard\tmemlock\t64\n");
	fake_file(&f, "etc/security/limits.d/zdk.conf", "# zdk\n%s - memlock 262144\n", range);
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc, "--json"), DOCTOR_OK);
	CU_ASSERT(contains("\"granted\": true, \"handed\": true}"));
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc), DOCTOR_OK);
	snprintf(line, sizeof(line), "[ OK ] user %s, granted access: " NVME ": %s may read and "
		 "write /dev/iommu and %s/vfio/devices/vfio0 (iommufd)", name, name, f.dev);
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "[ OK ] user %s, granted access: memlock: 262144 KiB (%s/"
		 "security/limits.d/zdk.conf:2) covers the 131072 KiB needed", name, etc);
	CU_ASSERT(has(line));
	snprintf(line, sizeof(line), "[ OK ] user %s can run zdk without root by granted access",
		 name);
	CU_ASSERT(has(line));
	/* Three processes at once under iommufd: 393216 KiB, more than the line gives. */
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc, "--procs", "3"), DOCTOR_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "393216 KiB needed: 3 processes x 128 MiB"));
	snprintf(line, sizeof(line), "       fix: as root: echo '%s - memlock 393216' "
		 ">/etc/security/limits.d/zdk-%s.conf", name, name);
	CU_ASSERT(has(line));

	/* type1 only (no iommufd): the group node decides (the container is 0666, as the
	 * kernel makes it), and zdk-launch cannot help. */
	fake_unlink(&f, "dev/iommu");
	chmod(fake_path(&f, "dev/vfio/vfio"), 0666);
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc), DOCTOR_FAIL);
	snprintf(line, sizeof(line), "may not read and write %s (", fake_path(&f, "dev/vfio/3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, line));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "zdk-launch: no "));
	snprintf(line, sizeof(line), "[FAIL] user %s cannot run zdk by handed-over descriptors "
		 "(zdk-launch) yet: 1 thing missing (fixes above)", name);
	CU_ASSERT(has(line));
	chmod(fake_path(&f, "dev/vfio/3"), 0666);
	CU_ASSERT_EQUAL(RUN("--user", uid, "--etc-root", etc), DOCTOR_OK);
	snprintf(line, sizeof(line), "/dev/vfio/vfio and %s/vfio/3 (type1)", f.dev);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, line));

	CU_ASSERT_EQUAL(RUN("--user", "no-such-user-zdk"), DOCTOR_FAIL);
	CU_ASSERT(has("[FAIL] user no-such-user-zdk: no such user"));
	CU_ASSERT_EQUAL(RUN("--user", "1000", "--procs", "0"), DOCTOR_USAGE);
	fake_destroy(&f);
}

static const struct zdk_test tests[] = {
	{ "user", test_user },
	{ "json", test_json },
	{ "version", test_version },
	{ "ready", test_ready },
	{ "no_iommu", test_no_iommu },
	{ "vfio_and_device", test_vfio_and_device },
	{ "group", test_group },
	{ "nodes_missing", test_nodes_missing },
	{ "permissions", test_permissions },
	{ "hugepages", test_hugepages },
	{ "memlock", test_memlock },
	{ "usage", test_usage },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_level = 0;
	return zdk_test_run("doctor", NULL, NULL, tests);
}
