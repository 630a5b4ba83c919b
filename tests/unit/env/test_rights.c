// SPDX-License-Identifier: BSD-3-Clause
/*
 * The RLIMIT_MEMLOCK arithmetic and its fixes (lib/env/rights.c): what a
 * pin costs in KiB, what each accounting adds, when the user can raise the
 * limit and when root must; and the hint for a file the user may not open.
 */
#include "../zdk_test.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rights.h"

static void test_kib(void)
{
	CU_ASSERT_EQUAL(memlock_kib(0), 0);
	CU_ASSERT_EQUAL(memlock_kib(1), 4); /* a page started is a page pinned */
	CU_ASSERT_EQUAL(memlock_kib(4096), 4);
	CU_ASSERT_EQUAL(memlock_kib(4097), 8);
	CU_ASSERT_EQUAL(memlock_kib(2u << 20), 2048); /* a 2 MiB hugepage: 512 pages */
	CU_ASSERT_EQUAL(memlock_kib(128u << 20), 131072);
	CU_ASSERT_EQUAL(memlock_kib(512u << 20), 524288);
	CU_ASSERT_EQUAL(memlock_kib(1ULL << 30), 1048576);
}

static void test_need(void)
{
	struct memlock_self st = { .cur_kib = 8192, .max_kib = 8192, .locked_kib = 100,
				   .pinned_kib = 64 };

	/* per process: what mm->locked_vm holds (VmLck) adds */
	CU_ASSERT_EQUAL(memlock_need_kib(&st, MEMLOCK_PER_PROCESS, 128u << 20), 131072 + 100);
	/* per user: at least this process's own pins (VmPin) */
	CU_ASSERT_EQUAL(memlock_need_kib(&st, MEMLOCK_PER_USER, 128u << 20), 131072 + 64);
	CU_ASSERT_EQUAL(memlock_need_kib(&st, MEMLOCK_NONE, 128u << 20), 0);
	CU_ASSERT_FALSE(memlock_fits(&st, MEMLOCK_PER_USER, 128u << 20));
	CU_ASSERT_TRUE(memlock_fits(&st, MEMLOCK_PER_USER, 8128u << 10));
	CU_ASSERT_FALSE(memlock_fits(&st, MEMLOCK_PER_USER, 8132u << 10));
	CU_ASSERT_TRUE(memlock_fits(&st, MEMLOCK_NONE, 1ULL << 40));
	st.cur_kib = MEMLOCK_UNLIMITED;
	CU_ASSERT_TRUE(memlock_fits(&st, MEMLOCK_PER_PROCESS, 1ULL << 40));
	st.cur_kib = 8192;
	st.cap_ipc_lock = true;
	CU_ASSERT_EQUAL(memlock_need_kib(&st, MEMLOCK_PER_PROCESS, 1ULL << 40), 0);
	CU_ASSERT_TRUE(memlock_fits(&st, MEMLOCK_PER_PROCESS, 1ULL << 40));
}

static void test_fix(void)
{
	struct memlock_self st = { .cur_kib = 8192, .max_kib = 8192, .uid = 0, .ppid = 4242 };
	char buf[1024];

	memlock_fix(&st, 524288, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "as root, prlimit --pid 4242 "
					   "--memlock=536870912:536870912 raises it"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "'root - memlock 524288' in "
					   "/etc/security/limits.d/zdk.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "LimitMEMLOCK=536870912"));
	/* under the hard limit the user needs no root */
	st.max_kib = MEMLOCK_UNLIMITED;
	memlock_fix(&st, 524288, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "raise it yourself with ulimit -l 524288"));
	/* a uid without a name: a uid range pam_limits takes */
	memlock_user(4000000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "4000000:4000000");
	memlock_user(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "root");
}

static void test_self(void)
{
	struct memlock_self st;

	CU_ASSERT_EQUAL(memlock_self_read(NULL, &st), 0);
	CU_ASSERT_EQUAL(st.uid, geteuid());
	CU_ASSERT_EQUAL(st.ppid, getppid());
	CU_ASSERT(st.cur_kib <= st.max_kib);
}

static void test_hint(void)
{
	char dir[] = "/tmp/zdk-rights-XXXXXX", path[64], buf[1024], want[256], user[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/iommu", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	chmod(path, 0600);
	rights_user_name(geteuid(), user, sizeof(user));
	rights_hint(path, "read-write", "0000:01:00.0", buf, sizeof(buf));
	snprintf(want, sizeof(want), "uid %u (%s) has no read-write access to %s (%s:", geteuid(),
		 user, path, user);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, ", mode 0600): as root run zdk-devbind --grant="));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " 0000:01:00.0, or start the program through "
					   "zdk-launch --user="));
	rights_hint(path, "write", NULL, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "has no write access to"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " BDF..., or start"));
	unlink(path);
	/* a file that is not there: no owner to show, the fix all the same */
	rights_hint(path, "read-write", NULL, buf, sizeof(buf));
	snprintf(want, sizeof(want), "read-write access to %s: as root run", path);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	rmdir(dir);
}

static const struct zdk_test tests[] = {
	{ "a pin costs whole 4 KiB pages", test_kib },
	{ "per process, per user, CAP_IPC_LOCK, unlimited", test_need },
	{ "the fix: ulimit under the hard limit, else root", test_fix },
	{ "this process's limits", test_self },
	{ "a file the user may not open", test_hint },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("rights", NULL, NULL, tests);
}
