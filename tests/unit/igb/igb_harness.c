/* SPDX-License-Identifier: BSD-3-Clause */
/* igb_harness.c - see igb_harness.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "igb.h"
#include "igb_harness.h"
#include "zdk_eth_driver.h"

#define APP_CAP 2048
#define BURST_MAX (IGB_MAX_DESC + 100)
#define OBJ_OUT 1 /* a checked pool's state of an object handed out (mempool.c) */

static uint8_t frame_buf[4096];

static uint32_t pick(struct harness *h, uint32_t lo, uint32_t hi)
{
	return h->src.pick(h->src.arg, lo, hi);
}

/* A value in [lo, hi], one time in four at or next to an edge. */
static uint32_t pick_edge(struct harness *h, uint32_t lo, uint32_t hi)
{
	uint32_t e;

	if (hi - lo < 4 || pick(h, 0, 3))
		return pick(h, lo, hi);
	e = pick(h, 0, 3);
	return e < 2 ? lo + e : hi - (e - 2);
}

/* Any ring size igb advertises: 64..4096 in steps of 32. */
static uint16_t pick_ring(struct harness *h)
{
	return (uint16_t)(IGB_MIN_DESC +
			  IGB_DESC_ALIGN * pick_edge(h, 0, (IGB_MAX_DESC - IGB_MIN_DESC) /
							      IGB_DESC_ALIGN));
}

