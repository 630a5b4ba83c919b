/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_handover.h - live handover: a new process takes over a running
 * process's memory and devices with no reset and no failed I/O.
 *
 * The old process listens on a UNIX socket. When a new process connects,
 * the old one stops submitting at a command boundary (commands already
 * submitted stay in flight) and sends, with SCM_RIGHTS, the iommufd, the
 * VFIO device fds, the arena's hugetlbfs or memfd files and a versioned
 * state blob: the arena's layout and heap, the IOAS, each NVMe controller's
 * registers of record, queues, heads, tails, phases and in-flight command
 * ids, and an application section. The new process maps the arena at the
 * same virtual and IO virtual addresses, moves the pinned-page accounting to
 * itself (IOMMU_IOAS_CHANGE_PROCESS), rebuilds the queues without touching
 * CC, and says READY; the old process lets go of everything (never touching
 * the device again) and says GO; the new process reaps the completions of
 * the commands the old one submitted and carries on. doc/handover.md has
 * the protocol, the blob format and its version rule.
 *
 * Old process:
 *	zdk_handover_listen(path, NULL, &l);
 *	... in the poll loop, now and then:
 *	if (zdk_handover_accept(l, &h) == 0) {
 *		stop submitting; if zdk_handover_mode(h) == ZDK_HANDOVER_RESET, drain;
 *		zdk_nvme_qpair_handover_set(qp, &ops);     (how in-flight commands are named)
 *		zdk_handover_app_set(h, state, len);
 *		if (zdk_handover_send(h) == 0) { free your memory; zdk_eal_cleanup();
 *						  zdk_handover_close(h); exit(0); }
 *		zdk_handover_close(h);                     (the new one did not take over: resume)
 *	}
 * New process:
 *	zdk_handover_connect(path, NULL, &h);
 *	zdk_eal_init_takeover(argc, argv, h);          (instead of zdk_eal_init())
 *	zdk_handover_app_get(h, &state, &len);
 *	zdk_nvme_qpair_inherit(ctrlr, qid, &ops, &qp);  (live mode: each inherited qpair)
 *	zdk_handover_commit(h);                        (from here on the devices are this one's)
 *	zdk_handover_listener_adopt(h, &l);            (optional: keep listening on the same socket)
 *	zdk_handover_close(h);
 *
 * A live handover needs iommufd with the arena mapped by IOMMU_IOAS_MAP_FILE
 * (Linux 6.13+), or no IOMMU and no device at all. Anything else (type1, an
 * arena mapped with IOMMU_IOAS_MAP, zdk_dma_map()ped anonymous memory, the
 * no-IOMMU mode) gives a reset handover, which zdk_handover_mode() reports
 * with the reason logged: the old process drains its I/O and closes
 * everything, then the new one starts as after a restart (controller reset).
 */
#ifndef ZDK_HANDOVER_H
#define ZDK_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zdk_handover;
struct zdk_handover_listener;

/** What a handover carries over (zdk_handover_mode()). */
enum zdk_handover_mode {
	ZDK_HANDOVER_LIVE = 1,  /* devices stay up; in-flight commands complete in the new process */
	ZDK_HANDOVER_RESET = 2, /* the old process drains and closes; the new one starts afresh */
};

/**
 * struct zdk_handover_opts - options of either side.
 * @size: sizeof(struct zdk_handover_opts), as the caller was built.
 * @timeout_ms: how long each step waits for the peer; 0 = 30000.
 * @force_reset: old side: a reset handover even where a live one is possible
 *               (for comparison, or to change zdk versions in a way the blob
 *               cannot carry).
 */
struct zdk_handover_opts {
	size_t size;
	uint32_t timeout_ms;
	bool force_reset;
};

/**
 * zdk_handover_listen() - the old process: listen for a new one on @path.
 * @path: a UNIX socket path (created mode 0600; a stale socket is replaced).
 * @opts: options, or NULL for the defaults.
 * @l: set to the listener.
 *
 * Only a process of the same user (or root) is served.
 * Return: 0, -EINVAL (path too long, bad opts), -EADDRINUSE (another
 * process listens there), or the kernel's error.
 */
ZDK_EXPORT int zdk_handover_listen(const char *path, const struct zdk_handover_opts *opts,
				   struct zdk_handover_listener **l);

/**
 * zdk_handover_listener_fd() - the listening socket, for poll(): readable
 * when a new process is waiting. It stays zdk's: do not close it.
 */
ZDK_EXPORT int zdk_handover_listener_fd(const struct zdk_handover_listener *l);

/**
 * zdk_handover_listener_close() - stop listening, and remove the socket
 * unless it went to a new process with a handover. NULL is ignored.
 */
ZDK_EXPORT void zdk_handover_listener_close(struct zdk_handover_listener *l);

/**
 * zdk_handover_accept() - the old process: take a waiting new process, if
 * any (never blocks for long: a peer that connected must say hello within
 * the timeout).
 * @l: the listener.
 * @h: set to the handover.
 *
 * Return: 0, -EAGAIN when nobody is waiting, -EPERM for a peer of another
 * user, -EPROTO for a peer that speaks another protocol (logged), or the
 * kernel's error.
 */
ZDK_EXPORT int zdk_handover_accept(struct zdk_handover_listener *l, struct zdk_handover **h);

/**
 * zdk_handover_mode() - live or reset. On the old side it is decided by what
 * this process runs on (and opts.force_reset), and the reason for a reset
 * handover is logged once; on the new side it is what the old one sent.
 */
ZDK_EXPORT enum zdk_handover_mode zdk_handover_mode(struct zdk_handover *h);

/**
 * zdk_handover_reason() - why the handover is a reset one ("" for a live one).
 */
ZDK_EXPORT const char *zdk_handover_reason(struct zdk_handover *h);

/**
 * zdk_handover_app_set() - the old process: the application's own state,
 * copied into the blob (at most 256 MiB). Arena memory keeps its address
 * and content across a live handover: large state can stay there and
 * travel as pointers.
 * Return: 0, -EINVAL, -ENOMEM.
 */
ZDK_EXPORT int zdk_handover_app_set(struct zdk_handover *h, const void *data, size_t len);

/**
 * zdk_handover_send() - the old process: hand everything over.
 * @h: from zdk_handover_accept(), after submission stopped.
 *
 * Live: sends the state and the fds and waits for the new process; when it
 * is ready, lets go of the devices, the IOMMU and the arena (which becomes
 * inaccessible here; zdk_dma_free() is then a no-op, zdk_nvme_qpair_free()
 * frees host memory only) and tells it to go. Reset: every command must be
 * drained first; sends the state and waits for the new process to be ready;
 * zdk_handover_close(), after zdk_eal_cleanup(), lets it start.
 * Return: 0 (free your host memory, zdk_eal_cleanup(), zdk_handover_close(),
 * exit), or, with everything left as it was (resume): -EBUSY (a command the
 * blob cannot carry is in flight: poll and retry; logged), -EINVAL (a qpair
 * with commands in flight has no tag function), -ECONNABORTED (the new
 * process refused, died or timed out; its reason logged), -ENOMEM.
 */
ZDK_EXPORT int zdk_handover_send(struct zdk_handover *h);

/**
 * zdk_handover_connect() - the new process: connect to the old one on
 * @path and receive its state and fds. Call it before zdk_eal_init_takeover()
 * and before mapping much memory: the arena must find its old addresses
 * free in this process.
 * Return: 0, -ENOENT/-ECONNREFUSED (nobody listens there), -EBADMSG (a
 * corrupted or truncated blob), -EPROTO (another blob version: logged),
 * -ETIMEDOUT, -ECONNABORTED, -ENOMEM.
 */
ZDK_EXPORT int zdk_handover_connect(const char *path, const struct zdk_handover_opts *opts,
				    struct zdk_handover **h);

/**
 * zdk_handover_app_get() - the new process: the application section, 8-byte
 * aligned, valid until zdk_handover_close().
 * Return: 0 (*@len 0 when the old process set none), -EINVAL.
 */
ZDK_EXPORT int zdk_handover_app_get(struct zdk_handover *h, const void **data, size_t *len);

/**
 * zdk_handover_commit() - the new process: tell the old one it is ready and
 * wait for it to let go. Before this, nothing of the device or the arena
 * may be written (zdk_dma_zalloc() returns NULL). Live: every inherited
 * qpair with commands in flight must be claimed (zdk_nvme_qpair_inherit()).
 * Reset: nothing to do (zdk_eal_init_takeover() did it).
 * Return: 0 (the devices are this process's), -EBUSY (an inherited qpair
 * with commands in flight is not claimed: logged; the old one resumes),
 * -ECONNABORTED or -ETIMEDOUT (the old process did not let go: everything
 * taken over is dropped without a device write; zdk_eal_cleanup() and exit).
 */
ZDK_EXPORT int zdk_handover_commit(struct zdk_handover *h);

/**
 * zdk_handover_listener_adopt() - the new process: the old one's listening
 * socket, to hand over again later on the same path with no gap (with the
 * options given to zdk_handover_connect()).
 * Return: 0, -ENOENT when the old process sent none.
 */
ZDK_EXPORT int zdk_handover_listener_adopt(struct zdk_handover *h,
					   struct zdk_handover_listener **l);

/**
 * zdk_handover_pid() - the peer's process id.
 */
ZDK_EXPORT int zdk_handover_pid(const struct zdk_handover *h);

/**
 * zdk_handover_close() - end the handover. Old side, reset mode: call it
 * after zdk_eal_cleanup(): it tells the new process that the devices are
 * free. A handover not sent or not committed is abandoned: the peer
 * resumes (old side) or drops what it took (new side). NULL is ignored.
 */
ZDK_EXPORT void zdk_handover_close(struct zdk_handover *h);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_HANDOVER_H */
