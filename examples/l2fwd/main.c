/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l2fwd - forward every frame received on a port to its paired port, as
 * DPDK's l2fwd does, with the same options:
 *
 *   zdk-l2fwd [zdk options] -- -p PORTMASK [-q NQ] [-T PERIOD]
 *             [--[no-]mac-updating] [--portmap "(0,1),(2,3)"]
 *             [--rxq N] [--interrupt] [--idle-us US]
 *
 * -p: hex mask of the ports to use; -q: rx queues (port, queue) per lcore
 * (default 1); -T: seconds between statistics (default 10, 0 = off);
 * --mac-updating (default) rewrites src = the output port's MAC, dst =
 * 02:00:00:00:00:<out port>; --portmap pairs ports explicitly (default:
 * consecutive enabled ports). Each lcore polls its queues in bursts of 32
 * and sends on a tx queue of its own on every port. --rxq N gives each port
 * N rx queues spread by RSS (IP, UDP, TCP), handed to the lcores queue by
 * queue: with two lcores and -q 2, one polls queue 0 of every port, the
 * other queue 1. --interrupt: an lcore whose queues found nothing for
 * --idle-us (default 20) arms their interrupts and sleeps until a frame
 * comes (zdk_idle.h). The statistics and the end say how much CPU the
 * process used. Ctrl-C (or SIGTERM) prints the totals and cleans up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_eth.h"
#include "zdk_idle.h"
#include "zdk_log.h"
#include "zdk_mbuf.h"
#include "zdk_pci.h"

#define BURST 32
#define MAX_QUEUES_PER_LCORE 16
#define POOL_CACHE 256
#define SLEEP_MS 100 /* the longest sleep: statistics and Ctrl-C stay timely */

struct port_stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t dropped;
};

struct rx_queue {
	uint16_t port;
	uint16_t queue;
};

struct lcore_conf {
	unsigned nb_rx;
	struct rx_queue rx[MAX_QUEUES_PER_LCORE];
	uint16_t txq;     /* this lcore's tx queue on every port */
	int epfd;         /* --interrupt: its queues' eventfds */
	uint64_t sleeps;  /* times it slept */
	struct port_stats stats[ZDK_ETH_MAX_PORTS]; /* its own: no sharing */
} __zdk_cache_aligned;

static volatile bool force_quit;
static bool mac_updating = true, interrupt_mode;
static uint32_t portmask;
static unsigned queues_per_lcore = 1, idle_us = 20;
static unsigned period_s = 10;
static uint16_t nb_rxd = 4096, nb_txd = 1024; /* ring sizes: --rxd, --txd */
static uint16_t nb_rxq = 1;                   /* per port: --rxq */
static uint16_t nb_txq;                       /* per port: one per lcore */
static int dst_port[ZDK_ETH_MAX_PORTS];
static struct zdk_ether_addr port_mac[ZDK_ETH_MAX_PORTS];
static struct lcore_conf lcore_conf[ZDK_MAX_LCORE];

static void on_signal(int sig)
{
	(void)sig;
	force_quit = true;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [zdk options] -- -p PORTMASK [-q NQ] [-T PERIOD]\n"
		"       [--[no-]mac-updating] [--portmap \"(0,1),(2,3)\"] [--rxd N] [--txd N]\n"
		"       [--rxq N] [--interrupt] [--idle-us US]\n",
		prog);
}

