/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnet_model.c - see vnet_model.h. The driver is compiled in through the
 * seam, so the model can count the mbufs its rings hold.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_virtio.h"
#include "test_env.h"
#include "vnet_model.h"
#include "virtio_seam.h"

#define MAX_BURST 2048 /* beyond the largest ring the model sets up */
#define APP_KEEP 256   /* the application frees down to this many */
#define FRAME_MIN 4    /* a frame carries its sequence number in its first 4 bytes */
#define RX_ROOM 2048   /* frame bytes in a default mbuf: ZDK_MBUF_DEFAULT_BUF_SIZE - headroom */
#define OBJ_OUT 1      /* a checked pool's mark for an object that is out (mempool.c) */

/* A frame: not sent, with the driver or device, arrived, dropped by a reset. */
enum { FR_NONE, FR_OUT, FR_DONE, FR_LOST };

struct frames {
	uint8_t *state;
	uint16_t *len;
	uint32_t n, cap;
};

struct model {
	const struct vnet_model_conf *conf;
	struct vnet_model_src *src;
	struct fake_virtio *f;
	struct zdk_mempool *mp;
	unsigned nb_mbufs;
	uint16_t port;
	bool lied;              /* the device lied since the last reset */
	struct zdk_mbuf **app;  /* what the application holds */
	unsigned napp, app_cap;
	uint8_t *mark;          /* per pool object, for check() */
	struct frames tx, rx;
	unsigned step;
	char *why;
	size_t why_len;
	uint8_t buf[65536];
};

#define CHECK(m, cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			snprintf((m)->why, (m)->why_len, "step %u: %s:%d: %s", (m)->step,    \
				 __FILE__, __LINE__, #cond);                             \
			return -1;                                                       \
		}                                                                        \
	} while (0)

/*
 * The byte stream
 */
static uint8_t byte(struct model *m)
{
	struct vnet_model_src *s = m->src;

	if (s->next)
		return s->next(s->arg);
	return s->off < s->len ? s->data[s->off++] : 0;
}

static bool src_done(const struct model *m)
{
	return !m->src->next && m->src->off >= m->src->len;
}

/* A value in [lo, hi] from two bytes. */
static unsigned pick(struct model *m, unsigned lo, unsigned hi)
{
	unsigned r = byte(m);

	r |= (unsigned)byte(m) << 8;
	return lo + r % (hi - lo + 1);
}

/*
 * Frames: the sequence number, then a pattern keyed by it.
 */
static uint8_t pattern(uint32_t seq, unsigned i)
{
	return (uint8_t)(seq * 131 + i * 7 + (seq >> 8));
}

static void frame_make(uint8_t *b, unsigned len, uint32_t seq)
{
	memcpy(b, &seq, 4);
	for (unsigned i = 4; i < len; i++)
		b[i] = pattern(seq, i);
}

/* The frame @b of @len is exactly frame @seq as @t recorded it. */
static bool frame_is(const struct frames *t, const uint8_t *b, unsigned len, uint32_t *seq)
{
	if (len < FRAME_MIN)
		return false;
	memcpy(seq, b, 4);
	if (*seq >= t->n || t->state[*seq] != FR_OUT || t->len[*seq] != len)
		return false;
	for (unsigned i = 4; i < len; i++)
		if (b[i] != pattern(*seq, i))
			return false;
	return true;
}

static uint32_t frame_add(struct frames *t, unsigned len)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 4096;
		t->state = realloc(t->state, t->cap);
		t->len = realloc(t->len, t->cap * sizeof(*t->len));
		if (!t->state || !t->len)
			abort(); /* the test's own memory */
	}
	t->state[t->n] = FR_OUT;
	t->len[t->n] = (uint16_t)len;
	return t->n++;
}

/* A reset: what the device or driver held is gone. */
static void frames_lose(struct frames *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->state[i] == FR_OUT)
			t->state[i] = FR_LOST;
}

/*
 * Invariants: every mbuf in one place, the pool never misused.
 */
static unsigned mark(struct model *m, const void *obj)
{
	uintptr_t base = (uintptr_t)m->mp->base, off = (uintptr_t)obj - base;
	size_t i = off / m->mp->elt_size;

	if ((uintptr_t)obj < base || off % m->mp->elt_size || i >= m->nb_mbufs)
		return 1; /* not one of the pool's */
	if (m->mark[i]++)
		return 1; /* in two places */
	return m->mp->audit && m->mp->audit[i] != OBJ_OUT; /* and free in the pool */
}

