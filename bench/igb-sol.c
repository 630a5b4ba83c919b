/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-igb-sol - the speed of light for forwarding on two igb ports: a bare
 * RX-to-TX descriptor swap with no mbuf layer, to measure how close l2fwd
 * comes to what the device model and the machine allow.
 *
 *   zdk-igb-sol [zdk options] -- [-r RX_PORT] [-x TX_PORT] [--rxd N] [--txd N]
 *               [--backoff N]
 *
 * zdk brings both ports up (rings, registers, link; rxd 4096 and txd 1024
 * as l2fwd's defaults); then this program drives the two rings itself until
 * SIGINT:
 *  - a written-back RX descriptor's buffer goes straight into the next TX
 *    descriptor (its IOVA and length: one 16-byte descriptor, no mbuf);
 *  - the RX descriptor gets a buffer whose transmission has completed, from
 *    a plain stack of IOVAs;
 *  - TX asks for a status write-back on every 32nd descriptor, and a batch
 *    of 32 buffers returns to the stack once its last descriptor is done;
 *  - one TDT and one RDT write per burst of up to 32;
 *  - an empty look at the RX ring is followed by BACKOFF empty loop turns
 *    (--backoff, default 80): in the TCG sandbox the tightest loop slows
 *    the emulated devices down (as bench/nvme-sol.c found).
 * The checks that keep memory safe stay (DD of the current lap only, the
 * length against the buffer size, EOP); a bad write-back is re-armed with
 * its own buffer and counted. It is a benchmark program, not part of the
 * library: it reads the igb driver's private queue state, and before zdk
 * stops the ports it puts every buffer it took back where the driver looks.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "igb.h"
#include "zdk_eal.h"
#include "zdk_eth.h"
#include "zdk_mbuf.h"
#include "zdk_mem.h"

#define BURST 32
#define BUF_SIZE 2048 /* SRRCTL's buffer size for the pool's mbufs */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct sol {
	volatile union igb_rx_desc *rx;
	volatile union igb_tx_desc *tx;
	volatile uint32_t *rdt, *tdt;
	uint64_t *rx_buf;  /* the IOVA each RX descriptor holds */
	uint64_t *tx_buf;  /* the IOVA each in-flight TX descriptor sends */
	uint64_t *free;    /* IOVAs of buffers no descriptor holds */
	uint32_t nfree;
	uint16_t nrx, ntx, max_len;
	uint16_t rx_next;  /* next RX descriptor to look at */
	uint16_t tx_tail;  /* next TX descriptor to fill */
	uint16_t tx_done;  /* first descriptor of the oldest TX batch */
	uint16_t tx_inflight;
	uint32_t backoff;  /* loop turns after an empty look */
	uint64_t fwd, bad, full;
};

#define TXD_FLAGS (IGB_TXD_DTYP_DATA | IGB_TXD_CMD_EOP | IGB_TXD_CMD_IFCS | IGB_TXD_CMD_DEXT)

/* Return the buffers of every TX batch the device has finished. */
static inline void sol_tx_reclaim(struct sol *s)
{
	while (s->tx_inflight >= BURST) {
		uint16_t last = s->tx_done + BURST - 1;

		/* Written this lap (the batch is whole in flight), so DD is fresh. */
		if (!(s->tx[last].read.olinfo_status & IGB_TXD_STAT_DD))
			return;
		memcpy(&s->free[s->nfree], &s->tx_buf[s->tx_done], BURST * sizeof(uint64_t));
		s->nfree += BURST;
		s->tx_inflight -= BURST;
		s->tx_done = last + 1 == s->ntx ? 0 : last + 1;
	}
}

