/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pci_sysfs.c - the PCI address parser and the sysfs scan, group
 * viability, bind/unbind/restore sequences, in-use detection and the
 * IOMMU/VFIO/hugepage probes, over fake sysfs trees.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../zdk_test.h"

#include "fake_sysfs.h"
#include "host_probe.h"
#include "pci_sysfs.h"
#include "zdk_log.h"

#define NVME "0000:01:00.0"
#define IGB0 "0000:02:00.0"
#define IGB1 "0000:02:00.1"
#define HDA "0000:00:1f.3"
#define PORT "0000:00:1c.0"

static struct fake_sysfs f;

static struct zdk_pci_addr addr_of(const char *bdf)
{
	struct zdk_pci_addr a;

	CU_ASSERT_FATAL(zdk_pci_addr_parse(bdf, &a) == 0);
	return a;
}

/* A machine like the sandbox guest, in small. */
static void machine(void)
{
	fake_create(&f);
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 3, "nvme");
	fake_pci(&f, IGB0, 0x8086, 0x10c9, 0x020000, 1, 4, "igb");
	fake_pci(&f, IGB1, 0x8086, 0x10c9, 0x020000, 1, 4, "vfio-pci");
	fake_pci(&f, "0000:00:00.0", 0x8086, 0x29c0, 0x060000, -1, -1, NULL);
}

static void test_addr_parse(void)
{
	static const char *const bad[] = {
		"", "0000:00:1f.8", "00:20.0", "zz:00.0", "0000:100:00.0", "10000:00:00.0",
		"0000:00:00.0x", "0000:00:00", "0000-00-00.0", ":00:00.0", "0000:00:00.",
	};
	struct zdk_pci_addr a, b;
	char buf[ZDK_PCI_ADDR_LEN];

	CU_ASSERT_EQUAL(zdk_pci_addr_parse("0000:00:1f.7", &a), 0);
	CU_ASSERT(a.domain == 0 && a.bus == 0 && a.dev == 0x1f && a.func == 7);
	CU_ASSERT_EQUAL(zdk_pci_addr_parse("ABCD:Fe:01.2", &a), 0);
	CU_ASSERT(a.domain == 0xabcd && a.bus == 0xfe && a.dev == 1 && a.func == 2);
	zdk_pci_addr_format(&a, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "abcd:fe:01.2");
	CU_ASSERT_EQUAL(zdk_pci_addr_parse("03:00.1", &b), 0);
	CU_ASSERT(b.domain == 0 && b.bus == 3 && b.dev == 0 && b.func == 1);
	for (size_t i = 0; i < ZDK_ARRAY_SIZE(bad); i++) {
		CU_ASSERT_EQUAL(zdk_pci_addr_parse(bad[i], &a), -EINVAL);
		if (zdk_pci_addr_parse(bad[i], &a) != -EINVAL)
			fprintf(stderr, "accepted bad address \"%s\"\n", bad[i]);
	}
	CU_ASSERT_EQUAL(zdk_pci_addr_parse(NULL, &a), -EINVAL);
	a = addr_of("0000:02:00.0");
	b = addr_of("0000:01:1f.7");
	CU_ASSERT(zdk_pci_addr_cmp(&a, &b) > 0);
	CU_ASSERT(zdk_pci_addr_cmp(&b, &a) < 0);
	CU_ASSERT(zdk_pci_addr_cmp(&a, &a) == 0);
	b = addr_of("0001:00:00.0");
	CU_ASSERT(zdk_pci_addr_cmp(&a, &b) < 0);
}

