/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb_rxtx.c - igb descriptor rings: queue setup, start/stop, and the rx/tx
 * burst functions.
 *
 * Receive (82576 datasheet 7.1): every descriptor of the ring holds an mbuf
 * (advanced one-buffer format, SRRCTL.DESCTYPE = 001b). The device fills
 * from RDH up to RDT and writes the descriptor back with DD set. rx_burst
 * takes completed descriptors in order; once IGB_RX_FREE_THRESH are taken it
 * gives them fresh mbufs from one bulk mempool get and moves RDT once. RDT
 * always names the last refilled descriptor, so RDH == RDT means "no
 * buffers", never "all buffers". A write-back is handed out only with EOP,
 * no frame error and a length of 1..the SRRCTL buffer size; any other is
 * dropped, its mbuf recycled and counted in the queue's errors (q_errors,
 * ierrors), as DPDK does. rx_burst never looks at a descriptor the device
 * was not given, so a device that writes DD where it should not cannot make
 * it hand an mbuf out twice.
 *
 * Transmit (7.2): one advanced data descriptor per packet. Only every
 * IGB_TX_RS_THRESH-th descriptor asks for a status write-back (RS), so the
 * device writes one DD per 32 packets and tx_burst frees the mbufs of a
 * whole batch with one bulk put, once the whole batch was sent in this lap.
 * TDT is written once per burst.
 *
 * Ring sizes are any multiple of 32 in 64..4096: indices wrap by compare and
 * subtract, never with a mask.
 */
#include <emmintrin.h> /* SSE2, baseline x86-64 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "igb"
#include "igb.h"
#include "zdk_log.h"
#include "zdk_mem.h"

/* ---- data path ---- */

/* Give the @n (IGB_RX_FREE_THRESH) descriptors from @first fresh buffers.
 * Return: 0 or -ENOBUFS. */
static inline int rx_refill(struct igb_rx_queue *rxq, uint16_t first, uint16_t n)
{
	struct zdk_mbuf **sw = &rxq->sw_ring[first];
	union igb_rx_desc *d = &rxq->ring[first];
	/* An mbuf of the pool at va m has its packet start at IOVA m + delta
	 * (zdk_mbuf_pool_iova_offset() + the headroom every rx mbuf gets):
	 * no load from the mbuf, whose line is cold here. */
	const __m128i delta = _mm_set_epi64x(0, (long long)rxq->iova_delta);
	uint16_t i;

	if (zdk_unlikely(zdk_mempool_get_bulk(rxq->mp, (void **)sw, n)))
		return -ENOBUFS;
	/* Both quadwords in one store: hdr_addr 0 also clears the DD bit of
	 * the last write-back. (SSE2: the pointer loaded into the low half of
	 * a zeroed register, the delta added, one aligned store.) */
#pragma GCC unroll 32
	for (i = 0; i < n; i++)
		_mm_store_si128((__m128i *)&d[i],
				_mm_add_epi64(_mm_loadl_epi64((const __m128i *)&sw[i]), delta));
	return 0;
}

/*
 * Give the held descriptors fresh buffers, a batch at a time from the oldest
 * (rxq->refill), moving RDT to the last descriptor of each batch. Batches
 * start at multiples of the batch size, and the ring size is one too, so no
 * batch straddles the ring end, whatever the ring size.
 */
static inline void rx_refill_held(struct igb_rx_queue *rxq)
{
	uint16_t first;

	do {
		first = rxq->refill;
		if (zdk_unlikely(rx_refill(rxq, first, IGB_RX_FREE_THRESH))) {
			rxq->nombuf++;
			return;
		}
		rxq->nb_hold -= IGB_RX_FREE_THRESH;
		rxq->refill = first + IGB_RX_FREE_THRESH == rxq->nb_desc ? 0 :
								    first + IGB_RX_FREE_THRESH;
		/* Descriptor writes must be visible before the tail moves: the
		 * device may fetch every descriptor before RDT (7.1). */
		zdk_io_wmb();
		zdk_mmio_write32(rxq->rdt, first + IGB_RX_FREE_THRESH - 1);
	} while (zdk_unlikely(rxq->nb_hold >= IGB_RX_FREE_THRESH));
}

