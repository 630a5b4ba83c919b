// SPDX-License-Identifier: BSD-3-Clause
/*
 * The handover protocol between real processes on the host, through the
 * public API: memory only (a memfd arena, --no-huge, no device, no IOMMU),
 * the new process exec'd from this program so that its address space is
 * its own. Checked:
 *  - a live handover: the arena at the same addresses with the same bytes,
 *    the heap's allocations kept (new allocations never overlap them,
 *    frees work after commit), nothing allocatable before commit; the old
 *    process's arena out of reach and its frees no-ops; no fd leaked;
 *  - a chain: the listener travels, three handovers in a row;
 *  - a new process that dies before taking over: the old one resumes with
 *    its memory intact and hands over to the next one;
 *  - a new process whose arena addresses are taken: it refuses, the old
 *    one resumes;
 *  - an old process that never says GO: the new one drops everything;
 *  - a forced reset handover: the new process initialises afresh after GO.
 */
#include "../zdk_test.h"
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_handover.h"
#include "zdk_mem.h"

#define APP_MAGIC 0x7a646b2d686f7431ULL
#define A_LEN (1u << 20)
#define C_LEN (64u << 10)

struct app_state {
	uint64_t magic;
	uint8_t *a, *c;     /* arena buffers, filled with the pattern of seed */
	uint32_t seed;
	uint32_t nalloc;    /* live allocations when handed over */
	uint32_t hops_left; /* a relay hands over again this many times */
};

static char sock_path[108];
static const char *self_exe = "/proc/self/exe";

static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 11));
}

static bool pattern_ok(const uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed * 131 + i * 7 + (i >> 11)))
			return false;
	return true;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int init_old(void)
{
	char *argv[] = { "old", "--no-huge", "-m", "16", "-l", "0", "--log-level", "warn", NULL };

	return zdk_eal_init(8, argv);
}

static pid_t spawn(const char *role, const char *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(self_exe, self_exe, "role", role, sock_path, arg, (char *)NULL);
		_exit(99);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The old process's buffers: A and C kept, B freed in between (a hole). */
static void old_buffers(struct app_state *st, uint32_t seed)
{
	void *b;
	struct zdk_mem_stats ms;

	st->magic = APP_MAGIC;
	st->seed = seed;
	st->a = zdk_dma_zalloc(A_LEN, 4096, ZDK_SOCKET_ANY, NULL);
	b = zdk_dma_zalloc(8192, 0, ZDK_SOCKET_ANY, NULL);
	st->c = zdk_dma_zalloc(C_LEN, 64, ZDK_SOCKET_ANY, NULL);
	CU_ASSERT_FATAL(st->a && b && st->c);
	zdk_dma_free(b);
	pattern(st->a, A_LEN, seed);
	pattern(st->c, C_LEN, seed + 1);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(0, &ms), 0);
	st->nalloc = ms.allocs;
}

/* Accept within 20 s: the child connects once it has started. */
static int accept_wait(struct zdk_handover_listener *l, struct zdk_handover **h)
{
	struct pollfd p = { .fd = zdk_handover_listener_fd(l), .events = POLLIN };

	if (poll(&p, 1, 20000) != 1)
		return -ETIMEDOUT;
	return zdk_handover_accept(l, h);
}

static void test_live(void)
{
	struct zdk_handover_listener *l;
	struct zdk_handover *h;
	struct app_state st;
	uint8_t *a;
	pid_t pid;
	int fds;

	fds = count_fds();
	CU_ASSERT_EQUAL_FATAL(init_old(), 7);
	old_buffers(&st, 7);
	st.hops_left = 0;
	CU_ASSERT_EQUAL_FATAL(zdk_handover_listen(sock_path, NULL, &l), 0);
	pid = spawn("new", "live");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_pid(h), pid);
	CU_ASSERT_EQUAL(zdk_handover_mode(h), ZDK_HANDOVER_LIVE);
	CU_ASSERT_STRING_EQUAL(zdk_handover_reason(h), "");
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), 0);
	/* The arena is the new process's: no allocation, frees are no-ops. */
	CU_ASSERT_PTR_NULL(zdk_dma_zalloc(64, 0, ZDK_SOCKET_ANY, NULL));
	a = st.a;
	zdk_dma_free(a);
	zdk_eal_cleanup();
	zdk_handover_close(h);
	zdk_handover_listener_close(l);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(access(sock_path, F_OK), 0); /* the socket went to the new process */
	unlink(sock_path);
}

