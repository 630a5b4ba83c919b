/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_devbind.c - zdk-devbind over fake sysfs trees: the status grouping,
 * each refusal (group not viable, in use, no vfio-pci, no IOMMU group), the
 * files a bind, unbind and restore write, and the exit codes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../zdk_test.h"

#include "devbind.h"
#include "fake_sysfs.h"
#include "rights.h"
#include "zdk_log.h"

#define NVME "0000:01:00.0"
#define IGB0 "0000:02:00.0"
#define IGB1 "0000:02:00.1"
#define E1000E "0000:03:00.0"
#define VIRTIO "0000:04:00.0"
#define AHCI "0000:00:1f.2"
#define BRIDGE "0000:00:1c.0"

#define OVERRIDE(bdf) "sys/devices/pci0000:00/" bdf "/driver_override"
#define PROBE "sys/bus/pci/drivers_probe"

static struct fake_sysfs f;
static char *out, *err;

/* Run zdk-devbind on the fake tree with the NULL-terminated arguments. */
static int run(const char *arg, ...)
{
	char *argv[32] = { "zdk-devbind", "--sysfs-root", f.sys, "--proc-root", f.proc };
	size_t olen, elen;
	int argc = 5, rc;
	FILE *o, *e;
	va_list ap;

	va_start(ap, arg);
	for (; arg && argc < 31; arg = va_arg(ap, const char *))
		argv[argc++] = (char *)arg;
	va_end(ap);
	free(out);
	free(err);
	o = open_memstream(&out, &olen);
	e = open_memstream(&err, &elen);
	CU_ASSERT_FATAL(o && e);
	rc = devbind_main(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

/* The lines of @text under the heading @title, up to the blank line. */
static const char *section(const char *text, const char *title)
{
	static char buf[4096];
	const char *s = strstr(text, title), *end;

	if (!s)
		return "";
	end = strstr(s, "\n\n");
	snprintf(buf, sizeof(buf), "%.*s", end ? (int)(end - s) : (int)strlen(s), s);
	return buf;
}

static void machine(void)
{
	fake_create(&f);
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 3, "nvme");
	fake_pci(&f, IGB0, 0x8086, 0x10c9, 0x020000, 0, 4, "igb");
	fake_pci(&f, IGB1, 0x8086, 0x10c9, 0x020000, 0, 5, "vfio-pci");
	fake_pci(&f, E1000E, 0x8086, 0x10d3, 0x020000, 1, 6, NULL);
	fake_pci(&f, VIRTIO, 0x1af4, 0x1041, 0x020000, -1, 7, "virtio-pci");
	fake_pci(&f, AHCI, 0x1234, 0x5678, 0x010601, -1, 8, "ahci");
	fake_pci(&f, BRIDGE, 0x8086, 0x2940, 0x060400, -1, 9, "pcieport");
	fake_driver(&f, "vfio-pci");
	fake_netdev(&f, IGB0, "eth1", "up", 0x1003);
	fake_file(&f, "sys/devices/pci0000:00/" IGB1 "/vfio-dev/vfio0/dev", "%s", "");
}

static void test_status(void)
{
	const char *s;

	machine();
	CU_ASSERT_EQUAL(run(NULL), DEVBIND_OK);
	CU_ASSERT_EQUAL(run("--status", NULL), DEVBIND_OK);
	CU_ASSERT_STRING_EQUAL(err, "");

	s = section(out, "Network devices bound to vfio-pci");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, IGB1 " '82576 Gigabit Network Connection' 8086:10c9 "
				      "drv=vfio-pci iommu_group=5 numa_node=0 cdev=vfio0"));
	CU_ASSERT_PTR_NULL(strstr(s, IGB0));
	s = section(out, "Network devices using a kernel driver");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, IGB0 " '82576 Gigabit Network Connection' 8086:10c9 "
				      "drv=igb iommu_group=4 numa_node=0 "
				      "*in use: network interface eth1 is up*"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, VIRTIO " 'Virtio 1.0 network device' 1af4:1041 "
				      "drv=virtio-pci iommu_group=7 numa_node=-1"));
	CU_ASSERT_PTR_NULL(strstr(s, IGB1));
	CU_ASSERT_PTR_NULL(strstr(s, NVME));
	s = section(out, "Network devices with no driver");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, E1000E " '82574L Gigabit Network Connection' 8086:10d3 "
				      "drv=none iommu_group=6 numa_node=1"));
	s = section(out, "Storage devices bound to vfio-pci");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "<none>"));
	s = section(out, "Storage devices using a kernel driver");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, NVME " 'QEMU NVM Express Controller' 1b36:0010 drv=nvme"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, AHCI " 'Storage controller' 1234:5678 drv=ahci"));
	s = section(out, "Storage devices with no driver");
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "<none>"));
	/* Bridges are neither network nor storage. */
	CU_ASSERT_PTR_NULL(strstr(out, BRIDGE));

	/* A pending override shows. */
	fake_file(&f, OVERRIDE(E1000E), "%s", "vfio-pci\n");
	CU_ASSERT_EQUAL(run(NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(section(out, "Network devices with no driver"),
				      "override=vfio-pci"));
	fake_destroy(&f);
}

