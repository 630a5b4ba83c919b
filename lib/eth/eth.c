/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eth.c - ports: numbering, state checks, and the fast-path table.
 *
 * The ops are only called from here, after the checks, so drivers do device
 * work only. Control calls are not thread-safe against each other: one
 * thread configures a port (as in DPDK).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZDK_LOG_COMPONENT "eth"
#include "zdk_eth_driver.h"
#include "zdk_log.h"

ZDK_EXPORT struct zdk_eth_fp zdk_eth_fp[ZDK_ETH_MAX_PORTS];

static struct zdk_eth_dev *eth_devs[ZDK_ETH_MAX_PORTS];
/* The kernel took the port's device back (atomic; kept beside, not in, the
 * driver-facing struct zdk_eth_dev, whose layout is ABI). */
static bool eth_removed[ZDK_ETH_MAX_PORTS];
/* Receive interrupt ops, beside struct zdk_eth_dev for the same reason. */
static struct zdk_eth_intr_ops eth_intr[ZDK_ETH_MAX_PORTS];

/* Microsoft's RSS verification key, as used by most drivers' defaults. */
static const uint8_t rss_key_default[ZDK_ETH_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

ZDK_EXPORT const uint8_t *zdk_eth_rss_key_default(void)
{
	return rss_key_default;
}

/* What a stopped or unset queue runs: nothing. */
static uint16_t burst_none(void *q, struct zdk_mbuf **pkts, uint16_t n)
{
	(void)q;
	(void)pkts;
	(void)n;
	return 0;
}

static void fp_clear(uint16_t port)
{
	struct zdk_eth_fp *fp = &zdk_eth_fp[port];
	unsigned q;

	for (q = 0; q < ZDK_ETH_MAX_QUEUES; q++) {
		fp->rx[q] = (struct zdk_eth_fp_rxq){ burst_none, NULL };
		fp->tx[q] = (struct zdk_eth_fp_txq){ burst_none, NULL };
	}
}

static void fp_publish(struct zdk_eth_dev *dev)
{
	struct zdk_eth_fp *fp = &zdk_eth_fp[dev->port_id];
	unsigned q;

	for (q = 0; q < dev->nb_rxq; q++) {
		fp->rx[q].q = dev->rxq[q];
		fp->rx[q].burst = dev->rx_burst_q[q] ? dev->rx_burst_q[q] : dev->rx_burst;
	}
	for (q = 0; q < dev->nb_txq; q++) {
		fp->tx[q].q = dev->txq[q];
		fp->tx[q].burst = dev->tx_burst_q[q] ? dev->tx_burst_q[q] : dev->tx_burst;
	}
}

/*
 * lib/pci's event thread: the kernel takes the device back. Its queues run
 * burst_none from now on (a poller inside a real burst finishes on memory
 * that stays valid, and BARs that lib/pci made harmless); the application
 * sees 0 received, 0 sent, and zdk_eth_dev_removed().
 */
static void eth_pci_removed(struct zdk_pci_device *pci)
{
	for (uint16_t port = 0; port < ZDK_ETH_MAX_PORTS; port++) {
		struct zdk_eth_fp *fp = &zdk_eth_fp[port];

		if (!eth_devs[port] || eth_devs[port]->pci != pci)
			continue;
		for (unsigned q = 0; q < ZDK_ETH_MAX_QUEUES; q++) {
			__atomic_store_n(&fp->rx[q].burst, burst_none, __ATOMIC_RELEASE);
			__atomic_store_n(&fp->tx[q].burst, burst_none, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&eth_removed[port], true, __ATOMIC_RELEASE);
		ZDK_NOTICE("%s: port %u removed: it receives and sends nothing from now on",
			   eth_devs[port]->name, port);
	}
}

ZDK_EXPORT bool zdk_eth_dev_removed(uint16_t port)
{
	return port < ZDK_ETH_MAX_PORTS && __atomic_load_n(&eth_removed[port], __ATOMIC_ACQUIRE);
}

static bool pci_before(const struct zdk_pci_device *a, const struct zdk_pci_device *b)
{
	return a && (!b || zdk_pci_addr_cmp(&a->addr, &b->addr) < 0);
}

/*
 * The port number for a new device: ports follow PCI address order whatever
 * order the devices are probed in, so that "port 0" means the same NIC from
 * run to run. While no port is configured (during zdk_eal_init()), a device
 * that sorts before existing ones moves them up one number.
 */
static uint16_t port_slot(struct zdk_pci_device *pci)
{
	uint16_t port, n, last;

	for (n = 0; n < ZDK_ETH_MAX_PORTS && eth_devs[n]; n++)
		;
	if (n == ZDK_ETH_MAX_PORTS)
		return n;
	for (port = 0; port < n; port++)
		if (eth_devs[port]->configured || eth_devs[port]->started)
			return n; /* numbers already in use by the application */
	for (port = 0; port < n && !pci_before(pci, eth_devs[port]->pci); port++)
		;
	for (last = n; last > port; last--) {
		eth_devs[last] = eth_devs[last - 1];
		eth_devs[last]->port_id = last;
		eth_removed[last] = eth_removed[last - 1];
		eth_intr[last] = eth_intr[last - 1];
	}
	eth_devs[port] = NULL;
	return port;
}

ZDK_EXPORT int zdk_eth_dev_alloc(struct zdk_pci_device *pci, const char *driver_name,
				 struct zdk_eth_dev **devp)
{
	struct zdk_eth_dev *dev;
	uint16_t port;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	port = port_slot(pci);
	if (port == ZDK_ETH_MAX_PORTS) {
		ZDK_ERR("%s: all %d ports taken: allow fewer devices with -a", pci ? pci->name : "",
			ZDK_ETH_MAX_PORTS);
		free(dev);
		return -ENOSPC;
	}
	dev->port_id = port;
	dev->pci = pci;
	dev->info.driver_name = driver_name;
	dev->info.numa_node = pci ? pci->numa_node : -1;
	snprintf(dev->info.pci_name, sizeof(dev->info.pci_name), "%s", pci ? pci->name : "");
	snprintf(dev->name, sizeof(dev->name), "%s@%s", driver_name,
		 pci ? pci->name : "sw");
	fp_clear(port);
	eth_removed[port] = false;
	eth_intr[port] = (struct zdk_eth_intr_ops){ 0 };
	eth_devs[port] = dev;
	if (pci)
		zdk_pci_device_on_remove(pci, eth_pci_removed);
	*devp = dev;
	return 0;
}

static void queues_release(struct zdk_eth_dev *dev)
{
	unsigned q;

	for (q = 0; q < ZDK_ETH_MAX_QUEUES; q++) {
		if (dev->rxq[q])
			dev->ops->rx_queue_release(dev, q);
		if (dev->txq[q])
			dev->ops->tx_queue_release(dev, q);
		dev->rxq[q] = NULL;
		dev->txq[q] = NULL;
	}
}

ZDK_EXPORT void zdk_eth_dev_release(struct zdk_eth_dev *dev)
{
	if (!dev)
		return;
	zdk_eth_dev_close(dev->port_id);
	fp_clear(dev->port_id);
	eth_intr[dev->port_id] = (struct zdk_eth_intr_ops){ 0 };
	eth_devs[dev->port_id] = NULL;
	free(dev);
}

ZDK_EXPORT struct zdk_eth_dev *zdk_eth_dev_get(uint16_t port)
{
	return port < ZDK_ETH_MAX_PORTS ? eth_devs[port] : NULL;
}

/* The device of a valid port, or NULL with a message. */
static struct zdk_eth_dev *dev_lookup(uint16_t port, const char *what)
{
	struct zdk_eth_dev *dev = zdk_eth_dev_get(port);

	if (!dev)
		ZDK_ERR("%s: no port %u (%u ports probed: is the NIC bound to vfio-pci and "
			"allowed with -a?)", what, port, zdk_eth_port_count());
	return dev;
}

ZDK_EXPORT uint16_t zdk_eth_port_count(void)
{
	uint16_t port, n = 0;

	for (port = 0; port < ZDK_ETH_MAX_PORTS; port++)
		n += eth_devs[port] != NULL;
	return n;
}

ZDK_EXPORT int zdk_eth_port_next(int prev)
{
	int port;

	for (port = prev + 1; port < ZDK_ETH_MAX_PORTS; port++)
		if (eth_devs[port])
			return port;
	return -1;
}

ZDK_EXPORT bool zdk_eth_port_valid(uint16_t port)
{
	return zdk_eth_dev_get(port) != NULL;
}

ZDK_EXPORT int zdk_eth_port_find(const char *bdf)
{
	struct zdk_pci_addr addr;
	int port, ret;

	ret = zdk_pci_addr_parse(bdf, &addr);
	if (ret)
		return ret;
	ZDK_ETH_FOREACH_PORT(port) {
		const struct zdk_pci_device *pci = eth_devs[port]->pci;

		if (pci && zdk_pci_addr_cmp(&pci->addr, &addr) == 0)
			return port;
	}
	return -ENODEV;
}

ZDK_EXPORT int zdk_eth_dev_info_get(uint16_t port, struct zdk_eth_dev_info *info)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "info");

	if (!dev)
		return -ENODEV;
	*info = dev->info;
	return 0;
}

