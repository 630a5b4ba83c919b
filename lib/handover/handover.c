/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.c - the handover protocol between an old and a new process over
 * a UNIX stream socket, and the providers (the layers that export and
 * import state) it drives.
 *
 *   new -> old  HELLO  u16 major, u16 minor, u32 pid
 *   old -> new  STATE  the blob (blob.c), the fds with it (SCM_RIGHTS)
 *   new -> old  READY  i32 status: 0 ready to take over, or why not
 *   old -> new  GO     (live: the old process has let go; reset: it has
 *                       closed the devices)
 *
 * Every message is u32 type, u32 length, payload. Until GO the new process
 * writes nothing that the old one uses (device registers, queue memory, the
 * arena); from READY on, the old one touches nothing either. A peer that
 * dies or stays silent past the timeout before that point leaves the old
 * process as it was: it resumes.
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
#include "handover.h"
#include "sys.h"
#include "zdk_log.h"

enum { MSG_HELLO = 1, MSG_STATE = 2, MSG_READY = 3, MSG_GO = 4 };
#define MSG_HDR 8
#define TIMEOUT_MS_DEFAULT 30000
#define RESET_GO_EXTRA_MS 60000 /* the old process shuts its controllers down first */
/* The "handover" section: the listener and the old process. */
#define SECT_SELF "handover"
#define SECT_APP "app"

struct zdk_handover_listener {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct zdk_handover_opts opts;
	bool passed; /* went to a new process with a handover: not unlinked here */
};

enum ho_state {
	HO_OPEN,      /* connected, nothing sent */
	HO_EXPORTED,  /* old: providers exported (resume on failure) */
	HO_RESET_GO,  /* old, reset: GO goes out at close, after zdk_eal_cleanup() */
	HO_DONE,      /* old: handed over; new: committed */
	HO_IMPORTED,  /* new: providers imported (abort on failure) */
	HO_FAILED,    /* new: told the old one it will not take over */
};

struct zdk_handover {
	int sock;
	bool old_side;
	int peer_pid;
	struct zdk_handover_opts opts;
	enum ho_state state;
	enum zdk_handover_mode mode;
	char why[256];
	/* old side */
	struct zdk_handover_listener *listener;
	struct handover_builder b;
	void *app;
	size_t app_len;
	unsigned nexported; /* providers whose export ran */
	/* new side */
	struct hwriter blob;
	struct handover_blob parsed;
	int fds[HANDOVER_MAX_FDS];
	unsigned nfds;
	int listener_fd;
	unsigned nimported;
};

static struct handover_provider *providers;

void handover_provider_register(struct handover_provider *p)
{
	struct handover_provider **pp;

	for (pp = &providers; *pp && (*pp)->order <= p->order; pp = &(*pp)->next)
		;
	p->next = *pp;
	*pp = p;
}

/* The @i-th provider in ascending order, or NULL. */
static struct handover_provider *provider_at(unsigned i)
{
	struct handover_provider *p = providers;

	while (p && i--)
		p = p->next;
	return p;
}

static int opts_take(struct zdk_handover_opts *o, const struct zdk_handover_opts *in)
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

bool handover_provider_known(const char *name)
{
	for (struct handover_provider *p = providers; p; p = p->next)
		if (!strcmp(p->name, name))
			return true;
	return false;
}

uint32_t handover_nfds(const struct zdk_handover *h)
{
	return h->nfds;
}

uint32_t handover_timeout_ms(const struct zdk_handover *h)
{
	return h->opts.timeout_ms;
}

static int wait_io(int fd, short ev, uint64_t deadline)
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

static uint64_t deadline_in(uint32_t ms)
{
	return zdk_time_ns() + (uint64_t)ms * 1000000;
}

/* Send all of @iov's bytes; @fds ride on the first byte. */
static int send_msg(int sock, uint32_t type, const void *p, size_t len, const int *fds,
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
			rc = wait_io(sock, POLLOUT, deadline);
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
static int take_fds(struct zdk_handover *h, struct msghdr *m)
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
static int recv_exact(struct zdk_handover *h, void *buf, size_t len, uint64_t deadline)
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
			rc = wait_io(h->sock, POLLIN, deadline);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		rc = take_fds(h, &m);
		if (rc)
			return rc;
		got += (size_t)n;
	}
	return 0;
}