/* A write-back rx_burst hands out as it is: DD, EOP (one buffer per frame),
 * no frame error; anything else in these bits is dropped (7.1.5). */
#define IGB_RXD_CHECK (IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP | IGB_RXD_ERR_FRAME)
#define IGB_RXD_GOOD (IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP)

/* The mbuf of a good write-back; the RSS hash only when the queue hashes. */
static inline __attribute__((always_inline)) void
rx_mbuf_fill(struct zdk_mbuf *m, volatile union igb_rx_desc *d, uint32_t len, uint64_t rearm,
	     uint64_t ol_flags, bool rss)
{
	m->rearm_data = rearm;
	m->pkt_len = len;
	m->data_len = (uint16_t)len;
	m->ol_flags = ol_flags;
	if (rss)
		m->rss_hash = d->wb.rss_hash;
}

/* Every burst ends here: past @used descriptors, @got of them handed out. */
static inline __attribute__((always_inline)) uint16_t
rx_burst_end(struct igb_rx_queue *rxq, uint16_t used, uint16_t got, uint64_t bytes)
{
	uint16_t idx = rxq->next + used;

	if (idx == rxq->nb_desc)
		idx = 0;
	rxq->next = idx;
	rxq->packets += got;
	rxq->bytes += bytes;
	rxq->nb_hold += used;
	if (rxq->nb_hold >= IGB_RX_FREE_THRESH)
		rx_refill_held(rxq);
	return got;
}

/*
 * The rest of a burst, from descriptor @i on, once a write-back failed the
 * checks or a frame is being dropped. A bad descriptor is dropped as DPDK
 * does: its mbuf goes back to the pool (the refill gives the descriptor a
 * new one) and the queue's error count (q_errors, ierrors) grows by one.
 * Bad means: no EOP (a frame larger than its buffer, which the driver never
 * allows; the descriptors up to its EOP are dropped with it), a frame error
 * (RXE...), or a length of 0 or beyond the buffer size given in SRRCTL.
 */
__attribute__((noinline, cold)) static uint16_t
rx_burst_checked(struct igb_rx_queue *rxq, struct zdk_mbuf **pkts, uint16_t i, uint16_t n,
		 uint64_t bytes)
{
	volatile union igb_rx_desc *d = &rxq->ring[rxq->next];
	struct zdk_mbuf **sw = &rxq->sw_ring[rxq->next];
	uint16_t got = i;

	for (; i < n; i++) {
		uint32_t status = d[i].wb.status_error, len;

		if (!(status & IGB_RXD_STAT_DD))
			break;
		zdk_io_rmb(); /* the rest of the write-back after DD */
		len = d[i].wb.length;
		if (rxq->discard || (status & IGB_RXD_CHECK) != IGB_RXD_GOOD ||
		    len - 1 >= rxq->max_len) {
			rxq->discard = !(status & IGB_RXD_STAT_EOP);
			rxq->errors++;
			zdk_mbuf_free(sw[i]);
			continue;
		}
		rx_mbuf_fill(sw[i], &d[i], len, rxq->rearm, rxq->ol_flags, true);
		pkts[got++] = sw[i];
		bytes += len;
	}
	return rx_burst_end(rxq, i, got, bytes);
}

/*
 * Hand out descriptor @i if its write-back is good (IGB_RXD_GOOD, a length
 * of 1..@max_len), adding its length to @bytes. Return: false, having
 * changed nothing, if it is not.
 */