static int check_conf(struct zdk_eth_dev *dev, uint16_t nb_rxq, uint16_t nb_txq,
		      const struct zdk_eth_conf *conf)
{
	if (nb_rxq == 0 || nb_rxq > dev->info.max_rx_queues || nb_txq == 0 ||
	    nb_txq > dev->info.max_tx_queues) {
		ZDK_ERR("%s: %u rx / %u tx queues asked, the device has 1..%u / 1..%u", dev->name,
			nb_rxq, nb_txq, dev->info.max_rx_queues, dev->info.max_tx_queues);
		return -EINVAL;
	}
	if (conf->rss_hf & ~dev->info.rss_hf) {
		ZDK_ERR("%s: RSS hash functions 0x%x not supported (supported: 0x%x)", dev->name,
			conf->rss_hf & ~dev->info.rss_hf, dev->info.rss_hf);
		return -EINVAL;
	}
	return 0;
}

ZDK_EXPORT int zdk_eth_dev_configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq,
				     const struct zdk_eth_conf *conf)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "configure");
	struct zdk_eth_conf c = { .size = sizeof(c) };
	int ret;

	if (!dev)
		return -ENODEV;
	/* NULL: the defaults; else what the caller's version of the struct has. */
	if (conf && zdk_opts_copy(&c, sizeof(c), conf, conf->size)) {
		ZDK_ERR("%s: conf.size is %zu, this zdk knows %zu bytes: set it to "
			"sizeof(struct zdk_eth_conf)", dev->name, conf->size, sizeof(c));
		return -EINVAL;
	}
	if (dev->started) {
		ZDK_ERR("%s: configure while started: call zdk_eth_dev_stop() first", dev->name);
		return -EBUSY;
	}
	ret = check_conf(dev, nb_rxq, nb_txq, &c);
	if (ret)
		return ret;
	queues_release(dev);
	dev->conf = c;
	dev->rss_key_set = c.rss_key != NULL;
	memcpy(dev->rss_key, dev->rss_key_set ? c.rss_key : rss_key_default,
	       ZDK_ETH_RSS_KEY_LEN);
	dev->conf.rss_key = dev->rss_key;
	dev->nb_rxq = nb_rxq;
	dev->nb_txq = nb_txq;
	ret = dev->ops->configure(dev);
	dev->configured = ret == 0;
	return ret;
}

