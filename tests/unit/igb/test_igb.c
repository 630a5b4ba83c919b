/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_igb.c - the igb driver's rings against the software 82576
 * (fake_igb.c), through the public port API: probe, link, transmit and
 * receive with data checks across ring wrap, full rings, RSS queue
 * selection, promiscuous filtering, statistics, forwarding between two
 * ports, and mbuf/DMA accounting after stop and remove.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_igb.h"
#include "igb.h"
#include "test_mem.h"
#include "zdk_eth_driver.h"

#define NB_MBUF 2048
#define NB_DESC 256

static struct zdk_mempool *mp;

/* A frame to @dst from 10.0.@idx>>8.@idx with a payload pattern of @idx. */
static unsigned frame_make(uint8_t *f, const uint8_t *dst, unsigned idx, unsigned len)
{
	unsigned i;

	memcpy(f, dst, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 0x99 }, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[26] = 10;
	f[28] = (uint8_t)(idx >> 8);
	f[29] = (uint8_t)idx;
	f[30] = 10;
	f[33] = 1;
	for (i = 34; i < len; i++)
		f[i] = (uint8_t)(idx * 7 + i);
	return len;
}

static unsigned frame_len(unsigned idx)
{
	return 60 + (idx * 37) % (1514 - 60 + 1);
}

static int frame_check(const uint8_t *f, unsigned len, unsigned idx)
{
	uint8_t want[1514];

	if (len != frame_len(idx))
		return -1;
	frame_make(want, f, idx, len);
	return memcmp(want, f, len) ? -1 : 0;
}

static struct fake_igb *fk[2];
static int ports[2];

static int setup(void)
{
	test_lcore_set(0);
	if (zdk_mbuf_pool_create("igb-test", NB_MBUF, 64, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp))
		return -1;
	return 0;
}

static int teardown(void)
{
	zdk_mbuf_pool_destroy(mp);
	return test_dma_live() == 0 ? 0 : -1;
}

static void test_probe(void)
{
	const struct zdk_pci_driver *drv = fake_igb_driver();
	struct zdk_eth_dev_info info;
	struct zdk_ether_addr mac;
	struct zdk_eth_link link;
	char buf[18];

	CU_ASSERT_FATAL(drv != NULL);
	CU_ASSERT_STRING_EQUAL(drv->name, "igb");
	CU_ASSERT_EQUAL(drv->id_table[0].device_id, 0x10c9);
	/* Probed in reverse address order, numbered in address order. */
	for (unsigned i = 2; i-- > 0;) {
		char bdf[16];

		snprintf(bdf, sizeof(bdf), "0000:0%u:00.0", i + 1);
		fk[i] = fake_igb_create(bdf, i);
		CU_ASSERT_FATAL(drv->probe(&fk[i]->pci) == 0);
	}
	for (unsigned i = 0; i < 2; i++) {
		char bdf[16];

		snprintf(bdf, sizeof(bdf), "0000:0%u:00.0", i + 1);
		ports[i] = zdk_eth_port_find(bdf);
		CU_ASSERT_EQUAL(ports[i], (int)i);
		CU_ASSERT_EQUAL(zdk_eth_dev_get((uint16_t)i)->port_id, i);
	}
	CU_ASSERT_EQUAL(zdk_eth_port_count(), 2);
	CU_ASSERT_EQUAL(zdk_eth_port_find("0000:09:00.0"), -ENODEV);
	CU_ASSERT_EQUAL(zdk_eth_macaddr_get(1, &mac), 0);
	zdk_eth_addr_format(&mac, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "02:fa:4e:00:00:01");
	CU_ASSERT_EQUAL(zdk_eth_dev_info_get(0, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.driver_name, "igb");
	CU_ASSERT_STRING_EQUAL(info.pci_name, "0000:01:00.0");
	CU_ASSERT(info.max_rx_queues >= 4);
	CU_ASSERT_EQUAL(zdk_eth_link_wait(0, 100, &link), 0);
	CU_ASSERT(link.up);
	CU_ASSERT_EQUAL(link.speed_mbps, 1000);
	/* Interrupts masked, reset done, driver-loaded set. */
	CU_ASSERT_EQUAL(fake_igb_reg(fk[0], IGB_IMC), ~0u);
	CU_ASSERT(fake_igb_reg(fk[0], IGB_CTRL_EXT) & IGB_CTRL_EXT_DRV_LOAD);
}

static void port_start_desc(uint16_t port, uint16_t nq, uint32_t rss_hf, uint16_t nb_desc)
{
	struct zdk_eth_conf conf = { .size = sizeof(conf), .rss_hf = rss_hf };

	CU_ASSERT_FATAL(zdk_eth_dev_configure(port, nq, nq, &conf) == 0);
	for (uint16_t q = 0; q < nq; q++) {
		CU_ASSERT_FATAL(zdk_eth_rx_queue_setup(port, q, nb_desc, 0, mp) == 0);
		CU_ASSERT_FATAL(zdk_eth_tx_queue_setup(port, q, nb_desc, 0) == 0);
	}
	CU_ASSERT_FATAL(zdk_eth_dev_start(port) == 0);
}

static void port_start(uint16_t port, uint16_t nq, uint32_t rss_hf)
{
	port_start_desc(port, nq, rss_hf, NB_DESC);
}

static void port_close_check(uint16_t port)
{
	CU_ASSERT_EQUAL(zdk_eth_dev_stop(port), 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(port), 0);
	/* Every mbuf the rings held is back. */
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), NB_MBUF);
}

