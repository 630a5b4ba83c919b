/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pktgen - send UDP frames on one port, receive them on another, and report
 * what came back: rates, loss, duplicates, reordering, corruption, MAC
 * rewriting and latency.
 *
 *   zdk-pktgen [zdk options] -- [--tx-port P] [--rx-port P] [-s SIZE]
 *              [-r PPS] [-n COUNT] [-t SECONDS] [--dst MAC]
 *              [--expect-src MAC] [--expect-dst MAC] [--drain-ms MS] [--strict]
 *              [--flows N]
 *
 * Each frame carries, after its IPv4/UDP headers, a magic, a sequence number,
 * the TSC at send time and a pattern derived from the sequence number, which
 * the receiver checks byte for byte. SIZE is the frame size with its CRC
 * (64..1518, default 64); PPS 0 sends as fast as the port takes them; the
 * run ends after COUNT frames or SECONDS, whichever comes first, then waits
 * --drain-ms (default 500) for stragglers. Loss is frames sent minus frames
 * received. --strict exits 1 unless loss, duplicates, corruption and MAC
 * mismatches are all zero. --rx-only sends nothing and checks COUNT frames
 * of this format from another sender (seq 0..COUNT-1, TSC 0) within
 * SECONDS (default 10). --flows N (default 1) gives frame i the UDP source
 * port 1234 + i % N, so that a receiver's RSS spreads them over its queues.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "zdk_eal.h"
#include "zdk_eth.h"
#include "zdk_mbuf.h"

#define BURST 32
#define HDR_LEN (14 + 20 + 8)
#define MAGIC 0x5a44u /* "ZD" */
#define MAX_LAT_SAMPLES (1u << 20)

/* The payload header, 14 bytes so that a 64-byte frame (60 without CRC,
 * 18 of payload) still carries it; the pattern fills the rest. */
struct probe {
	uint16_t magic;
	uint32_t seq;
	uint64_t tsc;
} __attribute__((packed));

struct opts {
	uint16_t tx_port, rx_port;
	unsigned size;
	uint64_t rate, count;
	double seconds;
	unsigned drain_ms;
	unsigned flows;          /* UDP source ports to cycle through */
	uint16_t nb_rxd, nb_txd; /* asked for; fitted to each port's limits */
	bool strict, check_src, check_dst, rx_only;
	struct zdk_ether_addr dst, expect_src, expect_dst;
};

struct results {
	uint64_t tx, rx, dup, reorder, corrupt, badmac, other;
	uint64_t max_seq;
	uint8_t *seen; /* one bit per sequence number */
	uint64_t *lat; /* TSC ticks, first MAX_LAT_SAMPLES */
	unsigned nlat;
	double tx_secs, rx_secs;
	uint64_t rx_first, rx_last;
};

static volatile bool force_quit;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = true;
}

