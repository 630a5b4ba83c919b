/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_launch.c - zdk-launch over a fake /dev and /sys: what it opens, the
 * argv the program gets (the descriptor options before its own), the
 * memlock figure, each refusal; and, as root, a real launch of a script
 * that reports its uid, capabilities, limit and descriptors.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../zdk_test.h"

#include "fake_sysfs.h"
#include "launch.h"
#include "rights.h"

#define NVME "0000:01:00.0"
#define IGB "0000:02:00.0"

static struct fake_sysfs f;
static char *err;

static void machine(void)
{
	fake_create(&f);
	CU_ASSERT_EQUAL(chmod(f.root, 0755), 0);
	fake_pci(&f, NVME, 0x1b36, 0x0010, 0x010802, 0, 3, "nvme");
	fake_pci(&f, IGB, 0x8086, 0x10c9, 0x020000, 0, 4, "vfio-pci");
	fake_file(&f, "sys/devices/pci0000:00/" IGB "/vfio-dev/vfio7/dev", "%s", "1:3\n");
	fake_file(&f, "dev/iommu", "%s", "");
	fake_file(&f, "dev/vfio/devices/vfio7", "%s", "");
}

/* Parse zdk-launch's arguments (NULL-terminated) after the fake roots. */
static int parse(struct launch *l, const char *arg, ...)
{
	char *argv[40] = { "zdk-launch", "--sysfs-root", f.sys, "--dev-root", f.dev };
	static char *keep[40];
	int argc = 5, rc;
	size_t len;
	FILE *e, *o = fopen("/dev/null", "w");
	va_list ap;

	va_start(ap, arg);
	for (; arg && argc < 39; arg = va_arg(ap, const char *))
		argv[argc++] = (char *)arg;
	va_end(ap);
	memcpy(keep, argv, sizeof(keep)); /* the program's argv points into it */
	free(err);
	e = open_memstream(&err, &len);
	rc = launch_parse(l, argc, keep, o, e);
	fflush(e);
	l->err = e; /* launch_open() reports there too; closed by done() */
	fclose(o);
	return rc;
}

static void done(struct launch *l)
{
	launch_close(l);
	fclose(l->err);
}

static void test_parse(void)
{
	struct launch l;

	machine();
	CU_ASSERT_EQUAL(parse(&l, "--", "prog", NULL), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "give --user=USER"));
	done(&l);
	CU_ASSERT_EQUAL(parse(&l, "--user=1000", NULL), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "which program? give it after --"));
	done(&l);
	CU_ASSERT_EQUAL(parse(&l, "--user=1000", "-a", "01:00", "--", "p", NULL), -1);
	done(&l);
	CU_ASSERT_EQUAL(parse(&l, "-u", "1000", "--no-huge", "--huge-size=1G", "--", "p", NULL), -1);
	done(&l);
	CU_ASSERT_EQUAL(parse(&l, "-u", "1000", "--memlock=lots", "--", "p", NULL), -1);
	done(&l);
	CU_ASSERT_EQUAL(parse(&l, "-u", "1000", "-h", NULL), 1);
	done(&l);
	/* Options stop at PROGRAM: what follows is the program's. */
	CU_ASSERT_EQUAL(parse(&l, "-u", "1000", "prog", "-m", "7", NULL), 0);
	CU_ASSERT_EQUAL(l.mem_mib, 128);
	CU_ASSERT_EQUAL(l.nprog, 3);
	done(&l);
	fake_destroy(&f);
}

static void test_open_and_argv(void)
{
	struct launch l;
	char **argv, want[64];
	struct stat st;

	machine();
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "1000", "-a", IGB, "-m", "3", "--no-huge", "--",
				    "prog", "-l", "0", "--", "-x", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(launch_open(&l), 0);
	fflush(l.err);
	/* a plain file is no iommufd: it cannot be asked to charge the process */
	CU_ASSERT_FALSE(l.per_process);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "iommufd keeps charging pins to "));
	CU_ASSERT(l.iommufd >= 0 && l.dev_fds[0] >= 0 && l.huge_fd >= 0);
	CU_ASSERT_EQUAL(fcntl(l.huge_fd, F_GETFD), FD_CLOEXEC); /* until the exec */
	CU_ASSERT_EQUAL(fstat(l.huge_fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 3 << 20);
	CU_ASSERT_EQUAL(launch_memlock_kib(&l), 3072);
	argv = launch_argv(&l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(argv);
	CU_ASSERT_STRING_EQUAL(argv[0], "prog");
	snprintf(want, sizeof(want), "--iommufd-fd=%d", l.iommufd);
	CU_ASSERT_STRING_EQUAL(argv[1], want);
	snprintf(want, sizeof(want), "--vfio-fd=" IGB "=%d", l.dev_fds[0]);
	CU_ASSERT_STRING_EQUAL(argv[2], want);
	snprintf(want, sizeof(want), "--huge-fd=%d", l.huge_fd);
	CU_ASSERT_STRING_EQUAL(argv[3], want);
	CU_ASSERT_STRING_EQUAL(argv[4], "--no-huge");
	CU_ASSERT_STRING_EQUAL(argv[5], "-l");
	CU_ASSERT_STRING_EQUAL(argv[7], "--");
	CU_ASSERT_STRING_EQUAL(argv[8], "-x");
	CU_ASSERT_PTR_NULL(argv[9]);
	for (int i = 1; i <= 3; i++)
		free(argv[i]);
	free(argv);
	done(&l);

	/* --memlock gives more than the arena (zdk_dma_map() regions). */
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "1000", "--memlock=unlimited", "--", "p", NULL), 0);
	CU_ASSERT_EQUAL(launch_memlock_kib(&l), MEMLOCK_UNLIMITED);
	done(&l);
	fake_destroy(&f);
}

