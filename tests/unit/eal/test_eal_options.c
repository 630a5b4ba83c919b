// SPDX-License-Identifier: BSD-3-Clause
/* Unit tests of zdk_eal_init()'s option parser: every option, malformed and
 * conflicting ones, and the argv hand-back convention. */
#include "../zdk_test.h"
#include <errno.h>
#include <string.h>

#include "../../../lib/eal/eal_options.c"

#define ARGS(...) ((char *[]){ "prog", __VA_ARGS__, NULL })
#define NARGS(...) ((int)(sizeof((char *[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(c, ...) eal_parse_args(NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), (c))

static struct eal_conf c;

static void test_defaults(void)
{
	char *argv[] = { "prog", NULL };

	CU_ASSERT_EQUAL(eal_parse_args(1, argv, &c), 0);
	CU_ASSERT_FALSE(c.lcore_set);
	CU_ASSERT_EQUAL(c.iommu, ZDK_EAL_IOMMU_AUTO);
	CU_ASSERT_STRING_EQUAL(c.file_prefix, "zdk");
	CU_ASSERT_FALSE(c.no_huge);
	CU_ASSERT_EQUAL(c.nallow, 0);
}

static void test_lcores(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "2,0-1,5"), 2);
	CU_ASSERT_TRUE(c.lcore_set);
	CU_ASSERT_EQUAL(c.main_lcore, 2);
	CU_ASSERT_TRUE(c.lcores[0] && c.lcores[1] && c.lcores[2] && c.lcores[5]);
	CU_ASSERT_FALSE(c.lcores[3] || c.lcores[4]);
	CU_ASSERT_EQUAL(PARSE(&c, "--lcores=7"), 1);
	CU_ASSERT_EQUAL(c.main_lcore, 7);
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "3-1"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "a"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "1,"), 2); /* a trailing comma is harmless */
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "1-"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "999"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-l", ""), -EINVAL);
}

static void test_devices(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "-a", "0000:01:00.0", "--allow=02:00.1"), 3);
	CU_ASSERT_EQUAL(c.nallow, 2);
	CU_ASSERT_EQUAL(c.allow[0].bus, 1);
	CU_ASSERT_EQUAL(c.allow[1].bus, 2);
	CU_ASSERT_EQUAL(c.allow[1].func, 1);
	CU_ASSERT_EQUAL(PARSE(&c, "-b", "0000:03:00.0"), 2);
	CU_ASSERT_EQUAL(c.nblock, 1);
	CU_ASSERT_EQUAL(PARSE(&c, "-a", "nonsense"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-a", "0000:01:00.0", "-b", "0000:02:00.0"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-a", "01:00.0", "-a", "0000:01:00.0"), -EINVAL);
}

static void test_iommu(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu=iommufd"), 1);
	CU_ASSERT_EQUAL(c.iommu, ZDK_EAL_IOMMU_IOMMUFD);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu", "type1"), 2);
	CU_ASSERT_EQUAL(c.iommu, ZDK_EAL_IOMMU_TYPE1);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu=noiommu"), 1);
	CU_ASSERT_EQUAL(c.iommu, ZDK_EAL_IOMMU_NOIOMMU);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu=auto"), 1);
	CU_ASSERT_EQUAL(c.iommu, ZDK_EAL_IOMMU_AUTO);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu=vfio"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommu"), -EINVAL);
}

static void test_memory(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "256"), 2);
	CU_ASSERT_TRUE(c.mem_set);
	CU_ASSERT_EQUAL(c.node_mem_mb[0], 256);
	CU_ASSERT_EQUAL(PARSE(&c, "--socket-mem=0,512"), 1);
	CU_ASSERT_EQUAL(c.node_mem_mb[0], 0);
	CU_ASSERT_EQUAL(c.node_mem_mb[1], 512);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "0"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "12x"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "1,2,3,4,5,6,7,8,9"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "1,,2"), -EINVAL);
	/* 2^44 + 1 MiB used to wrap to 1 MiB when shifted into bytes. */
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "17592186044417"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "99999999999999999999999"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-m", "1073741824"), 2);
	CU_ASSERT_EQUAL(c.node_mem_mb[0] << 20, (size_t)1073741824 << 20);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-size", "1G"), 2);
	CU_ASSERT_EQUAL(c.huge_size, 1UL << 30);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-size=2M"), 1);
	CU_ASSERT_EQUAL(c.huge_size, 2UL << 20);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-size=2048K"), 1);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-size=4K"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-size=big"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-dir", "/dev/hugepages"), 2);
	CU_ASSERT_STRING_EQUAL(c.huge_dir, "/dev/hugepages");
	CU_ASSERT_EQUAL(PARSE(&c, "--no-huge"), 1);
	CU_ASSERT_TRUE(c.no_huge);
	CU_ASSERT_EQUAL(PARSE(&c, "--no-huge", "--huge-size=2M"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--no-huge", "--huge-dir=/x"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--no-huge", "--iommu=noiommu"), -EINVAL);
}