/* The next message's header; a message of another type than @want is -EPROTO. */
static int recv_hdr(struct zdk_handover *h, uint32_t want, uint32_t *len, uint64_t deadline)
{
	uint8_t hdr[MSG_HDR];
	uint32_t type = 0;
	int rc = recv_exact(h, hdr, MSG_HDR, deadline);

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

static int send_status(struct zdk_handover *h, uint32_t type, int32_t status)
{
	uint8_t b[4];

	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)((uint32_t)status >> (8 * i));
	return send_msg(h->sock, type, b, type == MSG_GO ? 0 : 4, NULL, 0,
			deadline_in(h->opts.timeout_ms));
}

/* READY or GO: the peer's status (READY), 0 for GO. */
static int recv_status(struct zdk_handover *h, uint32_t type, int32_t *status, uint32_t ms)
{
	uint64_t deadline = deadline_in(ms);
	uint8_t b[4] = { 0 };
	uint32_t len;
	int rc = recv_hdr(h, type, &len, deadline);

	if (rc)
		return rc;
	if (len != (type == MSG_GO ? 0u : 4u))
		return -EPROTO;
	rc = len ? recv_exact(h, b, 4, deadline) : 0;
	*status = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			    (uint32_t)b[3] << 24);
	return rc;
}

/* Serve only our own user, or be served only by it (root may serve anyone's). */
static int peer_check(struct zdk_handover *h)
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

static int addr_of(const char *path, struct sockaddr_un *a)
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

	rc = addr_of(path, &a);
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	rc = opts_take(&l->opts, opts);
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

static struct zdk_handover *ho_new(int sock, bool old_side, const struct zdk_handover_opts *o)
{
	struct zdk_handover *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->sock = sock;
	h->old_side = old_side;
	h->opts = *o;
	h->listener_fd = -1;
	return h;
}

static int hello_check(struct zdk_handover *h, uint64_t deadline)
{
	uint8_t b[8];
	uint32_t len;
	uint16_t major;
	int rc = recv_hdr(h, MSG_HELLO, &len, deadline);

	if (!rc && len != sizeof(b))
		rc = -EPROTO;
	if (!rc)
		rc = recv_exact(h, b, sizeof(b), deadline);
	if (rc)
		return rc;
	major = (uint16_t)(b[0] | b[1] << 8);
	if (major != HANDOVER_MAJOR) {
		ZDK_ERR("handover: process %d reads blob version %u.x, this one writes %u.%u: "
			"refused", h->peer_pid, major, HANDOVER_MAJOR, HANDOVER_MINOR);
		return -EPROTO;
	}
	return 0;
}

