/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l2fwd - forward every frame received on a port to its paired port, as
 * DPDK's l2fwd does, with the same options:
 *
 *   zdk-l2fwd [zdk options] -- -p PORTMASK [-q NQ] [-T PERIOD]
 *             [--[no-]mac-updating] [--portmap "(0,1),(2,3)"]
 *
 * -p: hex mask of the ports to use; -q: rx ports per lcore (default 1);
 * -T: seconds between statistics (default 10, 0 = off); --mac-updating
 * (default) rewrites src = the output port's MAC, dst = 02:00:00:00:00:<out
 * port>; --portmap pairs ports explicitly (default: consecutive enabled
 * ports). Each lcore polls its ports in bursts of 32. Ctrl-C (or SIGTERM)
 * prints the totals and cleans up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdk_eal.h"
#include "zdk_eth.h"
#include "zdk_log.h"
#include "zdk_mbuf.h"
#include "zdk_pci.h"

#define BURST 32
#define MAX_PORTS_PER_LCORE 16
#define POOL_CACHE 256

struct port_stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t dropped;
} __zdk_cache_aligned;

struct lcore_conf {
	unsigned nb_rx;
	uint16_t rx_port[MAX_PORTS_PER_LCORE];
} __zdk_cache_aligned;

static volatile bool force_quit;
static bool mac_updating = true;
static uint32_t portmask;
static unsigned ports_per_lcore = 1;
static unsigned period_s = 10;
static uint16_t nb_rxd = 4096, nb_txd = 1024; /* ring sizes: --rxd, --txd */
static int dst_port[ZDK_ETH_MAX_PORTS];
static struct zdk_ether_addr port_mac[ZDK_ETH_MAX_PORTS];
static struct port_stats stats[ZDK_ETH_MAX_PORTS];
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
		"       [--[no-]mac-updating] [--portmap \"(0,1),(2,3)\"] [--rxd N] [--txd N]\n",
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
	enum { OPT_MAC = 256, OPT_NO_MAC, OPT_PORTMAP, OPT_RXD, OPT_TXD };
	static const struct option opts[] = {
		{ "mac-updating", no_argument, NULL, OPT_MAC },
		{ "no-mac-updating", no_argument, NULL, OPT_NO_MAC },
		{ "portmap", required_argument, NULL, OPT_PORTMAP },
		{ "rxd", required_argument, NULL, OPT_RXD },
		{ "txd", required_argument, NULL, OPT_TXD },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "p:q:T:", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': portmask = (uint32_t)strtoul(optarg, NULL, 16); break;
		case 'q': ports_per_lcore = (unsigned)atoi(optarg); break;
		case 'T': period_s = (unsigned)atoi(optarg); break;
		case OPT_MAC: mac_updating = true; break;
		case OPT_NO_MAC: mac_updating = false; break;
		/* The port checks the size against what it supports, with a message. */
		case OPT_RXD: nb_rxd = (uint16_t)strtoul(optarg, NULL, 0); break;
		case OPT_TXD: nb_txd = (uint16_t)strtoul(optarg, NULL, 0); break;
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
	if (!portmask || ports_per_lcore == 0 || ports_per_lcore > MAX_PORTS_PER_LCORE)
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
	struct zdk_eth_link link;
	char mac[18];
	int ret;

	ret = zdk_eth_dev_configure(port, 1, 1, NULL);
	if (!ret)
		ret = zdk_eth_rx_queue_setup(port, 0, nb_rxd, ZDK_SOCKET_ANY, mp);
	if (!ret)
		ret = zdk_eth_tx_queue_setup(port, 0, nb_txd, ZDK_SOCKET_ANY);
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
	printf("l2fwd: port %u (%s) -> port %d, link %s %u Mb/s\n", port, mac, dst_port[port],
	       ret ? "DOWN" : "up", link.speed_mbps);
	return 0;
}

static inline void mac_update(struct zdk_mbuf *m, uint16_t out)
{
	struct zdk_ether_hdr *eth = zdk_mbuf_mtod(m, struct zdk_ether_hdr *);

	/* dst = 02:00:00:00:00:<out>, src = the output port's address */
	eth->dst = (struct zdk_ether_addr){ { 0x02, 0, 0, 0, 0, (uint8_t)out } };
	eth->src = port_mac[out];
}