/* Three handovers in a row on one socket: the listener travels with them. */
static void test_chain(void)
{
	struct zdk_handover_listener *l;
	struct zdk_handover *h;
	struct app_state st;
	pid_t pid[3];

	CU_ASSERT_EQUAL_FATAL(init_old(), 7);
	old_buffers(&st, 11);
	st.hops_left = 2;
	CU_ASSERT_EQUAL_FATAL(zdk_handover_listen(sock_path, NULL, &l), 0);
	pid[0] = spawn("new", "live");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), 0);
	zdk_eal_cleanup();
	zdk_handover_close(h);
	zdk_handover_listener_close(l);
	/* Each relay waits for the next process on the same socket. */
	pid[1] = spawn("new", "live");
	CU_ASSERT_EQUAL(child_status(pid[0]), 0);
	pid[2] = spawn("new", "live");
	CU_ASSERT_EQUAL(child_status(pid[1]), 0);
	CU_ASSERT_EQUAL(child_status(pid[2]), 0);
	unlink(sock_path);
}

static void test_dies_then_next(void)
{
	struct zdk_handover_listener *l;
	struct zdk_handover *h;
	struct app_state st;
	struct zdk_mem_stats ms;
	void *p;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(init_old(), 7);
	old_buffers(&st, 23);
	st.hops_left = 0;
	CU_ASSERT_EQUAL_FATAL(zdk_handover_listen(sock_path, NULL, &l), 0);
	/* It receives the state and fds, then exits before saying anything. */
	pid = spawn("die", "");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), -ECONNABORTED);
	zdk_handover_close(h);
	CU_ASSERT_EQUAL(child_status(pid), 3);
	/* Resumed: the memory is as it was, and still this process's. */
	CU_ASSERT(pattern_ok(st.a, A_LEN, 23));
	CU_ASSERT(pattern_ok(st.c, C_LEN, 24));
	p = zdk_dma_zalloc(4096, 0, ZDK_SOCKET_ANY, NULL);
	CU_ASSERT_PTR_NOT_NULL(p);
	zdk_dma_free(p);
	CU_ASSERT_EQUAL(zdk_mem_stats_get(0, &ms), 0);
	CU_ASSERT_EQUAL(ms.allocs, st.nalloc);
	/* The one whose arena addresses are taken refuses; the old one resumes again. */
	pid = spawn("squat", "");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), -ECONNABORTED);
	zdk_handover_close(h);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	CU_ASSERT(pattern_ok(st.a, A_LEN, 23));
	/* And the next one takes over. */
	pid = spawn("new", "live");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), 0);
	zdk_eal_cleanup();
	zdk_handover_close(h);
	zdk_handover_listener_close(l);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	unlink(sock_path);
}

/* This process is the new one; the old one is stopped before it can say GO. */
static void test_no_go(void)
{
	struct zdk_handover_opts o = { .size = sizeof(o), .timeout_ms = 2000 };
	char *argv[] = { "new", "-l", "0", "--log-level", "err", NULL };
	struct zdk_handover *h;
	const struct app_state *st;
	size_t len;
	pid_t pid;
	int fds = count_fds(), rc;

	pid = spawn("old", "");
	for (int i = 0; i < 200 && access(sock_path, F_OK); i++)
		usleep(50000);
	CU_ASSERT_EQUAL_FATAL(zdk_handover_connect(sock_path, &o, &h), 0);
	rc = zdk_eal_init_takeover(5, argv, h);
	if (rc == -EADDRINUSE) {
		/* Its arena landed where this process has something: not this test's point. */
		kill(pid, SIGKILL);
		goto out;
	}
	CU_ASSERT_EQUAL_FATAL(rc, 4);
	CU_ASSERT_EQUAL(zdk_handover_app_get(h, (const void **)&st, &len), 0);
	CU_ASSERT_EQUAL_FATAL(len, sizeof(*st));
	CU_ASSERT(pattern_ok(st->a, A_LEN, st->seed));
	kill(pid, SIGSTOP);
	CU_ASSERT_EQUAL(zdk_handover_commit(h), -ETIMEDOUT);
	kill(pid, SIGKILL);
	/* Nothing was taken over: nothing mapped, no arena; freeing what was
	 * inherited is harmless. */
	CU_ASSERT_PTR_NULL(zdk_dma_zalloc(64, 0, ZDK_SOCKET_ANY, NULL));
	zdk_dma_free(st->a);
	zdk_eal_cleanup();
out:
	zdk_handover_close(h);
	child_status(pid);
	CU_ASSERT_EQUAL(count_fds(), fds);
	unlink(sock_path);
}