static inline __attribute__((always_inline)) bool
rx_take(volatile union igb_rx_desc *d, struct zdk_mbuf **sw, struct zdk_mbuf **pkts, size_t i,
	uint32_t max_len, uint64_t rearm, uint64_t ol_flags, bool rss, uint64_t *bytes)
{
	uint32_t status = d[i].wb.status_error, len;

	if ((status & IGB_RXD_CHECK) != IGB_RXD_GOOD)
		return false;
	/* The rest of the write-back must be read after DD was seen set. */
	zdk_io_rmb();
	len = d[i].wb.length;
	/* 1..max_len in one unsigned compare. */
	if (zdk_unlikely(len - 1 >= max_len))
		return false;
	rx_mbuf_fill(sw[i], &d[i], len, rearm, ol_flags, rss);
	pkts[i] = sw[i];
	*bytes += len;
	return true;
}

/*
 * The burst, for a queue with RSS (@rss: the hash goes into each mbuf) or
 * without; inlined twice so that neither pays for the other's test.
 */
static inline __attribute__((always_inline)) uint16_t
rx_burst(struct igb_rx_queue *rxq, struct zdk_mbuf **pkts, uint16_t n, bool rss)
{
	const unsigned idx = rxq->next, nb_desc = rxq->nb_desc;
	volatile union igb_rx_desc *d = &rxq->ring[idx];
	struct zdk_mbuf **sw = &rxq->sw_ring[idx];
	const uint64_t rearm = rxq->rearm, ol_flags = rxq->ol_flags;
	const uint32_t max_len = rxq->max_len;
	uint64_t bytes = 0;
	size_t i, k;

	/* A burst stops at the ring end and the next one starts at 0: no
	 * wrap-around arithmetic per packet. It looks only at descriptors the
	 * device was given: not the nb_hold ones handed out and not yet
	 * refilled (their DD is stale: a device writing it anyway must not
	 * make us hand their mbufs out twice), nor the one at RDT. */
	if (n > nb_desc - idx)
		n = nb_desc - idx;
	if (n > nb_desc - 1 - rxq->nb_hold)
		n = nb_desc - 1 - rxq->nb_hold;
	if (zdk_unlikely(rxq->discard))
		return rx_burst_checked(rxq, pkts, 0, n, 0);
	/* Four at a time, each at a constant offset from i. */
	for (i = 0; i + 4 <= n; i += 4) {
#pragma GCC unroll 4
		for (k = 0; k < 4; k++)
			if (!rx_take(d, sw, pkts, i + k, max_len, rearm, ol_flags, rss, &bytes)) {
				i += k;
				goto stopped;
			}
	}
	for (; i < n; i++)
		if (!rx_take(d, sw, pkts, i, max_len, rearm, ol_flags, rss, &bytes))
			goto stopped;
end:
	return rx_burst_end(rxq, (uint16_t)i, (uint16_t)i, bytes);
stopped:
	/* Stopped by a write-back that is there (DD) but bad? */
	if (zdk_unlikely(d[i].wb.status_error & IGB_RXD_STAT_DD))
		return rx_burst_checked(rxq, pkts, (uint16_t)i, n, bytes);
	goto end;
}

uint16_t igb_rx_burst(void *queue, struct zdk_mbuf **pkts, uint16_t n)
{
	struct igb_rx_queue *rxq = queue;

	if (rxq->ol_flags & ZDK_MBUF_F_RX_RSS_HASH)
		return rx_burst(rxq, pkts, n, true);
	return rx_burst(rxq, pkts, n, false);
}

bool igb_rx_queue_pending(const struct igb_rx_queue *rxq)
{
	const volatile union igb_rx_desc *d = &rxq->ring[rxq->next];

	/* Only a descriptor the device was given (see igb_rx_burst). */
	if (rxq->nb_hold >= rxq->nb_desc - 1)
		return false;
	return d->wb.status_error & IGB_RXD_STAT_DD;
}

__attribute__((noinline, cold)) static void tx_batch_free_mixed(struct zdk_mbuf **sw)
{
	zdk_mbuf_free_bulk(sw, IGB_TX_RS_THRESH);
}