static inline uint32_t sol_burst(struct sol *s)
{
	uint16_t i = s->rx_next, t = s->tx_tail, n = 0;
	uint32_t room;

	sol_tx_reclaim(s);
	room = (uint32_t)(s->ntx - 1 - s->tx_inflight);
	while (n < BURST) {
		volatile union igb_rx_desc *d = &s->rx[i];
		uint32_t status = d->wb.status_error, len;

		if (!(status & IGB_RXD_STAT_DD)) {
			/* Nothing (more) yet: after an empty look, back off a little. */
			if (!n)
				for (volatile uint32_t k = 0; k < s->backoff; k++)
					;
			break;
		}
		if (zdk_unlikely(!room || !s->nfree)) {
			s->full++;
			break;
		}
		zdk_io_rmb();
		len = d->wb.length;
		if (zdk_likely((status & (IGB_RXD_STAT_EOP | IGB_RXD_ERR_FRAME)) ==
				       IGB_RXD_STAT_EOP &&
			       len - 1 < s->max_len)) {
			uint64_t cmd = (uint64_t)len << (32 + IGB_TXD_PAYLEN_SHIFT) | len | TXD_FLAGS;

			if ((t & (BURST - 1)) == BURST - 1)
				cmd |= IGB_TXD_CMD_RS;
			s->tx[t].q[0] = s->rx_buf[i];
			s->tx[t].q[1] = cmd;
			s->tx_buf[t] = s->rx_buf[i];
			t = t + 1 == s->ntx ? 0 : t + 1;
			room--;
			s->rx_buf[i] = s->free[--s->nfree];
		} else {
			s->bad++; /* the descriptor keeps its buffer */
		}
		d->q[0] = s->rx_buf[i];
		d->q[1] = 0; /* clears DD */
		i = i + 1 == s->nrx ? 0 : i + 1;
		n++;
	}
	if (!n)
		return 0;
	zdk_io_wmb();
	if (t != s->tx_tail) {
		s->tx_inflight += (uint16_t)(t >= s->tx_tail ? t - s->tx_tail : t + s->ntx - s->tx_tail);
		s->fwd += t >= s->tx_tail ? t - s->tx_tail : t + s->ntx - s->tx_tail;
		s->tx_tail = t;
		zdk_mmio_write32(s->tdt, t);
	}
	s->rx_next = i;
	/* Every descriptor before the next one to look at is armed again. */
	zdk_mmio_write32(s->rdt, i == 0 ? s->nrx - 1u : i - 1u);
	return n;
}

