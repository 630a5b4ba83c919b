/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_eth_driver.h - the interface between lib/eth and NIC drivers.
 *
 * A driver's PCI probe() calls zdk_eth_dev_alloc() to get a port, fills
 * dev->info, dev->ops and dev->priv, and its remove() calls
 * zdk_eth_dev_release(). lib/eth checks arguments and state (port valid,
 * queue index below the configured count, descriptor count in range,
 * started or not) before calling an op, so ops only do the device work.
 *
 * Queues: rx_queue_setup/tx_queue_setup store the driver's queue object in
 * dev->rxq[q]/dev->txq[q]; at start lib/eth publishes
 * {dev->rx_burst, dev->rxq[q]} in zdk_eth_fp[port].rx[q] (a driver may set a
 * different function per queue in dev->rx_burst_q[q]). Queue objects stay
 * until rx/tx_queue_release, called by lib/eth on reconfigure and close.
 */
#ifndef ZDK_ETH_DRIVER_H
#define ZDK_ETH_DRIVER_H

#include "zdk_eth.h"
#include "zdk_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zdk_eth_dev;

/**
 * struct zdk_eth_dev_ops - what a driver implements. Return 0 or -errno.
 * @configure: dev->nb_rxq, nb_txq and conf are set; program RSS etc.
 * @start: enable the queues set up and the receiver/transmitter.
 * @stop: disable them (may be called on a port never started).
 * @close: undo configure (queues are already released).
 * @rx_queue_setup: allocate ring @q (info limits already checked) and set
 *                  dev->rxq[q].
 * @tx_queue_setup: likewise for dev->txq[q].
 * @rx_queue_release: free dev->rxq[q] with its mbufs; NULL queue ignored.
 * @tx_queue_release: free dev->txq[q] with its in-flight mbufs.
 * @link_get: read the link state.
 * @promisc_set: unicast/multicast promiscuous on or off.
 * @stats_get: fill @stats (zeroed by the caller): hardware port counters
 *             accumulated since reset, plus the queues' software counts.
 * @stats_reset: zero them.
 * @mac_get: the current unicast address.
 */
struct zdk_eth_dev_ops {
	int (*configure)(struct zdk_eth_dev *dev);
	int (*start)(struct zdk_eth_dev *dev);
	void (*stop)(struct zdk_eth_dev *dev);
	void (*close)(struct zdk_eth_dev *dev);
	int (*rx_queue_setup)(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket,
			      struct zdk_mempool *mp);
	int (*tx_queue_setup)(struct zdk_eth_dev *dev, uint16_t q, uint16_t nb_desc, int socket);
	void (*rx_queue_release)(struct zdk_eth_dev *dev, uint16_t q);
	void (*tx_queue_release)(struct zdk_eth_dev *dev, uint16_t q);
	int (*link_get)(struct zdk_eth_dev *dev, struct zdk_eth_link *link);
	int (*promisc_set)(struct zdk_eth_dev *dev, bool on);
	int (*stats_get)(struct zdk_eth_dev *dev, struct zdk_eth_stats *stats);
	int (*stats_reset)(struct zdk_eth_dev *dev);
	int (*mac_get)(struct zdk_eth_dev *dev, struct zdk_ether_addr *mac);
};

struct zdk_eth_dev {
	uint16_t port_id;
	char name[ZDK_ETH_NAME_LEN];     /* "<driver>@<bdf>" for messages */
	struct zdk_pci_device *pci;      /* NULL for a software device */
	const struct zdk_eth_dev_ops *ops;
	struct zdk_eth_dev_info info;    /* filled by the driver at probe */
	void *priv;                      /* the driver's device state */

	/* Set by lib/eth before the ops are called. */
	struct zdk_eth_conf conf;
	uint8_t rss_key[ZDK_ETH_RSS_KEY_LEN];
	bool rss_key_set;                /* conf.rss_key was given (copied above) */
	uint16_t nb_rxq;
	uint16_t nb_txq;
	bool configured;
	bool started;
	bool promisc;

	/* Set by the driver. */
	zdk_eth_rx_burst_fn rx_burst;
	zdk_eth_tx_burst_fn tx_burst;
	zdk_eth_rx_burst_fn rx_burst_q[ZDK_ETH_MAX_QUEUES]; /* overrides, or NULL */
	zdk_eth_tx_burst_fn tx_burst_q[ZDK_ETH_MAX_QUEUES];
	void *rxq[ZDK_ETH_MAX_QUEUES];
	void *txq[ZDK_ETH_MAX_QUEUES];
};

/**
 * struct zdk_eth_intr_ops - a driver's receive interrupts, optional.
 * struct zdk_eth_dev_ops is ABI and cannot grow: these are registered beside
 * it with zdk_eth_dev_intr_ops_set(). lib/eth calls them on a started port,
 * for a queue below nb_rxq, and not after the device was removed.
 * @size: sizeof(struct zdk_eth_intr_ops), as the driver was built.
 * @rx_intr_fd: the eventfd rx queue @q's interrupt signals; the driver sets
 *              up its vectors on first use and tears them down at close.
 *              Return: the descriptor or -errno.
 * @rx_intr_enable: unmask queue @q's interrupt, then look at the ring once
 *              more. Return: 0 (nothing waiting: the caller may sleep),
 *              -EAGAIN (a packet is there already: poll), -errno.
 * @rx_intr_disable: mask it. Return: 0 or -errno.
 */
struct zdk_eth_intr_ops {
	size_t size;
	int (*rx_intr_fd)(struct zdk_eth_dev *dev, uint16_t q);
	int (*rx_intr_enable)(struct zdk_eth_dev *dev, uint16_t q);
	int (*rx_intr_disable)(struct zdk_eth_dev *dev, uint16_t q);
};

/**
 * zdk_eth_dev_intr_ops_set() - give @dev receive interrupts (at probe,
 * after zdk_eth_dev_alloc()); NULL takes them away.
 * Return: 0, -EINVAL (bad @ops->size).
 */
ZDK_EXPORT int zdk_eth_dev_intr_ops_set(struct zdk_eth_dev *dev,
					const struct zdk_eth_intr_ops *ops);

/**
 * zdk_eth_dev_alloc() - give a new port to a probed device.
 * @pci: the PCI function (may be NULL for a software device).
 * @driver_name: for dev->name and info.driver_name (a static string).
 * @dev: set to the zeroed port, with port_id and info.pci_name/numa_node
 *       filled. Ports follow PCI address order, so while zdk_eal_init()
 *       probes, a later probe may renumber this port: read dev->port_id when
 *       it is used (queue setup, start), not at probe.
 *
 * Return: 0, or -ENOSPC (ZDK_ETH_MAX_PORTS already allocated), -ENOMEM.
 */
ZDK_EXPORT int zdk_eth_dev_alloc(struct zdk_pci_device *pci, const char *driver_name,
				 struct zdk_eth_dev **dev);

/**
 * zdk_eth_dev_release() - close the port if needed and free its number;
 * NULL is ignored. Called from the driver's remove().
 */
ZDK_EXPORT void zdk_eth_dev_release(struct zdk_eth_dev *dev);

/** zdk_eth_dev_get() - the port's device, or NULL. For drivers and tests. */
ZDK_EXPORT struct zdk_eth_dev *zdk_eth_dev_get(uint16_t port);

/**
 * zdk_eth_rss_key_default() - the 40-byte Toeplitz key drivers use when the
 * application gives none (the key from Microsoft's RSS verification suite).
 */
ZDK_EXPORT const uint8_t *zdk_eth_rss_key_default(void);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_ETH_DRIVER_H */
