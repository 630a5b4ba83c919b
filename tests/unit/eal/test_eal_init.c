// SPDX-License-Identifier: BSD-3-Clause
/*
 * zdk_eal_init()/zdk_eal_cleanup() through the public API, on the host:
 * 100 init/cleanup rounds leak no fd, mapping or hugepage file; failed inits
 * (bad options, missing devices, unavailable backends) leak nothing either;
 * workers run on their lcores. Memory is --no-huge (the host has no
 * hugepages reserved); with ZDK_TEST_HUGE=1 and hugepages, also 2 MiB pages.
 */
#include "../zdk_test.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_eal.h"
#include "zdk_iommu.h"
#include "zdk_log.h"
#include "zdk_mem.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int init(int argc, char **argv)
{
	return zdk_eal_init(argc, argv);
}

#define INIT(...) init((int)(sizeof((char *[]){ "test", __VA_ARGS__ }) / sizeof(char *)), \
		       (char *[]){ "test", __VA_ARGS__, NULL })

static void test_rounds(void)
{
	int fds, maps;

	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "4", "-l", "0"), 5);
	zdk_eal_cleanup();
	fds = count_fds();
	maps = count_maps();
	for (int i = 0; i < 100; i++) {
		void *p;

		CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "4", "-l", "0"), 5);
		p = zdk_dma_zalloc(1 << 20, 4096, ZDK_SOCKET_ANY, NULL);
		CU_ASSERT_PTR_NOT_NULL(p);
		zdk_dma_free(p);
		zdk_eal_cleanup();
	}
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(count_maps(), maps);
}

static void test_failures_leak_nothing(void)
{
	int fds, maps;

	/* Warm up: the first usage text allocates stdout's buffer and glibc
	 * caches a joined worker's stack; neither is a leak. */
	CU_ASSERT_EQUAL(INIT("-h"), -ECANCELED);
	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "4", "-l", "0-1"), 5);
	zdk_eal_cleanup();
	fds = count_fds();
	maps = count_maps();

	CU_ASSERT_EQUAL(INIT("--bogus"), -EINVAL);
	CU_ASSERT_EQUAL(INIT("--iommu=nope"), -EINVAL);
	CU_ASSERT_EQUAL(INIT("--no-huge", "-m", "4", "-a", "0000:7f:1f.7"), -ENODEV);
	CU_ASSERT_EQUAL(INIT("--no-huge", "-m", "4", "--iommu=iommufd"), -ENODEV);
	CU_ASSERT_EQUAL(INIT("--no-huge", "-m", "4", "--iommu=noiommu"), -EINVAL);
	CU_ASSERT_EQUAL(INIT("--no-huge", "-m", "1000000"), -ENOMEM);
	CU_ASSERT_EQUAL(INIT("--huge-dir", "/proc"), -EINVAL);
	CU_ASSERT_EQUAL(INIT("-l", "127"), -EINVAL);
	CU_ASSERT_EQUAL(INIT("-h"), -ECANCELED);
	CU_ASSERT_EQUAL(zdk_iommu_mode(), ZDK_IOMMU_NONE);
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(count_maps(), maps);
}

static void test_twice(void)
{
	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "4"), 3);
	CU_ASSERT_EQUAL(INIT("--no-huge", "-m", "4"), -EALREADY);
	zdk_eal_cleanup();
	zdk_eal_cleanup(); /* harmless */
}

static int add_one(void *arg)
{
	int *v = arg;

	return *v + (int)zdk_lcore_id();
}

static void test_lcores(void)
{
	unsigned l, n = 0;
	int v = 100;

	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "4", "-l", "0-1"), 5);
	CU_ASSERT_EQUAL(zdk_lcore_count(), 2);
	CU_ASSERT_EQUAL(zdk_lcore_main(), 0);
	CU_ASSERT_EQUAL(zdk_lcore_id(), 0);
	ZDK_LCORE_FOREACH_WORKER(l) {
		CU_ASSERT_EQUAL(zdk_lcore_launch(add_one, &v, l), 0);
		CU_ASSERT_EQUAL(zdk_lcore_wait(l), 100 + (int)l);
		n++;
	}
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(zdk_lcore_launch(add_one, &v, 0), -EINVAL); /* main is not a worker */
	CU_ASSERT_EQUAL(zdk_lcore_launch(add_one, &v, 5), -EINVAL);
	zdk_eal_cleanup();
}