static void test_setup_errors(void)
{
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 9, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 1, 1, &(struct zdk_eth_conf){
			.size = sizeof(struct zdk_eth_conf), .rss_hf = 1u << 30 }), -EINVAL);
	/* the conf carries its size: unset is refused */
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 1, 1, &(struct zdk_eth_conf){ .rss_hf = 0 }),
			-EINVAL);
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(7, 1, 1, NULL), -ENODEV);
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 1, 1, NULL), 0);
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 0, 100, 0, mp), -EINVAL); /* not a 32 multiple */
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 1, NB_DESC, 0, mp), -EINVAL);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), -EINVAL); /* queues not set up */
	test_dma_fail_after(0);
	CU_ASSERT_EQUAL(zdk_eth_tx_queue_setup(0, 0, NB_DESC, 0), -ENOMEM);
	test_dma_fail_after(-1);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(0), 0);
}

struct sink {
	unsigned count;
	unsigned bad;
	unsigned next_idx;
};

static void sink_check(void *arg, unsigned q, const uint8_t *f, unsigned len)
{
	struct sink *s = arg;

	(void)q;
	if (frame_check(f, len, s->next_idx))
		s->bad++;
	s->next_idx++;
	s->count++;
}

static struct zdk_mbuf *mbuf_frame(unsigned idx, const uint8_t *dst)
{
	struct zdk_mbuf *m = zdk_mbuf_alloc(mp);
	unsigned len = frame_len(idx);

	CU_ASSERT_FATAL(m != NULL);
	frame_make(zdk_mbuf_append(m, len), dst, idx, len);
	return m;
}

