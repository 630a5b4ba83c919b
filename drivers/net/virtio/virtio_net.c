/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_net.c - poll-mode driver for modern virtio-net PCI devices
 * (1af4:1041), virtio v1.1 §5.1, over split virtqueues.
 *
 * One queue pair (receiveq1 = 0, transmitq1 = 1) and, when offered, the
 * control queue for the rx mode. Each packet is one descriptor: the 12-byte
 * virtio_net_hdr sits in the mbuf headroom just before the packet, so the
 * device reads and writes the mbuf data in place. A tx mbuf with less than
 * 12 bytes of headroom goes out as a two-descriptor chain instead, a shared
 * zero header then the data (tx_add_chain()).
 * Feature negotiation, MAC address and link come from the device; counters
 * are software.
 */
#include <emmintrin.h> /* SSE2, baseline x86-64 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZDK_LOG_COMPONENT "virtio"
#include "zdk_log.h"
#include "zdk_eth_driver.h"
#include "zdk_iommu.h"
#include "zdk_mbuf.h"
#include "zdk_mem.h"
#include "virtio_net.h"

#define VIRTIO_ID_NET 1

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_SPEED_DUPLEX 63

/* Device configuration layout (§5.1.4): offsets of the fields we read. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_SPEED 12
#define VIRTIO_NET_CFG_DUPLEX 16
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_SPEED_UNKNOWN 0xffffffffu

/* §5.1.6: with VIRTIO_F_VERSION_1 the header always has num_buffers. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)
_Static_assert(VNET_HDR_LEN == 12, "virtio_net_hdr is 12 bytes with VERSION_1");
_Static_assert(ZDK_MBUF_HEADROOM >= VNET_HDR_LEN, "the rx header lives in the headroom");

/* Control queue (§5.1.6.5). */
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_OK 0
#define VNET_CTRL_TIMEOUT_NS 1000000000ULL
#define VNET_CTRL_QSIZE 16
#define VNET_CTRL_SLOTS 4 /* commands the device may hold at once: see ctrl_cmd() */

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_CTRLQ 2
#define VNET_MIN_DESC 32
#define VNET_MAX_FRAME 1518 /* 1514 + a VLAN tag; no FCS */
#define VNET_TX_FREE_THRESH 32
#define VNET_RX_REFILL_THRESH 32
#define VNET_FREE_BATCH 64

/*
 * Data path
 */

/* pkt_len and data_len of a received packet (vlan_tci is 0 from rx_mbuf_init()). */
static inline void mbuf_set_len(struct zdk_mbuf *m, uint32_t len)
{
	m->pkt_len = len;
	m->data_len = (uint16_t)len;
}

/*
 * A fresh rx mbuf: this port's rearm data, and 0 in everything the rx path
 * does not set (vlan_tci, ol_flags, rss_hash, packet_type): two 16-byte
 * stores.
 */
static inline void rx_mbuf_init(struct zdk_mbuf *m, __m128i rearm)
{
	_Static_assert(offsetof(struct zdk_mbuf, pkt_len) == offsetof(struct zdk_mbuf, rearm_data) + 8 &&
		       offsetof(struct zdk_mbuf, ol_flags) == offsetof(struct zdk_mbuf, rearm_data) + 16 &&
		       offsetof(struct zdk_mbuf, packet_type) + 4 ==
		       offsetof(struct zdk_mbuf, rearm_data) + 32,
		       "rearm_data up to packet_type are 32 bytes");
	_mm_storeu_si128((__m128i *)&m->rearm_data, rearm);
	_mm_storeu_si128((__m128i *)&m->ol_flags, _mm_setzero_si128());
}

/* In order: fresh mbufs on the free slots, from avail_idx on, each run of
 * slots straight into the cookies. */
static bool rx_refill_in_order(struct vnet_rxq *rxq)
{
	struct virtq *vq = &rxq->vq;
	struct virtq_desc *desc = vq->desc;
	const __m128i rearm = _mm_set_epi64x(0, (long long)rxq->rearm);
	uint16_t nfree = vq->nfree, pos = vq->avail_idx;
	bool ok = true;

	while (nfree > 0) {
		uint16_t slot = pos & vq->mask, i;
		uint16_t n = ZDK_MIN(ZDK_MIN(nfree, VNET_FREE_BATCH), vq->size - slot);
		struct zdk_mbuf **m = (struct zdk_mbuf **)&vq->cookie[slot];

		if (zdk_unlikely(zdk_mempool_get_bulk(rxq->mp, (void **)m, n))) {
			memset(m, 0, n * sizeof(*m));
			rxq->nombuf++;
			ok = false;
			break;
		}
#pragma GCC unroll 8
		for (i = 0; i < n; i++) {
			struct zdk_mbuf *mb = m[i];

			/* The header in the headroom, then the frame (rx_take_run()). */
			desc[slot + i].addr = mb->buf_iova + ZDK_MBUF_HEADROOM - VNET_HDR_LEN;
			rx_mbuf_init(mb, rearm);
		}
		pos += n;
		nfree -= n;
	}
	vq->avail_idx = pos;
	vq->nfree = nfree;
	return ok;
}

/* Post fresh mbufs on every free rx descriptor; false if the pool ran dry. */
static bool rx_refill(struct vnet_rxq *rxq)
{
	struct zdk_mbuf *m[VNET_FREE_BATCH];
	struct virtq q;
	bool ok = true;
	uint16_t n, i;

	if (zdk_likely(rxq->vq.in_order))
		return rx_refill_in_order(rxq);
	q = rxq->vq; /* see virtq_add() */
	while ((n = ZDK_MIN(q.nfree, VNET_FREE_BATCH)) > 0) {
		if (zdk_unlikely(zdk_mempool_get_bulk(rxq->mp, (void **)m, n))) {
			rxq->nombuf++;
			ok = false;
			break;
		}
		for (i = 0; i < n; i++) {
			rx_mbuf_init(m[i], _mm_set_epi64x(0, (long long)rxq->rearm));
			virtq_add_fixed(&q, m[i]->buf_iova + ZDK_MBUF_HEADROOM - VNET_HDR_LEN, m[i]);
		}
	}
	virtq_sync(&rxq->vq, &q);
	return ok;
}