static void test_memory(void)
{
	struct zdk_mem_stats st;
	uint64_t iova;
	char *p;

	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", "-m", "8"), 3);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.total, 8u << 20);
	CU_ASSERT_EQUAL(st.page_size, 4096);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(5, &st), -ENOENT);
	p = zdk_dma_zalloc(3 << 20, 1 << 16, 0, &iova);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL((uintptr_t)p % (1 << 16), 0);
	CU_ASSERT_EQUAL(zdk_virt2iova(p), iova);
	CU_ASSERT_EQUAL(zdk_virt2iova(p + 12345), iova + 12345);
	CU_ASSERT_EQUAL(zdk_virt2iova(&st), ZDK_BAD_IOVA);
	CU_ASSERT_PTR_NULL(zdk_dma_zalloc(16 << 20, 0, 0, NULL));
	CU_ASSERT_PTR_NULL(zdk_dma_zalloc(4096, 0, 3, NULL)); /* no arena on node 3 */
	zdk_dma_free(p);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.free, st.total);
	CU_ASSERT_EQUAL(zdk_dma_map(&st, 4096, &iova), -EINVAL);
	zdk_eal_cleanup();
	CU_ASSERT_PTR_NULL(zdk_dma_zalloc(64, 0, ZDK_SOCKET_ANY, NULL));
}

/* Is the memfd @fd's content holding @marker somewhere? */
static bool file_has(int fd, const char *marker, size_t len)
{
	size_t n = 6u << 20;
	char *buf = malloc(n);
	bool found = false;

	if (buf && pread(fd, buf, n, 0) == (ssize_t)n)
		found = memmem(buf, n, marker, strlen(marker)) != NULL;
	free(buf);
	return found;
}

/* flock() through another open file description: does zdk hold the file? */
static bool locked_by_zdk(int fd)
{
	char path[64];
	int other, busy;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	other = open(path, O_RDWR);
	busy = flock(other, LOCK_EX | LOCK_NB) != 0;
	close(other);
	return busy;
}

/*
 * A memfd handed over with --huge-fd (as zdk-launch does): the arena is that
 * file, its size when -m is not given; cleanup leaves it open and unlocked,
 * so a second init takes it again; a wrong descriptor is refused without
 * closing anything.
 */
static void test_huge_fd(void)
{
	const char marker[] = "zdk-huge-fd-marker";
	struct zdk_mem_stats st;
	char arg[32], *p;
	int mfd = memfd_create("arena", MFD_CLOEXEC), fds, round;

	CU_ASSERT_FATAL(mfd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(mfd, 6u << 20), 0);
	snprintf(arg, sizeof(arg), "--huge-fd=%d", mfd);
	fds = count_fds();
	for (round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", arg, "-l", "0"), 4);
		CU_ASSERT_EQUAL(zdk_mem_stats_get(zdk_lcore_socket(0), &st), 0);
		CU_ASSERT_EQUAL(st.total, 6u << 20);
		CU_ASSERT_TRUE(locked_by_zdk(mfd));
		p = zdk_dma_zalloc(4096, 0, ZDK_SOCKET_ANY, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, marker, sizeof(marker));
		CU_ASSERT_TRUE(file_has(mfd, marker, sizeof(marker)));
		memset(p, 0, sizeof(marker));
		zdk_dma_free(p);
		zdk_eal_cleanup();
		CU_ASSERT_EQUAL(fcntl(mfd, F_GETFD), FD_CLOEXEC); /* still open, as it was */
		CU_ASSERT_FALSE(locked_by_zdk(mfd));
		CU_ASSERT_EQUAL(count_fds(), fds);
	}
	/* -m wins over the file's size; the file grows to it. */
	CU_ASSERT_EQUAL_FATAL(INIT("--no-huge", arg, "-m", "8"), 4);
	zdk_eal_cleanup();
	CU_ASSERT_EQUAL(lseek(mfd, 0, SEEK_END), 8u << 20);
	/* Refused before anything is held, and nothing closed. */
	CU_ASSERT_EQUAL(INIT("--no-huge", "--huge-fd=999"), -EBADF);
	CU_ASSERT_EQUAL(INIT(arg), -EINVAL); /* a memfd without hugepages, hugepages asked */
	CU_ASSERT_EQUAL(fcntl(mfd, F_GETFD), FD_CLOEXEC);
	CU_ASSERT_EQUAL(count_fds(), fds);
	close(mfd);
}