static void test_tx(void)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	struct zdk_mbuf *pkts[32];
	struct sink s = { 0 };
	struct zdk_eth_stats st;
	unsigned sent = 0, i, n;

	port_start(0, 1, 0);
	CU_ASSERT(fake_igb_reg(fk[0], IGB_TCTL) & IGB_TCTL_EN);
	CU_ASSERT_EQUAL(fake_igb_reg(fk[0], IGB_RDT(0)), NB_DESC - 1);
	fake_igb_set_sink(fk[0], sink_check, &s);
	while (sent < 1024) {
		for (i = 0; i < 32; i++)
			pkts[i] = mbuf_frame(sent + i, dst);
		n = zdk_eth_tx_burst(0, 0, pkts, 32);
		CU_ASSERT_EQUAL(n, 32);
		sent += n;
		CU_ASSERT_EQUAL(fake_igb_tx_run(fk[0]), 32);
	}
	CU_ASSERT_EQUAL(s.count, sent);
	CU_ASSERT_EQUAL(s.bad, 0);
	CU_ASSERT_EQUAL(fk[0]->bad_desc, 0);
	/* One DD per 32 descriptors: the sent mbufs come back in batches, so
	 * at most the ring's worth is still held. */
	CU_ASSERT(zdk_mempool_avail_count(mp) >= NB_MBUF - 2 * NB_DESC);

	/* With the device stalled, the ring takes nb_desc - 1 packets. */
	for (sent = 0;; sent += n) {
		for (i = 0; i < 32; i++)
			pkts[i] = mbuf_frame(i, dst);
		n = zdk_eth_tx_burst(0, 0, pkts, 32);
		zdk_mbuf_free_bulk(pkts + n, 32 - n);
		if (n < 32) {
			sent += n;
			break;
		}
	}
	CU_ASSERT(sent <= NB_DESC - 1 && sent >= NB_DESC - 32);
	CU_ASSERT_EQUAL(zdk_eth_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.opackets, 1024);               /* what the device sent */
	CU_ASSERT_EQUAL(st.q_opackets[0], 1024 + sent);   /* what the queue accepted */
	port_close_check(0);
}

/* Receive until the queue is empty, or for at most @max_bursts bursts (a
 * driver that keeps "receiving" must fail the test, not hang it). */
/*
 * Issue 9, defect 2: a tx burst larger than nb_desc - 32 made the cleanup read
 * a DD bit left from the previous lap: in-flight mbufs were freed (one twice),
 * TDT caught TDH, frames vanished and the queue stalled. Bursts around and
 * beyond a 64-descriptor ring, with the device sometimes lagging a burst.
 */
static void test_tx_burst_beyond_ring(void)
{
	static const uint16_t bursts[] = { 64, 63, 33, 65, 100, 200 };
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	struct zdk_mbuf *pkts[200];

	for (unsigned z = 0; z < sizeof(bursts) / sizeof(bursts[0]); z++) {
		unsigned b = bursts[z], sent = 0, round, i, n;
		struct sink s = { 0 };

		port_start_desc(0, 1, 0, 64);
		fake_igb_set_sink(fk[0], sink_check, &s);
		for (round = 0; round < 200 && sent < 1000; round++) {
			for (i = 0; i < b; i++)
				pkts[i] = mbuf_frame(sent + i, dst);
			n = zdk_eth_tx_burst(0, 0, pkts, (uint16_t)b);
			CU_ASSERT(n <= 63);
			zdk_mbuf_free_bulk(pkts + n, b - n);
			sent += n;
			if (round % 3 != 2)
				fake_igb_tx_run(fk[0]);
		}
		fake_igb_tx_run(fk[0]);
		if (sent < 1000 || s.count != sent || s.bad || zdk_mempool_audit_errors(mp))
			printf("bursts of %u on 64 descriptors: %u accepted in %u bursts, %u on the "
			       "wire (%u bad), %lu mempool errors\n", b, sent, round, s.count, s.bad,
			       zdk_mempool_audit_errors(mp));
		CU_ASSERT(sent >= 1000); /* no stall */
		CU_ASSERT_EQUAL(s.count, sent);
		CU_ASSERT_EQUAL(s.bad, 0);
		CU_ASSERT_EQUAL(fk[0]->bad_desc, 0);
		CU_ASSERT_EQUAL(zdk_mempool_audit_errors(mp), 0);
		fake_igb_set_sink(fk[0], NULL, NULL);
		port_close_check(0);
	}
}

