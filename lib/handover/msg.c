/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg.c - the handover's messages over a UNIX stream socket (u32 type, u32
 * length, payload; fds by SCM_RIGHTS on a message's first byte), every wait
 * bounded by a deadline; the peer's credentials; the listening socket.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ZDK_LOG_COMPONENT "handover"
#include "handover_private.h"
#include "sys.h"
#include "zdk_log.h"

int ho_opts_take(struct zdk_handover_opts *o, const struct zdk_handover_opts *in)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	if (in && zdk_opts_copy(o, sizeof(*o), in, in->size)) {
		ZDK_ERR("zdk_handover_opts.size is %zu, this zdk knows %zu bytes: set it to "
			"sizeof(struct zdk_handover_opts)", in->size, sizeof(*o));
		return -EINVAL;
	}
	if (!o->timeout_ms)
		o->timeout_ms = TIMEOUT_MS_DEFAULT;
	return 0;
}

int ho_wait_io(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = zdk_time_ns();
	int rc;

	if (now >= deadline)
		return -ETIMEDOUT;
	rc = sys_poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ETIMEDOUT;
	return 0;
}

uint64_t ho_deadline_in(uint32_t ms)
{
	return zdk_time_ns() + (uint64_t)ms * 1000000;
}

/* Send all of @iov's bytes; @fds ride on the first byte. */
int ho_send_msg(int sock, uint32_t type, const void *p, size_t len, const int *fds,
		    unsigned nfds, uint64_t deadline)
{
	uint8_t hdr[MSG_HDR];
	union {
		char buf[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t sent = 0, total = MSG_HDR + len;

	for (unsigned i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(type >> (8 * i));
		hdr[4 + i] = (uint8_t)((uint32_t)len >> (8 * i));
	}
	while (sent < total) {
		struct iovec iov[2];
		struct msghdr m = { .msg_iov = iov };
		ssize_t n;
		int rc;

		if (sent < MSG_HDR) {
			iov[m.msg_iovlen++] = (struct iovec){ hdr + sent, MSG_HDR - sent };
			if (len)
				iov[m.msg_iovlen++] = (struct iovec){ (void *)p, len };
		} else {
			iov[m.msg_iovlen++] = (struct iovec){ (uint8_t *)p + sent - MSG_HDR, total - sent };
		}
		if (sent == 0 && nfds) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			m.msg_control = ctl.buf;
			m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		n = sys_sendmsg(sock, &m, MSG_NOSIGNAL);
		if (n == -EAGAIN) {
			rc = ho_wait_io(sock, POLLOUT, deadline);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		sent += (size_t)n;
	}
	return 0;
}

/* Keep the fds that came with a read; more than the blob may name is an error. */
static int ho_take_fds(struct zdk_handover *h, struct msghdr *m)
{
	int rc = (m->msg_flags & MSG_CTRUNC) ? -EBADMSG : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		unsigned n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (h->nfds < HANDOVER_MAX_FDS) {
				h->fds[h->nfds++] = fd;
			} else {
				close(fd);
				rc = -EBADMSG;
			}
		}
	}
	return rc;
}

/* Read exactly @len bytes; 0 bytes at the start is -ECONNRESET (peer gone). */
int ho_recv_exact(struct zdk_handover *h, void *buf, size_t len, uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HANDOVER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (uint8_t *)buf + got, len - got };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = sys_recvmsg(h->sock, &m, MSG_CMSG_CLOEXEC);
		int rc;

		if (n == -EAGAIN) {
			rc = ho_wait_io(h->sock, POLLIN, deadline);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		rc = ho_take_fds(h, &m);
		if (rc)
			return rc;
		got += (size_t)n;
	}
	return 0;
}

/* The next message's header; a message of another type than @want is -EPROTO. */
int ho_recv_hdr(struct zdk_handover *h, uint32_t want, uint32_t *len, uint64_t deadline)
{
	uint8_t hdr[MSG_HDR];
	uint32_t type = 0;
	int rc = ho_recv_exact(h, hdr, MSG_HDR, deadline);

	if (rc)
		return rc;
	*len = 0;
	for (unsigned i = 0; i < 4; i++) {
		type |= (uint32_t)hdr[i] << (8 * i);
		*len |= (uint32_t)hdr[4 + i] << (8 * i);
	}
	if (type != want) {
		ZDK_ERR("handover: the peer sent message %u where %u was due", type, want);
		return -EPROTO;
	}
	return 0;
}