static void test_reset(void)
{
	struct zdk_handover_opts o = { .size = sizeof(o), .force_reset = true };
	struct zdk_handover_listener *l;
	struct zdk_handover *h;
	struct app_state st;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(init_old(), 7);
	old_buffers(&st, 31);
	st.hops_left = 0;
	CU_ASSERT_EQUAL_FATAL(zdk_handover_listen(sock_path, &o, &l), 0);
	pid = spawn("new", "reset");
	CU_ASSERT_EQUAL_FATAL(accept_wait(l, &h), 0);
	CU_ASSERT_EQUAL(zdk_handover_mode(h), ZDK_HANDOVER_RESET);
	CU_ASSERT_STRING_EQUAL(zdk_handover_reason(h), "asked for (force_reset)");
	CU_ASSERT_EQUAL(zdk_handover_app_set(h, &st, sizeof(st)), 0);
	CU_ASSERT_EQUAL(zdk_handover_send(h), 0);
	/* Reset: still this process's until it closes everything. */
	CU_ASSERT(pattern_ok(st.a, A_LEN, 31));
	zdk_eal_cleanup();
	zdk_handover_close(h);
	zdk_handover_listener_close(l);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	unlink(sock_path);
}

/* Roles, in the exec'd child. Exit 0 when every check passed. */
#define REQUIRE(c)                                                                          \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "child %d: %s:%d: %s\n", getpid(), __FILE__, __LINE__, #c); \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

static int connect_retry(const char *path, struct zdk_handover **h)
{
	int rc = -ENOENT;

	for (int i = 0; i < 400 && rc; i++) {
		rc = zdk_handover_connect(path, NULL, h);
		if (rc)
			usleep(25000);
	}
	return rc;
}

/* Take over, check the memory, use the heap; relay it on while hops are left. */
static int role_new(const char *path, bool live)
{
	char *argv[] = { "new", "--no-huge", "-m", "16", "-l", "0", "--log-level", "warn", NULL };
	struct zdk_handover_listener *l = NULL;
	struct zdk_handover *h, *next;
	struct app_state st;
	struct zdk_mem_stats ms;
	const void *app;
	size_t len;
	uint8_t *d;

	REQUIRE(connect_retry(path, &h) == 0);
	REQUIRE(zdk_handover_mode(h) == (live ? ZDK_HANDOVER_LIVE : ZDK_HANDOVER_RESET));
	REQUIRE(zdk_eal_init_takeover(8, argv, h) == 7);
	REQUIRE(zdk_handover_app_get(h, &app, &len) == 0 && len == sizeof(st));
	memcpy(&st, app, sizeof(st));
	REQUIRE(st.magic == APP_MAGIC);
	if (!live) {
		REQUIRE(zdk_handover_commit(h) == 0);
		zdk_handover_close(h);
		zdk_eal_cleanup();
		return 0;
	}
	REQUIRE(zdk_dma_zalloc(64, 0, ZDK_SOCKET_ANY, NULL) == NULL); /* not ours yet */
	REQUIRE(pattern_ok(st.a, A_LEN, st.seed) && pattern_ok(st.c, C_LEN, st.seed + 1));
	REQUIRE(zdk_handover_commit(h) == 0);
	REQUIRE(zdk_mem_stats_get(0, &ms) == 0 && ms.allocs == st.nalloc);
	d = zdk_dma_zalloc(A_LEN, 4096, ZDK_SOCKET_ANY, NULL);
	REQUIRE(d && (d + A_LEN <= st.a || d >= st.a + A_LEN) && (d + A_LEN <= st.c || d >= st.c + C_LEN));
	zdk_dma_free(d);
	zdk_dma_free(st.c);
	st.c = zdk_dma_zalloc(C_LEN, 64, ZDK_SOCKET_ANY, NULL);
	REQUIRE(st.c);
	st.seed += 100;
	pattern(st.a, A_LEN, st.seed);
	pattern(st.c, C_LEN, st.seed + 1);
	REQUIRE(zdk_mem_stats_get(0, &ms) == 0 && ms.allocs == st.nalloc);
	if (st.hops_left) {
		st.hops_left--;
		REQUIRE(zdk_handover_listener_adopt(h, &l) == 0);
		zdk_handover_close(h);
		REQUIRE(accept_wait(l, &next) == 0);
		REQUIRE(zdk_handover_app_set(next, &st, sizeof(st)) == 0);
		REQUIRE(zdk_handover_send(next) == 0);
		zdk_eal_cleanup();
		zdk_handover_close(next);
		zdk_handover_listener_close(l);
		return 0;
	}
	zdk_handover_close(h);
	zdk_eal_cleanup();
	return 0;
}