/* Common checks of a queue setup call. */
static struct zdk_eth_dev *queue_check(uint16_t port, uint16_t q, uint16_t nb_desc, bool rx)
{
	struct zdk_eth_dev *dev = dev_lookup(port, rx ? "rx queue setup" : "tx queue setup");
	const struct zdk_eth_dev_info *info;

	if (!dev)
		return NULL;
	info = &dev->info;
	if (!dev->configured || dev->started) {
		ZDK_ERR("%s: queue setup needs a configured, stopped port", dev->name);
		return NULL;
	}
	if (q >= (rx ? dev->nb_rxq : dev->nb_txq)) {
		ZDK_ERR("%s: %s queue %u: only %u configured", dev->name, rx ? "rx" : "tx", q,
			rx ? dev->nb_rxq : dev->nb_txq);
		return NULL;
	}
	if (nb_desc < info->min_desc || nb_desc > info->max_desc ||
	    (info->desc_align && nb_desc % info->desc_align)) {
		unsigned align = info->desc_align ? info->desc_align : 1;
		unsigned down = nb_desc / align * align, up = down + align;

		/* Name the nearest legal sizes, so the fix is in the message. */
		down = ZDK_MIN(ZDK_MAX(down, info->min_desc), info->max_desc);
		up = ZDK_MIN(ZDK_MAX(up, info->min_desc), info->max_desc);
		ZDK_ERR("port %u (%s): %s queue %u: %u descriptors: the port takes %u..%u in "
			"steps of %u (nearest: %u%s%.0u)", port, dev->name, rx ? "rx" : "tx", q,
			nb_desc, info->min_desc, info->max_desc, align, down,
			up != down ? " or " : "", up != down ? up : 0);
		return NULL;
	}
	return dev;
}