static void test_misc(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "--file-prefix", "app1"), 2);
	CU_ASSERT_STRING_EQUAL(c.file_prefix, "app1");
	CU_ASSERT_EQUAL(PARSE(&c, "--file-prefix=a/b"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--file-prefix="), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--log-level=debug"), 1);
	CU_ASSERT_EQUAL(c.log_level, ZDK_LOG_DEBUG);
	CU_ASSERT_EQUAL(PARSE(&c, "--log-level", "2"), 2);
	CU_ASSERT_EQUAL(c.log_level, ZDK_LOG_WARN);
	CU_ASSERT_EQUAL(PARSE(&c, "--log-level=loud"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--no-probe"), 1);
	CU_ASSERT_TRUE(c.no_probe);
	CU_ASSERT_EQUAL(PARSE(&c, "-h"), 1);
	CU_ASSERT_TRUE(c.help);
	CU_ASSERT_EQUAL(PARSE(&c, "--bogus"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "-z"), -EINVAL);
}

/* As DPDK: options stop at "--" or a non-option; argv[ret] is argv[0]. */
static void test_handback(void)
{
	char *argv[] = { "prog", "-l", "0", "--", "-p", "3", NULL };
	char *argv2[] = { "prog", "--no-huge", "app-arg", "-x", NULL };
	int ret;

	ret = eal_parse_args(6, argv, &c);
	CU_ASSERT_EQUAL(ret, 3);
	CU_ASSERT_STRING_EQUAL(argv[ret], "prog");
	CU_ASSERT_STRING_EQUAL(argv[ret + 1], "-p");
	ret = eal_parse_args(4, argv2, &c);
	CU_ASSERT_EQUAL(ret, 1);
	CU_ASSERT_STRING_EQUAL(argv2[ret], "prog");
	CU_ASSERT_STRING_EQUAL(argv2[ret + 1], "app-arg");
	CU_ASSERT_EQUAL(optind, 1);
}

static void test_sizes(void)
{
	size_t b;

	CU_ASSERT_EQUAL(eal_parse_size("1G", &b), 0);
	CU_ASSERT_EQUAL(b, 1UL << 30);
	CU_ASSERT_EQUAL(eal_parse_size("2MB", &b), 0);
	CU_ASSERT_EQUAL(b, 2UL << 20);
	CU_ASSERT_EQUAL(eal_parse_size("4096", &b), 0);
	CU_ASSERT_EQUAL(b, 4096);
	CU_ASSERT_EQUAL(eal_parse_size("0", &b), -EINVAL);
	CU_ASSERT_EQUAL(eal_parse_size("-1", &b), -EINVAL);
	CU_ASSERT_EQUAL(eal_parse_size("1T", &b), -EINVAL);
	/* Overflow is an error, never a small size (17179869184G wrapped to 0). */
	CU_ASSERT_EQUAL(eal_parse_size("17179869184G", &b), -ERANGE);
	CU_ASSERT_EQUAL(eal_parse_size("18446744073709551615K", &b), -ERANGE);
	CU_ASSERT_EQUAL(eal_parse_size("17179869183G", &b), 0);
	CU_ASSERT_EQUAL(b, 17179869183ULL << 30);
}

/* Descriptors handed over: parsed, each device also allowed, conflicts refused. */
static void test_fds(void)
{
	CU_ASSERT_EQUAL(PARSE(&c, "-l", "0"), 2);
	CU_ASSERT_EQUAL(c.iommufd_fd, -1); /* none given */
	CU_ASSERT_EQUAL(c.huge_fd, -1);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=3", "--vfio-fd", "01:00.0=4",
			      "--vfio-fd=0000:02:00.0=7", "--huge-fd", "5", "--", "-q"), 7);
	CU_ASSERT_EQUAL(c.iommufd_fd, 3);
	CU_ASSERT_EQUAL(c.huge_fd, 5);
	CU_ASSERT_EQUAL_FATAL(c.nvfio_fds, 2);
	CU_ASSERT_EQUAL(c.vfio_fds[0].addr.bus, 1);
	CU_ASSERT_EQUAL(c.vfio_fds[0].fd, 4);
	CU_ASSERT_EQUAL(c.vfio_fds[1].addr.bus, 2);
	CU_ASSERT_EQUAL(c.vfio_fds[1].fd, 7);
	/* --vfio-fd implies -a, once */
	CU_ASSERT_EQUAL(c.nallow, 2);
	CU_ASSERT_EQUAL(PARSE(&c, "-a", "0000:01:00.0", "-a", "03:00.0", "--vfio-fd=01:00.0=4"), 5);
	CU_ASSERT_EQUAL(c.nallow, 2);
	CU_ASSERT_EQUAL(c.iommufd_fd, -1);
	CU_ASSERT_EQUAL(c.huge_fd, -1);
	/* malformed */
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=x"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=-1"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=2147483648"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd="), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=4"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd==4"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=01:00.0="), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=nonsense=4"), -EINVAL);
	/* twice: an option, a device, a descriptor number */
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=3", "--iommufd-fd=4"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "--huge-fd=4"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=01:00.0=3", "--vfio-fd=0000:01:00.0=4"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=3", "--vfio-fd=01:00.0=3"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "--vfio-fd=01:00.0=3"), -EINVAL);
	/* conflicts */
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=3", "--iommu=type1"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=01:00.0=3", "--iommu=noiommu"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--iommufd-fd=3", "--iommu=iommufd"), 2);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "--huge-dir=/dev/hugepages"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "-m", "64,64"), -EINVAL);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "-m", "0,64"), 3);
	CU_ASSERT_EQUAL(PARSE(&c, "--huge-fd=3", "--no-huge"), 2);
	CU_ASSERT_EQUAL(PARSE(&c, "--vfio-fd=01:00.0=3", "-b", "02:00.0"), -EINVAL);
}