static void test_scan(void)
{
	struct pci_sysfs_dev *devs, d;
	struct zdk_pci_addr a;
	int n;

	machine();
	fake_file(&f, "sys/devices/pci0000:00/" IGB1 "/vfio-dev/vfio7/dev", "%s", "511:7\n");
	fake_file(&f, "sys/devices/pci0000:00/" IGB0 "/sriov_totalvfs", "%s", "7\n");
	fake_file(&f, "sys/devices/pci0000:00/" IGB0 "/sriov_numvfs", "%s", "2\n");
	fake_file(&f, "sys/devices/pci0000:00/" IGB1 "/driver_override", "%s", "vfio-pci\n");

	n = pci_sysfs_scan(&f.fs, &devs);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	/* Address order, whatever order the directory has. */
	CU_ASSERT_STRING_EQUAL(devs[0].name, "0000:00:00.0");
	CU_ASSERT_STRING_EQUAL(devs[1].name, NVME);
	CU_ASSERT_STRING_EQUAL(devs[2].name, IGB0);
	CU_ASSERT_STRING_EQUAL(devs[3].name, IGB1);

	CU_ASSERT_EQUAL(devs[0].iommu_group, -1);
	CU_ASSERT_EQUAL(devs[0].numa_node, -1);
	CU_ASSERT_STRING_EQUAL(devs[0].driver, "");

	CU_ASSERT_EQUAL(devs[1].vendor_id, 0x1b36);
	CU_ASSERT_EQUAL(devs[1].device_id, 0x0010);
	CU_ASSERT_EQUAL(devs[1].subsys_vendor_id, 0x1b36);
	CU_ASSERT_EQUAL(devs[1].subsys_device_id, 0x1100);
	CU_ASSERT_EQUAL(devs[1].class_code, ZDK_PCI_CLASS_NVME);
	CU_ASSERT_EQUAL(devs[1].iommu_group, 3);
	CU_ASSERT_EQUAL(devs[1].numa_node, 0);
	CU_ASSERT_STRING_EQUAL(devs[1].driver, "nvme");
	CU_ASSERT_STRING_EQUAL(devs[1].driver_override, "");
	CU_ASSERT_STRING_EQUAL(devs[1].vfio_cdev, "");
	CU_ASSERT_EQUAL(devs[1].sriov_totalvfs, 0);
	CU_ASSERT(devs[1].addr.bus == 1 && devs[1].addr.dev == 0 && devs[1].addr.func == 0);

	CU_ASSERT_EQUAL(devs[2].sriov_totalvfs, 7);
	CU_ASSERT_EQUAL(devs[2].sriov_numvfs, 2);
	CU_ASSERT_EQUAL(devs[2].numa_node, 1);
	CU_ASSERT_STRING_EQUAL(devs[3].driver, "vfio-pci");
	CU_ASSERT_STRING_EQUAL(devs[3].driver_override, "vfio-pci");
	CU_ASSERT_STRING_EQUAL(devs[3].vfio_cdev, "vfio7");
	free(devs);

	a = addr_of(IGB1);
	CU_ASSERT_EQUAL(pci_sysfs_dev_read(&f.fs, &a, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.name, IGB1);
	CU_ASSERT_EQUAL(d.iommu_group, 4);
	a = addr_of("0000:09:00.0");
	CU_ASSERT_EQUAL(pci_sysfs_dev_read(&f.fs, &a, &d), -ENODEV);
	fake_destroy(&f);
}

static void test_scan_empty(void)
{
	struct pci_sysfs_dev *devs;
	struct pci_sysfs none = { .sys = "/nonexistent-zdk-root" };

	fake_create(&f);
	CU_ASSERT_EQUAL(pci_sysfs_scan(&f.fs, &devs), 0);
	CU_ASSERT_PTR_NULL(devs);
	CU_ASSERT_EQUAL(pci_sysfs_scan(&none, &devs), -ENOENT);
	fake_destroy(&f);
}

static void test_group_viable(void)
{
	struct pci_sysfs_dev *devs, culprit;
	int n;

	machine();
	/* Group 4: igb bound to the kernel's igb with its sibling on vfio-pci. */
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 4, &culprit), 0);
	CU_ASSERT_STRING_EQUAL(culprit.name, IGB0);
	CU_ASSERT_STRING_EQUAL(culprit.driver, "igb");
	n = pci_sysfs_group_list(&f.fs, 4, &devs);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(devs[0].name, IGB0);
	CU_ASSERT_STRING_EQUAL(devs[1].name, IGB1);
	CU_ASSERT_STRING_EQUAL(devs[1].driver, "vfio-pci");
	free(devs);

	/* Once both are on vfio-pci, with a bridge on pcieport and an unbound one. */
	fake_pci_driver(&f, IGB0, "vfio-pci");
	fake_pci(&f, PORT, 0x8086, 0x2940, 0x060400, -1, 4, "pcieport");
	fake_pci(&f, "0000:00:1c.1", 0x8086, 0x2941, 0x060400, -1, 4, NULL);
	fake_pci(&f, "0000:00:1c.2", 0x8086, 0x2942, 0x060400, -1, 4, "pci-stub");
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 4, &culprit), 1);

	/* A sound card in the group spoils it. */
	fake_pci(&f, HDA, 0x8086, 0x293e, 0x040300, -1, 4, "snd_hda_intel");
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 4, &culprit), 0);
	CU_ASSERT_STRING_EQUAL(culprit.name, HDA);
	CU_ASSERT_STRING_EQUAL(culprit.driver, "snd_hda_intel");
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 4, NULL), 0);

	/* A non-PCI member is named by its directory and judged by its driver. */
	fake_pci_driver(&f, HDA, "vfio-pci");
	fake_file(&f, "sys/devices/platform/foo.0/uevent", "%s", "");
	fake_link(&f, "sys/kernel/iommu_groups/4/devices/foo.0", "../../../../devices/platform/foo.0");
	fake_driver(&f, "foo");
	fake_link(&f, "sys/devices/platform/foo.0/driver", "../../../bus/pci/drivers/foo");
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 4, &culprit), 0);
	CU_ASSERT_STRING_EQUAL(culprit.name, "foo.0");
	CU_ASSERT_STRING_EQUAL(culprit.driver, "foo");

	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 3, &culprit), 0); /* nvme */
	CU_ASSERT_EQUAL(pci_sysfs_group_viable(&f.fs, 42, &culprit), -ENOENT);
	CU_ASSERT(pci_sysfs_driver_viable("mlx5_vfio_pci"));
	CU_ASSERT(!pci_sysfs_driver_viable("e1000e"));
	fake_destroy(&f);
}