static int parse_mac(const char *s, struct zdk_ether_addr *mac)
{
	unsigned b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac->addr[i] = (uint8_t)b[i];
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_TX = 256, O_RX, O_DST, O_ESRC, O_EDST, O_DRAIN, O_STRICT, O_RXONLY, O_RXD, O_TXD,
	       O_FLOWS };
	static const struct option lopts[] = {
		{ "tx-port", required_argument, NULL, O_TX },
		{ "rx-port", required_argument, NULL, O_RX },
		{ "dst", required_argument, NULL, O_DST },
		{ "expect-src", required_argument, NULL, O_ESRC },
		{ "expect-dst", required_argument, NULL, O_EDST },
		{ "drain-ms", required_argument, NULL, O_DRAIN },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "rx-only", no_argument, NULL, O_RXONLY },
		{ "rxd", required_argument, NULL, O_RXD },
		{ "txd", required_argument, NULL, O_TXD },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*o = (struct opts){ .tx_port = 0, .rx_port = 1, .size = 64, .drain_ms = 500,
			    .nb_rxd = 4096, .nb_txd = 1024, .flows = 1 };
	memset(o->dst.addr, 0xff, 6);
	while ((opt = getopt_long(argc, argv, "s:r:n:t:", lopts, NULL)) != -1) {
		switch (opt) {
		case O_TX: o->tx_port = (uint16_t)atoi(optarg); break;
		case O_RX: o->rx_port = (uint16_t)atoi(optarg); break;
		case 's': o->size = (unsigned)atoi(optarg); break;
		case 'r': o->rate = strtoull(optarg, NULL, 0); break;
		case 'n': o->count = strtoull(optarg, NULL, 0); break;
		case 't': o->seconds = atof(optarg); break;
		case O_DRAIN: o->drain_ms = (unsigned)atoi(optarg); break;
		case O_STRICT: o->strict = true; break;
		case O_RXONLY: o->rx_only = true; break;
		case O_RXD: o->nb_rxd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case O_TXD: o->nb_txd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case O_FLOWS: o->flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case O_DST:
			if (parse_mac(optarg, &o->dst))
				return -EINVAL;
			break;
		case O_ESRC:
			if (parse_mac(optarg, &o->expect_src))
				return -EINVAL;
			o->check_src = true;
			break;
		case O_EDST:
			if (parse_mac(optarg, &o->expect_dst))
				return -EINVAL;
			o->check_dst = true;
			break;
		default: return -EINVAL;
		}
	}
	if (o->size < 64 || o->size > 1518 || o->count > UINT32_MAX || o->flows == 0 ||
	    o->flows > 60000)
		return -EINVAL;
	if (o->rx_only && o->seconds <= 0)
		o->seconds = 10;
	if (o->count == 0) /* not given: what the time allows, else a million */
		o->count = o->seconds > 0 ? (o->rate ? (uint64_t)(o->seconds * o->rate) + BURST
						     : UINT64_C(1) << 30)
					  : 1000000;
	return 0;
}

static uint16_t ip_csum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint8_t pattern(uint64_t seq, unsigned i)
{
	return (uint8_t)(seq * 131 + i * 7 + 1);
}

/* The headers every frame shares, built once. */
static void template_build(uint8_t *t, const struct opts *o, const struct zdk_ether_addr *src)
{
	unsigned len = o->size - 4; /* without the CRC the device adds */
	uint8_t *ip = t + 14, *udp = ip + 20;

	memcpy(t, o->dst.addr, 6);
	memcpy(t + 6, src->addr, 6);
	t[12] = 0x08;
	t[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	memcpy(ip + 12, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 198, 19, 0, 1 }, 4);
	ip[10] = (uint8_t)(ip_csum(ip) >> 8);
	ip[11] = (uint8_t)ip_csum(ip);
	udp[0] = 0x04; udp[1] = 0xd2; /* 1234 */
	udp[2] = 0x16; udp[3] = 0x2e; /* 5678 */
	udp[4] = (uint8_t)((len - 34) >> 8);
	udp[5] = (uint8_t)(len - 34);
	udp[6] = udp[7] = 0; /* no UDP checksum */
}

static void frame_fill(struct zdk_mbuf *m, const uint8_t *tmpl, unsigned len, uint64_t seq,
		       unsigned flows)
{
	uint8_t *f = zdk_mbuf_append(m, len);
	struct probe p = { .magic = MAGIC, .seq = (uint32_t)seq, .tsc = 0 };
	unsigned i, sport = 1234 + (unsigned)(seq % flows);

	memcpy(f, tmpl, HDR_LEN);
	f[34] = (uint8_t)(sport >> 8); /* UDP source port (no UDP checksum to fix) */
	f[35] = (uint8_t)sport;
	for (i = HDR_LEN + sizeof(p); i < len; i++)
		f[i] = pattern(seq, i);
	p.tsc = zdk_rdtsc();
	memcpy(f + HDR_LEN, &p, sizeof(p));
}