/* "(a,b),(c,d)": both directions of each pair. */
static int parse_portmap(const char *s)
{
	unsigned a, b;
	int n;

	while (*s) {
		if (sscanf(s, " (%u ,%u )%n", &a, &b, &n) != 2 || a >= ZDK_ETH_MAX_PORTS ||
		    b >= ZDK_ETH_MAX_PORTS)
			return -EINVAL;
		dst_port[a] = (int)b;
		dst_port[b] = (int)a;
		s += n;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return 0;
}

static int parse_args(int argc, char **argv, bool *have_map)
{
	enum { OPT_MAC = 256, OPT_NO_MAC, OPT_PORTMAP, OPT_RXD, OPT_TXD, OPT_RXQ, OPT_INTR,
	       OPT_IDLE };
	static const struct option opts[] = {
		{ "mac-updating", no_argument, NULL, OPT_MAC },
		{ "no-mac-updating", no_argument, NULL, OPT_NO_MAC },
		{ "portmap", required_argument, NULL, OPT_PORTMAP },
		{ "rxd", required_argument, NULL, OPT_RXD },
		{ "txd", required_argument, NULL, OPT_TXD },
		{ "rxq", required_argument, NULL, OPT_RXQ },
		{ "interrupt", no_argument, NULL, OPT_INTR },
		{ "idle-us", required_argument, NULL, OPT_IDLE },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "p:q:T:", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': portmask = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'q': queues_per_lcore = (unsigned)atoi(optarg); break;
		case 'T': period_s = (unsigned)atoi(optarg); break;
		case OPT_MAC: mac_updating = true; break;
		case OPT_NO_MAC: mac_updating = false; break;
		/* The port checks the size against what it supports, with a message. */
		case OPT_RXD: nb_rxd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case OPT_TXD: nb_txd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case OPT_RXQ: nb_rxq = (uint16_t)atoi(optarg); break;
		case OPT_INTR: interrupt_mode = true; break;
		case OPT_IDLE: idle_us = (unsigned)atoi(optarg); break;
		case OPT_PORTMAP:
			if (parse_portmap(optarg)) {
				fprintf(stderr, "l2fwd: bad --portmap \"%s\"\n", optarg);
				return -EINVAL;
			}
			*have_map = true;
			break;
		default: return -EINVAL;
		}
	}
	if (!portmask || queues_per_lcore == 0 || queues_per_lcore > MAX_QUEUES_PER_LCORE ||
	    nb_rxq == 0 || nb_rxq > ZDK_ETH_MAX_QUEUES)
		return -EINVAL;
	return 0;
}

/* Pair ports (explicit map, else consecutive enabled ports); check them. */
static int ports_pair(bool have_map)
{
	int p, prev = -1;

	if (!have_map) {
		ZDK_ETH_FOREACH_PORT(p) {
			if (!(portmask & (1u << p)))
				continue;
			if (prev < 0) {
				prev = p;
			} else {
				dst_port[prev] = p;
				dst_port[p] = prev;
				prev = -1;
			}
		}
		if (prev >= 0) {
			fprintf(stderr, "l2fwd: port %d has no pair: give an even number of ports\n",
				prev);
			return -EINVAL;
		}
	}
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
		if (!(portmask & (1u << p)))
			continue;
		if (!zdk_eth_port_valid((uint16_t)p) || dst_port[p] < 0 ||
		    !(portmask & (1u << dst_port[p]))) {
			fprintf(stderr, "l2fwd: port %d: not probed or not paired within -p 0x%x "
				"(%u ports probed)\n", p, portmask, zdk_eth_port_count());
			return -EINVAL;
		}
	}
	return 0;
}

static int port_init(uint16_t port, struct zdk_mempool *mp)
{
	/* Several rx queues: spread by RSS over addresses and ports. */
	struct zdk_eth_conf conf = {
		.size = sizeof(conf),
		.rss_hf = nb_rxq > 1 ? ZDK_ETH_RSS_IP | ZDK_ETH_RSS_UDP | ZDK_ETH_RSS_TCP : 0,
	};
	struct zdk_eth_link link;
	char mac[18];
	uint16_t q;
	int ret;

	ret = zdk_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
	for (q = 0; !ret && q < nb_rxq; q++)
		ret = zdk_eth_rx_queue_setup(port, q, nb_rxd, ZDK_SOCKET_ANY, mp);
	for (q = 0; !ret && q < nb_txq; q++)
		ret = zdk_eth_tx_queue_setup(port, q, nb_txd, ZDK_SOCKET_ANY);
	if (!ret)
		ret = zdk_eth_promiscuous_enable(port);
	if (!ret)
		ret = zdk_eth_dev_start(port);
	if (ret) {
		fprintf(stderr, "l2fwd: port %u: setup failed: %s\n", port, strerror(-ret));
		return ret;
	}
	zdk_eth_macaddr_get(port, &port_mac[port]);
	zdk_eth_addr_format(&port_mac[port], mac, sizeof(mac));
	ret = zdk_eth_link_wait(port, 3000, &link);
	printf("l2fwd: port %u (%s) -> port %d, link %s %u Mb/s, %u rx queue%s\n", port, mac,
	       dst_port[port], ret ? "DOWN" : "up", link.speed_mbps, nb_rxq, nb_rxq > 1 ? "s" : "");
	return 0;
}