/*
 * A received buffer: to @pkts, or back to its pool if the length the device
 * wrote is no frame or more than the buffer (one unsigned compare for both).
 */
static inline void rx_deliver(struct vnet_rxq *rxq, struct zdk_mbuf *m, uint32_t len,
			      uint32_t room, struct zdk_mbuf **pkts, uint16_t *nb, uint64_t *bytes)
{
	if (zdk_unlikely(len - VNET_HDR_LEN - 1 >= room)) {
		rxq->errors++;
		zdk_mbuf_free(m);
		return;
	}
	len -= VNET_HDR_LEN;
	mbuf_set_len(m, len);
	*bytes += len;
	pkts[(*nb)++] = m;
}

/*
 * In order: take the used entries of slots @first..@end - 1 (no wrap) into
 * @out as long as each names its own slot's descriptor (virtqueue.h) and
 * its length is a frame that fits the buffer (one unsigned compare).
 * Return: the slot it stopped at.
 */
static inline size_t rx_take_run(struct vnet_rxq *rxq, size_t first, size_t end,
				 struct zdk_mbuf **out, uint64_t *bytesp)
{
	volatile struct virtq_used_elem *ring = rxq->vq.used->ring;
	struct zdk_mbuf **cookie = (struct zdk_mbuf **)rxq->vq.cookie;
	const uint32_t room = rxq->data_room;
	uint64_t bytes = *bytesp;
	size_t i;

#pragma GCC unroll 8
	for (i = first; i < end; i++) {
		struct zdk_mbuf *m;
		uint32_t len;

		if (zdk_unlikely(ring[i].id != i))
			break;
		len = ring[i].len - VNET_HDR_LEN;
		if (zdk_unlikely(len - 1 >= room))
			break;
		m = cookie[i]; /* left as it is: virtq_desc_inflight() */
		mbuf_set_len(m, len);
		bytes += len;
		out[i - first] = m;
	}
	*bytesp = bytes;
	return i;
}

/*
 * In order: @ready used entries, slot by slot (two runs at most), into
 * @pkts from @nb on. An entry with a bad length recycles its mbuf and
 * counts an error. Return: how many entries it took (fewer on the first
 * that is out of order).
 */
static uint16_t rx_take_in_order(struct vnet_rxq *rxq, uint16_t ready, struct zdk_mbuf **pkts,
				 uint16_t *nb, uint64_t *bytes)
{
	struct virtq *vq = &rxq->vq;
	size_t slot = vq->used_idx & vq->mask, end, stop;
	uint16_t took = 0;

	while (took < ready) {
		end = ZDK_MIN(slot + (ready - took), (size_t)vq->size);
		stop = rx_take_run(rxq, slot, end, pkts + *nb, bytes);
		*nb += (uint16_t)(stop - slot);
		took += (uint16_t)(stop - slot);
		if (stop < end) {
			if (vq->used->ring[stop].id != stop)
				break; /* out of order */
			/* No frame, or more than the buffer. */
			rxq->errors++;
			zdk_mbuf_free(vq->cookie[stop]);
			vq->cookie[stop] = NULL;
			took++;
			stop++;
		}
		slot = stop & vq->mask;
	}
	vq->used_idx += took;
	vq->nfree += took;
	return took;
}

/* The general form: @ready used entries, each id checked (virtq_get()). */
static uint16_t rx_take_checked(struct vnet_rxq *rxq, uint16_t ready, struct zdk_mbuf **pkts,
				uint16_t *nb, uint64_t *bytes)
{
	struct virtq *vq = &rxq->vq, q = *vq; /* see virtq_add() */
	uint32_t len, room = rxq->data_room;
	uint16_t i;

	for (i = 0; i < ready; i++) {
		struct zdk_mbuf *m = virtq_get(&q, &len);

		if (zdk_unlikely(m == NULL)) {
			vq->errors++;
			continue;
		}
		rx_deliver(rxq, m, len, room, pkts, nb, bytes);
	}
	virtq_sync(vq, &q);
	return ready;
}

/*
 * Take what the device returned, then post fresh buffers on the descriptors
 * it freed. Refilling after the whole burst, not entry by entry, is what
 * lets virtq_get() see a duplicate id within a burst: a descriptor
 * re-posted at once would look in flight again.
 */
static uint16_t vnet_rx_burst(void *rq, struct zdk_mbuf **pkts, uint16_t n)
{
	struct vnet_rxq *rxq = rq;
	struct virtq *vq = &rxq->vq;
	uint16_t nb = 0, took = 0, ready = virtq_used_count(vq);
	uint64_t bytes = 0;

	/* The device keeps adding entries: read the count once. */
	ready = ZDK_MIN(ready, n);
	if (zdk_likely(vq->in_order)) {
		took = rx_take_in_order(rxq, ready, pkts, &nb, &bytes);
		if (zdk_unlikely(took < ready))
			virtq_generic(vq); /* an entry out of order: check each from here */
	}
	if (took < ready)
		rx_take_checked(rxq, ready - took, pkts, &nb, &bytes);
	/* An empty pool is retried once a batch of descriptors waits for it. */
	if (zdk_likely(ready) || vq->nfree >= VNET_RX_REFILL_THRESH)
		rx_refill(rxq);
	rxq->packets += nb;
	rxq->bytes += bytes;
	if (vq->avail_idx != vq->avail->idx && virtq_publish(vq))
		virtq_notify(vq);
	return nb;
}

/*
 * An mbuf without VNET_HDR_LEN bytes of headroom: the header goes in a
 * descriptor of its own, chained before the untouched data (§2.6.4: with
 * VIRTIO_F_VERSION_1 the device accepts any framing, §5.1.6.2). Without
 * offloads every header is the same zeros and the device only reads it, so
 * all chains share one per queue. False if fewer than 2 descriptors are free.
 * Works on the queue itself: a burst's local copy must not escape (virtq_add()).
 */