/* Return a batch's mbufs to their pools: one bulk put when they share one
 * (the common case: a compare per mbuf, unrolled over the batch), else per
 * run of one pool, out of line. */
static inline __attribute__((always_inline)) void tx_batch_free(struct zdk_mbuf **sw)
{
	struct zdk_mempool *mp = sw[0]->pool;
	unsigned i;

#pragma GCC unroll 32
	for (i = 1; i < IGB_TX_RS_THRESH; i++)
		if (zdk_unlikely(sw[i]->pool != mp))
			goto mixed;
	zdk_mempool_put_bulk(mp, (void *const *)sw, IGB_TX_RS_THRESH);
	return;
mixed:
	tx_batch_free_mixed(sw);
}

/*
 * Free the oldest batch if the device has written its DD. Return: 1 if freed.
 *
 * The DD bit of next_dd belongs to this lap only once tx_fill() has written
 * next_dd (which clears it) and the device has processed it (7.2.2.3: DD is
 * written back for RS descriptors). Until the batch is whole in flight, the
 * bit is the previous lap's: trusting it freed in-flight mbufs, one of them
 * twice. The nb_desc - 1 - nb_free descriptors in flight start at the
 * batch's first one, so the batch is whole once at least 32 are in flight.
 */
static inline int tx_free_batch(struct igb_tx_queue *txq)
{
	volatile union igb_tx_desc *d = &txq->ring[txq->next_dd];
	uint16_t first;

	if (txq->nb_free > txq->nb_desc - 1 - IGB_TX_RS_THRESH)
		return 0;
	if (!(d->read.olinfo_status & IGB_TXD_STAT_DD))
		return 0;
	first = txq->next_dd - (IGB_TX_RS_THRESH - 1);
	tx_batch_free(&txq->sw_ring[first]);
	txq->nb_free += IGB_TX_RS_THRESH;
	txq->next_dd += IGB_TX_RS_THRESH;
	if (txq->next_dd >= txq->nb_desc)
		txq->next_dd -= txq->nb_desc;
	return 1;
}

#define IGB_TXD_FLAGS (IGB_TXD_DTYP_DATA | IGB_TXD_CMD_EOP | IGB_TXD_CMD_IFCS | IGB_TXD_CMD_DEXT)

/* One advanced data descriptor per packet (7.2.2.3): the second quadword
 * is cmd_type_len | olinfo_status (PAYLEN) << 32. Return: the bytes. */
static inline uint64_t tx_fill(union igb_tx_desc *d, struct zdk_mbuf **sw,
			       struct zdk_mbuf **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t i;

#pragma GCC unroll 8
	for (i = 0; i < n; i++) {
		struct zdk_mbuf *m = pkts[i];
		uint64_t len = m->data_len;

		d[i].q[0] = m->buf_iova + m->data_off;
		/* The fields do not overlap: adding them is or-ing (one lea). */
		d[i].q[1] = (len << (32 + IGB_TXD_PAYLEN_SHIFT)) + len + IGB_TXD_FLAGS;
		sw[i] = m;
		bytes += len;
	}
	return bytes;
}