static int check(struct model *m)
{
	struct zdk_eth_dev *dev = zdk_eth_dev_get(m->port);
	struct vnet_rxq *rxq = dev->rxq[0];
	struct vnet_txq *txq = dev->txq[0];
	unsigned held = m->napp, bad = 0, i;

	memset(m->mark, 0, m->nb_mbufs);
	for (i = 0; i < m->napp; i++)
		bad += mark(m, m->app[i]);
	for (i = 0; i < rxq->vq.size; i++) {
		if (virtq_desc_inflight(&rxq->vq, (uint16_t)i)) {
			bad += mark(m, rxq->vq.cookie[i]);
			held++;
		}
	}
	for (i = 0; i < txq->vq.size; i++) {
		uintptr_t c = (uintptr_t)txq->vq.cookie[i];

		if (!virtq_desc_inflight(&txq->vq, (uint16_t)i) || !c ||
		    c == (uintptr_t)VIRTQ_COOKIE_CHAINED)
			continue;
		if (c & VNET_TX_CHAIN_TAG)
			c = (uintptr_t)((struct vnet_tx_chain *)(c - VNET_TX_CHAIN_TAG))->m;
		bad += mark(m, (void *)c);
		held++;
	}
	CHECK(m, bad == 0);
	CHECK(m, held + zdk_mempool_avail_count(m->mp) == m->nb_mbufs);
	CHECK(m, zdk_mempool_audit_errors(m->mp) == 0);
	CHECK(m, m->f->early_notifies == 0);
	if (!m->lied)
		CHECK(m, m->f->proto_errors == 0 && m->f->dma_faults == 0);
	return 0;
}

/*
 * The application
 */
static void app_free(struct model *m, unsigned keep)
{
	while (m->napp > keep) {
		unsigned i = pick(m, 0, m->napp - 1);

		zdk_mbuf_free(m->app[i]);
		m->app[i] = m->app[--m->napp];
	}
}

static int op_tx(struct model *m)
{
	static struct zdk_mbuf *pkts[MAX_BURST];
	static uint32_t seqs[MAX_BURST];
	unsigned k = pick(m, 1, ZDK_MIN(2u * m->conf->tx_desc + 8, MAX_BURST)), n, sent, i;

	for (n = 0; n < k; n++) {
		struct zdk_mbuf *mb = zdk_mbuf_alloc(m->mp);
		unsigned h, len;

		if (!mb)
			break;
		/* A third without room for the 12-byte header in front. */
		h = byte(m) % 3 ? pick(m, 12, ZDK_MBUF_HEADROOM) : pick(m, 0, 11);
		mb->data_off = (uint16_t)h;
		len = byte(m) % 2 ? pick(m, FRAME_MIN, 128) : pick(m, FRAME_MIN, mb->buf_len - h);
		seqs[n] = frame_add(&m->tx, len);
		frame_make(zdk_mbuf_append(mb, len), len, seqs[n]);
		pkts[n] = mb;
	}
	sent = zdk_eth_tx_burst(m->port, 0, pkts, (uint16_t)n);
	CHECK(m, sent <= n);
	for (i = sent; i < n; i++) {
		m->tx.state[seqs[i]] = FR_NONE;
		zdk_mbuf_free(pkts[i]);
	}
	return 0;
}

/* One rx burst of @k: the number received, or -1. */
static int rx_take(struct model *m, unsigned k)
{
	static struct zdk_mbuf *pkts[MAX_BURST];
	unsigned n, i;
	uint32_t seq;

	n = zdk_eth_rx_burst(m->port, 0, pkts, (uint16_t)k);
	CHECK(m, n <= k);
	for (i = 0; i < n; i++) {
		struct zdk_mbuf *mb = pkts[i];

		/* Never a length beyond the buffer, whatever the device said. */
		CHECK(m, mb->data_len >= 1 && mb->pkt_len == mb->data_len &&
			 mb->data_off + mb->data_len <= mb->buf_len && mb->nb_segs == 1);
		if (!m->lied) {
			CHECK(m, frame_is(&m->rx, zdk_mbuf_mtod(mb, uint8_t *), mb->data_len, &seq));
			m->rx.state[seq] = FR_DONE;
		}
		CHECK(m, m->napp < m->app_cap);
		m->app[m->napp++] = mb;
	}
	app_free(m, APP_KEEP);
	return (int)n;
}

static int op_rx(struct model *m)
{
	return rx_take(m, pick(m, 1, ZDK_MIN(2u * m->conf->rx_desc + 8, MAX_BURST))) < 0 ? -1 : 0;
}

/*
 * The device, honest: takes buffers, returns them in any order.
 */
static void dev_hold(struct model *m, unsigned q, unsigned n)
{
	while (n-- && fake_virtio_hold(m->f, q) == 0)
		;
}