ZDK_EXPORT int zdk_eth_rx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket,
				      struct zdk_mempool *mp)
{
	struct zdk_eth_dev *dev = queue_check(port, q, nb_desc, true);

	if (!dev)
		return zdk_eth_dev_get(port) ? -EINVAL : -ENODEV;
	if (!mp || zdk_mbuf_pool_data_room(mp) < dev->info.min_rx_bufsize) {
		ZDK_ERR("%s: rx queue %u: mbuf pool data room %u, need %u", dev->name, q,
			mp ? zdk_mbuf_pool_data_room(mp) : 0, dev->info.min_rx_bufsize);
		return -EINVAL;
	}
	if (mp->count <= nb_desc) {
		ZDK_ERR("%s: rx queue %u: pool %s has %u mbufs, fewer than the %u descriptors",
			dev->name, q, mp->name, mp->count, nb_desc);
		return -EINVAL;
	}
	if (socket == ZDK_SOCKET_ANY)
		socket = dev->info.numa_node;
	if (dev->rxq[q]) {
		dev->ops->rx_queue_release(dev, q);
		dev->rxq[q] = NULL;
	}
	return dev->ops->rx_queue_setup(dev, q, nb_desc, socket, mp);
}

ZDK_EXPORT int zdk_eth_tx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket)
{
	struct zdk_eth_dev *dev = queue_check(port, q, nb_desc, false);

	if (!dev)
		return zdk_eth_dev_get(port) ? -EINVAL : -ENODEV;
	if (socket == ZDK_SOCKET_ANY)
		socket = dev->info.numa_node;
	if (dev->txq[q]) {
		dev->ops->tx_queue_release(dev, q);
		dev->txq[q] = NULL;
	}
	return dev->ops->tx_queue_setup(dev, q, nb_desc, socket);
}

ZDK_EXPORT int zdk_eth_dev_start(uint16_t port)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "start");
	unsigned q;
	int ret;

	if (!dev)
		return -ENODEV;
	if (dev->started)
		return -EALREADY;
	if (zdk_eth_dev_removed(port)) {
		ZDK_ERR("%s: the device was removed: close the port", dev->name);
		return -ENODEV;
	}
	if (!dev->configured) {
		ZDK_ERR("%s: start before zdk_eth_dev_configure()", dev->name);
		return -EINVAL;
	}
	for (q = 0; q < dev->nb_rxq || q < dev->nb_txq; q++) {
		if ((q < dev->nb_rxq && !dev->rxq[q]) || (q < dev->nb_txq && !dev->txq[q])) {
			ZDK_ERR("%s: queue %u not set up: call zdk_eth_%s_queue_setup()",
				dev->name, q, q < dev->nb_rxq && !dev->rxq[q] ? "rx" : "tx");
			return -EINVAL;
		}
	}
	ret = dev->ops->start(dev);
	if (ret)
		return ret;
	dev->started = true;
	fp_publish(dev);
	return 0;
}

ZDK_EXPORT int zdk_eth_dev_stop(uint16_t port)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "stop");

	if (!dev)
		return -ENODEV;
	fp_clear(port);
	if (dev->started)
		dev->ops->stop(dev);
	dev->started = false;
	return 0;
}

ZDK_EXPORT int zdk_eth_dev_close(uint16_t port)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "close");

	if (!dev)
		return -ENODEV;
	zdk_eth_dev_stop(port);
	queues_release(dev);
	if (dev->configured)
		dev->ops->close(dev);
	dev->configured = false;
	dev->nb_rxq = 0;
	dev->nb_txq = 0;
	return 0;
}

ZDK_EXPORT int zdk_eth_link_get(uint16_t port, struct zdk_eth_link *link)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "link");

	if (!dev)
		return -ENODEV;
	memset(link, 0, sizeof(*link));
	return dev->ops->link_get(dev, link);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

ZDK_EXPORT int zdk_eth_link_wait(uint16_t port, unsigned timeout_ms, struct zdk_eth_link *link)
{
	struct zdk_eth_link l;
	unsigned waited = 0;
	int ret;

	for (;;) {
		ret = zdk_eth_link_get(port, &l);
		if (ret)
			return ret;
		if (link)
			*link = l;
		if (l.up)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(10);
		waited += 10;
	}
}