uint16_t igb_tx_burst(void *queue, struct zdk_mbuf **pkts, uint16_t n)
{
	struct igb_tx_queue *txq = queue;
	uint16_t tail = txq->tail, first_part, k, idx;
	uint64_t bytes;

	if (txq->nb_free < n)
		while (tx_free_batch(txq) && txq->nb_free < n)
			;
	/* A burst larger than the free descriptors takes what fits. */
	if (n > txq->nb_free)
		n = txq->nb_free;
	if (zdk_unlikely(n == 0))
		return 0;

	first_part = ZDK_MIN(n, (uint16_t)(txq->nb_desc - tail));
	bytes = tx_fill(&txq->ring[tail], &txq->sw_ring[tail], pkts, first_part);
	if (first_part < n)
		bytes += tx_fill(txq->ring, txq->sw_ring, pkts + first_part, n - first_part);
	/* Report status only on the last descriptor of each batch of 32 (batch
	 * boundaries are multiples of 32 because the ring size is one). */
	for (k = IGB_TX_RS_THRESH - 1 - (tail & (IGB_TX_RS_THRESH - 1)); k < n;
	     k += IGB_TX_RS_THRESH) {
		idx = tail + k;
		if (idx >= txq->nb_desc)
			idx -= txq->nb_desc;
		txq->ring[idx].read.cmd_type_len |= IGB_TXD_CMD_RS;
	}
	tail += n;
	if (tail >= txq->nb_desc)
		tail -= txq->nb_desc;
	txq->tail = tail;
	txq->nb_free -= n;
	txq->packets += n;
	txq->bytes += bytes;
	/* Descriptor writes must be visible before the tail moves (7.2.3). */
	zdk_io_wmb();
	zdk_mmio_write32(txq->tdt, txq->tail);
	return n;
}


/* ---- control path ---- */

static struct igb_dev *igb_of(struct zdk_eth_dev *dev)
{
	return dev->priv;
}

/* Rings: 128-byte aligned, length a multiple of 128 (8.10.2, 8.12.2). */
static void *ring_alloc(uint16_t nb_desc, int socket, uint64_t *iova)
{
	return zdk_dma_zalloc((size_t)nb_desc * 16, 128, socket, iova);
}

int igb_rx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket,
		       struct zdk_mempool *mp)
{
	struct igb_dev *igb = igb_of(dev);
	struct igb_rx_queue *rxq;
	int ret = -ENOMEM;

	if (posix_memalign((void **)&rxq, ZDK_CACHE_LINE, sizeof(*rxq)))
		return -ENOMEM;
	memset(rxq, 0, sizeof(*rxq));
	rxq->sw_ring = calloc(nb_desc, sizeof(*rxq->sw_ring));
	if (!rxq->sw_ring)
		goto err_free_queue;
	rxq->ring = ring_alloc(nb_desc, socket, &rxq->ring_iova);
	if (!rxq->ring) {
		ZDK_ERR("%s: rx queue %u: no DMA memory for %u descriptors", dev->name, q, nb_desc);
		goto err_free_sw_ring;
	}
	rxq->rdt = (volatile uint32_t *)(igb->bar + IGB_RDT(q));
	rxq->mp = mp;
	rxq->nb_desc = nb_desc;
	rxq->port = dev->port_id;
	rxq->qid = q;
	rxq->rearm = zdk_mbuf_rearm_value(zdk_mbuf_pool_data_room(mp), dev->port_id);
	/* The data_off of rearm: mbuf pools have more data room than headroom. */
	rxq->iova_delta = zdk_mbuf_pool_iova_offset(mp) + ZDK_MBUF_HEADROOM;
	dev->rxq[q] = rxq;
	return 0;

err_free_sw_ring:
	free(rxq->sw_ring);
err_free_queue:
	free(rxq);
	return ret;
}

/* An empty ring: nothing in flight, the first RS batch ends at 31. A queue
 * that is stopped without ever being started is in this state too. */
static void tx_queue_reset(struct igb_tx_queue *txq)
{
	txq->tail = 0;
	txq->nb_free = txq->nb_desc - 1; /* TDT == TDH means empty: one stays unused */
	txq->next_dd = IGB_TX_RS_THRESH - 1;
}

int igb_tx_queue_setup(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket)
{
	struct igb_dev *igb = igb_of(dev);
	struct igb_tx_queue *txq;
	int ret = -ENOMEM;

	if (posix_memalign((void **)&txq, ZDK_CACHE_LINE, sizeof(*txq)))
		return -ENOMEM;
	memset(txq, 0, sizeof(*txq));
	txq->sw_ring = calloc(nb_desc, sizeof(*txq->sw_ring));
	if (!txq->sw_ring)
		goto err_free_queue;
	txq->ring = ring_alloc(nb_desc, socket, &txq->ring_iova);
	if (!txq->ring) {
		ZDK_ERR("%s: tx queue %u: no DMA memory for %u descriptors", dev->name, q, nb_desc);
		goto err_free_sw_ring;
	}
	txq->tdt = (volatile uint32_t *)(igb->bar + IGB_TDT(q));
	txq->nb_desc = nb_desc;
	txq->qid = q;
	tx_queue_reset(txq);
	dev->txq[q] = txq;
	return 0;

err_free_sw_ring:
	free(txq->sw_ring);
err_free_queue:
	free(txq);
	return ret;
}