static __attribute__((noinline)) bool tx_add_chain(struct vnet_txq *txq, struct zdk_mbuf *m)
{
	struct virtq *q = &txq->vq;
	struct vnet_tx_chain *c;
	uint16_t head, tail;

	if (q->nfree < 2)
		return false;
	head = q->free[--q->nfree];
	tail = q->free[--q->nfree];
	c = &txq->chains[head];
	c->m = m;
	c->tail = tail;
	q->desc[head] = (struct virtq_desc){ txq->hdr_iova, VNET_HDR_LEN, VIRTQ_DESC_F_NEXT, tail };
	q->desc[tail] = (struct virtq_desc){ zdk_mbuf_data_iova(m), m->data_len, 0, 0 };
	q->cookie[head] = (void *)((uintptr_t)c | VNET_TX_CHAIN_TAG);
	q->cookie[tail] = VIRTQ_COOKIE_CHAINED;
	q->avail->ring[q->avail_idx++ & q->mask] = head;
	return true;
}

/*
 * The device returned a chain's head (virtq_get() freed it): its chain,
 * whose tail descriptor the caller puts back on the free stack.
 */
static __attribute__((noinline)) struct vnet_tx_chain *tx_unchain(struct vnet_txq *txq,
								  void *cookie)
{
	struct vnet_tx_chain *c = (void *)((uintptr_t)cookie & ~(uintptr_t)VNET_TX_CHAIN_TAG);

	/* As virtq_reset() left it: virtq_add() sets no flags. */
	txq->vq.desc[c - txq->chains].flags = 0;
	txq->vq.cookie[c->tail] = NULL;
	return c;
}

/*
 * In order: the used entries from slot @first on (no wrap, at most @n) that
 * name their own slots (virtqueue.h); their mbufs go back straight from the
 * cookies, in one put while none in flight is of another pool than
 * txq->pool. Return: how many.
 */
static inline uint16_t tx_reclaim_run(struct vnet_txq *txq, uint16_t first, uint16_t n)
{
	volatile struct virtq_used_elem *ring = txq->vq.used->ring;
	struct zdk_mbuf **cookie = (struct zdk_mbuf **)&txq->vq.cookie[first];
	size_t i = first, end = (size_t)first + n;
	/* Four entries a compare (SSE2): ids in the even dwords, one 16-byte
	 * load per two entries, so each id is read once. */
	__m128i want01 = _mm_set_epi32(0, (int)i + 1, 0, (int)i);
	__m128i want23 = _mm_add_epi32(want01, _mm_set_epi32(0, 2, 0, 2));
	const __m128i step = _mm_set_epi32(0, 4, 0, 4);

	for (; i + 4 <= end; i += 4) {
		__m128i e01 = _mm_loadu_si128((const __m128i *)(uintptr_t)&ring[i]);
		__m128i e23 = _mm_loadu_si128((const __m128i *)(uintptr_t)&ring[i + 2]);
		__m128i eq = _mm_and_si128(_mm_cmpeq_epi32(e01, want01), _mm_cmpeq_epi32(e23, want23));

		if (zdk_unlikely((_mm_movemask_ps(_mm_castsi128_ps(eq)) & 5) != 5))
			break;
		want01 = _mm_add_epi32(want01, step);
		want23 = _mm_add_epi32(want23, step);
	}
	for (; i < end; i++)
		if (zdk_unlikely(ring[i].id != i))
			break;
	n = (uint16_t)(i - first);
	if (zdk_likely(txq->foreign == 0)) {
		zdk_mempool_put_bulk(txq->pool, (void *const *)cookie, n);
	} else {
		for (i = 0; i < n; i++)
			txq->foreign -= cookie[i]->pool != txq->pool;
		zdk_mbuf_free_bulk(cookie, n);
	}
	return n; /* the cookies left as they are: virtq_desc_inflight() */
}

/* In order: up to @n used entries, in at most two runs. Return: how many it took. */
static uint16_t tx_reclaim_in_order(struct vnet_txq *txq, uint16_t n)
{
	struct virtq *vq = &txq->vq;
	uint16_t first = vq->used_idx & vq->mask, run = ZDK_MIN(n, vq->size - first), took;

	took = tx_reclaim_run(txq, first, run);
	if (run < n && took == run)
		took += tx_reclaim_run(txq, 0, n - run);
	vq->used_idx += took;
	vq->nfree += took;
	return took;
}

/* Give back to their pools the mbufs of every transmitted descriptor. */
static void tx_reclaim(struct vnet_txq *txq)
{
	struct virtq *vq = &txq->vq, q;
	struct zdk_mbuf *m[VNET_FREE_BATCH];
	uint16_t n = virtq_used_count(vq), k, i, got;
	uint32_t len;

	if (zdk_likely(vq->in_order)) {
		n -= tx_reclaim_in_order(txq, n);
		if (zdk_likely(n == 0))
			return;
		virtq_generic(vq); /* an entry out of order: check each from here */
	}
	q = *vq; /* see virtq_add() */
	while (n > 0) {
		k = ZDK_MIN(n, VNET_FREE_BATCH);
		for (i = got = 0; i < k; i++) {
			void *c = virtq_get(&q, &len);

			if (zdk_unlikely(c == NULL)) {
				vq->errors++;
				continue;
			}
			if (zdk_unlikely((uintptr_t)c & VNET_TX_CHAIN_TAG)) {
				struct vnet_tx_chain *ch = tx_unchain(txq, c);

				q.free[q.nfree++] = ch->tail;
				c = ch->m;
			}
			m[got++] = c;
		}
		zdk_mbuf_free_bulk(m, got);
		n -= k;
	}
	virtq_sync(vq, &q);
}

/* No offloads: an all-zero header (flags 0, GSO_NONE) before the frame. */
static inline void tx_hdr_zero(struct zdk_mbuf *m)
{
	memset(zdk_mbuf_mtod_offset(m, char *, -(int)VNET_HDR_LEN), 0, VNET_HDR_LEN);
}