static int rx_drain_max(uint16_t port, uint16_t q, unsigned *idx, unsigned *bad,
			unsigned max_bursts)
{
	struct zdk_mbuf *pkts[32];
	uint16_t n, i;
	int total = 0;

	while (max_bursts-- > 0 && (n = zdk_eth_rx_burst(port, q, pkts, 32)) > 0) {
		for (i = 0; i < n; i++) {
			struct zdk_mbuf *m = pkts[i];

			if (m->port != port || m->data_off != ZDK_MBUF_HEADROOM ||
			    m->pkt_len != m->data_len || m->nb_segs != 1 ||
			    frame_check(zdk_mbuf_mtod(m, uint8_t *), m->data_len, (*idx)++))
				(*bad)++;
		}
		zdk_mbuf_free_bulk(pkts, n);
		total += n;
	}
	return total;
}

static int rx_drain(uint16_t port, uint16_t q, unsigned *idx, unsigned *bad)
{
	return rx_drain_max(port, q, idx, bad, ~0u);
}

static void test_rx(void)
{
	uint8_t f[1514];
	unsigned idx = 0, check = 0, bad = 0, i, got, dropped = 0;
	struct zdk_eth_stats st;

	port_start(0, 1, 0);
	CU_ASSERT_EQUAL(zdk_eth_stats_reset(0), 0);
	/* 1000 frames in groups of 100, across the 256-descriptor ring. */
	for (i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, i,
									  frame_len(i))), 0);
		if (i % 100 == 99)
			CU_ASSERT_EQUAL(rx_drain(0, 0, &check, &bad), 100);
	}
	CU_ASSERT_EQUAL(check, 1000);
	CU_ASSERT_EQUAL(bad, 0);
	/* A full ring: the device keeps one descriptor back (RDT), drops the rest. */
	for (i = 0; i < 300; i++, idx++) {
		int q = fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, 1000 + i,
								 frame_len(1000 + i)));
		dropped += q == -ENOBUFS;
	}
	got = rx_drain(0, 0, &check, &bad);
	CU_ASSERT(got >= NB_DESC - 32 && got <= NB_DESC - 1);
	CU_ASSERT_EQUAL(got + dropped, 300);
	CU_ASSERT_EQUAL(bad, 0);
	/* Buffers came back: the ring takes frames again. */
	check = 5000;
	for (i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, 5000 + i,
									  frame_len(5000 + i))), 0);
	CU_ASSERT_EQUAL(rx_drain(0, 0, &check, &bad), 64);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(zdk_eth_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.ipackets, 1000 + got + 64);
	CU_ASSERT_EQUAL(st.q_ipackets[0], 1000 + got + 64);
	CU_ASSERT_EQUAL(st.imissed, dropped);
	CU_ASSERT_EQUAL(st.q_missed[0], dropped);
	CU_ASSERT_EQUAL(zdk_eth_stats_reset(0), 0);
	CU_ASSERT_EQUAL(zdk_eth_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.ipackets + st.q_ipackets[0] + st.imissed, 0);
	port_close_check(0);
}

/*
 * Issue 9, defect 1: ring sizes that are not powers of two (igb takes 64..4096
 * in steps of 32) were indexed with "& (nb_desc - 1)": 400 frames came out as
 * thousands, and tx freed in-flight mbufs into the pool twice.
 */