/* Free the mbufs the ring still owns: all but the nb_hold ones rx_burst
 * handed out, whose slots only hold stale pointers. */
static void rx_mbufs_free(struct igb_rx_queue *rxq)
{
	uint16_t i, idx = rxq->next;

	for (i = 0; i < rxq->nb_desc - rxq->nb_hold; i++) {
		zdk_mbuf_free(rxq->sw_ring[idx]);
		if (++idx == rxq->nb_desc)
			idx = 0;
	}
	memset(rxq->sw_ring, 0, rxq->nb_desc * sizeof(*rxq->sw_ring));
	rxq->nb_hold = 0;
}

/* Free the in-flight mbufs: from the oldest unfreed batch up to tail. */
static void tx_mbufs_free(struct igb_tx_queue *txq)
{
	uint16_t idx = txq->next_dd - (IGB_TX_RS_THRESH - 1); /* next_dd >= 31 */

	for (; idx != txq->tail; idx = idx + 1 == txq->nb_desc ? 0 : idx + 1) {
		zdk_mbuf_free(txq->sw_ring[idx]);
		txq->sw_ring[idx] = NULL;
	}
}

void igb_rx_queue_release(struct zdk_eth_dev *dev, uint16_t q)
{
	struct igb_rx_queue *rxq = dev->rxq[q];

	if (!rxq)
		return;
	zdk_dma_free(rxq->ring);
	free(rxq->sw_ring);
	free(rxq);
	dev->rxq[q] = NULL;
}

void igb_tx_queue_release(struct zdk_eth_dev *dev, uint16_t q)
{
	struct igb_tx_queue *txq = dev->txq[q];

	if (!txq)
		return;
	zdk_dma_free(txq->ring);
	free(txq->sw_ring);
	free(txq);
	dev->txq[q] = NULL;
}

/* Poll @reg until (value & @bit) == @want, for up to ~10 ms. */
static int wait_bit(struct igb_dev *igb, uint32_t reg, uint32_t bit, uint32_t want)
{
	for (int i = 0; i < 1000; i++) {
		if ((igb_read(igb, reg) & bit) == want)
			return 0;
		for (int spin = 0; spin < 1000; spin++)
			zdk_pause();
	}
	return -ETIMEDOUT;
}