static inline void mac_update(struct zdk_mbuf *m, uint16_t out)
{
	struct zdk_ether_hdr *eth = zdk_mbuf_mtod(m, struct zdk_ether_hdr *);

	/* dst = 02:00:00:00:00:<out>, src = the output port's address */
	eth->dst = (struct zdk_ether_addr){ { 0x02, 0, 0, 0, 0, (uint8_t)out } };
	eth->src = port_mac[out];
}

/* Return: frames received. */
static uint16_t forward(struct lcore_conf *lc, const struct rx_queue *rxq)
{
	struct zdk_mbuf *pkts[BURST];
	uint16_t in = rxq->port, out = (uint16_t)dst_port[in], n, sent, i;

	n = zdk_eth_rx_burst(in, rxq->queue, pkts, BURST);
	if (n == 0)
		return 0;
	lc->stats[in].rx += n;
	if (mac_updating)
		for (i = 0; i < n; i++)
			mac_update(pkts[i], out);
	sent = zdk_eth_tx_burst(out, lc->txq, pkts, n);
	lc->stats[out].tx += sent;
	if (zdk_unlikely(sent < n)) {
		lc->stats[out].dropped += n - sent;
		zdk_mbuf_free_bulk(pkts + sent, n - sent);
	}
	return n;
}

/* zdk's event thread: a port's device was taken away (hot-unplug, unbind).
 * Its bursts already do nothing; the pairs that do not involve it go on. */
static void on_device_event(const char *bdf, enum zdk_pci_event ev, void *arg)
{
	int port = zdk_eth_port_find(bdf);

	(void)arg;
	if (ev == ZDK_PCI_EVENT_REMOVE && port >= 0 && (portmask & (1u << port)))
		printf("l2fwd: port %d (%s) removed: nothing is forwarded to or from it now; the "
		       "other ports go on\n", port, bdf);
}

/* Every lcore's counters, per port. */
static void stats_sum(struct port_stats *sum)
{
	unsigned l;

	memset(sum, 0, ZDK_ETH_MAX_PORTS * sizeof(*sum));
	ZDK_LCORE_FOREACH(l)
		for (int p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
			sum[p].rx += lcore_conf[l].stats[p].rx;
			sum[p].tx += lcore_conf[l].stats[p].tx;
			sum[p].dropped += lcore_conf[l].stats[p].dropped;
		}
}

/* CPU seconds the process has used (every thread, user and system). */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t sleeps_sum(void)
{
	uint64_t n = 0;
	unsigned l;

	ZDK_LCORE_FOREACH(l)
		n += __atomic_load_n(&lcore_conf[l].sleeps, __ATOMIC_RELAXED);
	return n;
}

/* @cpu: CPU seconds the process used in the last @dt seconds. */
static void stats_print(double elapsed, const struct port_stats *last, double dt, double cpu)
{
	struct port_stats st[ZDK_ETH_MAX_PORTS];
	uint64_t rx = 0, tx = 0, drop = 0;
	int p;

	stats_sum(st);
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
		if (!(portmask & (1u << p)))
			continue;
		printf("l2fwd: port %2d rx %12" PRIu64 " tx %12" PRIu64 " dropped %10" PRIu64,
		       p, st[p].rx, st[p].tx, st[p].dropped);
		if (last && dt > 0)
			printf("  rx %.0f pps tx %.0f pps", (st[p].rx - last[p].rx) / dt,
			       (st[p].tx - last[p].tx) / dt);
		printf("%s\n", zdk_eth_dev_removed((uint16_t)p) ? "  (removed)" : "");
		rx += st[p].rx;
		tx += st[p].tx;
		drop += st[p].dropped;
	}
	printf("l2fwd: total rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 " in %.2f s\n", rx, tx,
	       drop, elapsed);
	if (last && dt > 0) /* polling, each lcore is 100% of a core */
		printf("l2fwd: cpu %.1f%% of a core over %.2f s, %" PRIu64 " sleeps\n",
		       100.0 * cpu / dt, dt, sleeps_sum());
	fflush(stdout);
}

/* The device's own counters (registers), next to l2fwd's. */
static void dev_stats_print(void)
{
	struct zdk_eth_stats st;
	int p;

	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
		if (!(portmask & (1u << p)) || zdk_eth_stats_get((uint16_t)p, &st))
			continue;
		printf("l2fwd: port %2d device: rx-packets %" PRIu64 " tx-packets %" PRIu64
		       " rx-missed %" PRIu64 " rx-errors %" PRIu64 " rx-nombuf %" PRIu64 "\n", p,
		       st.ipackets, st.opackets, st.imissed, st.ierrors, st.rx_nombuf);
	}
}

