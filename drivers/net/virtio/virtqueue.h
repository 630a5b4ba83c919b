/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtqueue.h - split virtqueues (virtio v1.1 §2.6), driver side.
 *
 * Mostly one descriptor per buffer: a stack of free descriptor ids and, per
 * descriptor, the cookie (an mbuf) it carries, NULL while the descriptor is
 * free. Buffers are added with virtq_add(), exposed to the device once per
 * burst with virtq_publish(), and come back through virtq_used_count() and
 * virtq_get().
 *
 * The used ring is written by the device, so nothing read from it is
 * trusted (README.md, "A device that lies"): virtq_used_count() refuses a
 * used->idx that claims more entries than there are descriptors in flight
 * and then marks the queue broken until the next reset; virtq_get() drops an
 * entry whose id is out of range or not in flight (a duplicate), so a buffer
 * is never freed or handed out twice and no array is indexed out of range.
 * Notifications are suppressed without VIRTIO_F_EVENT_IDX: the device sets
 * VIRTQ_USED_F_NO_NOTIFY while it is processing, and a queue keeps
 * VIRTQ_AVAIL_F_NO_INTERRUPT set (§2.6.7) while it is polled: only an rx
 * queue whose owner is about to sleep clears it (virtq_intr_arm()).
 *
 * In order (vq->in_order, the state after a reset): avail slot k always
 * names descriptor k, buffers are posted in slot order, and the data path
 * expects used entry k to name descriptor k too, as a device that uses
 * buffers in order (QEMU's virtio-net, vhost) returns them. Then posting is
 * a descriptor write and taking a buffer is one compare of the used id
 * with the slot: the descriptors in flight are exactly the slots from
 * used_idx to avail_idx, so that compare alone proves the id in range, in
 * flight and not returned before. The first entry that names any other
 * descriptor (legal: §2.6.8 lets a device return buffers in any order), and
 * a chain, switch the queue to the general form (virtq_generic()): the free
 * stack and per-descriptor checks above. A queue that has every
 * descriptor back may return to in order (virtq_in_order()). In the general
 * form a descriptor's cookie is non-NULL exactly while it is in flight; in
 * order, cookies are left as they are when buffers come back (a store per
 * packet saved), and the slots from used_idx to avail_idx say which are in
 * flight (virtq_desc_inflight()).
 */
#ifndef VIRTQUEUE_H
#define VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "zdk_common.h"
#include "virtio_pci.h"

/* §2.6.5 */
struct virtq_desc {
	uint64_t addr; /* IOVA */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

/* §2.6.6 */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* §2.6.8 */
struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq {
	/* The data path reads only this first part. */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	volatile struct virtq_used *used;
	void **cookie;          /* per descriptor id: what it carries */
	uint16_t *free;         /* stack of free descriptor ids */
	uint16_t nfree;
	uint16_t mask;          /* size - 1 */
	uint16_t avail_idx;     /* next avail->idx to publish */
	uint16_t used_idx;      /* next used entry to read */
	volatile uint16_t *notify;
	uint16_t index;         /* queue number, the value written to notify */
	uint16_t size;
	bool broken;            /* the device lied about used->idx: ignore it until reset */
	bool in_order;          /* descriptor = avail slot = used slot (see above) */
	uint64_t publishes;     /* avail->idx updates, about one per burst */
	uint64_t kicks;         /* doorbells: publishes the device asked to hear of */
	uint64_t errors;        /* used entries dropped, plus the lie that broke the queue */

	/* Control path. */
	const char *owner;      /* for messages, e.g. the port's name */
	void *mem;              /* descriptor table, then avail, then used */
	uint64_t iova;
	size_t avail_off, used_off;
	uint16_t msix_vector;   /* asked for at virtq_enable(), then what the device took */
};

int virtq_alloc(struct virtq *vq, uint16_t index, uint16_t size, int socket);
void virtq_free(struct virtq *vq);
void virtq_reset(struct virtq *vq, uint32_t len, uint16_t flags);
int virtq_enable(struct virtq *vq, struct virtio_pci *vp);
uint16_t virtq_used_bad(struct virtq *vq, uint16_t n);
void virtq_generic(struct virtq *vq);
void virtq_in_order(struct virtq *vq);

/*
 * The cookie of a descriptor that is in flight as the second link of a chain
 * the driver built: never a buffer the device may return by itself.
 */
#define VIRTQ_COOKIE_CHAINED ((void *)1)

/* Whether descriptor @id is in flight: its cookie is then what it carries. */
static inline bool virtq_desc_inflight(const struct virtq *vq, uint16_t id)
{
	if (vq->in_order)
		return (uint16_t)((id - vq->used_idx) & vq->mask) <
		       (uint16_t)(vq->avail_idx - vq->used_idx);
	return vq->cookie[id] != NULL;
}

/* Descriptors in use (added and not yet returned by virtq_get()). */
static inline uint16_t virtq_inflight(const struct virtq *vq)
{
	return vq->size - vq->nfree;
}

/*
 * Add one buffer to a queue in its general form (not in order); the caller
 * checks nfree > 0 first. The device sees it at the next virtq_publish().
 * §2.6.13.1-2.
 *
 * On the data path, callers work on a local copy of the virtq and write
 * avail_idx, used_idx and nfree back after the burst: stores to the rings
 * may alias *vq as far as the compiler knows, a local copy cannot.
 */
static inline uint16_t virtq_add_fixed(struct virtq *vq, uint64_t iova, void *cookie)
{
	uint16_t id = vq->free[--vq->nfree];

	/* len and flags are those virtq_reset() gave every descriptor. */
	vq->desc[id].addr = iova;
	vq->cookie[id] = cookie;
	vq->avail->ring[vq->avail_idx++ & vq->mask] = id;
	return id;
}

static inline void virtq_add(struct virtq *vq, uint64_t iova, uint32_t len, void *cookie)
{
	vq->desc[virtq_add_fixed(vq, iova, cookie)].len = len;
}

/*
 * Expose the buffers added since the last call (§2.6.13.3) and say whether
 * the device wants a notification (§2.6.13.4 without VIRTIO_F_EVENT_IDX).
 */
static inline bool virtq_publish(struct virtq *vq)
{
	/* The descriptors and avail ring entries before the avail->idx store. */
	zdk_wmb();
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
	vq->publishes++;
	/*
	 * The avail->idx store before the used->flags load: the device clears
	 * NO_NOTIFY and then rechecks avail->idx, so one of us sees the other.
	 */
	zdk_mb();
	return !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

/* §4.1.5.2: write the queue index to the queue's doorbell. */
static inline void virtq_notify(struct virtq *vq)
{
	virtio_mmio_write16(vq->notify, vq->index);
	vq->kicks++;
}

/*
 * How many used entries the device has returned that we have not read. A
 * device returns each buffer once (§2.6.8.1), so more new entries than
 * descriptors in flight is a lie (over-reported, or a used->idx gone
 * backwards): virtq_used_bad() then marks the queue broken and it answers 0
 * until virtq_reset(). Call it on the queue itself, not on a burst's local
 * copy, so that the mark sticks.
 */
static inline uint16_t virtq_used_count(struct virtq *vq)
{
	uint16_t n = (uint16_t)(vq->used->idx - vq->used_idx);

	/* The used->idx load before the loads of the entries it covers (§2.6.14). */
	zdk_rmb();
	if (zdk_unlikely(n > (uint16_t)(vq->size - vq->nfree) || vq->broken))
		return virtq_used_bad(vq, n);
	return n;
}

/*
 * Take the next used entry (virtq_used_count() said there is one): its
 * cookie, and in @len the bytes the device wrote; the descriptor is free
 * again. NULL if the entry names no descriptor in flight: an id beyond the
 * ring, one already returned (a duplicate, or a stale entry), or the second
 * link of a chain. The caller drops such an entry and counts it.
 */
static inline void *virtq_get(struct virtq *vq, uint32_t *len)
{
	volatile struct virtq_used_elem *e = &vq->used->ring[vq->used_idx++ & vq->mask];
	uint32_t id = e->id; /* read once: the device may rewrite it */
	void *c;

	*len = e->len;
	if (zdk_unlikely(id > vq->mask))
		return NULL;
	c = vq->cookie[id];
	if (zdk_unlikely((uintptr_t)c <= (uintptr_t)VIRTQ_COOKIE_CHAINED))
		return NULL;
	vq->cookie[id] = NULL;
	vq->free[vq->nfree++] = (uint16_t)id;
	return c;
}

/*
 * The data path works on a local copy of the virtq (see virtq_add()): store
 * back what a burst changes.
 */
static inline void virtq_sync(struct virtq *vq, const struct virtq *q)
{
	vq->used_idx = q->used_idx;
	vq->avail_idx = q->avail_idx;
	vq->nfree = q->nfree;
}

/*
 * Ask for used buffer notifications (§2.6.7.1, without VIRTIO_F_EVENT_IDX):
 * clear VIRTQ_AVAIL_F_NO_INTERRUPT, then look at the used ring once more.
 * Return whether an entry is already there: it may have come before the
 * device saw the flag clear, and then no interrupt tells of it. A broken
 * queue answers false: it receives nothing until it is reset.
 */
static inline bool virtq_intr_arm(struct virtq *vq)
{
	*(volatile uint16_t *)&vq->avail->flags = 0;
	/*
	 * The flags store before the used->idx load: the device stores
	 * used->idx and then loads the flags, so one of us sees the other.
	 */
	zdk_mb();
	return !vq->broken && vq->used->idx != vq->used_idx;
}

/* Suppress them again (VIRTQ_AVAIL_F_NO_INTERRUPT): the owner polls. */
static inline void virtq_intr_disarm(struct virtq *vq)
{
	*(volatile uint16_t *)&vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/*
 * Call @fn on the cookie of every descriptor still with the device (the
 * chained ones included) and forget them: the device was reset or never saw
 * them.
 */
void virtq_inflight_foreach(struct virtq *vq, void (*fn)(void *cookie));

#endif /* VIRTQUEUE_H */