static void test_ring_sizes_not_pow2(void)
{
	static const uint16_t sizes[] = { 96, 160, 480, 992 };
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	struct zdk_mbuf *pkts[32];
	uint8_t f[1514];

	for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		unsigned idx = 0, bad = 0, got = 0, sent = 0, i, n;
		struct sink s = { 0 };

		port_start_desc(0, 1, 0, sizes[z]);
		fake_igb_set_sink(fk[0], sink_check, &s);
		for (i = 0; i < 400; i++) {
			CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, i,
									  frame_len(i))), 0);
			if (i % 50 == 49)
				got += rx_drain_max(0, 0, &idx, &bad, 100);
		}
		while (sent < 416) {
			for (i = 0; i < 32; i++)
				pkts[i] = mbuf_frame(sent + i, dst);
			n = zdk_eth_tx_burst(0, 0, pkts, 32);
			CU_ASSERT_EQUAL(n, 32);
			zdk_mbuf_free_bulk(pkts + n, 32 - n);
			sent += 32;
			CU_ASSERT_EQUAL(fake_igb_tx_run(fk[0]), n);
		}
		if (zdk_mempool_audit_errors(mp) || got != 400 || s.count != 416 || bad || s.bad)
			printf("ring of %u: %u frames received of 400 (%u bad), %u on the wire of "
			       "416 (%u bad), %lu mempool errors\n", sizes[z], got, bad, s.count,
			       s.bad, zdk_mempool_audit_errors(mp));
		CU_ASSERT_EQUAL(got, 400);
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(s.count, 416);
		CU_ASSERT_EQUAL(s.bad, 0);
		CU_ASSERT_EQUAL(fk[0]->bad_desc, 0);
		CU_ASSERT_EQUAL(zdk_mempool_audit_errors(mp), 0);
		fake_igb_set_sink(fk[0], NULL, NULL);
		port_close_check(0);
	}
}

/*
 * Issue 9, defect 3: rx_burst took the write-back length as it came and never
 * looked at EOP or the errors: a bad length sent the application reading,
 * and forwarding, memory past the 2 KiB buffer. Each bad write-back between
 * good frames is dropped, its mbuf recycled, and counted in q_errors and
 * ierrors; a length of exactly the buffer size is good.
 */
static void test_rx_bad_writeback(void)
{
	static const struct { uint32_t wb_len, status; } bad[] = {
		{ 0, IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP },          /* no bytes */
		{ 2049, IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP },       /* buffer + 1 */
		{ 65535, IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP },      /* 16-bit field full */
		{ 100, IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP | 0x80000000u }, /* RXE */
		{ 100, IGB_RXD_STAT_DD },                           /* no EOP ... */
	};
	const unsigned nbad = sizeof(bad) / sizeof(bad[0]);
	struct zdk_mbuf *pkts[64];
	struct zdk_eth_stats st;
	unsigned i, idx = 0, got = 0, over = 0, wrong = 0, n;
	uint8_t f[2048];

	port_start(0, 1, 0);
	for (i = 0; i < nbad; i++) {
		CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, i,
									  frame_len(i))), 0);
		frame_make(f, fk[0]->mac, 1000 + i, 100);
		CU_ASSERT_EQUAL(fake_igb_rx_inject_wb(fk[0], f, 100, bad[i].wb_len, bad[i].status), 0);
	}
	/* ... whose tail, with EOP, goes with it. */
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, 1100, 100)), 0);
	/* A frame that fills the buffer exactly, then a last good one. */
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, 2000, 2048)), 0);
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, nbad,
								  frame_len(nbad))), 0);
	n = zdk_eth_rx_burst(0, 0, pkts, 64);
	for (i = 0; i < n; i++) {
		struct zdk_mbuf *m = pkts[i];
		const uint8_t *data = zdk_mbuf_mtod(m, const uint8_t *);

		if (m->data_len > m->buf_len - m->data_off || m->data_len == 0) {
			printf("rx_burst handed out a %u-byte frame from a %u-byte buffer\n",
			       m->data_len, m->buf_len - m->data_off);
			over++;
		} else if (m->data_len == 2048) {
			uint8_t want[2048];

			frame_make(want, fk[0]->mac, 2000, 2048);
			wrong += memcmp(want, data, 2048) != 0;
		} else {
			wrong += frame_check(data, m->data_len, idx++) != 0;
		}
		got++;
	}
	zdk_mbuf_free_bulk(pkts, n);
	printf("%u write-backs, %u handed out (want %u), %u beyond the buffer, %u wrong\n",
	       2 * nbad + 3, got, nbad + 2, over, wrong);
	CU_ASSERT_EQUAL(got, nbad + 2);
	CU_ASSERT_EQUAL(over, 0);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(idx, nbad + 1);
	CU_ASSERT_EQUAL(zdk_eth_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.q_errors[0], nbad + 1);
	CU_ASSERT_EQUAL(st.ierrors, nbad + 1);
	CU_ASSERT_EQUAL(st.q_ipackets[0], nbad + 2);
	/* The ring keeps receiving: the dropped descriptors were refilled. */
	for (i = 0; i < 200; i++)
		CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, nbad + 1 + i,
									  frame_len(nbad + 1 + i))), 0);
	CU_ASSERT_EQUAL(rx_drain(0, 0, &idx, &over), 200);
	CU_ASSERT_EQUAL(over, 0);
	CU_ASSERT_EQUAL(zdk_mempool_audit_errors(mp), 0);
	port_close_check(0);
}

