/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sys.h - the system calls zdk makes, each turned into zdk's convention: a
 * count, a descriptor or 0 on success, -errno on failure. These wrappers are
 * the only code in libzdk that reads errno, so a caller can log before it
 * returns the code and the code stays right. Shared-internal: for zdk's
 * libraries and tools, never installed.
 */
#ifndef ZDK_SYS_H
#define ZDK_SYS_H

#include <dirent.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

int sys_open(const char *path, int flags);
/* With O_CREAT: the mode of a new file. */
int sys_open_create(const char *path, int flags, mode_t mode);
/* 0 or -errno; sys_ioctl_ret() keeps a non-negative result (a new fd). */
int sys_ioctl(int fd, unsigned long req, void *arg);
int sys_ioctl_ret(int fd, unsigned long req, void *arg);
ssize_t sys_read(int fd, void *buf, size_t len);
ssize_t sys_write(int fd, const void *buf, size_t len);
/* The whole @len at @off, or -errno (-EIO for a short transfer). */
int sys_pread_all(int fd, void *buf, size_t len, off_t off);
int sys_pwrite_all(int fd, const void *buf, size_t len, off_t off);
int sys_ftruncate(int fd, off_t len);
int sys_memfd_create(const char *name, unsigned flags);
/* *@va set on success. */
int sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **va);
int sys_madvise(void *addr, size_t len, int advice);
int sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask, unsigned long maxnode,
	      unsigned flags);
int sys_mlock(const void *addr, size_t len);
int sys_eventfd(unsigned initval, int flags);
ssize_t sys_readlink(const char *path, char *buf, size_t len);
int sys_scandir(const char *path, struct dirent ***ents, int (*filter)(const struct dirent *),
		int (*compar)(const struct dirent **, const struct dirent **));
int sys_fopen(const char *path, const char *mode, FILE **f);
int sys_sched_getaffinity(cpu_set_t *set);
/* epoll, and a socket to read (the kernel's uevents): fds, counts or -errno. */
struct epoll_event;
int sys_epoll_create(void);
int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int sys_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms);
int sys_socket(int domain, int type, int proto);
int sys_bind(int fd, const void *addr, unsigned addrlen);
ssize_t sys_recv(int fd, void *buf, size_t len, int flags);
/* Descriptors handed over by a launcher, and the limits of the process. */
int sys_fstat(int fd, struct stat *st);
int sys_fstatfs(int fd, struct statfs *sfs);
int sys_stat(const char *path, struct stat *st);
/* fcntl(@fd, @cmd, @arg): its non-negative result (F_GETFL's flags) or -errno. */
int sys_fcntl(int fd, int cmd, long arg);
int sys_flock(int fd, int op);
int sys_getrlimit(int resource, struct rlimit *rl);
/* faccessat(AT_FDCWD, @path, @mode, AT_EACCESS): 0 or -errno. */
int sys_access_eff(const char *path, int mode);
/* strtoull(@s, @end, @base) with its overflow reported: 0 or -ERANGE/-EINVAL. */
int sys_strtou64(const char *s, char **end, int base, uint64_t *v);

/* UNIX sockets and fd passing (lib/handover): the same convention. */
struct sockaddr;
struct msghdr;
struct pollfd;
int sys_listen(int fd, int backlog);
int sys_accept4(int fd, int flags);
int sys_connect(int fd, const struct sockaddr *addr, unsigned len);
ssize_t sys_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t sys_recvmsg(int fd, struct msghdr *msg, int flags);
/* Retried on EINTR; 0 on timeout. */
int sys_poll(struct pollfd *fds, unsigned n, int timeout_ms);
int sys_getsockopt(int fd, int level, int name, void *val, unsigned *len);

#endif /* ZDK_SYS_H */
