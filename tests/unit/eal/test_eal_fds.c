// SPDX-License-Identifier: BSD-3-Clause
/*
 * The descriptors a launcher hands over (--iommufd-fd, --vfio-fd,
 * --huge-fd), checked against a fake sysfs: a character device whose
 * number sysfs gives is taken (here /dev/zero plays /dev/iommu and
 * /dev/null the NVMe's VFIO cdev), and every wrong one is refused naming the
 * option, the number, what it is and what was wanted. None is ever closed.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/memfd.h>

#include "../../../lib/eal/eal_fds.c"
#include "fake_sysfs.h"

#define NVME "0000:01:00.0"
#define IGB "0000:02:00.0"

static struct fake_sysfs f;
static struct eal_conf c;
static char logged[4096];

static void log_keep(int level, const char *component, const char *msg, void *ctx)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static int logged_has(const char *s)
{
	if (strstr(logged, s))
		return 1;
	fprintf(stderr, "\nmissing \"%s\" in:\n%s", s, logged);
	return 0;
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void conf_reset(void)
{
	memset(&c, 0, sizeof(c));
	c.iommufd_fd = -1;
	c.huge_fd = -1;
	logged[0] = '\0';
}

static int check(void)
{
	return eal_fds_check(&c, f.sys);
}

static int setup(void)
{
	fake_create(&f);
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 3, "vfio-pci");
	fake_file(&f, "sys/devices/pci0000:00/" NVME "/vfio-dev/vfio0/dev", "%s", "1:3\n");
	fake_pci(&f, IGB, 0x8086, 0x10c9, 0x020000, 0, 4, "igb");
	fake_file(&f, "sys/class/misc/iommu/dev", "%s", "1:5\n");
	zdk_log_set_sink(log_keep, NULL);
	return 0;
}

static int teardown(void)
{
	fake_destroy(&f);
	return 0;
}

static void test_iommufd(void)
{
	int zero = open("/dev/zero", O_RDWR), null = open("/dev/null", O_RDWR);
	int ro = open("/dev/zero", O_RDONLY), mfd = memfd_create("x", 0);

	CU_ASSERT_FATAL(zero >= 0 && null >= 0 && ro >= 0 && mfd >= 0);
	conf_reset();
	c.iommufd_fd = zero;
	CU_ASSERT_EQUAL(check(), 0);
	CU_ASSERT_STRING_EQUAL(logged, "");

	conf_reset();
	c.iommufd_fd = null;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is character device 1:3, not /dev/iommu (character device 1:5): "
			     "the launcher handed over the wrong descriptor"));
	conf_reset();
	c.iommufd_fd = mfd;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is a regular file, not /dev/iommu"));
	conf_reset();
	c.iommufd_fd = ro;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is open read-only: zdk needs it open read-write (O_RDWR)"));
	conf_reset();
	c.iommufd_fd = 1000;
	CU_ASSERT_EQUAL(check(), -EBADF);
	CU_ASSERT(logged_has("--iommufd-fd 1000: no such open descriptor in this process: the "
			     "launcher must leave it open across exec"));
	/* A kernel without iommufd has no misc/iommu. */
	fake_unlink(&f, "sys/class/misc/iommu/dev");
	conf_reset();
	c.iommufd_fd = zero;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has("this kernel has no iommufd (CONFIG_IOMMUFD)"));
	fake_file(&f, "sys/class/misc/iommu/dev", "%s", "1:5\n");
	/* Refused or not, nothing was closed: the descriptors are the caller's. */
	CU_ASSERT(is_open(zero) && is_open(null) && is_open(ro) && is_open(mfd));
	close(zero), close(null), close(ro), close(mfd);
}

static void test_vfio(void)
{
	int null = open("/dev/null", O_RDWR), zero = open("/dev/zero", O_RDWR);

	CU_ASSERT_FATAL(null >= 0 && zero >= 0);
	conf_reset();
	zdk_pci_addr_parse(NVME, &c.vfio_fds[0].addr);
	c.vfio_fds[0].fd = null;
	c.nvfio_fds = 1;
	CU_ASSERT_EQUAL(check(), 0);
	c.vfio_fds[0].fd = zero;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has("--vfio-fd " NVME "=" ) &&
		  logged_has(" is character device 1:5, not " NVME "'s /dev/vfio/devices/vfio0 "
			     "(character device 1:3)"));
	/* on igb: no VFIO cdev */
	conf_reset();
	zdk_pci_addr_parse(IGB, &c.vfio_fds[0].addr);
	c.vfio_fds[0].fd = null;
	c.nvfio_fds = 1;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(IGB " has no VFIO cdev (driver: igb): bind it with zdk-devbind "
			     "--bind=vfio-pci " IGB));
	conf_reset();
	zdk_pci_addr_parse("0000:09:00.0", &c.vfio_fds[0].addr);
	c.vfio_fds[0].fd = null;
	c.nvfio_fds = 1;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has("--vfio-fd 0000:09:00.0=" ) && logged_has("no such PCI device"));
	CU_ASSERT(is_open(null) && is_open(zero));
	close(null), close(zero);
}

static void test_huge(void)
{
	int mfd = memfd_create("arena", 0), hfd = memfd_create("arena", MFD_HUGETLB);

	CU_ASSERT_FATAL(mfd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(mfd, 8 << 20), 0);
	/* A plain memfd is tmpfs: hugepages were asked for. */
	conf_reset();
	c.huge_fd = mfd;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is a file on tmpfs (a memfd without hugepages), not hugetlbfs: "
			     "hand over a hugetlbfs file or memfd_create(MFD_HUGETLB) (zdk-launch "
			     "does), or add --no-huge"));
	/* With --no-huge it is what is wanted, and its size is the arena's. */
	conf_reset();
	c.huge_fd = mfd;
	c.no_huge = true;
	CU_ASSERT_EQUAL(check(), 0);
	CU_ASSERT_EQUAL(c.huge_fd_size, 8 << 20);
	CU_ASSERT_EQUAL(c.huge_size, 0);
	/* Empty, and no -m: how large? */
	CU_ASSERT_EQUAL(ftruncate(mfd, 0), 0);
	conf_reset();
	c.huge_fd = mfd;
	c.no_huge = true;
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is empty and no -m says how large the arena is"));
	c.mem_set = true; /* -m given: zdk sizes the file itself */
	CU_ASSERT_EQUAL(check(), 0);
	if (hfd >= 0) { /* hugetlbfs: the page size is the file's */
		conf_reset();
		c.huge_fd = hfd;
		c.mem_set = true;
		CU_ASSERT_EQUAL(check(), 0);
		CU_ASSERT(c.huge_size >= (2u << 20));
		c.huge_size = 4096 * 3;
		CU_ASSERT_EQUAL(check(), -EINVAL);
		CU_ASSERT(logged_has("--huge-size asks 12 KiB: drop --huge-size"));
		close(hfd);
	} else {
		fprintf(stderr, "(no MFD_HUGETLB here: its half skipped) ");
	}
	/* A character device is no file. */
	conf_reset();
	c.huge_fd = open("/dev/zero", O_RDWR);
	CU_ASSERT_EQUAL(check(), -EINVAL);
	CU_ASSERT(logged_has(" is character device 1:5, not a hugepage file"));
	close(c.huge_fd);
	CU_ASSERT(is_open(mfd));
	close(mfd);
}

static const struct zdk_test tests[] = {
	{ "--iommufd-fd", test_iommufd },
	{ "--vfio-fd", test_vfio },
	{ "--huge-fd", test_huge },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("eal_fds", setup, teardown, tests);
}