/*
 * --interrupt, after a quiet spell: arm every queue of the lcore and sleep
 * until one signals (or SLEEP_MS), unless a frame is already waiting.
 */
static void idle_sleep(struct lcore_conf *lc)
{
	struct epoll_event ev[MAX_QUEUES_PER_LCORE];
	unsigned i, armed;
	int rc = 0;

	for (armed = 0; armed < lc->nb_rx && rc == 0; armed++)
		rc = zdk_eth_rx_intr_enable(lc->rx[armed].port, lc->rx[armed].queue);
	if (rc == 0) {
		__atomic_store_n(&lc->sleeps, lc->sleeps + 1, __ATOMIC_RELAXED);
		epoll_wait(lc->epfd, ev, MAX_QUEUES_PER_LCORE, SLEEP_MS);
	}
	for (i = 0; i < armed; i++)
		zdk_eth_rx_intr_disable(lc->rx[i].port, lc->rx[i].queue);
}

static int lcore_loop(void *arg)
{
	struct lcore_conf *lc = &lcore_conf[zdk_lcore_id()];
	bool is_main = arg != NULL;
	uint64_t hz = zdk_tsc_hz(), start = zdk_rdtsc(), last_print = start;
	struct port_stats last[ZDK_ETH_MAX_PORTS];
	double last_cpu = cpu_seconds();
	struct zdk_idle idle;
	unsigned i;

	zdk_idle_init(&idle, hz * idle_us / 1000000, 8);
	stats_sum(last);
	while (!force_quit) {
		unsigned got = 0;

		for (i = 0; i < lc->nb_rx; i++)
			got += forward(lc, &lc->rx[i]);
		if (is_main && period_s) {
			uint64_t now = zdk_rdtsc();

			if (now - last_print >= period_s * hz) {
				double cpu = cpu_seconds();

				stats_print((double)(now - start) / hz, last,
					    (double)(now - last_print) / hz, cpu - last_cpu);
				stats_sum(last);
				last_print = now;
				last_cpu = cpu;
			}
		}
		if (!interrupt_mode || !lc->nb_rx)
			continue;
		if (got) {
			zdk_idle_busy(&idle);
		} else if (zdk_idle_quiet(&idle, zdk_rdtsc())) {
			idle_sleep(lc);
			zdk_idle_woken(&idle);
		}
	}
	return 0;
}

/*
 * Up to queues_per_lcore rx queues on each lcore, in lcore order, queue by
 * queue (queue 0 of every port, then queue 1...): with RSS each lcore gets
 * its share of every port. Each lcore sends on its own tx queue.
 */
static int lcores_assign(void)
{
	unsigned lcore = zdk_lcore_next(ZDK_LCORE_ANY, false), l, txq = 0;
	int p;

	ZDK_LCORE_FOREACH(l) {
		lcore_conf[l].txq = (uint16_t)txq++;
		lcore_conf[l].epfd = -1;
	}
	for (uint16_t q = 0; q < nb_rxq; q++) {
		ZDK_ETH_FOREACH_PORT(p) {
			struct lcore_conf *lc;

			if (!(portmask & (1u << p)))
				continue;
			while (lcore != ZDK_LCORE_ANY && lcore_conf[lcore].nb_rx == queues_per_lcore)
				lcore = zdk_lcore_next(lcore, false);
			if (lcore == ZDK_LCORE_ANY) {
				fprintf(stderr, "l2fwd: not enough lcores for -q %u and --rxq %u: give "
					"more with -l, or a larger -q\n", queues_per_lcore, nb_rxq);
				return -EINVAL;
			}
			lc = &lcore_conf[lcore];
			lc->rx[lc->nb_rx++] = (struct rx_queue){ (uint16_t)p, q };
			printf("l2fwd: lcore %u polls port %d queue %u, sends on queue %u\n", lcore, p,
			       q, lc->txq);
		}
	}
	return 0;
}