static int dev_tx(struct model *m, unsigned n)
{
	struct fake_vq *vq = &m->f->vq[FAKE_TXQ];
	uint32_t seq;
	int len;

	while (n-- && vq->nheld) {
		len = fake_virtio_tx_complete(m->f, pick(m, 0, vq->nheld - 1), m->buf,
					      sizeof(m->buf));
		if (m->lied)
			continue; /* the buffer may be one the driver was made to reuse */
		CHECK(m, len >= 0 && frame_is(&m->tx, m->buf, (unsigned)len, &seq));
		m->tx.state[seq] = FR_DONE;
	}
	return 0;
}

static int dev_rx(struct model *m, unsigned n)
{
	struct fake_vq *vq = &m->f->vq[FAKE_RXQ];

	/* A device that lied writes no more memory: the driver may have handed it out. */
	while (n-- && vq->nheld && !m->lied) {
		unsigned len = byte(m) % 2 ? pick(m, FRAME_MIN, 128) : pick(m, FRAME_MIN, RX_ROOM);
		uint32_t seq = frame_add(&m->rx, len);

		frame_make(m->buf, len, seq);
		CHECK(m, fake_virtio_rx_complete(m->f, pick(m, 0, vq->nheld - 1), m->buf, len) == 0);
	}
	return 0;
}

static int op_restart(struct model *m)
{
	CHECK(m, zdk_eth_dev_stop(m->port) == 0);
	frames_lose(&m->tx);
	frames_lose(&m->rx);
	m->f->ctrl_hold = 0;
	CHECK(m, zdk_eth_dev_start(m->port) == 0);
	/* The reset took every lie with it (and what the fake counted after one). */
	if (m->lied)
		m->f->proto_errors = m->f->dma_faults = 0;
	m->lied = false;
	return 0;
}

static int op_promisc(struct model *m)
{
	bool on = byte(m) & 1;
	int ret;

	if (m->conf->hostile) {
		uint8_t h = byte(m) % 4;

		m->f->ctrl_hold = h == 0 ? UINT_MAX : h == 1 ? 1 : 0;
	}
	ret = on ? zdk_eth_promiscuous_enable(m->port) : zdk_eth_promiscuous_disable(m->port);
	CHECK(m, ret == 0 || (m->conf->hostile &&
			      (ret == -ETIMEDOUT || ret == -EBUSY || ret == -EIO)));
	/* The device answers in order: an ack for this command means it is applied. */
	if (ret == 0 && !m->lied)
		CHECK(m, m->f->promisc == on);
	return 0;
}

/*
 * The device, lying.
 */
static int op_lie(struct model *m)
{
	unsigned q = byte(m) % FAKE_NQ, kind = byte(m) % 6;
	struct fake_vq *vq = &m->f->vq[q];
	uint32_t id, len;

	if (!vq->enable || !(m->f->status & VIRTIO_STATUS_DRIVER_OK))
		return 0;
	m->lied = true;
	switch (kind) {
	case 0: /* used->idx moved a little, either way */
		fake_virtio_used_idx_set(m->f, q, (uint16_t)(vq->used_idx + (int8_t)byte(m)));
		return 0;
	case 1: /* used->idx anywhere */
		fake_virtio_used_idx_set(m->f, q, (uint16_t)pick(m, 0, 65535));
		return 0;
	case 2: /* a bogus length on the next buffer the device took */
		if (q == FAKE_RXQ) {
			len = byte(m) % 2 ? pick(m, 0, 65535) : 0xffffffffu - byte(m);
			fake_virtio_rx_push_len(m->f, len);
			return 0;
		}
		/* fall through */
	default: /* an entry with any id: in the ring, just beyond it, far beyond */
		id = kind == 3 ? pick(m, 0, vq->size - 1) : kind == 4 ? vq->size + byte(m)
							    : (uint32_t)pick(m, 0, 65535) << 16;
		len = byte(m) % 2 ? pick(m, 0, 4096) : 0xffffffffu - byte(m);
		fake_virtio_used_put(m->f, q, id, len);
		return 0;
	}
}

/*
 * One step.
 */