static void test_bind_writes(void)
{
	machine();
	/* The fake kernel does not bind: the writes happen, then devbind says so. */
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", NVME, NULL), DEVBIND_ERROR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(NVME)), "vfio-pci");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/nvme/unbind"), NVME);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, PROBE), NVME);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, NVME ": the kernel did not bind it to vfio-pci "
				      "(driver now: nvme): see dmesg"));

	/* Already there: nothing to do, success. */
	fake_file(&f, PROBE, "%s", "");
	CU_ASSERT_EQUAL(run("-b", "vfio-pci", "02:00.1", NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, IGB1 ": already bound to vfio-pci"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, PROBE), "");

	/* Unbind writes the driver's unbind file only. */
	CU_ASSERT_EQUAL(run("--unbind", NVME, NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, NVME ": unbound from nvme"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/nvme/unbind"), NVME);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, PROBE), "");
	CU_ASSERT_EQUAL(run("--unbind", E1000E, NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, E1000E ": has no driver"));

	/* Restore clears the override, unbinds from vfio-pci and probes. */
	fake_file(&f, OVERRIDE(IGB1), "%s", "vfio-pci\n");
	CU_ASSERT_EQUAL(run("--restore", IGB1, NULL), DEVBIND_ERROR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB1)), "\n");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/vfio-pci/unbind"), IGB1);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, PROBE), IGB1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, IGB1 ": no kernel driver took it"));
	fake_destroy(&f);
}

static void test_bind_refusals(void)
{
	machine();
	/* In use: an interface is up. */
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", IGB0, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, IGB0 ": in use (network interface eth1 "
				      "is up): stop using it first, or --force"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB0)), "(null)\n");
	CU_ASSERT_EQUAL(run("--unbind", IGB0, NULL), DEVBIND_ERROR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/igb/unbind"), "");

	/* A mounted block device. */
	fake_blockdev(&f, NVME, "nvme0n1");
	fake_file(&f, "proc/mounts", "%s", "/dev/nvme0n1 /data ext4 rw 0 0\n");
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", NVME, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "block device nvme0n1 is mounted on /data"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(NVME)), "(null)\n");

	/* --force overrides it: the sequence is written. */
	CU_ASSERT_EQUAL(run("--force", "--bind=vfio-pci", IGB0, NULL), DEVBIND_ERROR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB0)), "vfio-pci");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/igb/unbind"), IGB0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "the kernel did not bind it"));

	/* Group not viable: the culprit, its driver and the whole-group command. */
	fake_file(&f, OVERRIDE(IGB0), "%s", "(null)\n");
	fake_file(&f, "sys/class/net/eth1/operstate", "%s", "down\n");
	fake_file(&f, "sys/class/net/eth1/flags", "%s", "0x1002\n");
	fake_pci(&f, "0000:02:00.2", 0x8086, 0x10c9, 0x020000, 0, 4, "igb");
	fake_pci(&f, "0000:02:00.3", 0x8086, 0x10c9, 0x020000, 0, 4, "pci-stub");
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", IGB0, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, IGB0 ": IOMMU group 4 is not viable: 0000:02:00.2 is "
				      "bound to igb; bind every device of the group: zdk-devbind "
				      "--bind=vfio-pci " IGB0 " 0000:02:00.2 (or --force)"));
	CU_ASSERT_PTR_NULL(strstr(err, "0000:02:00.3 is bound"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB0)), "(null)\n");
	/* Named together, the group is fine: both get bound. */
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", IGB0, "0000:02:00.2", NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NULL(strstr(err, "not viable"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB0)), "vfio-pci");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE("0000:02:00.2")), "vfio-pci");

	/* No IOMMU group and no no-IOMMU mode. */
	fake_pci(&f, "0000:05:00.0", 0x8086, 0x10d3, 0x020000, 0, -1, NULL);
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", "0000:05:00.0", NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0000:05:00.0: no IOMMU group: enable the IOMMU"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE("0000:05:00.0")), "(null)\n");
	fake_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "%s", "Y\n");
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", "0000:05:00.0", NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NULL(strstr(err, "no IOMMU group"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE("0000:05:00.0")), "vfio-pci");

	/* A process holds the group of a function on vfio-pci: no restore. */
	fake_link(&f, "proc/4242/fd/9", "/dev/vfio/5");
	fake_file(&f, "proc/4242/comm", "%s", "l2fwd\n");
	CU_ASSERT_EQUAL(run("--restore", IGB1, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, IGB1 ": in use (/dev/vfio/5 is open in process 4242 "
				      "(l2fwd)): stop using it first, or --force"));
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/vfio-pci/unbind"), "");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, OVERRIDE(IGB1)), "(null)\n");
	CU_ASSERT_EQUAL(run(NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*in use: /dev/vfio/5 is open in process 4242 (l2fwd)*"));

	/* vfio-pci not loaded; unknown function. */
	fake_unlink(&f, "sys/bus/pci/drivers/vfio-pci/bind");
	fake_unlink(&f, "sys/bus/pci/drivers/vfio-pci/unbind");
	CU_ASSERT_EQUAL(rmdir(fake_path(&f, "sys/bus/pci/drivers/vfio-pci")), 0);
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", E1000E, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, E1000E ": driver vfio-pci is not loaded: "
				      "modprobe vfio-pci"));
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", "0000:0a:00.0", NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0000:0a:00.0: no such PCI function"));
	CU_ASSERT_EQUAL(run("--restore", "0000:0a:00.0", NULL), DEVBIND_ERROR);
	fake_destroy(&f);
}