/* The same through zdk_eal_init_conf_fds(). */
static void test_conf_fds(void)
{
	struct zdk_eal_conf c;
	struct zdk_eal_fd fds[] = { { ZDK_EAL_FD_HUGE, -1, NULL }, { ZDK_EAL_FD_END, 0, NULL } };
	struct zdk_mem_stats st;

	fds[0].fd = memfd_create("arena", MFD_CLOEXEC);
	CU_ASSERT_FATAL(fds[0].fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fds[0].fd, 4u << 20), 0);
	zdk_eal_conf_init(&c);
	c.no_huge = true;
	c.lcores = "0";
	CU_ASSERT_EQUAL_FATAL(zdk_eal_init_conf_fds(&c, fds), 0);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(zdk_lcore_socket(0), &st), 0);
	CU_ASSERT_EQUAL(st.total, 4u << 20);
	zdk_eal_cleanup();
	fds[0].kind = ZDK_EAL_FD_IOMMUFD; /* a memfd is no /dev/iommu */
	CU_ASSERT_EQUAL(zdk_eal_init_conf_fds(&c, fds), -EINVAL);
	CU_ASSERT_EQUAL(fcntl(fds[0].fd, F_GETFD), FD_CLOEXEC);
	close(fds[0].fd);
}

/* The embedder's way in: a struct, its size checked, argv's checks applied. */
static void test_conf(void)
{
	const char *bad_allow[] = { "0000:zz:00.0", NULL };
	struct zdk_eal_conf c, older;

	zdk_eal_conf_init(&c);
	CU_ASSERT_EQUAL(c.size, sizeof(c));
	c.no_huge = true;
	c.socket_mem_mb[0] = 4;
	c.lcores = "0";
	CU_ASSERT_EQUAL_FATAL(zdk_eal_init_conf(&c), 0);
	CU_ASSERT_EQUAL(zdk_lcore_count(), 1);
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EALREADY);
	zdk_eal_cleanup();

	/* a caller built against an older, shorter struct: the rest reads as 0 */
	older = c;
	older.size = offsetof(struct zdk_eal_conf, no_probe);
	CU_ASSERT_EQUAL_FATAL(zdk_eal_init_conf(&older), 0);
	zdk_eal_cleanup();

	c.size = 0; /* forgot zdk_eal_conf_init() */
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	c.size = sizeof(c) + 8; /* a newer header than this library */
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	CU_ASSERT_EQUAL(zdk_eal_init_conf(NULL), -EINVAL);
	c.size = sizeof(c);
	c.allow = bad_allow;
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	c.allow = NULL;
	c.lcores = "0-x";
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	c.lcores = NULL;
	c.iommu = (enum zdk_eal_iommu)9;
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	c.iommu = ZDK_EAL_IOMMU_AUTO;
	c.huge_size = 4096;
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	c.huge_size = 0;
	c.socket_mem_mb[1] = (size_t)1 << 40;
	CU_ASSERT_EQUAL(zdk_eal_init_conf(&c), -EINVAL);
	CU_ASSERT_EQUAL(zdk_iommu_mode(), ZDK_IOMMU_NONE);
}

static struct {
	int n, level;
	char comp[16], msg[256];
} sunk;

static void sink(int level, const char *component, const char *msg, void *ctx)
{
	CU_ASSERT_PTR_EQUAL(ctx, &sunk);
	sunk.n++;
	sunk.level = level;
	snprintf(sunk.comp, sizeof(sunk.comp), "%s", component);
	snprintf(sunk.msg, sizeof(sunk.msg), "%s", msg);
	errno = EBADF; /* a sink may clobber errno: the caller's survives */
}

/* Messages reach an embedder's sink, one line each, and errno survives. */
static void test_log_sink(void)
{
	zdk_log_set_sink(sink, &sunk);
	errno = EAGAIN;
	CU_ASSERT_EQUAL(INIT("--iommu=nope"), -EINVAL);
	CU_ASSERT_EQUAL(sunk.n, 1);
	CU_ASSERT_EQUAL(sunk.level, ZDK_LOG_ERR);
	CU_ASSERT_STRING_EQUAL(sunk.comp, "eal");
	CU_ASSERT_PTR_NOT_NULL(strstr(sunk.msg, "--iommu 'nope'"));
	CU_ASSERT_PTR_NULL(strchr(sunk.msg, '\n'));
	errno = EAGAIN;
	zdk_log_print(ZDK_LOG_ERR, "t", "%s", "x");
	CU_ASSERT_EQUAL(errno, EAGAIN);
	zdk_log_set_sink(NULL, NULL);
}

static const struct zdk_test tests[] = {
	{ "zdk_eal_init_conf(): size, fields, checks", test_conf },
	{ "log sink", test_log_sink },
	{ "--huge-fd: the arena in a handed-over file", test_huge_fd },
	{ "zdk_eal_init_conf_fds()", test_conf_fds },
	{ "100 init/cleanup rounds leak nothing", test_rounds },
	{ "failed inits leak nothing", test_failures_leak_nothing },
	{ "init twice", test_twice },
	{ "lcores", test_lcores },
	{ "memory", test_memory },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_set_level(ZDK_LOG_ERR);
	return zdk_test_run("eal init", NULL, NULL, tests);
}
