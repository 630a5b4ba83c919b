/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtqueue.c - split virtqueue memory (virtio v1.1 §2.6): allocation from
 * the DMA arena, reset, and handing the ring's IOVAs to the device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "virtio"
#include "zdk_log.h"
#include "zdk_mem.h"
#include "virtqueue.h"

/* §2.6: the avail and used rings end with a 16-bit event field. */
static size_t avail_len(uint16_t size)
{
	return sizeof(struct virtq_avail) + (size_t)size * sizeof(uint16_t) + sizeof(uint16_t);
}

static size_t used_len(uint16_t size)
{
	return sizeof(struct virtq_used) + (size_t)size * sizeof(struct virtq_used_elem) +
	       sizeof(uint16_t);
}

/*
 * §2.6: descriptor table (16-byte aligned), avail ring (2), used ring (4),
 * in one IOVA-contiguous block. The used ring, written by the device, gets
 * its own cache lines.
 */
int virtq_alloc(struct virtq *vq, uint16_t index, uint16_t size, int socket)
{
	size_t avail_off = (size_t)size * sizeof(struct virtq_desc);
	size_t used_off = ZDK_ALIGN_UP(avail_off + avail_len(size), ZDK_CACHE_LINE);
	size_t len = used_off + used_len(size);

	memset(vq, 0, sizeof(*vq));
	if (!ZDK_IS_POW2(size))
		return -EINVAL;
	vq->mem = zdk_dma_zalloc(len, 4096, socket, &vq->iova);
	vq->cookie = calloc(size, sizeof(*vq->cookie));
	vq->free = calloc(size, sizeof(*vq->free));
	if (!vq->mem || !vq->cookie || !vq->free) {
		ZDK_ERR("virtqueue %u: no memory for %u entries (%zu bytes of DMA memory)",
			index, size, len);
		virtq_free(vq);
		return -ENOMEM;
	}
	vq->index = index;
	vq->size = size;
	vq->mask = size - 1;
	vq->avail_off = avail_off;
	vq->used_off = used_off;
	vq->desc = vq->mem;
	vq->avail = (struct virtq_avail *)((char *)vq->mem + avail_off);
	vq->used = (volatile struct virtq_used *)((char *)vq->mem + used_off);
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	virtq_reset(vq, 0, 0);
	return 0;
}

/* Free the ring; the caller has dealt with the cookies. NULL-safe. */
void virtq_free(struct virtq *vq)
{
	if (!vq)
		return;
	zdk_dma_free(vq->mem);
	free(vq->cookie);
	free(vq->free);
	memset(vq, 0, sizeof(*vq));
}

/*
 * Empty ring, all descriptors free, indexes at 0: the state a device expects
 * after its reset. Every descriptor gets @len and @flags, which the data path
 * then leaves alone (virtq_add_fixed()). The caller has dealt with the
 * cookies (virtq_inflight_foreach()); errors are kept, they are the port's
 * counters.
 */
void virtq_reset(struct virtq *vq, uint32_t len, uint16_t flags)
{
	memset(vq->mem, 0, vq->used_off + used_len(vq->size));
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i] = (struct virtq_desc){ .len = len, .flags = flags };
	/* Polled: ask for no used buffer notifications (§2.6.7). */
	vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	vq->avail_idx = 0;
	vq->used_idx = 0;
	vq->publishes = 0;
	vq->kicks = 0;
	vq->broken = false;
	memset(vq->cookie, 0, vq->size * sizeof(*vq->cookie));
	vq->nfree = vq->size;
	virtq_in_order(vq);
}

/*
 * In order (virtqueue.h): avail slot k names descriptor k. Only when no
 * descriptor is in flight (the device has then read every avail entry
 * published, and reads none of the ones rewritten before they are again)
 * and used_idx == avail_idx: used entry k must answer avail entry k, which
 * a dropped entry (a lie) would have shifted.
 */
void virtq_in_order(struct virtq *vq)
{
	for (uint16_t i = 0; i < vq->size; i++)
		vq->avail->ring[i] = i;
	vq->in_order = true;
}

/*
 * Leave in order for the general form: cookies NULL where nothing is in
 * flight, and the free stack of those. nfree is kept: a broken queue keeps
 * none to post.
 */
void virtq_generic(struct virtq *vq)
{
	uint16_t n = 0;

	for (uint16_t id = 0; id < vq->size; id++)
		if (!virtq_desc_inflight(vq, id))
			vq->cookie[id] = NULL;
	for (uint16_t id = vq->size; id-- > 0;)
		if (!vq->cookie[id])
			vq->free[n++] = id; /* pop the lowest first */
	if (vq->nfree > n)
		vq->nfree = n; /* cannot happen: a cookie per descriptor in flight */
	vq->in_order = false;
}

/*
 * Give the ring to the device and enable it (§4.1.5.1.3), with MSI-X vector
 * vq->msix_vector; vq->msix_vector is then what the device took.
 */
int virtq_enable(struct virtq *vq, struct virtio_pci *vp)
{
	struct virtio_pci_queue_info q = {
		.index = vq->index,
		.size = vq->size,
		.desc_iova = vq->iova,
		.driver_iova = vq->iova + vq->avail_off,
		.device_iova = vq->iova + vq->used_off,
		.msix_vector = vq->msix_vector,
	};
	int ret;

	ret = virtio_pci_queue_enable(vp, &q);
	if (ret < 0)
		return ret;
	vq->notify = q.notify;
	vq->msix_vector = q.msix_vector;
	return 0;
}

/*
 * A used->idx claiming @n new entries with fewer descriptors in flight: the
 * device is broken (a bug, or memory it should not write). Walking those
 * entries would free buffers twice or hand out ones it still owns, and a
 * clamp would still trust entries it never wrote; so the queue answers no
 * more until the port is stopped and started, which resets the device.
 * Logged once; counted in the port's error counters.
 */
uint16_t virtq_used_bad(struct virtq *vq, uint16_t n)
{
	if (vq->broken)
		return 0;
	vq->broken = true;
	vq->errors++;
	ZDK_ERR("%s: virtqueue %u: the device reports %u new used entries with %u descriptors "
		"in flight: "
		"ignoring the queue until the port is restarted (stop, start)",
		vq->owner ? vq->owner : "virtio", vq->index, n, (unsigned)(vq->size - vq->nfree));
	/* Nothing is ours to post until the reset: rx refills nothing, tx takes nothing. */
	vq->nfree = 0;
	return 0;
}

void virtq_inflight_foreach(struct virtq *vq, void (*fn)(void *cookie))
{
	if (!vq->cookie)
		return;
	for (uint16_t id = 0; id < vq->size; id++) {
		if (vq->cookie[id] && virtq_desc_inflight(vq, id))
			fn(vq->cookie[id]);
		vq->cookie[id] = NULL;
	}
}