/* Watch the three files a bind writes; the events come back in write order. */
struct write_log {
	int fd;
	int wd[3];
};

static const char *const watched[] = {
	"sys/devices/pci0000:00/" NVME "/driver_override",
	"sys/bus/pci/drivers/nvme/unbind",
	"sys/bus/pci/drivers_probe",
};

static void log_start(struct write_log *l, const char *unbind)
{
	l->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CU_ASSERT_FATAL(l->fd >= 0);
	for (int i = 0; i < 3; i++) {
		l->wd[i] = inotify_add_watch(l->fd, fake_path(&f, i == 1 ? unbind : watched[i]),
					     IN_CLOSE_WRITE);
		CU_ASSERT_FATAL(l->wd[i] >= 0);
	}
}

/* The order of the writes as indices into watched[], e.g. "012". */
static const char *log_order(struct write_log *l)
{
	static char order[16];
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t k = 0;
	ssize_t n;

	n = read(l->fd, buf, sizeof(buf));
	for (char *p = buf; n > 0 && p < buf + n && k < sizeof(order) - 1;) {
		struct inotify_event *ev = (struct inotify_event *)p;

		for (int i = 0; i < 3; i++)
			if (ev->wd == l->wd[i])
				order[k++] = (char)('0' + i);
		p += sizeof(*ev) + ev->len;
	}
	order[k] = '\0';
	close(l->fd);
	return order;
}

static void test_bind_sequence(void)
{
	struct zdk_pci_addr a = addr_of(NVME);
	struct write_log log;

	machine();
	fake_driver(&f, "vfio-pci");
	log_start(&log, "sys/bus/pci/drivers/nvme/unbind");
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "vfio-pci"), 0);
	CU_ASSERT_STRING_EQUAL(log_order(&log), "012");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[0]), "vfio-pci");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[1]), NVME);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[2]), NVME);

	/* Already bound: nothing is written. */
	fake_pci_driver(&f, NVME, "vfio-pci");
	fake_file(&f, watched[2], "%s", "");
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "vfio-pci"), 0);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[2]), "");

	/* Restore: clear the override, unbind from vfio-pci, probe. */
	log_start(&log, "sys/bus/pci/drivers/vfio-pci/unbind");
	CU_ASSERT_EQUAL(pci_sysfs_restore(&f.fs, &a), 0);
	CU_ASSERT_STRING_EQUAL(log_order(&log), "012");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[0]), "\n");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/vfio-pci/unbind"), NVME);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[2]), NVME);

	/* Unbind writes only the driver's unbind file; no driver, nothing. */
	fake_file(&f, "sys/bus/pci/drivers/vfio-pci/unbind", "%s", "");
	fake_file(&f, watched[0], "%s", "vfio-pci\n");
	CU_ASSERT_EQUAL(pci_sysfs_unbind(&f.fs, &a), 0);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/vfio-pci/unbind"), NVME);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[0]), "vfio-pci\n");
	fake_pci_driver(&f, NVME, NULL);
	fake_file(&f, "sys/bus/pci/drivers/vfio-pci/unbind", "%s", "");
	CU_ASSERT_EQUAL(pci_sysfs_unbind(&f.fs, &a), 0);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/vfio-pci/unbind"), "");

	/* Bad requests. */
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, ""), -EINVAL);
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "../x"), -EINVAL);
	a = addr_of("0000:09:00.0");
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "vfio-pci"), -ENODEV);
	CU_ASSERT_EQUAL(pci_sysfs_restore(&f.fs, &a), -ENODEV);
	fake_destroy(&f);
}