/*
 * In order: @n packets on the slots from @first on (no wrap, all free), as
 * long as each has room for its header. Return: how many it posted.
 */
static inline uint16_t tx_post_run(struct vnet_txq *txq, uint16_t first, struct zdk_mbuf **pkts,
				   uint16_t n, uint64_t *bytesp)
{
	struct virtq_desc *desc = &txq->vq.desc[first];
	struct zdk_mbuf **cookie = (struct zdk_mbuf **)&txq->vq.cookie[first];
	const struct zdk_mempool *pool = txq->pool;
	uint64_t bytes = *bytesp;
	uint16_t foreign = 0;
	size_t i;

#pragma GCC unroll 8
	for (i = 0; i < n; i++) {
		struct zdk_mbuf *m = pkts[i];
		uint32_t off = m->data_off, len = m->data_len;

		if (zdk_unlikely(off < VNET_HDR_LEN))
			break; /* a chain: the general form */
		/* No offloads: an all-zero header (flags 0, GSO_NONE). */
		memset((char *)m->buf_addr + off - VNET_HDR_LEN, 0, VNET_HDR_LEN);
		desc[i].addr = m->buf_iova + off - VNET_HDR_LEN;
		desc[i].len = len + VNET_HDR_LEN;
		cookie[i] = m;
		bytes += len;
		if (zdk_unlikely(m->pool != pool))
			foreign++;
	}
	txq->foreign += foreign;
	*bytesp = bytes;
	return (uint16_t)i;
}

/* In order: @n packets (n <= nfree) on the next slots, in at most two runs. */
static uint16_t tx_post_in_order(struct vnet_txq *txq, struct zdk_mbuf **pkts, uint16_t n,
				 uint64_t *bytes)
{
	struct virtq *vq = &txq->vq;
	uint16_t first = vq->avail_idx & vq->mask, run = ZDK_MIN(n, vq->size - first), sent;

	if (zdk_unlikely(!txq->pool) && n)
		txq->pool = pkts[0]->pool;
	sent = tx_post_run(txq, first, pkts, run, bytes);
	if (run < n && sent == run)
		sent += tx_post_run(txq, 0, pkts + run, n - run, bytes);
	vq->avail_idx += sent;
	vq->nfree -= sent;
	return sent;
}

/* The general form: free descriptors from the stack, chains where needed. */
static uint16_t tx_post(struct vnet_txq *txq, struct zdk_mbuf **pkts, uint16_t n,
			uint64_t *bytes)
{
	struct virtq *vq = &txq->vq, q = *vq; /* see virtq_add() */
	uint16_t i;

	n = ZDK_MIN(n, q.nfree);
	for (i = 0; i < n; i++) {
		struct zdk_mbuf *m = pkts[i];

		if (zdk_unlikely(m->data_off < VNET_HDR_LEN)) {
			bool added;

			virtq_sync(vq, &q);
			added = tx_add_chain(txq, m);
			q.avail_idx = vq->avail_idx;
			q.nfree = vq->nfree;
			if (!added)
				break;
			/* Two descriptors gone: the packets after it get fewer. */
			n = ZDK_MIN(n, i + 1 + q.nfree);
		} else {
			tx_hdr_zero(m);
			virtq_add(&q, zdk_mbuf_data_iova(m) - VNET_HDR_LEN,
				  m->data_len + VNET_HDR_LEN, m);
		}
		*bytes += m->data_len;
	}
	virtq_sync(vq, &q);
	return i;
}

static uint16_t vnet_tx_burst(void *tq, struct zdk_mbuf **pkts, uint16_t n)
{
	struct vnet_txq *txq = tq;
	struct virtq *vq = &txq->vq;
	uint64_t bytes = 0;
	uint16_t sent = 0;

	if (vq->nfree < ZDK_MAX(n, VNET_TX_FREE_THRESH))
		tx_reclaim(txq);
	/* Everything back, and no used entry dropped (virtq_in_order()): in order again. */
	if (zdk_unlikely(!vq->in_order) && vq->nfree == vq->size &&
	    vq->used_idx == vq->avail_idx) {
		virtq_in_order(vq);
		txq->foreign = 0;
	}
	if (zdk_likely(vq->in_order)) {
		n = ZDK_MIN(n, vq->nfree);
		sent = tx_post_in_order(txq, pkts, n, &bytes);
		if (zdk_unlikely(sent < n))
			virtq_generic(vq); /* a chain: the general form from here */
	}
	if (sent < n)
		sent += tx_post(txq, pkts + sent, n - sent, &bytes);
	if (sent && virtq_publish(vq))
		virtq_notify(vq);
	txq->packets += sent;
	txq->bytes += bytes;
	return sent;
}

/*
 * Control queue (§5.1.6.5): one command at a time, each in a slot of its
 * own, descriptors 3s..3s+2 and bytes 4s..4s+3 of vd->ctrl. A command that
 * times out keeps its slot until the device returns that slot's head: the
 * device may still read the command and write its ack. The next command
 * takes a free slot and waits for its own head, so a late answer to an old
 * command is never read as the answer to a new one.
 */

/* Free the slots of the commands the device has answered. */
static int ctrl_reap(struct vnet_dev *vd)
{
	struct virtq *vq = &vd->cvq;
	uint16_t n = (uint16_t)(vq->used->idx - vq->used_idx);

	/* The used->idx load before the loads of the entries it covers (§2.6.14). */
	zdk_rmb();
	if (n > (unsigned)__builtin_popcount(vd->ctrl_busy) || vq->broken) {
		virtq_used_bad(vq, n);
		return -EIO;
	}
	while (n--) {
		uint32_t id = vq->used->ring[vq->used_idx++ & vq->mask].id, slot = id / 3;

		/* A duplicate, or an id we never posted: nothing to free. */
		if (id % 3 || slot >= vd->ctrl_slots || !(vd->ctrl_busy & 1u << slot)) {
			vq->errors++;
			continue;
		}
		vd->ctrl_busy &= ~(1u << slot);
		vq->nfree += 3;
	}
	return 0;
}