int ho_send_status(struct zdk_handover *h, uint32_t type, int32_t status)
{
	uint8_t b[4];

	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)((uint32_t)status >> (8 * i));
	return ho_send_msg(h->sock, type, b, type == MSG_GO ? 0 : 4, NULL, 0,
			ho_deadline_in(h->opts.timeout_ms));
}

/* READY or GO: the peer's status (READY), 0 for GO. */
int ho_recv_status(struct zdk_handover *h, uint32_t type, int32_t *status, uint32_t ms)
{
	uint64_t deadline = ho_deadline_in(ms);
	uint8_t b[4] = { 0 };
	uint32_t len;
	int rc = ho_recv_hdr(h, type, &len, deadline);

	if (rc)
		return rc;
	if (len != (type == MSG_GO ? 0u : 4u))
		return -EPROTO;
	rc = len ? ho_recv_exact(h, b, 4, deadline) : 0;
	*status = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			    (uint32_t)b[3] << 24);
	return rc;
}

/* Serve only our own user, or be served only by it (root may serve anyone's). */
int ho_peer_check(struct zdk_handover *h)
{
	struct ucred cr;
	unsigned len = sizeof(cr);
	int rc = sys_getsockopt(h->sock, SOL_SOCKET, SO_PEERCRED, &cr, &len);

	if (rc)
		return rc;
	h->peer_pid = cr.pid;
	if (cr.uid != geteuid() && cr.uid != 0 && geteuid() != 0) {
		ZDK_ERR("handover: process %d belongs to uid %u, not %u: refused", cr.pid, cr.uid,
			geteuid());
		return -EPERM;
	}
	return 0;
}

int ho_addr_of(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof(a->sun_path)) {
		ZDK_ERR("handover socket path '%s': give a path of 1 to %zu bytes", path ? path : "",
			sizeof(a->sun_path) - 1);
		return -EINVAL;
	}
	memcpy(a->sun_path, path, strlen(path));
	return 0;
}

/* A socket file nobody listens on is stale (a crash): replace it. */
static int unlink_stale(const char *path, const struct sockaddr_un *a)
{
	int fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return fd;
	rc = sys_connect(fd, (const struct sockaddr *)a, sizeof(*a));
	close(fd);
	if (rc == 0) {
		ZDK_ERR("handover socket %s: another process listens there: give this one "
			"another path", path);
		return -EADDRINUSE;
	}
	if (rc == -ECONNREFUSED)
		unlink(path);
	return 0;
}

int zdk_handover_listen(const char *path, const struct zdk_handover_opts *opts,
			struct zdk_handover_listener **out)
{
	struct zdk_handover_listener *l;
	struct sockaddr_un a;
	mode_t old_mask;
	int rc;

	rc = ho_addr_of(path, &a);
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	rc = ho_opts_take(&l->opts, opts);
	if (rc)
		goto err_free;
	memcpy(l->path, a.sun_path, sizeof(l->path));
	rc = unlink_stale(path, &a);
	if (rc)
		goto err_free;
	l->fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		rc = l->fd;
		goto err_free;
	}
	/* Only this user may connect to it. */
	old_mask = umask(0177);
	rc = sys_bind(l->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old_mask);
	if (!rc)
		rc = sys_listen(l->fd, 4);
	if (rc) {
		ZDK_ERR("cannot listen on %s: %s", path, strerror(-rc));
		goto err_close;
	}
	ZDK_INFO("handover: listening on %s", path);
	*out = l;
	return 0;

err_close:
	close(l->fd);
err_free:
	free(l);
	return rc;
}

int zdk_handover_listener_fd(const struct zdk_handover_listener *l)
{
	return l->fd;
}

void zdk_handover_listener_close(struct zdk_handover_listener *l)
{
	if (!l)
		return;
	close(l->fd);
	if (!l->passed && l->path[0])
		unlink(l->path);
	free(l);
}

int zdk_handover_listener_adopt(struct zdk_handover *h, struct zdk_handover_listener **out)
{
	struct zdk_handover_listener *l;
	struct sockaddr_un a;
	unsigned len = sizeof(a);

	if (!h || h->old_side || h->listener_fd < 0)
		return -ENOENT;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	if (getsockname(h->listener_fd, (struct sockaddr *)&a, (socklen_t *)&len) == 0)
		memcpy(l->path, a.sun_path, sizeof(l->path) - 1);
	l->fd = h->listener_fd;
	l->opts = h->opts; /* this process's, from zdk_handover_connect() */
	fcntl(l->fd, F_SETFL, O_NONBLOCK);
	h->listener_fd = -1;
	*out = l;
	return 0;
}
