/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_eth.h - Ethernet ports for applications.
 *
 * Every NIC a driver probed during zdk_eal_init() is a port, numbered from 0
 * in PCI address order (so a port number names the same NIC in every run).
 * The life of a port:
 *	zdk_eth_dev_configure() -> zdk_eth_{rx,tx}_queue_setup() (each queue)
 *	-> zdk_eth_dev_start() -> zdk_eth_rx_burst()/zdk_eth_tx_burst() ...
 *	-> zdk_eth_dev_stop() -> zdk_eth_dev_close()
 * A stopped port can be started again; a closed one configured again.
 *
 * The burst calls are inline: one load of the queue's function and its
 * queue pointer from zdk_eth_fp[port], then an indirect call. They check
 * nothing: the port must be started and the queue set up.
 */
#ifndef ZDK_ETH_H
#define ZDK_ETH_H

#include <stdbool.h>
#include <stdint.h>
#include "zdk_common.h"
#include "zdk_mbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_ETH_MAX_PORTS 32
#define ZDK_ETH_MAX_QUEUES 16
#define ZDK_ETHER_ADDR_LEN 6
#define ZDK_ETHER_TYPE_IPV4 0x0800
#define ZDK_ETH_NAME_LEN 32

struct zdk_ether_addr {
	uint8_t addr[ZDK_ETHER_ADDR_LEN];
} __attribute__((aligned(2)));

struct zdk_ether_hdr {
	struct zdk_ether_addr dst;
	struct zdk_ether_addr src;
	uint16_t ether_type; /* big endian */
} __attribute__((aligned(2)));

/* RSS hash functions (zdk_eth_conf.rss_hf, zdk_eth_dev_info.rss_hf). */
#define ZDK_ETH_RSS_IPV4 (1u << 0)
#define ZDK_ETH_RSS_IPV4_TCP (1u << 1)
#define ZDK_ETH_RSS_IPV4_UDP (1u << 2)
#define ZDK_ETH_RSS_IPV6 (1u << 3)
#define ZDK_ETH_RSS_IPV6_TCP (1u << 4)
#define ZDK_ETH_RSS_IPV6_UDP (1u << 5)
#define ZDK_ETH_RSS_IP (ZDK_ETH_RSS_IPV4 | ZDK_ETH_RSS_IPV6)
#define ZDK_ETH_RSS_UDP (ZDK_ETH_RSS_IPV4_UDP | ZDK_ETH_RSS_IPV6_UDP)
#define ZDK_ETH_RSS_TCP (ZDK_ETH_RSS_IPV4_TCP | ZDK_ETH_RSS_IPV6_TCP)
#define ZDK_ETH_RSS_KEY_LEN 40

/**
 * struct zdk_eth_conf - port configuration for zdk_eth_dev_configure().
 * @size: sizeof(struct zdk_eth_conf), as the caller was built.
 * @rss_hf: ZDK_ETH_RSS_* to spread received packets over the rx queues by
 *          hash; 0 sends everything to queue 0. Must be a subset of
 *          zdk_eth_dev_info.rss_hf.
 * @rss_key: 40-byte Toeplitz key, or NULL for the driver's default.
 */
struct zdk_eth_conf {
	size_t size;
	uint32_t rss_hf;
	const uint8_t *rss_key;
};

/**
 * struct zdk_eth_dev_info - what a port can do, filled by its driver.
 */
struct zdk_eth_dev_info {
	const char *driver_name;
	char pci_name[16];     /* BDF, "" for a device without one */
	int numa_node;         /* -1 when unknown */
	uint16_t max_rx_queues;
	uint16_t max_tx_queues;
	uint16_t min_desc;     /* ring sizes: min..max, multiple of desc_align */
	uint16_t max_desc;
	uint16_t desc_align;
	uint16_t min_rx_bufsize; /* smallest mbuf data room the rx path accepts */
	uint32_t rss_hf;       /* supported ZDK_ETH_RSS_*, 0 without RSS */
	uint16_t reta_size;    /* RSS redirection table entries */
	uint32_t max_rx_pktlen;
};

struct zdk_eth_link {
	uint32_t speed_mbps; /* 0 when down or unknown */
	bool up;
	bool full_duplex;
};