/* 82576 datasheet 4.5.9 (receive initialization), per queue. */
int igb_rx_queue_start(struct igb_dev *igb, struct igb_rx_queue *rxq)
{
	uint16_t q = rxq->qid, i;
	uint32_t bsize = ZDK_MIN((zdk_mbuf_pool_data_room(rxq->mp) - ZDK_MBUF_HEADROOM) >> 10, 127u);

	memset(rxq->ring, 0, (size_t)rxq->nb_desc * sizeof(*rxq->ring));
	for (i = 0; i < rxq->nb_desc; i += IGB_RX_FREE_THRESH) {
		if (rx_refill(rxq, i, IGB_RX_FREE_THRESH)) {
			ZDK_ERR("%s: rx queue %u: pool %s ran out filling %u descriptors: make "
				"the pool larger", igb->eth->name, q, rxq->mp->name, rxq->nb_desc);
			zdk_mbuf_free_bulk(rxq->sw_ring, i);
			memset(rxq->sw_ring, 0, rxq->nb_desc * sizeof(*rxq->sw_ring));
			return -ENOBUFS;
		}
	}
	rxq->next = 0;
	rxq->nb_hold = 0;
	rxq->refill = 0;
	rxq->discard = false;
	/* The buffer size the device is told (<= buf_len - data_off): a
	 * write-back longer than this is the device's error, never data. */
	rxq->max_len = (uint16_t)(bsize << 10);
	igb_write(igb, IGB_RDBAL(q), (uint32_t)rxq->ring_iova);
	igb_write(igb, IGB_RDBAH(q), (uint32_t)(rxq->ring_iova >> 32));
	igb_write(igb, IGB_RDLEN(q), rxq->nb_desc * sizeof(union igb_rx_desc));
	igb_write(igb, IGB_SRRCTL(q), bsize | IGB_SRRCTL_DESCTYPE_ADV_ONEBUF | IGB_SRRCTL_DROP_EN);
	igb_write(igb, IGB_RDH(q), 0);
	igb_write(igb, IGB_RDT(q), 0);
	igb_write(igb, IGB_RXDCTL(q), IGB_RXDCTL_ENABLE | 8 | (8 << 8) | (4 << 16));
	if (wait_bit(igb, IGB_RXDCTL(q), IGB_RXDCTL_ENABLE, IGB_RXDCTL_ENABLE)) {
		ZDK_ERR("%s: rx queue %u did not enable", igb->eth->name, q);
		rx_mbufs_free(rxq);
		return -EIO;
	}
	/* Only now hand the buffers over: RDT after RXDCTL.ENABLE (4.5.9). */
	zdk_io_wmb();
	igb_write(igb, IGB_RDT(q), rxq->nb_desc - 1);
	return 0;
}

/* 82576 datasheet 4.5.10 (transmit initialization), per queue. */
int igb_tx_queue_start(struct igb_dev *igb, struct igb_tx_queue *txq)
{
	uint16_t q = txq->qid;

	memset(txq->ring, 0, (size_t)txq->nb_desc * sizeof(*txq->ring));
	tx_queue_reset(txq);
	igb_write(igb, IGB_TDBAL(q), (uint32_t)txq->ring_iova);
	igb_write(igb, IGB_TDBAH(q), (uint32_t)(txq->ring_iova >> 32));
	igb_write(igb, IGB_TDLEN(q), txq->nb_desc * sizeof(union igb_tx_desc));
	igb_write(igb, IGB_TDH(q), 0);
	igb_write(igb, IGB_TDT(q), 0);
	igb_write(igb, IGB_TDWBAL(q), 0); /* descriptor write-back, not head write-back */
	igb_write(igb, IGB_TDWBAH(q), 0);
	igb_write(igb, IGB_TXDCTL(q), IGB_TXDCTL_ENABLE | 8 | (1 << 8));
	if (wait_bit(igb, IGB_TXDCTL(q), IGB_TXDCTL_ENABLE, IGB_TXDCTL_ENABLE)) {
		ZDK_ERR("%s: tx queue %u did not enable", igb->eth->name, q);
		return -EIO;
	}
	return 0;
}

void igb_rx_queue_stop(struct igb_dev *igb, struct igb_rx_queue *rxq)
{
	igb_write(igb, IGB_RXDCTL(rxq->qid), 0);
	if (wait_bit(igb, IGB_RXDCTL(rxq->qid), IGB_RXDCTL_ENABLE, 0))
		ZDK_WARN("%s: rx queue %u still enabled", igb->eth->name, rxq->qid);
	rx_mbufs_free(rxq);
}

void igb_tx_queue_stop(struct igb_dev *igb, struct igb_tx_queue *txq)
{
	igb_write(igb, IGB_TXDCTL(txq->qid), 0);
	if (wait_bit(igb, IGB_TXDCTL(txq->qid), IGB_TXDCTL_ENABLE, 0))
		ZDK_WARN("%s: tx queue %u still enabled", igb->eth->name, txq->qid);
	tx_mbufs_free(txq);
	tx_queue_reset(txq);
}