/* Header and data device-readable, the ack device-writable (§5.1.6.5). */
static void ctrl_post(struct vnet_dev *vd, unsigned slot)
{
	struct virtq *vq = &vd->cvq;
	uint64_t iova = vd->ctrl_iova + slot * sizeof(struct vnet_ctrl);
	uint16_t d = (uint16_t)(3 * slot);

	vq->desc[d] = (struct virtq_desc){ iova, 2, VIRTQ_DESC_F_NEXT, d + 1 };
	vq->desc[d + 1] = (struct virtq_desc){ iova + 2, 1, VIRTQ_DESC_F_NEXT, d + 2 };
	vq->desc[d + 2] = (struct virtq_desc){ iova + 3, 1, VIRTQ_DESC_F_WRITE, 0 };
	vq->avail->ring[vq->avail_idx++ & vq->mask] = d;
	vd->ctrl_busy |= 1u << slot;
	vq->nfree -= 3;
	virtq_publish(vq);
	virtq_notify(vq);
}

static int ctrl_cmd(struct vnet_dev *vd, uint8_t class, uint8_t cmd, uint8_t data)
{
	const struct timespec us = { .tv_nsec = 10000 };
	const char *name = vd->eth->name;
	uint64_t deadline;
	unsigned slot;

	if (ctrl_reap(vd) < 0)
		goto err_broken;
	for (slot = 0; slot < vd->ctrl_slots && (vd->ctrl_busy & 1u << slot); slot++)
		;
	if (slot == vd->ctrl_slots) {
		ZDK_ERR("%s: the device has not answered %u control commands: stop and start the "
			"port to reset it", name, vd->ctrl_slots);
		return -EBUSY;
	}
	vd->ctrl[slot] = (struct vnet_ctrl){ .class = class, .cmd = cmd, .data = data, .ack = 0xff };
	ctrl_post(vd, slot);
	deadline = zdk_time_ns() + vd->ctrl_timeout_ns;
	for (;;) {
		if (ctrl_reap(vd) < 0)
			goto err_broken;
		if (!(vd->ctrl_busy & 1u << slot))
			break;
		if (zdk_time_ns() > deadline) {
			ZDK_ERR("%s: control command %u.%u not answered in %llu ms", name, class, cmd,
				(unsigned long long)(vd->ctrl_timeout_ns / 1000000));
			return -ETIMEDOUT;
		}
		nanosleep(&us, NULL);
	}
	if (*(volatile uint8_t *)&vd->ctrl[slot].ack != VIRTIO_NET_OK) {
		ZDK_ERR("%s: device rejected control command %u.%u", name, class, cmd);
		return -EIO;
	}
	return 0;

err_broken:
	ZDK_ERR("%s: the control queue's used ring is broken: stop and start the port to reset "
		"the device", name);
	return -EIO;
}

/*
 * Port operations
 */

static int vnet_promisc_set(struct zdk_eth_dev *dev, bool on)
{
	struct vnet_dev *vd = dev->priv;

	if (!vd->has_ctrl) {
		ZDK_ERR("%s: promiscuous mode is unsupported: the device lacks "
			"VIRTIO_NET_F_CTRL_VQ/CTRL_RX (QEMU: ctrl_vq=on,ctrl_rx=on)", dev->name);
		return -ENOTSUP;
	}
	/* A stopped port has no live control queue: start applies dev->promisc. */
	if (!dev->started)
		return 0;
	return ctrl_cmd(vd, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, on);
}

static int vnet_configure(struct zdk_eth_dev *dev)
{
	/* Receive interrupts are set up again for the new queues when next asked for. */
	vnet_intr_teardown(dev->priv);
	if (dev->conf.rss_hf) {
		ZDK_ERR("%s: virtio-net has no RSS in this driver: configure rss_hf = 0",
			dev->name);
		return -EINVAL;
	}
	return 0;
}

static int check_ring_size(struct zdk_eth_dev *dev, uint16_t nb_desc, uint16_t max)
{
	if (ZDK_IS_POW2(nb_desc) && nb_desc <= max)
		return 0;
	ZDK_ERR("%s: %u descriptors: virtio split rings need a power of two up to %u",
		dev->name, nb_desc, max);
	return -EINVAL;
}

static int vnet_rx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket,
			       struct zdk_mempool *mp)
{
	struct vnet_dev *vd = dev->priv;
	struct vnet_rxq *rxq;
	int ret;

	ret = check_ring_size(dev, nb_desc, vd->rxq_max);
	if (ret < 0)
		return ret;
	if (zdk_mbuf_pool_data_room(mp) < dev->info.min_rx_bufsize) {
		ZDK_ERR("%s: mbuf data room %u is below %u (headroom + a %u-byte frame)",
			dev->name, zdk_mbuf_pool_data_room(mp), dev->info.min_rx_bufsize,
			VNET_MAX_FRAME);
		return -EINVAL;
	}
	rxq = aligned_alloc(ZDK_CACHE_LINE, sizeof(*rxq));
	if (!rxq)
		return -ENOMEM;
	memset(rxq, 0, sizeof(*rxq));
	ret = virtq_alloc(&rxq->vq, VNET_RXQ, nb_desc, socket);
	if (ret < 0) {
		free(rxq);
		return ret;
	}
	rxq->vq.owner = dev->name;
	rxq->mp = mp;
	rxq->id = q;
	rxq->rearm = zdk_mbuf_rearm_value(zdk_mbuf_pool_data_room(mp), dev->port_id);
	rxq->buf_len = (uint16_t)zdk_mbuf_pool_data_room(mp);
	rxq->data_room = rxq->buf_len - ZDK_MBUF_HEADROOM;
	dev->rxq[q] = rxq;
	return 0;
}