static void test_usage(void)
{
	machine();
	CU_ASSERT_EQUAL(run("-h", NULL), DEVBIND_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: zdk-devbind"));
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", NULL), DEVBIND_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "which device?"));
	CU_ASSERT_EQUAL(run(NVME, NULL), DEVBIND_USAGE);
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", "0000:01:00", NULL), DEVBIND_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'0000:01:00' is not a PCI address"));
	CU_ASSERT_EQUAL(run("--bind=vfio-pci", "--unbind", NVME, NULL), DEVBIND_USAGE);
	CU_ASSERT_EQUAL(run("--frobnicate", NULL), DEVBIND_USAGE);
	CU_ASSERT_EQUAL(run("--bind", NULL), DEVBIND_USAGE);
	/* Nothing was written by any of these. */
	CU_ASSERT_STRING_EQUAL(fake_read(&f, PROBE), "");
	fake_destroy(&f);
}

static uid_t owner_of(const char *rel)
{
	struct stat st;

	return stat(fake_path(&f, rel), &st) ? (uid_t)-1 : st.st_uid;
}

/* The nodes of IGB1 (vfio-pci, group 5, cdev vfio0), /dev/iommu, a hugetlbfs mount. */
static void grant_machine(char *etc, size_t len)
{
	char mnt[PATH_MAX];

	machine();
	fake_file(&f, "dev/iommu", "%s", "");
	fake_file(&f, "dev/vfio/vfio", "%s", "");
	fake_file(&f, "dev/vfio/5", "%s", "");
	fake_file(&f, "dev/vfio/devices/vfio0", "%s", "");
	chmod(fake_path(&f, "dev/iommu"), 0600);
	chmod(fake_path(&f, "dev/vfio/vfio"), 0666);
	chmod(fake_path(&f, "dev/vfio/5"), 0600);
	chmod(fake_path(&f, "dev/vfio/devices/vfio0"), 0600);
	fake_dir(&f, "dev/hugepages");
	snprintf(mnt, sizeof(mnt), "%s", fake_path(&f, "dev/hugepages"));
	fake_file(&f, "proc/mounts", "hugetlbfs %s hugetlbfs rw,pagesize=2M 0 0\n", mnt);
	snprintf(etc, len, "%s", fake_path(&f, "etc"));
	fake_dir(&f, "etc/security/limits.d");
}

/*
 * --grant=USER: the device's cdev and group node and /dev/iommu become the
 * user's, a directory of theirs appears in the hugetlbfs mount, and the
 * memlock figure is said; --persist prints the boot-time files; --grant=root
 * takes the nodes back. Changing owners needs root: as anyone else only the
 * refusals and --persist are checked.
 */