static void forward(uint16_t in)
{
	struct zdk_mbuf *pkts[BURST];
	uint16_t out = (uint16_t)dst_port[in], n, sent, i;

	n = zdk_eth_rx_burst(in, 0, pkts, BURST);
	if (n == 0)
		return;
	stats[in].rx += n;
	if (mac_updating)
		for (i = 0; i < n; i++)
			mac_update(pkts[i], out);
	sent = zdk_eth_tx_burst(out, 0, pkts, n);
	stats[out].tx += sent;
	if (zdk_unlikely(sent < n)) {
		stats[out].dropped += n - sent;
		zdk_mbuf_free_bulk(pkts + sent, n - sent);
	}
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

static void stats_print(double elapsed, const struct port_stats *last, double dt)
{
	uint64_t rx = 0, tx = 0, drop = 0;
	int p;

	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++) {
		if (!(portmask & (1u << p)))
			continue;
		printf("l2fwd: port %2d rx %12" PRIu64 " tx %12" PRIu64 " dropped %10" PRIu64,
		       p, stats[p].rx, stats[p].tx, stats[p].dropped);
		if (last && dt > 0)
			printf("  rx %.0f pps tx %.0f pps", (stats[p].rx - last[p].rx) / dt,
			       (stats[p].tx - last[p].tx) / dt);
		printf("%s\n", zdk_eth_dev_removed((uint16_t)p) ? "  (removed)" : "");
		rx += stats[p].rx;
		tx += stats[p].tx;
		drop += stats[p].dropped;
	}
	printf("l2fwd: total rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 " in %.2f s\n", rx, tx,
	       drop, elapsed);
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

static int lcore_loop(void *arg)
{
	const struct lcore_conf *lc = &lcore_conf[zdk_lcore_id()];
	bool is_main = arg != NULL;
	uint64_t hz = zdk_tsc_hz(), start = zdk_rdtsc(), last_print = start;
	struct port_stats last[ZDK_ETH_MAX_PORTS];
	unsigned i;

	memcpy(last, stats, sizeof(last));
	while (!force_quit) {
		for (i = 0; i < lc->nb_rx; i++)
			forward(lc->rx_port[i]);
		if (is_main && period_s) {
			uint64_t now = zdk_rdtsc();

			if (now - last_print >= period_s * hz) {
				stats_print((double)(now - start) / hz, last,
					    (double)(now - last_print) / hz);
				memcpy(last, stats, sizeof(last));
				last_print = now;
			}
		}
	}
	return 0;
}

/* Up to ports_per_lcore rx ports on each lcore, in lcore order. */
static int lcores_assign(void)
{
	unsigned lcore = zdk_lcore_next(ZDK_LCORE_ANY, false);
	int p;

	ZDK_ETH_FOREACH_PORT(p) {
		if (!(portmask & (1u << p)))
			continue;
		while (lcore != ZDK_LCORE_ANY && lcore_conf[lcore].nb_rx == ports_per_lcore)
			lcore = zdk_lcore_next(lcore, false);
		if (lcore == ZDK_LCORE_ANY) {
			fprintf(stderr, "l2fwd: not enough lcores for -q %u: give more with -l\n",
				ports_per_lcore);
			return -EINVAL;
		}
		lcore_conf[lcore].rx_port[lcore_conf[lcore].nb_rx++] = (uint16_t)p;
		printf("l2fwd: lcore %u polls port %d\n", lcore, p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zdk_mempool *mp = NULL;
	bool have_map = false;
	unsigned lcore, nb_ports = 0;
	uint64_t start;
	int ret, p;

	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach logs and pipes at once */
	ret = zdk_eal_init(argc, argv);
	if (ret < 0)
		return ret == -ECANCELED ? 0 : 1;
	argc -= ret;
	argv += ret;
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++)
		dst_port[p] = -1;
	if (parse_args(argc, argv, &have_map) || ports_pair(have_map)) {
		usage(argv[0]);
		ret = 1;
		goto out_cleanup;
	}
	for (p = 0; p < ZDK_ETH_MAX_PORTS; p++)
		nb_ports += !!(portmask & (1u << p));
	ret = zdk_mbuf_pool_create("l2fwd", ZDK_MAX(8192u, nb_ports * (nb_rxd + nb_txd + BURST) +
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
	if (ret)
		goto out_ports;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	zdk_pci_event_register(on_device_event, NULL); /* a message only: no need to fail */
	start = zdk_rdtsc();
	ZDK_LCORE_FOREACH_WORKER(lcore)
		zdk_lcore_launch(lcore_loop, NULL, lcore);
	lcore_loop((void *)1);
	ret = zdk_lcore_wait_all();
	stats_print((double)(zdk_rdtsc() - start) / zdk_tsc_hz(), NULL, 0);
	dev_stats_print();

out_ports:
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