static void test_promisc(void)
{
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	uint8_t f[64];
	unsigned idx = 0, bad = 0;

	port_start(0, 1, 0);
	frame_make(f, other, 0, 60);
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, 60), -EPERM);
	CU_ASSERT_EQUAL(zdk_eth_promiscuous_enable(0), 0);
	CU_ASSERT_EQUAL(zdk_eth_promiscuous_get(0), 1);
	CU_ASSERT(fake_igb_reg(fk[0], IGB_RCTL) & IGB_RCTL_UPE);
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, 60), 0);
	CU_ASSERT_EQUAL(rx_drain(0, 0, &idx, &bad), 1);
	CU_ASSERT_EQUAL(zdk_eth_promiscuous_disable(0), 0);
	CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, 60), -EPERM);
	port_close_check(0);
}

static void test_rss(void)
{
	struct zdk_mbuf *pkts[32];
	unsigned per_q[4] = { 0 }, wrong = 0, i, q;
	uint8_t f[128];

	port_start(0, 4, ZDK_ETH_RSS_IP);
	CU_ASSERT_EQUAL(fake_igb_reg(fk[0], IGB_MRQC) & 3, IGB_MRQC_RSS);
	for (i = 0; i < 400; i++) {
		int exp;

		frame_make(f, fk[0]->mac, i, 100);
		exp = fake_igb_rx_inject(fk[0], f, 100);
		CU_ASSERT_FATAL(exp >= 0 && exp < 4);
		/* Round-robin RETA: entry (hash & 127) holds queue entry % 4. */
		if ((unsigned)exp != (fake_igb_rss_hash(f, 100) & 127) % 4)
			wrong++;
		for (q = 0; q < 4; q++) {
			uint16_t n = zdk_eth_rx_burst(0, (uint16_t)q, pkts, 32);

			for (uint16_t k = 0; k < n; k++) {
				const uint8_t *d = zdk_mbuf_mtod(pkts[k], const uint8_t *);

				if (q != (unsigned)exp || !(pkts[k]->ol_flags & ZDK_MBUF_F_RX_RSS_HASH) ||
				    pkts[k]->rss_hash != fake_igb_rss_hash(d, 100))
					wrong++;
				per_q[q]++;
			}
			zdk_mbuf_free_bulk(pkts, n);
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	for (q = 0; q < 4; q++)
		CU_ASSERT(per_q[q] > 50);
	CU_ASSERT_EQUAL(per_q[0] + per_q[1] + per_q[2] + per_q[3], 400);
	port_close_check(0);
}

/* Two ports, l2fwd's loop: whatever port 0 receives leaves port 1 intact. */
static void test_forward(void)
{
	struct zdk_mbuf *pkts[32];
	struct sink s = { 0 };
	uint8_t f[1514];
	unsigned i, fwd = 0;

	port_start(0, 1, 0);
	port_start(1, 1, 0);
	fake_igb_set_sink(fk[1], sink_check, &s);
	for (i = 0; i < 5000; i++) {
		CU_ASSERT_EQUAL(fake_igb_rx_inject(fk[0], f, frame_make(f, fk[0]->mac, i,
									  frame_len(i))), 0);
		if (i % 48 == 47 || i == 4999) {
			uint16_t n;

			while ((n = zdk_eth_rx_burst(0, 0, pkts, 32)) > 0) {
				uint16_t t = zdk_eth_tx_burst(1, 0, pkts, n);

				CU_ASSERT_EQUAL(t, n);
				fwd += t;
			}
			fake_igb_tx_run(fk[1]);
		}
	}
	CU_ASSERT_EQUAL(fwd, 5000);
	CU_ASSERT_EQUAL(s.count, 5000);
	CU_ASSERT_EQUAL(s.bad, 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(0), 0); /* port 1 still holds port 0's mbufs */
	port_close_check(1);
}

static void test_remove(void)
{
	const struct zdk_pci_driver *drv = fake_igb_driver();
	unsigned live = test_dma_live();

	port_start(0, 2, 0); /* left started: remove must stop and free it */
	CU_ASSERT(test_dma_live() > live);
	for (unsigned i = 0; i < 2; i++) {
		drv->remove(&fk[i]->pci);
		fake_igb_destroy(fk[i]);
	}
	CU_ASSERT_EQUAL(zdk_eth_port_count(), 0);
	CU_ASSERT_EQUAL(test_dma_live(), live);
	CU_ASSERT_EQUAL(zdk_mempool_avail_count(mp), NB_MBUF);
}

/* Issue 10: the 82576 family is matched, other igb-class parts are refused
 * by name (-ENOTSUP, so zdk_eal_init() goes on), other Intel NICs not matched. */
static void test_family(void)
{
	static const uint16_t family[] = { 0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x1526, 0x150a,
					   0x1518, 0x150d };
	const struct zdk_pci_driver *drv = fake_igb_driver();
	struct fake_igb *f;
	unsigned n = 0;

	for (const struct zdk_pci_id *id = drv->id_table; id->vendor_id; id++)
		for (unsigned i = 0; i < ZDK_ARRAY_SIZE(family); i++)
			n += id->vendor_id == 0x8086 && id->device_id == family[i];
	CU_ASSERT_EQUAL(n, ZDK_ARRAY_SIZE(family));
	for (const struct zdk_pci_id *id = drv->id_table; id->vendor_id; id++)
		CU_ASSERT_NOT_EQUAL(id->device_id, 0x10d3); /* e1000e: not ours */

	f = fake_igb_create("0000:0a:00.0", 9);
	f->pci.device_id = 0x1521; /* I350 */
	CU_ASSERT_EQUAL(drv->probe(&f->pci), -ENOTSUP);
	CU_ASSERT_PTR_NULL(f->pci.driver_data);
	fake_igb_destroy(f);
}

static const struct zdk_test tests[] = {
	{ "igb family: 82576 matched, I350 & co. refused by name", test_family },
	{ "probe, MAC, link", test_probe },
	{ "setup errors", test_setup_errors },
	{ "tx: 1024 frames, data and order; full ring", test_tx },
	{ "rx: 1000 frames across wrap; full ring drops; stats", test_rx },
	{ "rx/tx on rings that are not powers of two", test_ring_sizes_not_pow2 },
	{ "tx bursts around and beyond the ring", test_tx_burst_beyond_ring },
	{ "rx: bad write-backs are dropped and counted", test_rx_bad_writeback },
	{ "promiscuous filter", test_promisc },
	{ "RSS over 4 queues", test_rss },
	{ "forward port 0 -> port 1", test_forward },
	{ "remove a started port", test_remove },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("igb on the fake 82576", setup, teardown, tests);
}