static int vnet_tx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket)
{
	struct vnet_dev *vd = dev->priv;
	struct vnet_txq *txq;
	int ret;

	ret = check_ring_size(dev, nb_desc, vd->txq_max);
	if (ret < 0)
		return ret;
	txq = aligned_alloc(ZDK_CACHE_LINE, sizeof(*txq));
	if (!txq)
		return -ENOMEM;
	memset(txq, 0, sizeof(*txq));
	ret = virtq_alloc(&txq->vq, VNET_TXQ, nb_desc, socket);
	if (ret < 0)
		goto err_free_txq;
	txq->chains = calloc(nb_desc, sizeof(*txq->chains));
	txq->hdr = zdk_dma_zalloc(VNET_HDR_LEN, 0, socket, &txq->hdr_iova);
	if (!txq->chains || !txq->hdr) {
		ret = -ENOMEM;
		goto err_free_chains;
	}
	txq->vq.owner = dev->name;
	txq->id = q;
	dev->txq[q] = txq;
	return 0;

err_free_chains:
	zdk_dma_free(txq->hdr);
	free(txq->chains);
	virtq_free(&txq->vq);
err_free_txq:
	free(txq);
	return ret;
}

/* Every rx descriptor: device-writable, header plus the mbuf's data room. */
static void rxq_reset(struct vnet_rxq *rxq)
{
	virtq_reset(&rxq->vq, rxq->buf_len - ZDK_MBUF_HEADROOM + VNET_HDR_LEN,
		    VIRTQ_DESC_F_WRITE);
}

static void mbuf_free_cookie(void *m)
{
	zdk_mbuf_free(m);
}

/* A tx cookie: an mbuf, a chain's head (tagged), or a chain's tail (nothing). */
static void tx_free_cookie(void *cookie)
{
	if (cookie == VIRTQ_COOKIE_CHAINED)
		return;
	if ((uintptr_t)cookie & VNET_TX_CHAIN_TAG)
		cookie = ((struct vnet_tx_chain *)((uintptr_t)cookie - VNET_TX_CHAIN_TAG))->m;
	zdk_mbuf_free(cookie);
}

/* Free every mbuf a ring still holds (the device is reset or never saw it). */
static void vq_drop_cookies(struct virtq *vq)
{
	virtq_inflight_foreach(vq, mbuf_free_cookie);
}

static void txq_drop_cookies(struct vnet_txq *txq)
{
	virtq_inflight_foreach(&txq->vq, tx_free_cookie);
}

static void vnet_rx_queue_release(struct zdk_eth_dev *dev, uint16_t q)
{
	struct vnet_rxq *rxq = dev->rxq[q];

	if (!rxq)
		return;
	vq_drop_cookies(&rxq->vq);
	virtq_free(&rxq->vq);
	free(rxq);
	dev->rxq[q] = NULL;
}

static void vnet_tx_queue_release(struct zdk_eth_dev *dev, uint16_t q)
{
	struct vnet_txq *txq = dev->txq[q];

	if (!txq)
		return;
	txq_drop_cookies(txq);
	virtq_free(&txq->vq);
	zdk_dma_free(txq->hdr);
	free(txq->chains);
	free(txq);
	dev->txq[q] = NULL;
}

/*
 * Device initialisation up to FEATURES_OK (§3.1.1 steps 1-6). The device
 * is bound to an IOMMU domain unless zdk runs without one, so it must
 * translate our IOVAs: VIRTIO_F_ACCESS_PLATFORM (§6.1) is then required.
 */