__attribute__((format(printf, 2, 3))) static int fail(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	if (h->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(h->err, sizeof(h->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The key of frame @seq: its bytes are key_byte(key, i), so that no two
 * frames agree and a frame costs one hash, not one per byte. */
static uint32_t frame_key(const struct harness *h, uint64_t seq)
{
	uint32_t x = (uint32_t)seq * 0x9e3779b1u ^ (uint32_t)(seq >> 32) ^ h->salt;

	x = (x ^ (x >> 15)) * 0x2c1b3c6du;
	return x ^ (x >> 12);
}

static inline uint8_t key_byte(uint32_t key, unsigned i)
{
	return (uint8_t)((key >> ((i & 3) * 8)) + (i >> 2));
}

static long obj_index(const struct harness *h, const struct zdk_mbuf *m)
{
	uintptr_t off = (uintptr_t)m - (uintptr_t)h->mp->base;

	if ((uintptr_t)m < (uintptr_t)h->mp->base || off >= h->mp->len || off % h->mp->elt_size)
		return -1;
	return (long)(off / h->mp->elt_size);
}

static struct igb_rx_queue *rxq_of(const struct harness *h)
{
	return zdk_eth_dev_get(h->port)->rxq[0];
}

static struct igb_tx_queue *txq_of(const struct harness *h)
{
	return zdk_eth_dev_get(h->port)->txq[0];
}

/* The wire: with an honest device, frame tx_expect and nothing else. */
static void sink(void *arg, unsigned q, const uint8_t *f, unsigned len)
{
	struct harness *h = arg;
	uint64_t seq = h->tx_expect;
	unsigned want, i;

	h->tx_frames++;
	if (h->hostile)
		return;
	if (q != 0 || seq >= h->tx_taken) {
		fail(h, "wire: a frame on queue %u after all %" PRIu64 " accepted were sent "
		     "(sent twice?)", q, h->tx_taken);
		return;
	}
	want = h->tx_len[seq % HARNESS_LEN_SLOTS];
	if (len != want) {
		fail(h, "wire: frame %" PRIu64 " is %u bytes, tx_burst took %u", seq, len, want);
		return;
	}
	for (i = 0; i < len && f[i] == key_byte(frame_key(h, seq), i); i++)
		;
	if (i < len) {
		fail(h, "wire: frame %" PRIu64 " (%u bytes) differs at byte %u: lost, reordered "
		     "or its mbuf reused while in flight", seq, len, i);
		return;
	}
	h->tx_expect++;
}

int harness_init(struct harness *h, struct fake_igb *fk, uint16_t port, struct zdk_mempool *mp,
		 struct harness_src src)
{
	memset(h, 0, sizeof(*h));
	h->fk = fk;
	h->port = port;
	h->mp = mp;
	h->src = src;
	h->max_burst = BURST_MAX;
	h->app_cap = APP_CAP;
	h->salt = pick(h, 0, UINT32_MAX);
	h->app = calloc(APP_CAP, sizeof(*h->app));
	h->burst = calloc(BURST_MAX, sizeof(*h->burst));
	h->mark = calloc(mp->count, 1);
	if (!h->app || !h->burst || !h->mark) {
		free(h->app);
		free(h->burst);
		free(h->mark);
		return -ENOMEM;
	}
	fake_igb_set_sink(fk, sink, h);
	return 0;
}

static void app_free_all(struct harness *h)
{
	zdk_mbuf_free_bulk(h->app, h->nb_app);
	h->nb_app = 0;
}

int harness_fini(struct harness *h)
{
	int ret = 0;

	zdk_eth_dev_close(h->port);
	h->ready = h->started = false;
	app_free_all(h);
	if (zdk_mempool_avail_count(h->mp) != h->mp->count)
		ret = fail(h, "after close %u of %u mbufs are back in the pool",
			   zdk_mempool_avail_count(h->mp), h->mp->count);
	if (zdk_mempool_audit_errors(h->mp))
		ret = fail(h, "the checked pool saw %lu misuses", zdk_mempool_audit_errors(h->mp));
	fake_igb_set_sink(h->fk, NULL, NULL);
	free(h->app);
	free(h->burst);
	free(h->mark);
	h->app = h->burst = NULL;
	h->mark = NULL;
	return ret;
}

/* Frames still in a ring when the port stops are gone, not delayed. */
static void forget_in_flight(struct harness *h)
{
	h->rx_expect = h->rx_taken;
	h->tx_expect = h->tx_taken;
}

/* Start may run out of mbufs only when the pool really is short. */
static int start(struct harness *h)
{
	int ret = zdk_eth_dev_start(h->port);

	if (ret == 0) {
		h->started = true;
		return 0;
	}
	if (ret == -ENOBUFS && zdk_mempool_avail_count(h->mp) < (unsigned)h->nb_rxd + 256u)
		return 0;
	return fail(h, "start with %u/%u descriptors: %d (pool has %u free)", h->nb_rxd,
		    h->nb_txd, ret, zdk_mempool_avail_count(h->mp));
}

int harness_open(struct harness *h, uint16_t nb_rxd, uint16_t nb_txd)
{
	int ret;

	ret = zdk_eth_dev_configure(h->port, 1, 1, NULL);
	if (ret == 0)
		ret = zdk_eth_rx_queue_setup(h->port, 0, nb_rxd, 0, h->mp);
	if (ret == 0)
		ret = zdk_eth_tx_queue_setup(h->port, 0, nb_txd, 0);
	if (ret)
		return fail(h, "setup of %u/%u descriptors: %d", nb_rxd, nb_txd, ret);
	h->nb_rxd = nb_rxd;
	h->nb_txd = nb_txd;
	h->ready = true;
	forget_in_flight(h);
	return start(h);
}

static void app_keep_or_free(struct harness *h, struct zdk_mbuf **m, unsigned n)
{
	unsigned keep = pick(h, 0, 3) == 0 ? pick(h, 0, n) : 0;

	keep = ZDK_MIN(keep, h->app_cap - h->nb_app);
	memcpy(&h->app[h->nb_app], m, keep * sizeof(*m));
	h->nb_app += keep;
	zdk_mbuf_free_bulk(m + keep, n - keep);
}

static int op_inject(struct harness *h)
{
	unsigned n = pick(h, 0, h->nb_rxd + 64), max_len, i, k;
	int ret;

	max_len = (zdk_mbuf_pool_data_room(h->mp) - ZDK_MBUF_HEADROOM) & ~1023u;
	for (k = 0; k < n; k++) {
		uint64_t seq = h->rx_taken;
		unsigned len = pick_edge(h, 14, max_len);

		uint32_t key = frame_key(h, seq);

		memcpy(frame_buf, h->fk->mac, 6);
		for (i = 6; i < len; i++)
			frame_buf[i] = key_byte(key, i);
		ret = fake_igb_rx_inject(h->fk, frame_buf, len);
		if (ret == 0) {
			h->rx_len[seq % HARNESS_LEN_SLOTS] = (uint16_t)len;
			h->rx_taken++;
		} else if (ret == -ENOBUFS) {
			break; /* ring full: the device drops, and so do we for now */
		} else if (h->started && !h->hostile && !h->fk->all_ones) {
			return fail(h, "the device could not write frame %" PRIu64 ": %d", seq, ret);
		}
	}
	return 0;
}

/* What any received mbuf must be, even from a lying device. */
static int rx_mbuf_check(struct harness *h, const struct zdk_mbuf *m)
{
	if (obj_index(h, m) < 0)
		return fail(h, "rx: %p is not an mbuf of the pool", (const void *)m);
	if (m->data_len == 0 || m->data_len > m->buf_len - m->data_off ||
	    m->pkt_len != m->data_len || m->data_off != ZDK_MBUF_HEADROOM || m->nb_segs != 1 ||
	    m->port != h->port)
		return fail(h, "rx: mbuf of %u bytes (pkt_len %u) at offset %u of a %u-byte buffer, "
			    "port %u, %u segments", m->data_len, m->pkt_len, m->data_off, m->buf_len,
			    m->port, m->nb_segs);
	return 0;
}

/* With an honest device: frame rx_expect, byte for byte. */
static int rx_frame_check(struct harness *h, const struct zdk_mbuf *m)
{
	const uint8_t *f = zdk_mbuf_mtod(m, const uint8_t *);
	uint64_t seq = h->rx_expect;
	unsigned want, i;

	if (seq >= h->rx_taken)
		return fail(h, "rx: a frame after all %" PRIu64 " the device wrote were received "
			    "(received twice?)", h->rx_taken);
	want = h->rx_len[seq % HARNESS_LEN_SLOTS];
	if (m->data_len != want)
		return fail(h, "rx: frame %" PRIu64 " is %u bytes, the device wrote %u", seq,
			    m->data_len, want);
	uint32_t key = frame_key(h, seq);

	for (i = 6; i < want && f[i] == key_byte(key, i); i++)
		;
	if (i < want || memcmp(f, h->fk->mac, 6))
		return fail(h, "rx: frame %" PRIu64 " (%u bytes) differs at byte %u", seq, want, i);
	h->rx_expect++;
	return 0;
}

static int op_rx(struct harness *h)
{
	unsigned n = pick_edge(h, 1, h->max_burst), got, i;

	got = zdk_eth_rx_burst(h->port, 0, h->burst, (uint16_t)n);
	if (got > n || (got && !h->started))
		return fail(h, "rx_burst of %u returned %u (port %s)", n, got,
			    h->started ? "started" : "stopped");
	h->rx_frames += got;
	for (i = 0; i < got; i++) {
		if (rx_mbuf_check(h, h->burst[i]) || (!h->hostile && rx_frame_check(h, h->burst[i]))) {
			zdk_mbuf_free_bulk(h->burst, got);
			return -1;
		}
	}
	app_keep_or_free(h, h->burst, got);
	return 0;
}

/* An mbuf for tx: fresh, or one the application holds (a received one). */
static struct zdk_mbuf *tx_mbuf(struct harness *h)
{
	if (h->nb_app && pick(h, 0, 3) == 0)
		return h->app[--h->nb_app];
	return zdk_mbuf_alloc(h->mp);
}

static int op_tx(struct harness *h)
{
	unsigned n = pick_edge(h, 1, h->max_burst), sent, i, j;

	for (i = 0; i < n; i++) {
		struct zdk_mbuf *m = tx_mbuf(h);
		uint64_t seq = h->tx_taken + i;
		uint32_t key;
		uint8_t *p;

		if (!m)
			break;
		m->data_off = (uint16_t)pick_edge(h, 0, m->buf_len - 1u);
		m->data_len = (uint16_t)pick_edge(h, 1, m->buf_len - m->data_off);
		m->pkt_len = m->data_len;
		p = zdk_mbuf_mtod(m, uint8_t *);
		key = frame_key(h, seq);
		for (j = 0; j < m->data_len; j++)
			p[j] = key_byte(key, j);
		h->tx_len[seq % HARNESS_LEN_SLOTS] = m->data_len;
		h->burst[i] = m;
	}
	n = i;
	sent = zdk_eth_tx_burst(h->port, 0, h->burst, (uint16_t)n);
	if (sent > n || (sent && !h->started))
		return fail(h, "tx_burst of %u returned %u (port %s)", n, sent,
			    h->started ? "started" : "stopped");
	if (h->started && n && sent == 0 && !h->hostile && h->nb_txd > 1 &&
	    h->tx_expect == h->tx_taken && txq_of(h)->nb_free == 0)
		return fail(h, "tx queue stalled: nothing in flight, no free descriptor");
	h->tx_taken += sent;
	app_keep_or_free(h, h->burst + sent, n - sent);
	return 0;
}

static int op_device_tx(struct harness *h)
{
	unsigned how = pick(h, 0, 2);

	if (how == 0)
		return 0;
	fake_igb_tx_run_queue(h->fk, 0, how == 1 ? pick(h, 1, h->nb_txd) : ~0u);
	if (how == 2 && h->started && !h->hostile && !h->fk->all_ones &&
	    h->tx_expect != h->tx_taken)
		return fail(h, "the device sent everything, but %" PRIu64 " of the %" PRIu64
			    " frames tx_burst took never reached the wire",
			    h->tx_taken - h->tx_expect, h->tx_taken);
	return 0;
}

static void op_app_free(struct harness *h)
{
	unsigned n = pick(h, 0, h->nb_app);

	/* From a random place: the application frees in any order. */
	for (unsigned i = 0; i < n; i++) {
		unsigned k = pick(h, 0, h->nb_app - 1);

		zdk_mbuf_free(h->app[k]);
		h->app[k] = h->app[--h->nb_app];
	}
}

static int op_stop_start(struct harness *h)
{
	if (h->started) {
		zdk_eth_dev_stop(h->port);
		h->started = false;
		forget_in_flight(h);
		return 0;
	}
	return start(h);
}

/* Stop, set one or both queues up again with new sizes, maybe start. */
static int op_queue_teardown(struct harness *h)
{
	unsigned which = pick(h, 1, 3);
	int ret = 0;

	zdk_eth_dev_stop(h->port);
	h->started = false;
	forget_in_flight(h);
	if (which & 1) {
		h->nb_rxd = pick_ring(h);
		ret = zdk_eth_rx_queue_setup(h->port, 0, h->nb_rxd, 0, h->mp);
	}
	if (ret == 0 && (which & 2)) {
		h->nb_txd = pick_ring(h);
		ret = zdk_eth_tx_queue_setup(h->port, 0, h->nb_txd, 0);
	}
	if (ret)
		return fail(h, "queue setup %u/%u: %d", h->nb_rxd, h->nb_txd, ret);
	return pick(h, 0, 3) ? start(h) : 0;
}

static int op_close_reopen(struct harness *h)
{
	zdk_eth_dev_close(h->port);
	h->ready = h->started = false;
	forget_in_flight(h);
	return harness_open(h, pick_ring(h), pick_ring(h));
}

/* A device gone from the bus reads all-ones: the control path must cope. */
static int op_all_ones(struct harness *h)
{
	struct zdk_eth_stats st;
	struct zdk_eth_link link;
	int ret = 0;

	h->fk->all_ones = true;
	zdk_eth_stats_get(h->port, &st);
	zdk_eth_link_get(h->port, &link);
	if (!h->started && pick(h, 0, 1))
		ret = start(h); /* reads "enabled" at once; CTRL|SLU resets the fake */
	h->fk->all_ones = false;
	return ret;
}

static int check_place(struct harness *h, struct zdk_mbuf *m, const char *where)
{
	long i = obj_index(h, m);

	if (i < 0)
		return fail(h, "%s holds %p, not an mbuf of the pool", where, (void *)m);
	if (h->mark[i]++)
		return fail(h, "mbuf %ld is in two places at once (the second: %s)", i, where);
	if (h->mp->audit && h->mp->audit[i] != OBJ_OUT)
		return fail(h, "mbuf %ld is in %s and free in the pool", i, where);
	return 0;
}

int harness_check(struct harness *h)
{
	unsigned owned = 0, i, idx;

	if (h->err[0])
		return -1;
	memset(h->mark, 0, h->mp->count);
	for (i = 0; i < h->nb_app; i++, owned++)
		if (check_place(h, h->app[i], "the application"))
			return -1;
	if (h->started) {
		struct igb_rx_queue *rxq = rxq_of(h);
		struct igb_tx_queue *txq = txq_of(h);

		for (i = 0, idx = rxq->next; i < (unsigned)rxq->nb_desc - rxq->nb_hold; i++, owned++) {
			if (check_place(h, rxq->sw_ring[idx], "the rx ring"))
				return -1;
			idx = idx + 1 == rxq->nb_desc ? 0 : idx + 1;
		}
		for (idx = txq->next_dd - (IGB_TX_RS_THRESH - 1); idx != txq->tail; owned++) {
			if (check_place(h, txq->sw_ring[idx], "the tx ring"))
				return -1;
			idx = idx + 1 == txq->nb_desc ? 0 : idx + 1;
		}
		if (!h->hostile && rxq->errors)
			return fail(h, "an honest device, yet %" PRIu64 " rx descriptors dropped",
				    rxq->errors);
	}
	if (zdk_mempool_avail_count(h->mp) + owned != h->mp->count)
		return fail(h, "%u mbufs in the pool + %u in rings and the application != %u",
			    zdk_mempool_avail_count(h->mp), owned, h->mp->count);
	if (zdk_mempool_audit_errors(h->mp))
		return fail(h, "the checked pool saw %lu misuses (double free, write after free)",
			    zdk_mempool_audit_errors(h->mp));
	if (!h->hostile && h->fk->bad_desc)
		return fail(h, "the driver wrote %u tx descriptors the device rejects",
			    h->fk->bad_desc);
	return 0;
}

int harness_step_traffic(struct harness *h)
{
	unsigned op = pick(h, 0, 99);
	int ret;

	h->steps++;
	if (op < 25)
		ret = op_inject(h);
	else if (op < 55)
		ret = op_rx(h);
	else if (op < 80)
		ret = op_tx(h);
	else if (op < 95)
		ret = op_device_tx(h);
	else
		op_app_free(h), ret = 0;
	return ret ? ret : harness_check(h);
}

int harness_step(struct harness *h)
{
	unsigned op = pick(h, 0, 99);
	int ret;

	if (op < 90)
		return harness_step_traffic(h);
	h->steps++;
	if (op < 95)
		ret = op_stop_start(h);
	else if (op < 97)
		ret = op_queue_teardown(h);
	else if (op < 98)
		ret = op_close_reopen(h);
	else
		ret = h->hostile ? op_all_ones(h) : op_stop_start(h);
	return ret ? ret : harness_check(h);
}