static int promisc_set(uint16_t port, bool on)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "promiscuous");
	int ret;

	if (!dev)
		return -ENODEV;
	ret = dev->ops->promisc_set(dev, on);
	if (ret == 0)
		dev->promisc = on;
	return ret;
}

ZDK_EXPORT int zdk_eth_promiscuous_enable(uint16_t port)
{
	return promisc_set(port, true);
}

ZDK_EXPORT int zdk_eth_promiscuous_disable(uint16_t port)
{
	return promisc_set(port, false);
}

ZDK_EXPORT int zdk_eth_promiscuous_get(uint16_t port)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "promiscuous");

	return dev ? dev->promisc : -ENODEV;
}

ZDK_EXPORT int zdk_eth_macaddr_get(uint16_t port, struct zdk_ether_addr *mac)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "mac");

	if (!dev)
		return -ENODEV;
	return dev->ops->mac_get(dev, mac);
}

ZDK_EXPORT int zdk_eth_stats_get(uint16_t port, struct zdk_eth_stats *stats)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "stats");

	if (!dev)
		return -ENODEV;
	memset(stats, 0, sizeof(*stats));
	return dev->ops->stats_get(dev, stats);
}

ZDK_EXPORT int zdk_eth_stats_reset(uint16_t port)
{
	struct zdk_eth_dev *dev = dev_lookup(port, "stats");

	if (!dev)
		return -ENODEV;
	return dev->ops->stats_reset(dev);
}

ZDK_EXPORT void zdk_eth_addr_format(const struct zdk_ether_addr *mac, char *buf, size_t len)
{
	const uint8_t *a = mac->addr;

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
}

ZDK_EXPORT int zdk_eth_dev_intr_ops_set(struct zdk_eth_dev *dev, const struct zdk_eth_intr_ops *ops)
{
	struct zdk_eth_intr_ops o = { .size = sizeof(o) };

	if (ops && zdk_opts_copy(&o, sizeof(o), ops, ops->size)) {
		ZDK_ERR("%s: intr ops size %zu, this zdk knows %zu bytes", dev->name, ops->size,
			sizeof(o));
		return -EINVAL;
	}
	eth_intr[dev->port_id] = ops ? o : (struct zdk_eth_intr_ops){ 0 };
	return 0;
}

/* The port of a receive interrupt call, checked; NULL with *@rc set. */
static struct zdk_eth_dev *intr_check(uint16_t port, uint16_t q, const char *what, int *rc)
{
	struct zdk_eth_dev *dev = dev_lookup(port, what);

	*rc = -ENODEV;
	if (!dev)
		return NULL;
	*rc = -ENOTSUP;
	if (!eth_intr[port].rx_intr_fd) {
		ZDK_ERR("%s: %s: the %s driver has no receive interrupts: poll this port",
			dev->name, what, dev->info.driver_name);
		return NULL;
	}
	*rc = -EINVAL;
	if (!dev->started) {
		ZDK_ERR("%s: %s: start the port first", dev->name, what);
		return NULL;
	}
	if (q >= dev->nb_rxq) {
		ZDK_ERR("%s: %s: rx queue %u: only %u configured", dev->name, what, q, dev->nb_rxq);
		return NULL;
	}
	*rc = 0;
	return dev;
}

ZDK_EXPORT int zdk_eth_rx_intr_fd(uint16_t port, uint16_t q)
{
	int rc;
	struct zdk_eth_dev *dev = intr_check(port, q, "rx interrupt", &rc);

	return dev ? eth_intr[port].rx_intr_fd(dev, q) : rc;
}

ZDK_EXPORT int zdk_eth_rx_intr_enable(uint16_t port, uint16_t q)
{
	int rc;
	struct zdk_eth_dev *dev = intr_check(port, q, "rx interrupt enable", &rc);

	if (!dev)
		return rc;
	if (zdk_eth_dev_removed(port))
		return 0;
	return eth_intr[port].rx_intr_enable(dev, q);
}

ZDK_EXPORT int zdk_eth_rx_intr_disable(uint16_t port, uint16_t q)
{
	int rc;
	struct zdk_eth_dev *dev = intr_check(port, q, "rx interrupt disable", &rc);

	if (!dev)
		return rc;
	if (zdk_eth_dev_removed(port))
		return 0;
	return eth_intr[port].rx_intr_disable(dev, q);
}