static void test_bind_failures(void)
{
	struct zdk_pci_addr a = addr_of(NVME);
	int saved = zdk_log_level;

	zdk_log_level = 0; /* the failures below are expected: keep them quiet */
	machine();
	/* The override cannot be written: nothing else is. */
	fake_unlink(&f, watched[0]);
	fake_dir(&f, watched[0]);
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "vfio-pci"), -EISDIR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, "sys/bus/pci/drivers/nvme/unbind"), "");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[2]), "");
	rmdir(fake_path(&f, watched[0]));

	/* The unbind fails: the override is put back as it was (cleared). */
	fake_file(&f, watched[0], "%s", "(null)\n");
	fake_unlink(&f, "sys/bus/pci/drivers/nvme/unbind");
	fake_dir(&f, "sys/bus/pci/drivers/nvme/unbind");
	CU_ASSERT_EQUAL(pci_sysfs_bind(&f.fs, &a, "vfio-pci"), -EISDIR);
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[0]), "\n");
	CU_ASSERT_STRING_EQUAL(fake_read(&f, watched[2]), "");
	zdk_log_level = saved;
	fake_destroy(&f);
}

static void test_in_use(void)
{
	struct zdk_pci_addr nvme = addr_of(NVME), igb = addr_of(IGB0);
	char why[128];

	machine();
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 0);
	fake_netdev(&f, IGB0, "eth1", "down", 0x1002);
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 0);
	fake_netdev(&f, IGB0, "eth1", "up", 0x1003);
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "network interface eth1 is up");
	/* Administratively up without carrier still counts. */
	fake_netdev(&f, IGB0, "eth1", "down", 0x1003);
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 1);
	/* The interface of another function does not. */
	igb = addr_of(IGB1);
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 0);

	fake_blockdev(&f, NVME, "nvme0n1");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &nvme, why, sizeof(why)), 0);
	fake_file(&f, "proc/mounts", "%s",
		  "/dev/sda1 / ext4 rw 0 0\n/dev/nvme0n1 /mnt/data xfs rw 0 0\n");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &nvme, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "block device nvme0n1 is mounted on /mnt/data");
	fake_file(&f, "proc/mounts", "%s", "/dev/sda1 / ext4 rw 0 0\n");
	fake_file(&f, "proc/swaps", "%s", "Filename Type\n/dev/nvme0n1 partition 1 0 -2\n");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &nvme, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "block device nvme0n1 is used as swap");
	fake_file(&f, "proc/swaps", "%s", "Filename Type\n");
	fake_dir(&f, "sys/devices/pci0000:00/" NVME "/nvme/nvme0/nvme0n1/holders/dm-0");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &nvme, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "block device nvme0n1 is held by dm-0");

	/* On vfio-pci: a process holding the group node or the device cdev. */
	igb = addr_of(IGB1);
	fake_file(&f, "sys/devices/pci0000:00/" IGB1 "/vfio-dev/vfio2/dev", "%s", "");
	fake_file(&f, "proc/4242/comm", "%s", "l2fwd\n");
	fake_link(&f, "proc/4242/fd/0", "/dev/null");
	fake_link(&f, "proc/4242/fd/1", "/dev/vfio/40");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 0);
	fake_link(&f, "proc/4242/fd/9", "/dev/vfio/4");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "/dev/vfio/4 is open in process 4242 (l2fwd)");
	fake_unlink(&f, "proc/4242/fd/9");
	fake_link(&f, "proc/77/fd/3", "/dev/vfio/devices/vfio2");
	CU_ASSERT_EQUAL(pci_sysfs_dev_in_use(&f.fs, &igb, why, sizeof(why)), 1);
	CU_ASSERT_STRING_EQUAL(why, "/dev/vfio/devices/vfio2 is open in process 77 (?)");
	fake_destroy(&f);
}