/**
 * struct zdk_eth_stats - port counters since start or the last reset.
 * @ipackets/@ibytes: received successfully.
 * @opackets/@obytes: transmitted successfully.
 * @imissed: dropped by the device for lack of rx descriptors/buffers.
 * @ierrors: received with errors (CRC, length...), including the descriptors
 *           the driver dropped as malformed (@q_errors).
 * @oerrors: failed to transmit.
 * @rx_nombuf: rx refill failures (mempool empty).
 * @q_*: the same per queue (software counts of the burst functions);
 *        @q_errors: rx descriptors the driver dropped (bad length, no EOP,
 *        frame error), their mbufs recycled.
 */
struct zdk_eth_stats {
	uint64_t ipackets;
	uint64_t opackets;
	uint64_t ibytes;
	uint64_t obytes;
	uint64_t imissed;
	uint64_t ierrors;
	uint64_t oerrors;
	uint64_t rx_nombuf;
	uint64_t q_ipackets[ZDK_ETH_MAX_QUEUES];
	uint64_t q_opackets[ZDK_ETH_MAX_QUEUES];
	uint64_t q_ibytes[ZDK_ETH_MAX_QUEUES];
	uint64_t q_obytes[ZDK_ETH_MAX_QUEUES];
	uint64_t q_errors[ZDK_ETH_MAX_QUEUES];
	uint64_t q_missed[ZDK_ETH_MAX_QUEUES];
};

/* The data path: per port, per queue, the driver's burst function and queue. */
typedef uint16_t (*zdk_eth_rx_burst_fn)(void *rxq, struct zdk_mbuf **pkts, uint16_t n);
typedef uint16_t (*zdk_eth_tx_burst_fn)(void *txq, struct zdk_mbuf **pkts, uint16_t n);

struct zdk_eth_fp_rxq {
	zdk_eth_rx_burst_fn burst;
	void *q;
};

struct zdk_eth_fp_txq {
	zdk_eth_tx_burst_fn burst;
	void *q;
};

struct zdk_eth_fp {
	struct zdk_eth_fp_rxq rx[ZDK_ETH_MAX_QUEUES];
	struct zdk_eth_fp_txq tx[ZDK_ETH_MAX_QUEUES];
} __zdk_cache_aligned;

/* Filled at zdk_eth_dev_start(), cleared at stop; read by the burst calls. */
ZDK_EXPORT extern struct zdk_eth_fp zdk_eth_fp[ZDK_ETH_MAX_PORTS];

/**
 * zdk_eth_rx_burst() - receive up to @n packets from rx queue @q of @port.
 * @port: a started port.
 * @q: a set-up rx queue.
 * @pkts: filled with the received mbufs; the caller owns them.
 * @n: room in @pkts.
 *
 * Return: the number received (0..@n).
 */
static inline uint16_t zdk_eth_rx_burst(uint16_t port, uint16_t q, struct zdk_mbuf **pkts,
					uint16_t n)
{
	const struct zdk_eth_fp_rxq *rxq = &zdk_eth_fp[port].rx[q];

	return rxq->burst(rxq->q, pkts, n);
}

/**
 * zdk_eth_tx_burst() - queue up to @n packets for transmission on tx queue
 * @q of @port.
 * @port: a started port.
 * @q: a set-up tx queue.
 * @pkts: the packets; those accepted belong to the driver, which frees them
 *        once sent.
 * @n: how many.
 *
 * Return: the number accepted (0..@n); the caller still owns the rest
 * (pkts[ret..n-1]) and may retry or free them.
 */
static inline uint16_t zdk_eth_tx_burst(uint16_t port, uint16_t q, struct zdk_mbuf **pkts,
					uint16_t n)
{
	const struct zdk_eth_fp_txq *txq = &zdk_eth_fp[port].tx[q];

	return txq->burst(txq->q, pkts, n);
}

/** zdk_eth_port_count() - number of ports. */
ZDK_EXPORT uint16_t zdk_eth_port_count(void);

/**
 * zdk_eth_port_next() - the next valid port after @prev.
 * @prev: -1 to start.
 *
 * Return: the port, or -1 when there are no more.
 */
