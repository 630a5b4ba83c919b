/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sys.c - the system call wrappers (sys.h): each returns -errno itself, so
 * nothing above them reads errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

#define RET(expr) ((expr) < 0 ? -errno : 0)

int sys_open(const char *path, int flags)
{
	int fd = open(path, flags);

	return fd < 0 ? -errno : fd;
}

int sys_open_create(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CREAT, mode);

	return fd < 0 ? -errno : fd;
}

int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return RET(ioctl(fd, req, arg));
}

int sys_ioctl_ret(int fd, unsigned long req, void *arg)
{
	int rc = ioctl(fd, req, arg);

	return rc < 0 ? -errno : rc;
}

ssize_t sys_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

ssize_t sys_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

int sys_pread_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

int sys_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

int sys_ftruncate(int fd, off_t len)
{
	return RET(ftruncate(fd, len));
}

int sys_memfd_create(const char *name, unsigned flags)
{
	int fd = memfd_create(name, flags);

	return fd < 0 ? -errno : fd;
}

int sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **va)
{
	void *p = mmap(addr, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	*va = p;
	return 0;
}

int sys_madvise(void *addr, size_t len, int advice)
{
	return RET(madvise(addr, len, advice));
}

int sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask, unsigned long maxnode,
	      unsigned flags)
{
	/* The system call itself: the tools that link this file need no libnuma. */
	return RET(syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags));
}

int sys_mlock(const void *addr, size_t len)
{
	return RET(mlock(addr, len));
}

int sys_epoll_create(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return epoll_ctl(epfd, op, fd, ev) ? -errno : 0;
}

int sys_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
	int n = epoll_wait(epfd, evs, max, timeout_ms);

	return n < 0 ? -errno : n;
}

int sys_socket(int domain, int type, int proto)
{
	int fd = socket(domain, type, proto);

	return fd < 0 ? -errno : fd;
}

int sys_bind(int fd, const void *addr, unsigned addrlen)
{
	return bind(fd, (const struct sockaddr *)addr, addrlen) ? -errno : 0;
}

ssize_t sys_recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = recv(fd, buf, len, flags);

	return n < 0 ? -errno : n;
}

int sys_eventfd(unsigned initval, int flags)
{
	int fd = eventfd(initval, flags);

	return fd < 0 ? -errno : fd;
}

ssize_t sys_readlink(const char *path, char *buf, size_t len)
{
	ssize_t n = readlink(path, buf, len);

	return n < 0 ? -errno : n;
}

int sys_scandir(const char *path, struct dirent ***ents, int (*filter)(const struct dirent *),
		int (*compar)(const struct dirent **, const struct dirent **))
{
	int n = scandir(path, ents, filter, compar);

	return n < 0 ? -errno : n;
}

int sys_fopen(const char *path, const char *mode, FILE **f)
{
	*f = fopen(path, mode);
	return *f ? 0 : -errno;
}

int sys_sched_getaffinity(cpu_set_t *set)
{
	return RET(sched_getaffinity(0, sizeof(*set), set));
}

int sys_fstat(int fd, struct stat *st)
{
	return RET(fstat(fd, st));
}

int sys_fstatfs(int fd, struct statfs *sfs)
{
	return RET(fstatfs(fd, sfs));
}

int sys_stat(const char *path, struct stat *st)
{
	return RET(stat(path, st));
}

int sys_fcntl(int fd, int cmd, long arg)
{
	int rc = fcntl(fd, cmd, arg);

	return rc < 0 ? -errno : rc;
}

int sys_flock(int fd, int op)
{
	return RET(flock(fd, op));
}

int sys_getrlimit(int resource, struct rlimit *rl)
{
	return RET(getrlimit(resource, rl));
}

int sys_access_eff(const char *path, int mode)
{
	return RET(faccessat(AT_FDCWD, path, mode, AT_EACCESS));
}

int sys_strtou64(const char *s, char **end, int base, uint64_t *v)
{
	unsigned long long x;

	errno = 0;
	x = strtoull(s, end, base);
	if (errno)
		return -errno;
	*v = x;
	return 0;
}

int sys_listen(int fd, int backlog)
{
	return RET(listen(fd, backlog));
}

int sys_accept4(int fd, int flags)
{
	int c = accept4(fd, NULL, NULL, flags);

	return c < 0 ? -errno : c;
}

int sys_connect(int fd, const struct sockaddr *addr, unsigned len)
{
	return RET(connect(fd, addr, len));
}

ssize_t sys_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t n;

	do
		n = sendmsg(fd, msg, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t sys_recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	do
		n = recvmsg(fd, msg, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int sys_poll(struct pollfd *fds, unsigned n, int timeout_ms)
{
	int rc;

	do
		rc = poll(fds, n, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

int sys_getsockopt(int fd, int level, int name, void *val, unsigned *len)
{
	socklen_t l = *len;
	int rc = getsockopt(fd, level, name, val, &l);

	*len = l;
	return rc < 0 ? -errno : 0;
}