/* The same list from a program that embeds zdk (zdk_eal_init_conf_fds()). */
static void test_fds_conf(void)
{
	struct zdk_eal_conf pub;
	struct zdk_eal_fd fds[] = {
		{ ZDK_EAL_FD_VFIO, 9, "0000:05:00.0" },
		{ ZDK_EAL_FD_IOMMUFD, 8, NULL },
		{ ZDK_EAL_FD_END, 0, NULL },
		{ ZDK_EAL_FD_HUGE, 10, NULL }, /* after the end: not read */
	};

	zdk_eal_conf_init(&pub);
	CU_ASSERT_EQUAL(eal_conf_check(&pub, fds, &c), 0);
	CU_ASSERT_EQUAL(c.iommufd_fd, 8);
	CU_ASSERT_EQUAL(c.huge_fd, -1);
	CU_ASSERT_EQUAL(c.nvfio_fds, 1);
	CU_ASSERT_EQUAL(c.nallow, 1);
	CU_ASSERT_EQUAL(c.allow[0].bus, 5);
	fds[0].bdf = NULL;
	CU_ASSERT_EQUAL(eal_conf_check(&pub, fds, &c), -EINVAL);
	fds[0].bdf = "0000:05:00.0";
	fds[1].kind = (enum zdk_eal_fd_kind)42;
	CU_ASSERT_EQUAL(eal_conf_check(&pub, fds, &c), -EINVAL);
	fds[1].kind = ZDK_EAL_FD_HUGE;
	fds[1].fd = -3;
	CU_ASSERT_EQUAL(eal_conf_check(&pub, fds, &c), -EINVAL);
	CU_ASSERT_EQUAL(eal_conf_check(&pub, NULL, &c), 0);
	CU_ASSERT_EQUAL(c.nvfio_fds, 0);
}

static const struct zdk_test tests[] = {
	{ "descriptors handed over", test_fds },
	{ "descriptors from a conf", test_fds_conf },
	{ "defaults", test_defaults },
	{ "lcores", test_lcores },
	{ "devices", test_devices },
	{ "iommu", test_iommu },
	{ "memory", test_memory },
	{ "misc", test_misc },
	{ "handback", test_handback },
	{ "sizes", test_sizes },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_set_level(ZDK_LOG_ERR);
	return zdk_test_run("eal_options", NULL, NULL, tests);
}