static void frame_check(struct results *r, const struct opts *o, const uint8_t *f, unsigned len,
			uint64_t now)
{
	struct probe p;
	unsigned i;

	if (len < HDR_LEN + sizeof(p)) {
		r->other++;
		return;
	}
	memcpy(&p, f + HDR_LEN, sizeof(p));
	if (p.magic != MAGIC || f[12] != 0x08 || f[23] != 17) {
		r->other++;
		return;
	}
	r->rx++;
	if (p.seq >= (o->rx_only ? o->count : r->tx) || len != o->size - 4) {
		r->corrupt++;
		return;
	}
	for (i = HDR_LEN + sizeof(p); i < len; i++) {
		if (f[i] != pattern(p.seq, i)) {
			r->corrupt++;
			break;
		}
	}
	if ((o->check_dst && memcmp(f, o->expect_dst.addr, 6)) ||
	    (o->check_src && memcmp(f + 6, o->expect_src.addr, 6)))
		r->badmac++;
	if (r->seen[p.seq >> 3] & (1u << (p.seq & 7)))
		r->dup++;
	r->seen[p.seq >> 3] |= (uint8_t)(1u << (p.seq & 7));
	if (r->rx > 1 && p.seq < r->max_seq)
		r->reorder++;
	if (p.seq > r->max_seq)
		r->max_seq = p.seq;
	if (r->nlat < MAX_LAT_SAMPLES && !o->rx_only) /* others' frames carry no TSC */
		r->lat[r->nlat++] = now - p.tsc;
}

/* Return: frames received. */
static uint16_t rx_poll(struct results *r, const struct opts *o)
{
	struct zdk_mbuf *pkts[BURST];
	uint16_t n = zdk_eth_rx_burst(o->rx_port, 0, pkts, BURST);
	uint64_t now;

	if (n == 0)
		return 0;
	now = zdk_rdtsc();
	if (r->rx_first == 0)
		r->rx_first = now;
	r->rx_last = now;
	for (uint16_t i = 0; i < n; i++)
		frame_check(r, o, zdk_mbuf_mtod(pkts[i], const uint8_t *), pkts[i]->data_len, now);
	zdk_mbuf_free_bulk(pkts, n);
	return n;
}

/* Send what the rate allows now (at most a burst); rate 0: a full burst.
 * Return: frames sent. */