static void test_iommu_vfio(void)
{
	fake_create(&f);
	CU_ASSERT_EQUAL(host_iommu_present(&f.fs), 0);
	CU_ASSERT_EQUAL(host_noiommu_enabled(&f.fs), -ENOENT);
	CU_ASSERT_EQUAL(host_iommufd_present(&f.fs), 0);
	CU_ASSERT_EQUAL(pci_sysfs_vfio_pci_present(&f.fs), 0);

	/* Groups made by no-IOMMU mode are not an IOMMU. */
	fake_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "%s", "Y\n");
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 0, "vfio-pci");
	CU_ASSERT_EQUAL(host_noiommu_enabled(&f.fs), 1);
	CU_ASSERT_EQUAL(host_iommu_present(&f.fs), 0);
	CU_ASSERT_EQUAL(pci_sysfs_vfio_pci_present(&f.fs), 1);

	fake_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "%s", "N\n");
	CU_ASSERT_EQUAL(host_noiommu_enabled(&f.fs), 0);
	CU_ASSERT_EQUAL(host_iommu_present(&f.fs), 1);
	fake_dir(&f, "sys/class/iommu/dmar0");
	CU_ASSERT_EQUAL(host_iommu_present(&f.fs), 1);
	fake_file(&f, "dev/iommu", "%s", "");
	CU_ASSERT_EQUAL(host_iommufd_present(&f.fs), 1);
	fake_destroy(&f);
}

static void test_hugepages(void)
{
	struct host_hugepages *p;
	struct host_mount *m;
	int n;

	fake_create(&f);
	CU_ASSERT_EQUAL(host_hugepages_read(&f.fs, &p), 0);
	free(p);
	CU_ASSERT_EQUAL(host_hugetlbfs_mounts(&f.fs, &m), 0);
	free(m);

	fake_hugepages(&f, -1, 2048, 64, 60);
	fake_hugepages(&f, -1, 1048576, 1, 1);
	fake_hugepages(&f, 0, 2048, 32, 30);
	fake_hugepages(&f, 1, 2048, 32, 30);
	fake_hugepages(&f, 1, 1048576, 1, 1);
	fake_dir(&f, "sys/devices/system/node/power");
	n = host_hugepages_read(&f.fs, &p);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	/* Global pools first, then node by node; sizes in name order. */
	CU_ASSERT(p[0].node == -1 && p[0].size == 1ull << 30 && p[0].nr == 1 && p[0].free == 1);
	CU_ASSERT(p[1].node == -1 && p[1].size == 2ull << 20 && p[1].nr == 64 && p[1].free == 60);
	CU_ASSERT(p[2].node == 0 && p[2].size == 2ull << 20 && p[2].nr == 32 && p[2].free == 30);
	CU_ASSERT(p[3].node == 1 && p[3].size == 1ull << 30);
	CU_ASSERT(p[4].node == 1 && p[4].size == 2ull << 20 && p[4].free == 30);
	free(p);

	fake_file(&f, "proc/mounts", "%s",
		  "/dev/sda1 / ext4 rw 0 0\n"
		  "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
		  "none /mnt/huge\\0401G hugetlbfs rw,pagesize=1024M 0 0\n"
		  "none /mnt/default hugetlbfs rw,relatime 0 0\n"
		  "tmpfs /run tmpfs rw 0 0\n");
	n = host_hugetlbfs_mounts(&f.fs, &m);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(m[0].path, "/dev/hugepages");
	CU_ASSERT_EQUAL(m[0].pagesize, 2ull << 20);
	CU_ASSERT_STRING_EQUAL(m[1].path, "/mnt/huge 1G");
	CU_ASSERT_EQUAL(m[1].pagesize, 1ull << 30);
	CU_ASSERT_STRING_EQUAL(m[2].path, "/mnt/default");
	CU_ASSERT_EQUAL(m[2].pagesize, 2ull << 20); /* from meminfo */
	free(m);
	fake_unlink(&f, "proc/mounts");
	CU_ASSERT_EQUAL(host_hugetlbfs_mounts(&f.fs, &m), -ENOENT);
	fake_destroy(&f);
}

static const struct zdk_test tests[] = {
	{ "addr_parse", test_addr_parse },
	{ "scan", test_scan },
	{ "scan_empty", test_scan_empty },
	{ "group_viable", test_group_viable },
	{ "bind_sequence", test_bind_sequence },
	{ "bind_failures", test_bind_failures },
	{ "in_use", test_in_use },
	{ "iommu_vfio", test_iommu_vfio },
	{ "hugepages", test_hugepages },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("pci_sysfs", NULL, NULL, tests);
}