static int vnet_init_features(struct vnet_dev *vd)
{
	uint64_t wanted = VIRTIO_F_BIT(VIRTIO_NET_F_MAC) | VIRTIO_F_BIT(VIRTIO_NET_F_STATUS) |
			  VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_F_BIT(VIRTIO_NET_F_CTRL_RX) |
			  VIRTIO_F_BIT(VIRTIO_NET_F_SPEED_DUPLEX) |
			  VIRTIO_F_BIT(VIRTIO_F_ACCESS_PLATFORM);
	uint64_t required = VIRTIO_F_BIT(VIRTIO_F_VERSION_1);
	struct virtio_pci *vp = &vd->vp;
	int ret;

	if (zdk_iommu_mode() != ZDK_IOMMU_NOIOMMU)
		required |= VIRTIO_F_BIT(VIRTIO_F_ACCESS_PLATFORM);
	ret = virtio_pci_reset(vp);
	if (ret < 0)
		return ret;
	virtio_pci_status_set(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_pci_status_set(vp, VIRTIO_STATUS_DRIVER);
	if ((required & VIRTIO_F_BIT(VIRTIO_F_ACCESS_PLATFORM)) &&
	    !(virtio_pci_device_features(vp) & VIRTIO_F_BIT(VIRTIO_F_ACCESS_PLATFORM)))
		ZDK_ERR("%s: device does not offer VIRTIO_F_ACCESS_PLATFORM, so its DMA would "
			"bypass the IOMMU: start QEMU with -device virtio-net-pci,iommu_platform=on, "
			"or run zdk with --iommu=noiommu", vp->pdev->name);
	ret = virtio_pci_features_negotiate(vp, wanted, required);
	if (ret < 0)
		return ret;
	vd->has_ctrl = virtio_pci_has(vp, VIRTIO_NET_F_CTRL_VQ) &&
		       virtio_pci_has(vp, VIRTIO_NET_F_CTRL_RX);
	return 0;
}

/* Program every ring, post rx buffers, go live (§3.1.1 steps 7-8). */
static int vnet_start(struct zdk_eth_dev *dev)
{
	struct vnet_dev *vd = dev->priv;
	struct vnet_rxq *rxq = dev->rxq[0];
	struct vnet_txq *txq = dev->txq[0];
	int ret;

	/* The tx mbufs the device had when it was last reset are done with. */
	txq_drop_cookies(txq);
	virtq_reset(&txq->vq, 0, 0);
	txq->foreign = 0;
	vq_drop_cookies(&rxq->vq);
	rxq_reset(rxq);
	/* MSI-X vectors before DRIVER_OK (virtio_intr.c); they signal nothing
	 * while a queue keeps VIRTQ_AVAIL_F_NO_INTERRUPT, as virtq_reset() set. */
	virtio_pci_msix_config_set(&vd->vp, VIRTIO_MSI_NO_VECTOR);
	rxq->vq.msix_vector = vnet_intr_rx_vector(vd, 0);
	ret = virtq_enable(&rxq->vq, &vd->vp);
	if (ret == 0)
		ret = virtq_enable(&txq->vq, &vd->vp);
	if (ret == 0 && vd->has_ctrl) {
		virtq_reset(&vd->cvq, 0, 0);
		vd->cvq.in_order = false; /* its own descriptors per slot (ctrl_post()) */
		vd->ctrl_busy = 0; /* the reset took every command with it */
		ret = virtq_enable(&vd->cvq, &vd->vp);
	}
	if (ret < 0)
		goto err_reinit;
	if (!rx_refill(rxq) && virtq_inflight(&rxq->vq) == 0) {
		ZDK_ERR("%s: mempool %s is empty: no rx buffers to post", dev->name, rxq->mp->name);
		ret = -ENOBUFS;
		goto err_reinit;
	}
	virtq_publish(&rxq->vq);
	virtio_pci_status_set(&vd->vp, VIRTIO_STATUS_DRIVER_OK);
	/* §3.1.1: no notification before DRIVER_OK. */
	virtq_notify(&rxq->vq);
	if (vd->has_ctrl) {
		ret = ctrl_cmd(vd, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, dev->promisc);
		if (ret < 0)
			goto err_reinit;
	}
	return 0;

err_reinit:
	vnet_init_features(vd);
	return ret;
}

/* A reset is the only way to stop a virtio device; leave it ready to start. */
static void vnet_stop(struct zdk_eth_dev *dev)
{
	const struct vnet_rxq *rxq = dev->rxq[0];
	const struct vnet_txq *txq = dev->txq[0];

	/* How often the device wanted a doorbell (VIRTQ_USED_F_NO_NOTIFY clear). */
	ZDK_INFO("%s: rx %llu publishes, %llu doorbells; tx %llu publishes, %llu doorbells",
		 dev->name, (unsigned long long)rxq->vq.publishes,
		 (unsigned long long)rxq->vq.kicks, (unsigned long long)txq->vq.publishes,
		 (unsigned long long)txq->vq.kicks);
	vnet_init_features(dev->priv);
}

static void vnet_close(struct zdk_eth_dev *dev)
{
	vnet_intr_teardown(dev->priv);
}

static int vnet_link_get(struct zdk_eth_dev *dev, struct zdk_eth_link *link)
{
	struct vnet_dev *vd = dev->priv;
	uint16_t status = VIRTIO_NET_S_LINK_UP;
	uint32_t speed = VIRTIO_NET_SPEED_UNKNOWN;
	uint8_t duplex = 1;
	int ret = 0;

	/* §5.1.4: without VIRTIO_NET_F_STATUS the link is assumed up. */
	if (virtio_pci_has(&vd->vp, VIRTIO_NET_F_STATUS))
		ret = virtio_pci_device_cfg_read(&vd->vp, VIRTIO_NET_CFG_STATUS, &status, 2);
	if (ret == 0 && virtio_pci_has(&vd->vp, VIRTIO_NET_F_SPEED_DUPLEX)) {
		ret = virtio_pci_device_cfg_read(&vd->vp, VIRTIO_NET_CFG_SPEED, &speed, 4);
		if (ret == 0)
			ret = virtio_pci_device_cfg_read(&vd->vp, VIRTIO_NET_CFG_DUPLEX, &duplex, 1);
	}
	if (ret < 0)
		return ret;
	link->up = status & VIRTIO_NET_S_LINK_UP;
	link->speed_mbps = link->up && speed != VIRTIO_NET_SPEED_UNKNOWN ? speed : 0;
	link->full_duplex = link->up && duplex == 1;
	return 0;
}

static int vnet_stats_get(struct zdk_eth_dev *dev, struct zdk_eth_stats *st)
{
	const struct vnet_rxq *rxq = dev->rxq[0];
	const struct vnet_txq *txq = dev->txq[0];

	if (rxq) {
		st->ipackets = st->q_ipackets[0] = rxq->packets;
		st->ibytes = st->q_ibytes[0] = rxq->bytes;
		st->ierrors = st->q_errors[0] = rxq->errors + rxq->vq.errors;
		st->rx_nombuf = rxq->nombuf;
	}
	if (txq) {
		st->opackets = st->q_opackets[0] = txq->packets;
		st->obytes = st->q_obytes[0] = txq->bytes;
		st->oerrors = txq->vq.errors;
	}
	return 0;
}

static int vnet_stats_reset(struct zdk_eth_dev *dev)
{
	struct vnet_rxq *rxq = dev->rxq[0];
	struct vnet_txq *txq = dev->txq[0];

	if (rxq)
		rxq->packets = rxq->bytes = rxq->errors = rxq->nombuf = rxq->vq.errors = 0;
	if (txq)
		txq->packets = txq->bytes = txq->vq.errors = 0;
	return 0;
}

static int vnet_mac_get(struct zdk_eth_dev *dev, struct zdk_ether_addr *mac)
{
	*mac = ((struct vnet_dev *)dev->priv)->mac;
	return 0;
}

static const struct zdk_eth_dev_ops vnet_ops = {
	.configure = vnet_configure,
	.start = vnet_start,
	.stop = vnet_stop,
	.close = vnet_close,
	.rx_queue_setup = vnet_rx_queue_setup,
	.tx_queue_setup = vnet_tx_queue_setup,
	.rx_queue_release = vnet_rx_queue_release,
	.tx_queue_release = vnet_tx_queue_release,
	.link_get = vnet_link_get,
	.promisc_set = vnet_promisc_set,
	.stats_get = vnet_stats_get,
	.stats_reset = vnet_stats_reset,
	.mac_get = vnet_mac_get,
};

/*
 * Probe and remove
 */

/* §5.1.5: the device's MAC, or a random locally administered one. */
static void mac_read(struct vnet_dev *vd)
{
	if (virtio_pci_has(&vd->vp, VIRTIO_NET_F_MAC) &&
	    virtio_pci_device_cfg_read(&vd->vp, VIRTIO_NET_CFG_MAC, vd->mac.addr,
				       ZDK_ETHER_ADDR_LEN) == 0)
		return;
	for (int i = 0; i < ZDK_ETHER_ADDR_LEN; i++)
		vd->mac.addr[i] = (uint8_t)(zdk_rdtsc() >> (8 * i)) ^ (uint8_t)rand();
	vd->mac.addr[0] = (vd->mac.addr[0] & 0xfe) | 0x02;
}

/* Queue sizes the device offers; the control queue is set up now. */
static int queues_probe(struct vnet_dev *vd)
{
	struct virtio_pci *vp = &vd->vp;
	int csize, ret, nq = virtio_pci_num_queues(vp);

	if (nq < (vd->has_ctrl ? 3 : 2)) {
		ZDK_ERR("%s: device has %d queues, a virtio-net port needs %d", vp->pdev->name, nq,
			vd->has_ctrl ? 3 : 2);
		return -ENODEV;
	}
	vd->rxq_max = (uint16_t)virtio_pci_queue_size(vp, VNET_RXQ);
	vd->txq_max = (uint16_t)virtio_pci_queue_size(vp, VNET_TXQ);
	if (vd->rxq_max < VNET_MIN_DESC || vd->txq_max < VNET_MIN_DESC) {
		ZDK_ERR("%s: queue sizes rx %u tx %u are below %u", vp->pdev->name, vd->rxq_max,
			vd->txq_max, VNET_MIN_DESC);
		return -ENODEV;
	}
	if (!vd->has_ctrl)
		return 0;
	csize = virtio_pci_queue_size(vp, VNET_CTRLQ);
	if (csize <= 0)
		return -ENODEV;
	ret = virtq_alloc(&vd->cvq, VNET_CTRLQ, (uint16_t)ZDK_MIN(csize, VNET_CTRL_QSIZE),
			  vp->pdev->numa_node);
	if (ret < 0)
		return ret;
	vd->cvq.owner = vp->pdev->name;
	vd->ctrl_slots = ZDK_MIN(vd->cvq.size / 3u, VNET_CTRL_SLOTS);
	vd->ctrl_timeout_ns = VNET_CTRL_TIMEOUT_NS;
	if (vd->ctrl_slots == 0) {
		ZDK_ERR("%s: control queue of %u entries: a command needs 3", vp->pdev->name,
			vd->cvq.size);
		return -ENODEV;
	}
	vd->ctrl = zdk_dma_zalloc(vd->ctrl_slots * sizeof(*vd->ctrl), 0, vp->pdev->numa_node,
				  &vd->ctrl_iova);
	return vd->ctrl ? 0 : -ENOMEM;
}

static void info_fill(struct vnet_dev *vd, struct zdk_eth_dev_info *info)
{
	info->max_rx_queues = VNET_MAX_RXQ;
	info->max_tx_queues = 1;
	info->min_desc = VNET_MIN_DESC;
	info->max_desc = ZDK_MIN(vd->rxq_max, vd->txq_max);
	info->desc_align = VNET_MIN_DESC;
	info->min_rx_bufsize = ZDK_MBUF_HEADROOM + VNET_MAX_FRAME;
	info->max_rx_pktlen = VNET_MAX_FRAME;
}

static void vnet_dev_free(struct vnet_dev *vd)
{
	virtio_pci_close(&vd->vp);
	virtq_free(&vd->cvq);
	zdk_dma_free(vd->ctrl);
	free(vd);
}

static int vnet_probe(struct zdk_pci_device *pdev)
{
	struct vnet_dev *vd;
	int ret;

	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	ret = zdk_pci_bus_master(pdev, true);
	if (ret == 0)
		ret = virtio_pci_open(pdev, &vd->vp);
	if (ret < 0)
		goto err_free;
	ret = vnet_init_features(vd);
	if (ret == 0)
		ret = queues_probe(vd);
	if (ret < 0)
		goto err_free;
	mac_read(vd);
	ret = zdk_eth_dev_alloc(pdev, "virtio_net", &vd->eth);
	if (ret < 0)
		goto err_free;
	info_fill(vd, &vd->eth->info);
	vnet_intr_probe(vd);
	zdk_eth_dev_intr_ops_set(vd->eth, &vnet_intr_ops);
	vd->eth->ops = &vnet_ops;
	vd->eth->priv = vd;
	vd->eth->rx_burst = vnet_rx_burst;
	vd->eth->tx_burst = vnet_tx_burst;
	pdev->driver_data = vd;
	ZDK_INFO("%s: port %u, mac %02x:%02x:%02x:%02x:%02x:%02x, rings up to %u, features %#llx%s",
		 pdev->name, vd->eth->port_id, vd->mac.addr[0], vd->mac.addr[1], vd->mac.addr[2],
		 vd->mac.addr[3], vd->mac.addr[4], vd->mac.addr[5], vd->eth->info.max_desc,
		 (unsigned long long)vd->vp.features,
		 vd->has_ctrl ? "" : " (no control queue: promiscuous mode unsupported)");
	return 0;

err_free:
	vnet_dev_free(vd);
	return ret;
}

static void vnet_remove(struct zdk_pci_device *pdev)
{
	struct vnet_dev *vd = pdev->driver_data;

	if (!vd)
		return;
	zdk_eth_dev_release(vd->eth);
	vnet_dev_free(vd);
	pdev->driver_data = NULL;
}

static const struct zdk_pci_id vnet_ids[] = {
	ZDK_PCI_DEVICE(VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_MODERN_ID_BASE + VIRTIO_ID_NET),
	/* Transitional (§4.1.2.3), as cloud VMs present it: driven through its
	 * modern interface; without ACCESS_PLATFORM only in no-IOMMU mode. */
	ZDK_PCI_DEVICE(VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_TRANSITIONAL_ID_NET),
	{ 0 },
};

static struct zdk_pci_driver vnet_driver = {
	.name = "virtio_net",
	.id_table = vnet_ids,
	.probe = vnet_probe,
	.remove = vnet_remove,
};

ZDK_PCI_DRIVER_REGISTER(vnet_driver)
