/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtqueue.h - split virtqueues (virtio v1.1 §2.6), driver side.
 *
 * One descriptor per buffer, no chains on the data path: a stack of free
 * descriptor ids and, per descriptor, the cookie (an mbuf) it carries. Buffers
 * are added with virtq_add(), exposed to the device once per burst with
 * virtq_publish(), and come back through virtq_used_count()/virtq_get().
 * Notifications are suppressed without VIRTIO_F_EVENT_IDX: the device sets
 * VIRTQ_USED_F_NO_NOTIFY while it is processing, and we never ask for
 * interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT) since we poll.
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
	uint64_t publishes;     /* avail->idx updates, about one per burst */
	uint64_t kicks;         /* doorbells: publishes the device asked to hear of */

	/* Control path. */
	void *mem;              /* descriptor table, then avail, then used */
	uint64_t iova;
	size_t avail_off, used_off;
};

int virtq_alloc(struct virtq *vq, uint16_t index, uint16_t size, int socket);
void virtq_free(struct virtq *vq);
void virtq_reset(struct virtq *vq, uint32_t len, uint16_t flags);
int virtq_enable(struct virtq *vq, struct virtio_pci *vp);

/* Descriptors in use (added and not yet returned by virtq_get()). */
static inline uint16_t virtq_inflight(const struct virtq *vq)
{
	return vq->size - vq->nfree;
}

/*
 * Add one buffer; the caller checks nfree > 0 first. The device sees it at
 * the next virtq_publish(). §2.6.13.1-2.
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

/* How many used entries the device has returned that we have not read. */
static inline uint16_t virtq_used_count(struct virtq *vq)
{
	uint16_t n = (uint16_t)(vq->used->idx - vq->used_idx);

	/* The used->idx load before the loads of the entries it covers (§2.6.14). */
	zdk_rmb();
	return n;
}

/*
 * Take the next used entry (virtq_used_count() said there is one): its
 * cookie, and in @len the bytes the device wrote. The id is masked so that
 * a confused device cannot make us index out of the ring. The cookie slot
 * keeps its stale value: virtq_inflight_cookie() knows which are live.
 */
static inline void *virtq_get(struct virtq *vq, uint32_t *len)
{
	volatile struct virtq_used_elem *e = &vq->used->ring[vq->used_idx++ & vq->mask];
	uint16_t id = (uint16_t)e->id & vq->mask;

	*len = e->len;
	vq->free[vq->nfree++] = id;
	return vq->cookie[id];
}

/*
 * Take the next used entry like virtq_get() and give its descriptor straight
 * back to the device with a new buffer at @iova (same len and flags): a
 * receive ring refilled in place, without a trip through the free stack.
 */
static inline void *virtq_swap(struct virtq *vq, uint64_t iova, void *cookie, uint32_t *len)
{
	volatile struct virtq_used_elem *e = &vq->used->ring[vq->used_idx++ & vq->mask];
	uint16_t id = (uint16_t)e->id & vq->mask;
	void *old = vq->cookie[id];

	*len = e->len;
	vq->desc[id].addr = iova;
	vq->cookie[id] = cookie;
	vq->avail->ring[vq->avail_idx++ & vq->mask] = id;
	return old;
}

/* Call @fn on the cookie of every descriptor still with the device. */
void virtq_inflight_foreach(struct virtq *vq, void (*fn)(void *cookie));

#endif /* VIRTQUEUE_H */