static uint16_t tx_step(struct results *r, const struct opts *o, struct zdk_mempool *mp,
		    const uint8_t *tmpl, uint64_t *start, uint64_t hz)
{
	struct zdk_mbuf *pkts[BURST];
	uint64_t due = BURST;
	uint16_t n, sent;

	if (o->rate) {
		uint64_t now = zdk_rdtsc();
		double should = (double)(now - *start) * (double)o->rate / (double)hz;

		due = should > (double)r->tx ? (uint64_t)should - r->tx : 0;
		if (due > 16 * BURST) {
			/* Behind (we were not scheduled): do not catch up in one
			 * flood the receiver cannot take; restart the clock. */
			*start = now - (uint64_t)((double)(r->tx + BURST) * hz / (double)o->rate);
			due = BURST;
		}
	}
	due = ZDK_MIN(due, (uint64_t)BURST);
	due = ZDK_MIN(due, o->count - r->tx);
	if (due == 0 || zdk_mbuf_alloc_bulk(mp, pkts, (unsigned)due))
		return 0;
	for (n = 0; n < due; n++)
		frame_fill(pkts[n], tmpl, o->size - 4, r->tx + n, o->flows);
	sent = zdk_eth_tx_burst(o->tx_port, 0, pkts, (uint16_t)due);
	r->tx += sent;
	if (sent < due)
		zdk_mbuf_free_bulk(pkts + sent, (unsigned)due - sent);
	return sent;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @p-th percentile of the sorted latency samples (nearest rank). */
static uint64_t lat_pct(const struct results *r, double p)
{
	return r->lat[zdk_percentile_rank(r->nlat, p) - 1];
}

static void report(struct results *r, const struct opts *o, uint64_t hz)
{
	double rx_secs = r->rx_last > r->rx_first ? (double)(r->rx_last - r->rx_first) / hz : 0;
	uint64_t sent = o->rx_only ? o->count : r->tx;
	uint64_t lost = sent > r->rx ? sent - r->rx : 0;

	printf("pktgen: size %u B, tx port %u, rx port %u\n", o->size, o->tx_port, o->rx_port);
	printf("pktgen: tx %" PRIu64 " frames in %.3f s = %.0f pps\n", r->tx, r->tx_secs,
	       r->tx_secs > 0 ? r->tx / r->tx_secs : 0);
	printf("pktgen: rx %" PRIu64 " frames in %.3f s = %.0f pps\n", r->rx, rx_secs,
	       rx_secs > 0 ? r->rx / rx_secs : 0);
	if (r->nlat) {
		double us = 1e6 / (double)hz;

		qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u64);
		printf("pktgen: latency us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f "
		       "(%u samples)\n", lat_pct(r, 50) * us, lat_pct(r, 90) * us,
		       lat_pct(r, 99) * us, lat_pct(r, 99.9) * us, r->lat[r->nlat - 1] * us, r->nlat);
	}
	printf("pktgen: RESULT tx=%" PRIu64 " rx=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64
	       " reorder=%" PRIu64 " corrupt=%" PRIu64 " badmac=%" PRIu64 " other=%" PRIu64
	       " tx_pps=%.0f rx_pps=%.0f tx_secs=%.3f\n", r->tx, r->rx, lost, r->dup, r->reorder,
	       r->corrupt, r->badmac, r->other, r->tx_secs > 0 ? r->tx / r->tx_secs : 0,
	       rx_secs > 0 ? r->rx / rx_secs : 0, r->tx_secs);
	fflush(stdout);
}

/* @want descriptors, or the nearest ring size the port supports. */
static uint16_t ring_size(const struct zdk_eth_dev_info *info, uint16_t want)
{
	uint16_t n = want, align = info->desc_align ? info->desc_align : 1;

	if (info->max_desc && n > info->max_desc)
		n = info->max_desc;
	if (n < info->min_desc)
		n = info->min_desc;
	return n - n % align;
}

static int port_init(uint16_t port, struct zdk_mempool *mp, const struct opts *o)
{
	struct zdk_eth_dev_info info;
	struct zdk_eth_link link;
	int ret;

	ret = zdk_eth_dev_info_get(port, &info);
	if (!ret)
		ret = zdk_eth_dev_configure(port, 1, 1, NULL);
	if (!ret)
		ret = zdk_eth_rx_queue_setup(port, 0, ring_size(&info, o->nb_rxd), ZDK_SOCKET_ANY, mp);
	if (!ret)
		ret = zdk_eth_tx_queue_setup(port, 0, ring_size(&info, o->nb_txd), ZDK_SOCKET_ANY);
	if (!ret)
		ret = zdk_eth_promiscuous_enable(port);
	if (!ret)
		ret = zdk_eth_dev_start(port);
	if (!ret && zdk_eth_link_wait(port, 3000, &link))
		fprintf(stderr, "pktgen: port %u: link still down, sending anyway\n", port);
	return ret;
}