ZDK_EXPORT int zdk_eth_port_next(int prev);

#define ZDK_ETH_FOREACH_PORT(p) \
	for ((p) = zdk_eth_port_next(-1); (p) >= 0; (p) = zdk_eth_port_next(p))

/** zdk_eth_port_valid() - whether @port is a probed port. */
ZDK_EXPORT bool zdk_eth_port_valid(uint16_t port);

/**
 * zdk_eth_port_find() - the port of PCI function @bdf.
 * @bdf: "dddd:bb:dd.f" or "bb:dd.f".
 *
 * Return: the port number, -EINVAL for a malformed BDF, -ENODEV if no
 * driver probed that function.
 */
ZDK_EXPORT int zdk_eth_port_find(const char *bdf);

/**
 * zdk_eth_dev_info_get() - the capabilities of @port.
 * Return: 0 or -ENODEV.
 */
ZDK_EXPORT int zdk_eth_dev_info_get(uint16_t port, struct zdk_eth_dev_info *info);

/**
 * zdk_eth_dev_configure() - set the number of queues and the port options.
 * @port: a stopped port.
 * @nb_rxq: rx queues, 1..max_rx_queues.
 * @nb_txq: tx queues, 1..max_tx_queues.
 * @conf: options, or NULL for the defaults (no RSS).
 *
 * Releases queues set up by an earlier configuration.
 * Return: 0, -ENODEV, -EBUSY (started), -EINVAL (queue counts or RSS the
 * device lacks; the message says which), or the driver's error.
 */
ZDK_EXPORT int zdk_eth_dev_configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq,
				     const struct zdk_eth_conf *conf);

/**
 * zdk_eth_rx_queue_setup() - allocate rx queue @q with @nb_desc descriptors
 * whose buffers come from @mp.
 * @port: a configured, stopped port.
 * @q: queue index below nb_rxq.
 * @nb_desc: ring size within the info's min_desc..max_desc, desc_align multiple.
 * @socket: NUMA node of the ring, or ZDK_SOCKET_ANY (the device's node).
 * @mp: an mbuf pool with data room >= info.min_rx_bufsize; it must hold more
 *      than nb_desc mbufs.
 *
 * Return: 0, -ENODEV, -EBUSY, -EINVAL, -ENOMEM.
 */
ZDK_EXPORT int zdk_eth_rx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket,
				      struct zdk_mempool *mp);

/**
 * zdk_eth_tx_queue_setup() - allocate tx queue @q with @nb_desc descriptors.
 * Arguments and return as zdk_eth_rx_queue_setup().
 */
ZDK_EXPORT int zdk_eth_tx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket);

/**
 * zdk_eth_dev_removed() - the kernel took the port's device back (hot-unplug
 * or unbind; ZDK_PCI_EVENT_REMOVE): its bursts receive and send nothing, and
 * it cannot start again. Stop and close it; its mbufs come back to their pool.
 */
ZDK_EXPORT bool zdk_eth_dev_removed(uint16_t port);

/**
 * zdk_eth_dev_start() - enable rx/tx on every queue and publish the burst
 * functions.
 * Return: 0, -ENODEV (no such port, or removed), -EINVAL (not configured, or a queue not set up),
 * -EALREADY (started), or the driver's error.
 */
ZDK_EXPORT int zdk_eth_dev_start(uint16_t port);

/**
 * zdk_eth_dev_stop() - disable rx/tx. In-flight tx packets and received
 * buffers stay with the queues until close. Bursts on a stopped port
 * return 0. Return: 0 or -ENODEV.
 */
ZDK_EXPORT int zdk_eth_dev_stop(uint16_t port);

/**
 * zdk_eth_dev_close() - stop if needed, release every queue and its mbufs;
 * the port can be configured again. Return: 0 or -ENODEV.
 */
ZDK_EXPORT int zdk_eth_dev_close(uint16_t port);

/**
 * zdk_eth_link_get() - the link state now (no waiting).
 * Return: 0, -ENODEV, or the driver's error.
 */
ZDK_EXPORT int zdk_eth_link_get(uint16_t port, struct zdk_eth_link *link);