static int port_up(uint16_t port, uint16_t nrxd, uint16_t ntxd, struct zdk_mempool *mp)
{
	struct zdk_eth_conf conf = { .size = sizeof(conf) };
	int rc;

	rc = zdk_eth_dev_configure(port, 1, 1, &conf);
	if (!rc)
		rc = zdk_eth_rx_queue_setup(port, 0, nrxd, ZDK_SOCKET_ANY, mp);
	if (!rc)
		rc = zdk_eth_tx_queue_setup(port, 0, ntxd, ZDK_SOCKET_ANY);
	if (!rc)
		rc = zdk_eth_promiscuous_enable(port);
	if (!rc)
		rc = zdk_eth_dev_start(port);
	if (rc)
		fprintf(stderr, "igb-sol: port %u: %s\n", port, strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rxd", required_argument, NULL, 'R' },
		{ "txd", required_argument, NULL, 'T' },
		{ "backoff", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint16_t rxp = 0, txp = 1, nrxd = 4096, ntxd = 1024;
	struct igb_rx_queue *rxq;
	struct igb_tx_queue *txq;
	struct zdk_mempool *mp = NULL;
	struct zdk_eth_dev *rdev = NULL, *tdev = NULL;
	struct zdk_eth_link link;
	struct sol s = { .backoff = 80 };
	uint8_t *extra = NULL;
	uint64_t hz, t0, t1;
	int rc, opt;

	rc = zdk_eal_init(argc, argv);
	if (rc < 0)
		return rc == -ECANCELED ? 0 : 1;
	argc -= rc;
	argv += rc;
	while ((opt = getopt_long(argc, argv, "r:x:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': rxp = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'x': txp = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'R': nrxd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'T': ntxd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'B': s.backoff = (uint32_t)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [zdk options] -- [-r RX_PORT] [-x TX_PORT] "
				"[--rxd N] [--txd N] [--backoff N]\n", argv[0]);
			rc = opt == 'h' ? 0 : 2;
			goto out;
		}
	}
	rdev = zdk_eth_dev_get(rxp);
	tdev = zdk_eth_dev_get(txp);
	if (!rdev || !tdev || rxp == txp || strncmp(rdev->name, "igb@", 4) ||
	    strncmp(tdev->name, "igb@", 4)) {
		fprintf(stderr, "igb-sol: ports %u and %u must be two igb ports (%u probed)\n", rxp,
			txp, zdk_eth_port_count());
		rc = 1;
		goto out;
	}
	rc = zdk_mbuf_pool_create("igb-sol", 2u * (nrxd + ntxd), 256, ZDK_MBUF_DEFAULT_BUF_SIZE,
				  ZDK_SOCKET_ANY, &mp);
	if (rc || port_up(rxp, nrxd, ntxd, mp) || port_up(txp, nrxd, ntxd, mp)) {
		rc = 1;
		goto out;
	}
	zdk_eth_link_wait(rxp, 3000, &link);
	zdk_eth_link_wait(txp, 3000, &link);
	rxq = rdev->rxq[0];
	txq = tdev->txq[0];
	s.rx = rxq->ring;
	s.tx = txq->ring;
	s.rdt = rxq->rdt;
	s.tdt = txq->tdt;
	s.nrx = rxq->nb_desc;
	s.ntx = txq->nb_desc;
	s.max_len = ZDK_MIN(rxq->max_len, BUF_SIZE);
	s.rx_buf = calloc(s.nrx, sizeof(*s.rx_buf));
	s.tx_buf = calloc(s.ntx, sizeof(*s.tx_buf));
	s.free = calloc(s.ntx, sizeof(*s.free));
	/* As many buffers of our own as TX can hold: RX never waits for one. */
	extra = zdk_dma_zalloc((size_t)s.ntx * BUF_SIZE, 4096, ZDK_SOCKET_ANY, NULL);
	if (!s.rx_buf || !s.tx_buf || !s.free || !extra) {
		fprintf(stderr, "igb-sol: no memory for %u + %u descriptors\n", s.nrx, s.ntx);
		rc = 1;
		goto out;
	}
	/* The driver armed every RX descriptor with an mbuf's buffer (read
	 * format, nothing received yet: pktgen starts after our line below). */
	for (uint16_t i = 0; i < s.nrx; i++)
		s.rx_buf[i] = s.rx[i].read.pkt_addr;
	for (uint16_t i = 0; i < s.ntx; i++)
		s.free[s.nfree++] = zdk_virt2iova(extra + (size_t)i * BUF_SIZE);
	s.rx_next = rxq->next;
	s.tx_tail = s.tx_done = txq->tail;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("igb-sol: forwarding port %u -> port %u, %u rx / %u tx descriptors\n", rxp, txp,
	       s.nrx, s.ntx);
	fflush(stdout);
	hz = zdk_tsc_hz();
	t0 = zdk_rdtsc();
	while (!stop)
		for (unsigned k = 0; k < 1024; k++)
			sol_burst(&s);
	t1 = zdk_rdtsc();
	/*
	 * Stop receiving and let TX finish before the buffers go. The driver's
	 * own state was never touched: its RX ring still lists the mbufs it
	 * allocated (we only borrowed their data rooms), its TX ring none.
	 */
	zdk_eth_dev_stop(rxp);
	for (uint64_t end = zdk_rdtsc() + hz / 10; zdk_rdtsc() < end;)
		sol_tx_reclaim(&s);
	printf("igb-sol: forwarded %" PRIu64 " frames in %.1f s; %" PRIu64 " bad write-backs, "
	       "%" PRIu64 " bursts waited for TX\n", s.fwd, (double)(t1 - t0) / (double)hz, s.bad,
	       s.full);
	rc = 0;
out:
	/* Before the pool goes: the ports' rings hold its mbufs. */
	if (rdev)
		zdk_eth_dev_close(rxp);
	if (tdev)
		zdk_eth_dev_close(txp);
	free(s.rx_buf);
	free(s.tx_buf);
	free(s.free);
	zdk_dma_free(extra);
	zdk_mempool_destroy(mp);
	zdk_eal_cleanup();
	return rc;
}