static int step(struct model *m)
{
	unsigned op = byte(m) % (m->conf->hostile ? 15 : 12);
	uint8_t b;

	switch (op) {
	case 0: case 1: return op_tx(m);
	case 2: case 3: return op_rx(m);
	case 4: app_free(m, pick(m, 0, m->napp)); return 0;
	case 5: dev_hold(m, FAKE_TXQ, pick(m, 0, 64)); return 0;
	case 6: return dev_tx(m, pick(m, 1, 64));
	case 7: dev_hold(m, FAKE_RXQ, pick(m, 0, 64)); return 0;
	case 8: return dev_rx(m, pick(m, 1, 64));
	case 9: /* the device takes and returns all it has, on one queue */
		b = byte(m) % 2;
		dev_hold(m, b ? FAKE_TXQ : FAKE_RXQ, UINT_MAX);
		return b ? dev_tx(m, UINT_MAX) : dev_rx(m, UINT_MAX);
	case 10:
		b = byte(m);
		if (b % 4 == 0)
			return op_restart(m);
		fake_virtio_set_no_notify(m->f, b & 4 ? FAKE_TXQ : FAKE_RXQ, b & 8);
		return 0;
	case 11: return op_promisc(m);
	case 12: case 13: return op_lie(m);
	default: /* late answers to control commands */
		fake_virtio_ctrl_answer(m->f);
		return 0;
	}
}

/*
 * Setup and teardown
 */
static int setup(struct model *m)
{
	const struct vnet_model_conf *c = m->conf;
	struct vnet_dev *vd;

	m->nb_mbufs = c->rx_desc + 2u * c->tx_desc + APP_KEEP + 64; /* bursts may run it dry */
	m->app_cap = m->nb_mbufs + MAX_BURST;
	m->app = calloc(m->app_cap, sizeof(*m->app));
	m->mark = calloc(m->nb_mbufs, 1);
	m->f = fake_virtio_create(FAKE_F_DEFAULT, c->qmax);
	CHECK(m, m->app && m->mark && m->f);
	CHECK(m, test_pci_driver->probe(&m->f->pdev) == 0);
	vd = m->f->pdev.driver_data;
	vd->ctrl_timeout_ns = 0; /* the fake answers at the doorbell or not at all */
	m->port = vd->eth->port_id;
	CHECK(m, zdk_mbuf_pool_create("model", m->nb_mbufs, 0, ZDK_MBUF_DEFAULT_BUF_SIZE,
				      ZDK_SOCKET_ANY, &m->mp) == 0);
	CHECK(m, zdk_eth_dev_configure(m->port, 1, 1, NULL) == 0);
	CHECK(m, zdk_eth_rx_queue_setup(m->port, 0, c->rx_desc, ZDK_SOCKET_ANY, m->mp) == 0);
	CHECK(m, zdk_eth_tx_queue_setup(m->port, 0, c->tx_desc, ZDK_SOCKET_ANY) == 0);
	CHECK(m, zdk_eth_dev_start(m->port) == 0);
	return check(m);
}

/* An honest device delivers everything it holds; every frame is accounted for. */
static int drain(struct model *m)
{
	int n;

	dev_hold(m, FAKE_TXQ, UINT_MAX);
	if (dev_tx(m, UINT_MAX))
		return -1;
	while ((n = rx_take(m, MAX_BURST)) > 0)
		;
	if (n < 0 || check(m))
		return -1;
	for (uint32_t i = 0; i < m->tx.n; i++)
		CHECK(m, m->tx.state[i] != FR_OUT); /* every frame sent reached the device */
	for (uint32_t i = 0; i < m->rx.n; i++)
		CHECK(m, m->rx.state[i] != FR_OUT); /* every frame it wrote was received */
	return 0;
}

static int teardown(struct model *m, int ret)
{
	if (m->f && m->f->pdev.driver_data) {
		app_free(m, 0);
		zdk_eth_dev_close(m->port);
		test_pci_driver->remove(&m->f->pdev);
	}
	if (ret == 0 && m->mp) {
		CHECK(m, zdk_mempool_avail_count(m->mp) == m->nb_mbufs);
		CHECK(m, zdk_mempool_audit_errors(m->mp) == 0);
	}
	return ret;
}

int vnet_model_run(const struct vnet_model_conf *conf, struct vnet_model_src *src, char *why,
		   size_t why_len)
{
	struct model *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		abort();
	m->conf = conf;
	m->src = src;
	m->why = why;
	m->why_len = why_len;
	why[0] = 0;
	ret = setup(m);
	for (m->step = 0; ret == 0 && m->step < conf->steps && !src_done(m); m->step++) {
		ret = step(m);
		if (ret == 0)
			ret = check(m);
	}
	if (ret == 0 && !m->lied && byte(m) % 2)
		ret = drain(m);
	ret = teardown(m, ret);
	zdk_mbuf_pool_destroy(m->mp);
	fake_virtio_destroy(m->f);
	free(m->tx.state);
	free(m->tx.len);
	free(m->rx.state);
	free(m->rx.len);
	free(m->app);
	free(m->mark);
	free(m);
	return ret;
}