/* --interrupt: each lcore's epoll set holds its queues' eventfds. */
static int intr_setup(void)
{
	unsigned l;

	ZDK_LCORE_FOREACH(l) {
		struct lcore_conf *lc = &lcore_conf[l];

		if (!lc->nb_rx)
			continue;
		lc->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (lc->epfd < 0)
			return -errno;
		for (unsigned i = 0; i < lc->nb_rx; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
			int fd = zdk_eth_rx_intr_fd(lc->rx[i].port, lc->rx[i].queue);

			if (fd < 0) {
				fprintf(stderr, "l2fwd: --interrupt: port %u queue %u has no interrupt: "
					"%s\n", lc->rx[i].port, lc->rx[i].queue, strerror(-fd));
				return fd;
			}
			if (epoll_ctl(lc->epfd, EPOLL_CTL_ADD, fd, &ev))
				return -errno;
		}
	}
	printf("l2fwd: interrupt mode: sleep after %u us without a frame\n", idle_us);
	return 0;
}

int main(int argc, char **argv)
{
	struct zdk_mempool *mp = NULL;
	bool have_map = false;
	unsigned lcore, nb_ports = 0;
	uint64_t start;
	double cpu0, secs;
	int ret, p;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach logs and pipes at once */
	ret = zdk_eal_init(argc, argv);
	if (ret < 0)
		return ret == -ECANCELED ? 0 : 1;
	argc -= ret;
	argv += ret;
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++)
		dst_port[p] = -1;
	ZDK_LCORE_FOREACH(lcore)
		lcore_conf[lcore].epfd = -1;
	if (parse_args(argc, argv, &have_map) || ports_pair(have_map)) {
		usage(argv[0]);
		ret = 1;
		goto out_cleanup;
	}
	nb_txq = (uint16_t)zdk_lcore_count();
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++)
		nb_ports += !!(portmask & (1u << p));
	ret = zdk_mbuf_pool_create("l2fwd", ZDK_MAX(8192u, nb_ports * (nb_rxq * nb_rxd +
								  nb_txq * nb_txd + BURST) +
						     zdk_lcore_count() * POOL_CACHE * 2),
				   POOL_CACHE, ZDK_MBUF_DEFAULT_BUF_SIZE, zdk_socket_id(), &mp);
	if (ret) {
		fprintf(stderr, "l2fwd: mbuf pool: %s\n", strerror(-ret));
		goto out_cleanup;
	}
	ZDK_ETH_FOREACH_PORT(p) {
		if ((portmask & (1u << p)) && (ret = port_init((uint16_t)p, mp)))
			goto out_ports;
	}
	ret = lcores_assign();
	if (!ret && interrupt_mode)
		ret = intr_setup();
	if (ret)
		goto out_ports;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	zdk_pci_event_register(on_device_event, NULL); /* a message only: no need to fail */
	start = zdk_rdtsc();
	cpu0 = cpu_seconds();
	ZDK_LCORE_FOREACH_WORKER(lcore)
		zdk_lcore_launch(lcore_loop, NULL, lcore);
	lcore_loop((void *)1);
	ret = zdk_lcore_wait_all();
	secs = (double)(zdk_rdtsc() - start) / zdk_tsc_hz();
	stats_print(secs, NULL, 0, 0);
	ZDK_LCORE_FOREACH(lcore) {
		struct port_stats sum = { 0 };

		for (p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
			sum.rx += lcore_conf[lcore].stats[p].rx;
			sum.tx += lcore_conf[lcore].stats[p].tx;
		}
		if (lcore_conf[lcore].nb_rx)
			printf("l2fwd: lcore %u rx %" PRIu64 " tx %" PRIu64 " sleeps %" PRIu64 "\n",
			       lcore, sum.rx, sum.tx, lcore_conf[lcore].sleeps);
	}
	dev_stats_print();
	printf("l2fwd: cpu %.3f s in %.2f s: %.1f%% of a core (%u lcore%s, %s)\n",
	       cpu_seconds() - cpu0, secs, 100.0 * (cpu_seconds() - cpu0) / secs, zdk_lcore_count(),
	       zdk_lcore_count() > 1 ? "s" : "", interrupt_mode ? "interrupt mode" : "polling");

out_ports:
	ZDK_LCORE_FOREACH(lcore)
		if (lcore_conf[lcore].epfd >= 0)
			close(lcore_conf[lcore].epfd);
	ZDK_ETH_FOREACH_PORT(p) {
		if (portmask & (1u << p)) {
			zdk_eth_dev_stop((uint16_t)p);
			zdk_eth_dev_close((uint16_t)p);
		}
	}
	zdk_mbuf_pool_destroy(mp);
out_cleanup:
	zdk_eal_cleanup();
	return ret ? 1 : 0;
}