/* Take the state and the fds, then die before a word: as a crash would. */
static int role_die(const char *path)
{
	struct zdk_handover *h;

	REQUIRE(connect_retry(path, &h) == 0);
	_exit(3);
}

/* Something sits where the arena must go: the takeover must refuse. */
static int role_squat(const char *path)
{
	char *argv[] = { "new", "-l", "0", "--log-level", "err", NULL };
	struct zdk_handover *h;
	const struct app_state *st;
	size_t len;
	void *p, *sq;

	REQUIRE(connect_retry(path, &h) == 0);
	REQUIRE(zdk_handover_app_get(h, (const void **)&st, &len) == 0 && len == sizeof(*st));
	sq = (void *)((uintptr_t)st->c & ~(uintptr_t)4095);
	p = mmap(sq, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	REQUIRE(p == sq);
	REQUIRE(zdk_eal_init_takeover(5, argv, h) == -EADDRINUSE);
	zdk_handover_close(h);
	return 0;
}

/* The old side for test_no_go: it will be stopped, then killed. */
static int role_old(const char *path)
{
	struct zdk_handover_listener *l;
	struct zdk_handover *h;
	struct app_state st;

	REQUIRE(init_old() == 7);
	memset(&st, 0, sizeof(st));
	st.magic = APP_MAGIC;
	st.seed = 41;
	st.a = zdk_dma_zalloc(A_LEN, 4096, ZDK_SOCKET_ANY, NULL);
	REQUIRE(st.a);
	pattern(st.a, A_LEN, st.seed);
	REQUIRE(zdk_handover_listen(path, NULL, &l) == 0);
	REQUIRE(accept_wait(l, &h) == 0);
	REQUIRE(zdk_handover_app_set(h, &st, sizeof(st)) == 0);
	zdk_handover_send(h);
	zdk_handover_close(h);
	zdk_handover_listener_close(l);
	zdk_eal_cleanup();
	return 0;
}

static int role(int argc, char **argv)
{
	const char *r = argv[2], *path = argv[3];

	if (argc < 5)
		return 98;
	if (!strcmp(r, "new"))
		return role_new(path, !strcmp(argv[4], "live"));
	if (!strcmp(r, "die"))
		return role_die(path);
	if (!strcmp(r, "squat"))
		return role_squat(path);
	if (!strcmp(r, "old"))
		return role_old(path);
	return 98;
}

static const struct zdk_test tests[] = {
	{ "live", test_live },
	{ "chain of three", test_chain },
	{ "new dies, then a squatter, then the next", test_dies_then_next },
	{ "old never says GO", test_no_go },
	{ "forced reset", test_reset },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "role"))
		return role(argc, argv);
	snprintf(sock_path, sizeof(sock_path), "/tmp/zdk-handover-test-%d.sock", getpid());
	return zdk_test_run("handover-proc", NULL, NULL, tests);
}