static void test_grant(void)
{
	char etc[PATH_MAX], want[PATH_MAX + 256], name[64];
	struct stat st;

	rights_user_name(1000, name, sizeof(name));
	grant_machine(etc, sizeof(etc));
	/* a device not on vfio-pci: bind it first, and the command says so */
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--etc-root", etc, "--grant=1000", NVME, NULL),
			DEVBIND_ERROR);
	snprintf(want, sizeof(want), NVME ": bound to nvme, not vfio-pci: zdk-devbind "
		 "--bind=vfio-pci --grant=1000 " NVME " binds it and grants it");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	CU_ASSERT_EQUAL(run("--grant=no-such-user-zdk", IGB1, NULL), DEVBIND_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--grant=no-such-user-zdk: no such user"));
	CU_ASSERT_EQUAL(run("--grant=1000", "--unbind", IGB1, NULL), DEVBIND_USAGE);
	CU_ASSERT_EQUAL(run("--persist", IGB1, NULL), DEVBIND_USAGE);
	CU_ASSERT_EQUAL(run("--grant=1000", "--procs", "0", IGB1, NULL), DEVBIND_USAGE);

	/* --persist: changes nothing, prints what grants it at boot */
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--grant=1000", "--persist", "-m", "256",
			    "--procs", "2", IGB1, NULL), DEVBIND_OK);
	snprintf(want, sizeof(want), "SUBSYSTEM==\"vfio-dev\", KERNELS==\"" IGB1 "\", "
		 "OWNER=\"%s\", MODE=\"0600\"\n", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want), "SUBSYSTEM==\"vfio\", KERNEL==\"5\", OWNER=\"%s\"", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want), "SUBSYSTEM==\"misc\", KERNEL==\"iommu\", OWNER=\"%s\"", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want), "d %s/zdk-1000 0700 1000 ", fake_path(&f, "dev/hugepages"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " - memlock 524288\nEOF\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "# 2 processes x 256 MiB of arena = 131072 pinned "
					   "pages of 4 KiB"));
	CU_ASSERT_EQUAL(owner_of("dev/vfio/5"), geteuid());
	if (geteuid() != 0) {
		fprintf(stderr, "(not root: the ownership half skipped) ");
		fake_destroy(&f);
		return;
	}

	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--etc-root", etc, "--grant=1000", IGB1, NULL),
			DEVBIND_OK);
	CU_ASSERT_EQUAL(owner_of("dev/vfio/devices/vfio0"), 1000);
	CU_ASSERT_EQUAL(owner_of("dev/vfio/5"), 1000);
	CU_ASSERT_EQUAL(owner_of("dev/iommu"), 1000);
	CU_ASSERT_EQUAL(owner_of("dev/vfio/vfio"), 0); /* 0666 already: left alone */
	CU_ASSERT_EQUAL(stat(fake_path(&f, "dev/hugepages/zdk-1000"), &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, 1000);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	snprintf(want, sizeof(want), IGB1 ": %s -> %s, mode 0600\n",
		 fake_path(&f, "dev/vfio/devices/vfio0"), name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof(want), "memlock: %s needs RLIMIT_MEMLOCK >= 131072 KiB: 1 process "
		 "x 128 MiB of arena = 32768 pinned pages of 4 KiB", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "- memlock 131072' >/etc/security/limits.d/zdk-"));
	/* again: nothing to do, and a limits.d line that suffices is found */
	fake_file(&f, "etc/security/limits.d/zdk.conf", "1000:1000 - memlock unlimited\n");
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--etc-root", etc, "--grant=1000", IGB1, NULL),
			DEVBIND_OK);
	snprintf(want, sizeof(want), IGB1 ": %s: already %s's", fake_path(&f, "dev/vfio/5"), name);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "limits.d/zdk.conf:1 gives "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " unlimited: enough"));
	/* /dev/iommu is shared: never taken from another user */
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--grant=1001", IGB1, NULL), DEVBIND_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/dev/iommu belongs to another user ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "): for several users make a group, e.g. chgrp zdk "));
	CU_ASSERT_EQUAL(owner_of("dev/iommu"), 1000);
	/* root takes them back */
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--grant=root", IGB1, NULL), DEVBIND_OK);
	CU_ASSERT_EQUAL(owner_of("dev/vfio/devices/vfio0"), 0);
	CU_ASSERT_EQUAL(owner_of("dev/vfio/5"), 0);
	CU_ASSERT_EQUAL(owner_of("dev/iommu"), 0);
	/* and --bind=vfio-pci --grant binds then grants */
	CU_ASSERT_EQUAL(run("--dev-root", f.dev, "--bind=vfio-pci", "--grant=1000", NVME, NULL),
			DEVBIND_ERROR); /* the fake kernel binds nothing: the bind fails first */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, NVME ": the kernel did not bind it to vfio-pci"));
	fake_destroy(&f);
}

static const struct zdk_test tests[] = {
	{ "grant", test_grant },
	{ "status", test_status },
	{ "bind_writes", test_bind_writes },
	{ "bind_refusals", test_bind_refusals },
	{ "usage", test_usage },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_level = 0; /* the library's own errors would repeat devbind's */
	return zdk_test_run("devbind", NULL, NULL, tests);
}
