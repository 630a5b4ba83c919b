/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover_private.h - lib/handover's own: the objects, and the messages
 * (msg.c) that handover.c's protocol is made of. Private to lib/handover.
 */
#ifndef ZDK_HANDOVER_PRIVATE_H
#define ZDK_HANDOVER_PRIVATE_H

#include <sys/un.h>

#include "handover.h"

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

int ho_opts_take(struct zdk_handover_opts *o, const struct zdk_handover_opts *in);
uint64_t ho_deadline_in(uint32_t ms);
int ho_wait_io(int fd, short ev, uint64_t deadline);
/* A message: u32 type, u32 length, payload; @fds ride on its first byte. */
int ho_send_msg(int sock, uint32_t type, const void *p, size_t len, const int *fds,
		unsigned nfds, uint64_t deadline);
/* Exactly @len bytes, keeping the fds that come with them; EOF is -ECONNRESET. */
int ho_recv_exact(struct zdk_handover *h, void *buf, size_t len, uint64_t deadline);
/* The next header; another type than @want is -EPROTO. */
int ho_recv_hdr(struct zdk_handover *h, uint32_t want, uint32_t *len, uint64_t deadline);
/* READY (with @status) or GO. */
int ho_send_status(struct zdk_handover *h, uint32_t type, int32_t status);
int ho_recv_status(struct zdk_handover *h, uint32_t type, int32_t *status, uint32_t ms);
/* Our own user, or root, only; sets h->peer_pid. */
int ho_peer_check(struct zdk_handover *h);
int ho_addr_of(const char *path, struct sockaddr_un *a);

#endif /* ZDK_HANDOVER_PRIVATE_H */