static void run(struct results *r, const struct opts *o, struct zdk_mempool *mp,
		const uint8_t *tmpl)
{
	uint64_t hz = zdk_tsc_hz(), start = zdk_rdtsc(), pace = start, end_tx, drain;
	uint64_t limit = o->seconds > 0 ? start + (uint64_t)(o->seconds * hz) : UINT64_MAX;

	if (o->rx_only) { /* frames from another sender: seq 0..count-1 */
		printf("pktgen: waiting for %" PRIu64 " frames on port %u\n", o->count, o->rx_port);
		fflush(stdout);
		while (!force_quit && r->rx < o->count && zdk_rdtsc() < limit)
			rx_poll(r, o);
		for (uint64_t t = zdk_rdtsc() + hz / 5; zdk_rdtsc() < t;)
			rx_poll(r, o); /* duplicates after the last expected frame */
		return;
	}
	while (!force_quit && r->tx < o->count && zdk_rdtsc() < limit) {
		uint16_t busy = tx_step(r, o, mp, tmpl, &pace, hz);

		busy += rx_poll(r, o);
		/* Rate-limited and idle: give the CPU to whoever shares it
		 * (l2fwd on the same vCPU in the VM tests). */
		if (!busy && o->rate)
			sched_yield();
	}
	end_tx = zdk_rdtsc();
	r->tx_secs = (double)(end_tx - start) / hz;
	drain = end_tx + (uint64_t)o->drain_ms * hz / 1000;
	while (!force_quit && r->rx < r->tx && zdk_rdtsc() < drain)
		rx_poll(r, o);
	/* A last look for duplicates and late frames. */
	for (uint64_t t = zdk_rdtsc() + hz / 20; zdk_rdtsc() < t;)
		rx_poll(r, o);
}

int main(int argc, char **argv)
{
	struct results r = { 0 };
	struct zdk_mempool *mp = NULL;
	struct zdk_ether_addr src;
	uint8_t tmpl[HDR_LEN];
	struct opts o;
	uint64_t sent;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach logs and pipes at once */
	ret = zdk_eal_init(argc, argv);
	if (ret < 0)
		return ret == -ECANCELED ? 0 : 1;
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv, &o) || !zdk_eth_port_valid(o.tx_port) ||
	    !zdk_eth_port_valid(o.rx_port)) {
		fprintf(stderr, "usage: %s [zdk options] -- [--tx-port P] [--rx-port P] [-s 64..1518]"
			" [-r PPS] [-n COUNT] [-t SECONDS] [--dst MAC] [--expect-src MAC]"
			" [--expect-dst MAC] [--drain-ms MS] [--strict] [--rx-only]"
			" [--rxd N] [--txd N] [--flows N]\n"
			"(%u ports probed)\n", argv[0], zdk_eth_port_count());
		ret = 1;
		goto out_cleanup;
	}
	r.seen = calloc(o.count / 8 + 1, 1); /* untouched pages cost nothing */
	r.lat = malloc(MAX_LAT_SAMPLES * sizeof(*r.lat));
	ret = zdk_mbuf_pool_create("pktgen", 2 * (o.nb_rxd + o.nb_txd) + 4096, 256, ZDK_MBUF_DEFAULT_BUF_SIZE,
				   zdk_socket_id(), &mp);
	if (ret || !r.seen || !r.lat) {
		fprintf(stderr, "pktgen: out of memory\n");
		ret = 1;
		goto out_free;
	}
	ret = port_init(o.tx_port, mp, &o);
	if (!ret && o.rx_port != o.tx_port)
		ret = port_init(o.rx_port, mp, &o);
	if (ret) {
		fprintf(stderr, "pktgen: port setup failed: %s\n", strerror(-ret));
		goto out_ports;
	}
	zdk_eth_macaddr_get(o.tx_port, &src);
	template_build(tmpl, &o, &src);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	run(&r, &o, mp, tmpl);
	report(&r, &o, zdk_tsc_hz());
	sent = o.rx_only ? o.count : r.tx;
	ret = o.strict && (sent != r.rx || r.dup || r.corrupt || r.badmac || sent == 0);

out_ports:
	zdk_eth_dev_close(o.tx_port);
	zdk_eth_dev_close(o.rx_port);
out_free:
	zdk_mbuf_pool_destroy(mp);
	free(r.seen);
	free(r.lat);
out_cleanup:
	zdk_eal_cleanup();
	return ret ? 1 : 0;
}