int zdk_handover_accept(struct zdk_handover_listener *l, struct zdk_handover **out)
{
	struct zdk_handover *h;
	int sock, rc;

	sock = sys_accept4(l->fd, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (sock < 0)
		return sock == -EWOULDBLOCK ? -EAGAIN : sock;
	h = ho_new(sock, true, &l->opts);
	if (!h) {
		close(sock);
		return -ENOMEM;
	}
	h->listener = l;
	rc = peer_check(h);
	if (!rc)
		rc = hello_check(h, deadline_in(h->opts.timeout_ms));
	if (rc) {
		ZDK_WARN("handover: a connection on %s was dropped: %s", l->path, strerror(-rc));
		close(sock);
		free(h);
		return rc;
	}
	ZDK_NOTICE("handover: process %d asks to take over", h->peer_pid);
	*out = h;
	return 0;
}

enum zdk_handover_mode zdk_handover_mode(struct zdk_handover *h)
{
	if (h->mode)
		return h->mode;
	h->mode = ZDK_HANDOVER_LIVE;
	if (h->opts.force_reset) {
		h->mode = ZDK_HANDOVER_RESET;
		snprintf(h->why, sizeof(h->why), "asked for (force_reset)");
	}
	for (struct handover_provider *p = providers; p && h->mode == ZDK_HANDOVER_LIVE; p = p->next)
		if (p->check && p->check(h->why, sizeof(h->why)))
			h->mode = ZDK_HANDOVER_RESET;
	if (h->mode == ZDK_HANDOVER_RESET)
		ZDK_NOTICE("handover: falling back to a reset handover (the old process drains "
			   "and closes, the new one resets the controllers): %s", h->why);
	return h->mode;
}

const char *zdk_handover_reason(struct zdk_handover *h)
{
	zdk_handover_mode(h);
	return h->why;
}

int zdk_handover_pid(const struct zdk_handover *h)
{
	return h->peer_pid;
}

int zdk_handover_app_set(struct zdk_handover *h, const void *data, size_t len)
{
	void *copy;

	if (!h || !h->old_side || (len && !data) || len > HANDOVER_MAX_APP)
		return -EINVAL;
	copy = len ? malloc(len) : NULL;
	if (len && !copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	free(h->app);
	h->app = copy;
	h->app_len = len;
	return 0;
}

int handover_section_add(struct zdk_handover *h, const char *name, uint32_t version,
			 uint32_t flags, const void *data, size_t len)
{
	return handover_builder_section(&h->b, name, version, flags, data, len);
}

int handover_fd_add(struct zdk_handover *h, int fd)
{
	return handover_builder_fd(&h->b, fd);
}

static void resume_all(struct zdk_handover *h)
{
	while (h->nexported) {
		struct handover_provider *p = provider_at(--h->nexported);

		if (p->resume)
			p->resume();
	}
}

static int export_all(struct zdk_handover *h)
{
	struct hwriter self = { 0 };
	int rc = 0;

	for (struct handover_provider *p = providers; p && !rc; p = p->next) {
		rc = p->export ? p->export(h, h->mode) : 0;
		if (rc)
			ZDK_ERR("handover: %s state cannot be handed over (%s): resuming", p->name,
				strerror(-rc));
		else
			h->nexported++;
	}
	if (rc)
		return rc;
	hw_u32(&self, h->listener ? (uint32_t)handover_fd_add(h, h->listener->fd) : HANDOVER_NO_FD);
	hw_u32(&self, (uint32_t)getpid());
	rc = self.err;
	if (!rc)
		rc = handover_section_add(h, SECT_SELF, HANDOVER_VERSION(1, 0), 0, self.buf, self.len);
	if (!rc)
		rc = handover_section_add(h, SECT_APP, HANDOVER_VERSION(1, 0), 0, h->app, h->app_len);
	hw_free(&self);
	return rc;
}

static void release_all(struct zdk_handover *h)
{
	while (h->nexported) {
		struct handover_provider *p = provider_at(--h->nexported);

		if (p->release)
			p->release();
	}
}

/* The new process did not take over: everything stays as it was here. */
static int send_failed(struct zdk_handover *h, const char *what, int rc)
{
	ZDK_ERR("handover: process %d did not take over (%s: %s): resuming", h->peer_pid, what,
		strerror(-rc));
	resume_all(h);
	h->state = HO_OPEN;
	return -ECONNABORTED;
}

int zdk_handover_send(struct zdk_handover *h)
{
	struct hwriter blob;
	int32_t status = 0;
	int rc;

	if (!h || !h->old_side || h->state != HO_OPEN)
		return -EINVAL;
	zdk_handover_mode(h);
	handover_builder_free(&h->b);
	rc = export_all(h);
	if (!rc)
		rc = handover_blob_finish(&h->b, h->mode, &blob);
	if (rc) {
		resume_all(h);
		return rc;
	}
	h->state = HO_EXPORTED;
	rc = send_msg(h->sock, MSG_STATE, blob.buf, blob.len, h->b.fds, h->b.nfds,
		      deadline_in(h->opts.timeout_ms));
	hw_free(&blob);
	if (rc)
		return send_failed(h, "sending the state", rc);
	rc = recv_status(h, MSG_READY, &status, h->opts.timeout_ms);
	if (rc)
		return send_failed(h, "waiting for it to be ready", rc);
	if (status < 0)
		return send_failed(h, "it refused", status);
	if (h->listener)
		h->listener->passed = true;
	if (h->mode == ZDK_HANDOVER_RESET) {
		/* Nothing to resume or release: the application closes everything. */
		h->nexported = 0;
		h->state = HO_RESET_GO;
		ZDK_NOTICE("handover: process %d is ready: close everything (zdk_eal_cleanup()), "
			   "then zdk_handover_close() lets it start", h->peer_pid);
		return 0;
	}
	/* From here on this process must not touch what it handed over. */
	release_all(h);
	h->state = HO_DONE;
	rc = send_status(h, MSG_GO, 0);
	if (rc)
		ZDK_ERR("handover: process %d was ready but cannot be told to go (%s): the "
			"devices are left as they are, and the next start resets them", h->peer_pid,
			strerror(-rc));
	else
		ZDK_NOTICE("handover: handed over to process %d", h->peer_pid);
	return 0;
}

static void abort_all(struct zdk_handover *h)
{
	while (h->nimported) {
		struct handover_provider *p = provider_at(--h->nimported);

		if (p->abort)
			p->abort();
	}
}

void handover_abort_all(struct zdk_handover *h)
{
	abort_all(h);
}

/* New side: tell the old process this one will not take over (it resumes). */
static int refuse(struct zdk_handover *h, int rc)
{
	abort_all(h);
	if (h->state != HO_FAILED && h->state != HO_DONE)
		send_status(h, MSG_READY, rc < 0 ? rc : -EPROTO);
	h->state = HO_FAILED;
	return rc;
}

static int self_parse(struct zdk_handover *h)
{
	const struct handover_section *s = handover_section_get(h, SECT_SELF);
	struct hreader r;
	uint32_t fd;

	if (!s)
		return 0;
	hr_init(&r, s->data, s->len);
	fd = hr_u32(&r);
	hr_u32(&r); /* the old pid: SO_PEERCRED says it */
	if (r.bad || (fd != HANDOVER_NO_FD && fd >= h->nfds)) {
		ZDK_ERR("handover blob refused: the listener's fd index");
		return -EBADMSG;
	}
	if (fd != HANDOVER_NO_FD)
		h->listener_fd = handover_fd_take(h, fd);
	return 0;
}

static int state_recv(struct zdk_handover *h)
{
	uint64_t deadline = deadline_in(h->opts.timeout_ms);
	uint32_t len;
	int rc = recv_hdr(h, MSG_STATE, &len, deadline);

	if (rc)
		return rc;
	if (len < HANDOVER_HDR_SIZE || len > HANDOVER_MAX_BLOB) {
		ZDK_ERR("handover blob refused: %u bytes", len);
		return -EBADMSG;
	}
	h->blob.buf = malloc(len);
	if (!h->blob.buf)
		return -ENOMEM;
	h->blob.len = h->blob.cap = len;
	rc = recv_exact(h, h->blob.buf, len, deadline);
	if (rc)
		return rc;
	rc = handover_blob_parse(h->blob.buf, len, h->nfds, &h->parsed);
	if (rc)
		return rc;
	h->mode = (enum zdk_handover_mode)h->parsed.mode;
	return self_parse(h);
}

int zdk_handover_connect(const char *path, const struct zdk_handover_opts *opts,
			 struct zdk_handover **out)
{
	struct zdk_handover_opts o;
	struct zdk_handover *h;
	struct sockaddr_un a;
	uint8_t hello[8] = { HANDOVER_MAJOR, 0, HANDOVER_MINOR, 0 };
	uint32_t pid = (uint32_t)getpid();
	int sock, rc;

	rc = opts_take(&o, opts);
	if (!rc)
		rc = addr_of(path, &a);
	if (rc)
		return rc;
	/* What need not wait for the state happens before the old process stops:
	 * the TSC calibration (20 ms) would otherwise be part of the pause. */
	zdk_tsc_hz();
	sock = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return sock;
	rc = sys_connect(sock, (struct sockaddr *)&a, sizeof(a));
	if (rc) {
		ZDK_ERR("cannot connect to %s: %s%s", path, strerror(-rc),
			rc == -ENOENT || rc == -ECONNREFUSED ? " (is the old process listening there?)"
							      : "");
		close(sock);
		return rc;
	}
	fcntl(sock, F_SETFL, O_NONBLOCK);
	h = ho_new(sock, false, &o);
	if (!h) {
		close(sock);
		return -ENOMEM;
	}
	memcpy(hello + 4, &pid, 4);
	rc = peer_check(h);
	if (!rc)
		rc = send_msg(sock, MSG_HELLO, hello, sizeof(hello), NULL, 0,
			      deadline_in(o.timeout_ms));
	if (!rc)
		rc = state_recv(h);
	if (rc) {
		ZDK_ERR("handover from %s failed: %s", path, strerror(-rc));
		refuse(h, rc);
		zdk_handover_close(h);
		return rc;
	}
	ZDK_NOTICE("handover: state received from process %d (%s, %u fds)", h->peer_pid,
		   h->mode == ZDK_HANDOVER_LIVE ? "live" : "reset", h->nfds);
	*out = h;
	return 0;
}

const struct handover_section *handover_section_get(struct zdk_handover *h, const char *name)
{
	for (uint32_t i = 0; i < h->parsed.nsections; i++)
		if (!strcmp(h->parsed.sect[i].name, name)) {
			h->parsed.sect[i].used = true;
			return &h->parsed.sect[i];
		}
	return NULL;
}

int handover_fd_take(struct zdk_handover *h, uint32_t index)
{
	int fd;

	if (index >= h->nfds || h->fds[index] < 0)
		return -EBADF;
	fd = h->fds[index];
	h->fds[index] = -1;
	return fd;
}

int zdk_handover_app_get(struct zdk_handover *h, const void **data, size_t *len)
{
	const struct handover_section *s;

	if (!h || h->old_side)
		return -EINVAL;
	s = handover_section_get(h, SECT_APP);
	*data = s ? s->data : NULL;
	*len = s ? s->len : 0;
	return 0;
}

/* Sections the old process marked required must each have found a reader. */
static int required_check(struct zdk_handover *h)
{
	for (uint32_t i = 0; i < h->parsed.nsections; i++) {
		const struct handover_section *s = &h->parsed.sect[i];

		if ((s->flags & HANDOVER_SECT_REQUIRED) && !s->used) {
			ZDK_ERR("handover: the old process hands over '%s' (version %u.%u), which "
				"this process cannot take over (is that driver linked in?)", s->name,
				s->version >> 16, s->version & 0xffff);
			return -EPROTONOSUPPORT;
		}
	}
	return 0;
}

int handover_import_all(struct zdk_handover *h)
{
	int rc = 0;

	if (h->old_side || h->state != HO_OPEN || h->mode != ZDK_HANDOVER_LIVE)
		return -EINVAL;
	for (struct handover_provider *p = providers; p && !rc; p = p->next) {
		rc = p->import ? p->import(h) : 0;
		if (rc)
			ZDK_ERR("handover: taking over the %s state failed (%s)", p->name,
				strerror(-rc));
		else
			h->nimported++;
	}
	if (!rc)
		rc = required_check(h);
	if (rc)
		return refuse(h, rc);
	h->state = HO_IMPORTED;
	return 0;
}

int handover_reset_wait_go(struct zdk_handover *h)
{
	int32_t status;
	int rc;

	if (h->old_side || h->state != HO_OPEN || h->mode != ZDK_HANDOVER_RESET)
		return -EINVAL;
	rc = send_status(h, MSG_READY, 0);
	if (!rc)
		rc = recv_status(h, MSG_GO, &status, h->opts.timeout_ms + RESET_GO_EXTRA_MS);
	h->state = rc ? HO_FAILED : HO_DONE;
	if (rc)
		ZDK_ERR("handover: process %d did not close its devices (%s): if it is gone, "
			"start again without a handover", h->peer_pid, strerror(-rc));
	return rc ? -ECONNABORTED : 0;
}

int zdk_handover_commit(struct zdk_handover *h)
{
	int32_t status;
	int rc = 0;

	if (!h || h->old_side)
		return -EINVAL;
	if (h->mode == ZDK_HANDOVER_RESET)
		return h->state == HO_DONE ? 0 : -ECONNABORTED;
	if (h->state != HO_IMPORTED)
		return h->state == HO_DONE ? 0 : -EINVAL;
	for (struct handover_provider *p = providers; p && !rc; p = p->next)
		rc = p->ready ? p->ready() : 0;
	if (rc)
		return refuse(h, rc);
	rc = send_status(h, MSG_READY, 0);
	if (!rc)
		rc = recv_status(h, MSG_GO, &status, h->opts.timeout_ms);
	if (rc) {
		ZDK_ERR("handover: process %d did not let go (%s): nothing is taken over", h->peer_pid,
			strerror(-rc));
		abort_all(h);
		h->state = HO_FAILED;
		return rc == -ETIMEDOUT ? rc : -ECONNABORTED;
	}
	for (struct handover_provider *p = providers; p; p = p->next)
		if (p->commit)
			p->commit();
	h->nimported = 0;
	h->state = HO_DONE;
	ZDK_NOTICE("handover: took over from process %d", h->peer_pid);
	return 0;
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

void zdk_handover_close(struct zdk_handover *h)
{
	if (!h)
		return;
	if (h->old_side && h->state == HO_RESET_GO) {
		if (send_status(h, MSG_GO, 0) == 0)
			ZDK_NOTICE("handover: process %d may start", h->peer_pid);
	} else if (h->old_side && h->state == HO_EXPORTED) {
		resume_all(h);
	} else if (!h->old_side && h->state != HO_DONE) {
		refuse(h, -ECANCELED);
	}
	close(h->sock);
	for (unsigned i = 0; i < h->nfds; i++)
		if (h->fds[i] >= 0)
			close(h->fds[i]);
	if (h->listener_fd >= 0)
		close(h->listener_fd);
	handover_builder_free(&h->b);
	hw_free(&h->blob);
	free(h->app);
	free(h);
}