static void test_refusals(void)
{
	struct launch l;

	machine();
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "1000", "-a", NVME, "--no-huge", "--", "p", NULL), 0);
	CU_ASSERT_EQUAL(launch_open(&l), -1);
	fflush(l.err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, NVME " is bound to nvme: zdk-devbind --bind=vfio-pci "
					   NVME));
	CU_ASSERT(l.iommufd < 0); /* what was opened is closed again */
	done(&l);
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "root", "--no-huge", "--", "p", NULL), 0);
	CU_ASSERT_EQUAL(launch_open(&l), -1);
	fflush(l.err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is root: run the program directly"));
	done(&l);
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "no-such-user-zdk", "--", "p", NULL), 0);
	CU_ASSERT_EQUAL(launch_open(&l), -1);
	done(&l);
	/* Devices without /dev/iommu: zdk-launch does iommufd only. */
	fake_unlink(&f, "dev/iommu");
	CU_ASSERT_EQUAL_FATAL(parse(&l, "-u", "1000", "-a", IGB, "--no-huge", "--", "p", NULL), 0);
	CU_ASSERT_EQUAL(launch_open(&l), -1);
	fflush(l.err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "it needs a kernel with CONFIG_IOMMUFD; with type1 "
					   "only, use zdk-devbind --grant"));
	done(&l);
	fake_destroy(&f);
}

/*
 * As root: a real launch, as nobody, of a script that reports what it got.
 * Not a descriptor of the launcher's but the handed-over ones crosses.
 */
static void test_run(void)
{
	char script[PATH_MAX], buf[8192];
	int fds[2], st;
	ssize_t n, len = 0;
	pid_t pid;
	FILE *s;

	if (geteuid() != 0) {
		fprintf(stderr, "(not root: skipped) ");
		return;
	}
	machine();
	fake_unlink(&f, "dev/iommu"); /* only the hugepage file, then */
	snprintf(script, sizeof(script), "%s/report.sh", f.root);
	s = fopen(script, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	fprintf(s, "#!/bin/sh\nid -u; id -g; ulimit -l\n"
		"grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status\n"
		"for fd in /proc/self/fd/*; do echo \"fd ${fd##*/} $(readlink $fd)\"; done\n"
		"echo \"args $*\"\n");
	fclose(s);
	chmod(script, 0755);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		char *a[] = { "zdk-launch", "--sysfs-root", f.sys, "--dev-root", f.dev, "-u",
			      "65534:65534", "--no-huge", "-m", "2", "--", script, "-l", "0",
			      NULL };

		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		int extra = open("/dev/null", O_RDONLY);

		/* a descriptor of the launcher's own: it must not reach the program */
		if (extra < 0 || dup2(extra, 9) != 9 || close(extra))
			_exit(98);
		_exit(launch_main(14, a, stdout, stderr));
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fds[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!strstr(buf, "65534\n65534\n2048\n") || !strstr(buf, "CapEff:\t0000000000000000\n") ||
	    !strstr(buf, "CapPrm:\t0000000000000000\n") ||
	    !strstr(buf, "CapInh:\t0000000000000000\n") ||
	    !strstr(buf, "CapBnd:\t0000000000000000\n") ||
	    !strstr(buf, "CapAmb:\t0000000000000000\n") || !strstr(buf, "NoNewPrivs:\t1\n") ||
	    !strstr(buf, "fd 3 /memfd:zdk-launch (deleted)\n") || strstr(buf, "fd 9 ") ||
	    !strstr(buf, "args --huge-fd=3 --no-huge -l 0\n")) {
		fprintf(stderr, "\nthe program reported:\n%s", buf);
		CU_FAIL("the launched program did not get what it should");
	}
	fake_destroy(&f);
}

static const struct zdk_test tests[] = {
	{ "parse", test_parse },
	{ "open and argv", test_open_and_argv },
	{ "refusals", test_refusals },
	{ "a real launch as nobody", test_run },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("launch", NULL, NULL, tests);
}
