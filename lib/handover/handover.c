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
#include "handover_private.h"
#include "sys.h"
#include "zdk_log.h"

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
	int rc = ho_recv_hdr(h, MSG_HELLO, &len, deadline);

	if (!rc && len != sizeof(b))
		rc = -EPROTO;
	if (!rc)
		rc = ho_recv_exact(h, b, sizeof(b), deadline);
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
	rc = ho_peer_check(h);
	if (!rc)
		rc = hello_check(h, ho_deadline_in(h->opts.timeout_ms));
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
	rc = ho_send_msg(h->sock, MSG_STATE, blob.buf, blob.len, h->b.fds, h->b.nfds,
		      ho_deadline_in(h->opts.timeout_ms));
	hw_free(&blob);
	if (rc)
		return send_failed(h, "sending the state", rc);
	rc = ho_recv_status(h, MSG_READY, &status, h->opts.timeout_ms);
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
	rc = ho_send_status(h, MSG_GO, 0);
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
		ho_send_status(h, MSG_READY, rc < 0 ? rc : -EPROTO);
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
	uint64_t deadline = ho_deadline_in(h->opts.timeout_ms);
	uint32_t len;
	int rc = ho_recv_hdr(h, MSG_STATE, &len, deadline);

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
	rc = ho_recv_exact(h, h->blob.buf, len, deadline);
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

	rc = ho_opts_take(&o, opts);
	if (!rc)
		rc = ho_addr_of(path, &a);
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
	rc = ho_peer_check(h);
	if (!rc)
		rc = ho_send_msg(sock, MSG_HELLO, hello, sizeof(hello), NULL, 0,
			      ho_deadline_in(o.timeout_ms));
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
	rc = ho_send_status(h, MSG_READY, 0);
	if (!rc)
		rc = ho_recv_status(h, MSG_GO, &status, h->opts.timeout_ms + RESET_GO_EXTRA_MS);
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
	rc = ho_send_status(h, MSG_READY, 0);
	if (!rc)
		rc = ho_recv_status(h, MSG_GO, &status, h->opts.timeout_ms);
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

void zdk_handover_close(struct zdk_handover *h)
{
	if (!h)
		return;
	if (h->old_side && h->state == HO_RESET_GO) {
		if (ho_send_status(h, MSG_GO, 0) == 0)
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