/**
 * zdk_eth_link_wait() - poll the link until it is up or @timeout_ms passes.
 * @link: set to the last state read (may be NULL).
 *
 * Return: 0 with the link up, -ETIMEDOUT, -ENODEV, or the driver's error.
 */
ZDK_EXPORT int zdk_eth_link_wait(uint16_t port, unsigned timeout_ms, struct zdk_eth_link *link);

/** zdk_eth_promiscuous_enable() - receive every unicast and multicast. Return: 0 or -errno. */
ZDK_EXPORT int zdk_eth_promiscuous_enable(uint16_t port);

/** zdk_eth_promiscuous_disable() - own MAC, broadcast only. Return: 0 or -errno. */
ZDK_EXPORT int zdk_eth_promiscuous_disable(uint16_t port);

/** zdk_eth_promiscuous_get() - 1 if on, 0 if off, -ENODEV. */
ZDK_EXPORT int zdk_eth_promiscuous_get(uint16_t port);

/** zdk_eth_macaddr_get() - the port's MAC address. Return: 0 or -errno. */
ZDK_EXPORT int zdk_eth_macaddr_get(uint16_t port, struct zdk_ether_addr *mac);

/**
 * zdk_eth_stats_get() - port and per-queue counters.
 * Return: 0, -ENODEV, or the driver's error.
 */
ZDK_EXPORT int zdk_eth_stats_get(uint16_t port, struct zdk_eth_stats *stats);

/** zdk_eth_stats_reset() - zero the counters. Return: 0 or -errno. */
ZDK_EXPORT int zdk_eth_stats_reset(uint16_t port);

/*
 * Receive interrupts, for a poller that sleeps when idle (zdk_idle.h), in
 * the shape of DPDK's rte_eth_dev_rx_intr_*: poll while busy; after a quiet
 * spell, zdk_eth_rx_intr_enable() each queue and, if every one returned 0,
 * sleep on their eventfds (epoll, with a timeout); once awake,
 * zdk_eth_rx_intr_disable() them and poll again. Queues without an enabled
 * interrupt never signal, so the busy path costs nothing. Not every driver
 * has them (-ENOTSUP): igb has.
 */

/**
 * zdk_eth_rx_intr_fd() - the eventfd rx queue @q's interrupt signals, to
 * wait on with epoll or poll() (EPOLLIN). It belongs to the port: do not
 * read or close it; it stays valid until the port is closed (or
 * reconfigured). The first call sets up the port's interrupt vectors.
 * @port: a started port; @q: an rx queue of it.
 *
 * Return: the descriptor, -ENODEV, -EINVAL (not started, or no such queue),
 * -ENOTSUP (the driver or the device has no receive interrupts), -ENOSPC
 * (fewer interrupt vectors than rx queues), or the driver's error.
 */
ZDK_EXPORT int zdk_eth_rx_intr_fd(uint16_t port, uint16_t q);

/**
 * zdk_eth_rx_intr_enable() - arm rx queue @q's interrupt before sleeping:
 * unmask it, then look at the ring once more, so that a packet that came
 * before the unmasking is never slept through. The eventfd is drained first.
 *
 * Return: 0: nothing is waiting: sleep; -EAGAIN: a packet is there already
 * (the interrupt stays armed: disable it and poll); -ENODEV, -EINVAL,
 * -ENOTSUP as zdk_eth_rx_intr_fd(). A removed port returns 0: its bursts
 * receive nothing, and its eventfd was written once when it went.
 */
ZDK_EXPORT int zdk_eth_rx_intr_enable(uint16_t port, uint16_t q);

/**
 * zdk_eth_rx_intr_disable() - mask rx queue @q's interrupt: the owner polls.
 * Return: 0, -ENODEV, -EINVAL, -ENOTSUP.
 */
ZDK_EXPORT int zdk_eth_rx_intr_disable(uint16_t port, uint16_t q);

/** zdk_eth_addr_format() - "aa:bb:cc:dd:ee:ff" into @buf (18 bytes). */
ZDK_EXPORT void zdk_eth_addr_format(const struct zdk_ether_addr *mac, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_ETH_H */
