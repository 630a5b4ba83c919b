/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb.c - poll-mode driver for the Intel 82576 (QEMU's -device igb):
 * probe, reset, link, receive/transmit setup, RSS, promiscuous mode and
 * statistics. Section numbers are those of the Intel 82576 GbE Controller
 * Datasheet. The rings and bursts are in igb_rxtx.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZDK_LOG_COMPONENT "igb"
#include "igb.h"
#include "zdk_log.h"
#include "zdk_pci.h"

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static struct igb_dev *igb_of(struct zdk_eth_dev *dev)
{
	return dev->priv;
}

static void irqs_disable(struct igb_dev *igb)
{
	igb_write(igb, IGB_IMC, ~0u);
	igb_write(igb, IGB_EIMC, ~0u);
	igb_read(igb, IGB_ICR); /* clear-on-read: drop anything pending */
	igb_read(igb, IGB_EICR);
}

/* 4.5.1-4.5.2: mask interrupts, global reset, mask again (reset unmasks). */
static int hw_reset(struct igb_dev *igb)
{
	int i;

	irqs_disable(igb);
	igb_write(igb, IGB_RCTL, 0);
	igb_write(igb, IGB_TCTL, 0);
	if (zdk_pci_device_removed(igb->pci))
		return 0; /* gone: it reads all-ones, and can DMA nowhere */
	igb_write(igb, IGB_CTRL, igb_read(igb, IGB_CTRL) | IGB_CTRL_RST);
	/* The datasheet asks for at least 1 ms before touching the device again. */
	sleep_us(2000);
	for (i = 0; i < 1000 && (igb_read(igb, IGB_CTRL) & IGB_CTRL_RST); i++)
		sleep_us(1000);
	if (igb_read(igb, IGB_CTRL) & IGB_CTRL_RST) {
		ZDK_ERR("%s: reset did not complete within 1 s", igb->pci->name);
		return -EIO;
	}
	irqs_disable(igb);
	return 0;
}

/* Read the clear-on-read counters (8.19) into the running totals. */
static void hw_stats_update(struct igb_dev *igb)
{
	struct igb_hw_stats *s = &igb->hw;
	unsigned q;

	s->gprc += igb_read(igb, IGB_GPRC);
	s->gptc += igb_read(igb, IGB_GPTC);
	/* Low before high: reading the high half clears the pair. */
	s->gorc += igb_read(igb, IGB_GORCL);
	s->gorc += (uint64_t)igb_read(igb, IGB_GORCH) << 32;
	s->gotc += igb_read(igb, IGB_GOTCL);
	s->gotc += (uint64_t)igb_read(igb, IGB_GOTCH) << 32;
	s->mpc += igb_read(igb, IGB_MPC);
	s->rnbc += igb_read(igb, IGB_RNBC);
	s->crcerrs += igb_read(igb, IGB_CRCERRS);
	s->rlec += igb_read(igb, IGB_RLEC);
	s->rxerrc += igb_read(igb, IGB_RXERRC);
	for (q = 0; q < IGB_NB_QUEUES; q++)
		s->rqdpc[q] += igb_read(igb, IGB_RQDPC(q));
}

static uint32_t mrqc_fields(uint32_t rss_hf)
{
	uint32_t f = 0;

	f |= (rss_hf & ZDK_ETH_RSS_IPV4) ? IGB_MRQC_IPV4 : 0;
	f |= (rss_hf & ZDK_ETH_RSS_IPV4_TCP) ? IGB_MRQC_TCPIPV4 : 0;
	f |= (rss_hf & ZDK_ETH_RSS_IPV4_UDP) ? IGB_MRQC_UDPIPV4 : 0;
	f |= (rss_hf & ZDK_ETH_RSS_IPV6) ? IGB_MRQC_IPV6 : 0;
	f |= (rss_hf & ZDK_ETH_RSS_IPV6_TCP) ? IGB_MRQC_TCPIPV6 : 0;
	f |= (rss_hf & ZDK_ETH_RSS_IPV6_UDP) ? IGB_MRQC_UDPIPV6 : 0;
	return f;
}

/*
 * 7.1.1.7 (RSS): the key in RSSRK (byte 0 in the low byte of RSSRK0), the
 * 128-entry redirection table spreading the queues round-robin, MRQC to
 * enable it, and RXCSUM.PCSD so the descriptor carries the hash.
 */
static void rss_setup(struct igb_dev *igb)
{
	struct zdk_eth_dev *dev = igb->eth;
	const uint8_t *key = dev->conf.rss_key;
	unsigned i, j;

	if (dev->conf.rss_hf == 0 || dev->nb_rxq == 1) {
		igb_write(igb, IGB_MRQC, 0);
		igb_write(igb, IGB_RXCSUM, 0);
		return;
	}
	for (i = 0; i < ZDK_ETH_RSS_KEY_LEN / 4; i++)
		igb_write(igb, IGB_RSSRK(i), key[4 * i] | key[4 * i + 1] << 8 |
					     key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24);
	for (i = 0; i < IGB_RETA_REGS; i++) {
		uint32_t reta = 0;

		for (j = 0; j < 4; j++)
			reta |= (uint32_t)((4 * i + j) % dev->nb_rxq) << (8 * j);
		igb_write(igb, IGB_RETA(i), reta);
	}
	igb_write(igb, IGB_RXCSUM, IGB_RXCSUM_PCSD);
	igb_write(igb, IGB_MRQC, IGB_MRQC_RSS | mrqc_fields(dev->conf.rss_hf));
}

static int igb_configure(struct zdk_eth_dev *dev)
{
	/* Everything is programmed at start, from dev->conf; receive interrupts
	 * are set up again for the new queue count when next asked for. */
	igb_intr_teardown(igb_of(dev));
	return 0;
}

static uint32_t rctl_value(const struct zdk_eth_dev *dev, bool promisc)
{
	uint32_t rctl = IGB_RCTL_EN | IGB_RCTL_BAM | IGB_RCTL_SECRC;

	return promisc ? rctl | IGB_RCTL_UPE | IGB_RCTL_MPE : rctl;
}

static void igb_stop(struct zdk_eth_dev *dev)
{
	struct igb_dev *igb = igb_of(dev);
	unsigned q;

	igb_intr_mask_all(igb);
	igb_write(igb, IGB_RCTL, 0);
	igb_write(igb, IGB_TCTL, 0);
	for (q = 0; q < dev->nb_rxq; q++)
		if (dev->rxq[q])
			igb_rx_queue_stop(igb, dev->rxq[q]);
	for (q = 0; q < dev->nb_txq; q++)
		if (dev->txq[q])
			igb_tx_queue_stop(igb, dev->txq[q]);
}

/* 4.5.9 and 4.5.10: queues first, then the global enables. */
static int igb_start(struct zdk_eth_dev *dev)
{
	struct igb_dev *igb = igb_of(dev);
	bool rss = dev->conf.rss_hf && dev->nb_rxq > 1;
	unsigned q;
	int ret;

	rss_setup(igb);
	for (q = 0; q < dev->nb_txq; q++) {
		ret = igb_tx_queue_start(igb, dev->txq[q]);
		if (ret)
			goto err_stop;
	}
	for (q = 0; q < dev->nb_rxq; q++) {
		struct igb_rx_queue *rxq = dev->rxq[q];

		rxq->ol_flags = rss ? ZDK_MBUF_F_RX_RSS_HASH : 0;
		ret = igb_rx_queue_start(igb, rxq);
		if (ret)
			goto err_stop;
	}
	igb_write(igb, IGB_TCTL, IGB_TCTL_EN | IGB_TCTL_PSP | (15u << IGB_TCTL_CT_SHIFT) |
					 (63u << IGB_TCTL_COLD_SHIFT));
	igb_write(igb, IGB_RCTL, rctl_value(dev, dev->promisc));
	igb_write(igb, IGB_CTRL, igb_read(igb, IGB_CTRL) | IGB_CTRL_SLU);
	dev->rx_burst = igb_rx_burst;
	dev->tx_burst = igb_tx_burst;
	return 0;

err_stop:
	igb_stop(dev);
	return ret;
}

static void igb_close(struct zdk_eth_dev *dev)
{
	struct igb_dev *igb = igb_of(dev);

	igb_intr_teardown(igb);
	igb_write(igb, IGB_MRQC, 0);
}

/* 8.2.2: STATUS.LU, the resolved speed and duplex. */
static int igb_link_get(struct zdk_eth_dev *dev, struct zdk_eth_link *link)
{
	static const uint32_t speeds[4] = { 10, 100, 1000, 1000 };
	uint32_t status = igb_read(igb_of(dev), IGB_STATUS);

	link->up = status & IGB_STATUS_LU;
	link->full_duplex = status & IGB_STATUS_FD;
	link->speed_mbps = link->up ? speeds[(status >> IGB_STATUS_SPEED_SHIFT) & 3] : 0;
	return 0;
}

static int igb_promisc_set(struct zdk_eth_dev *dev, bool on)
{
	struct igb_dev *igb = igb_of(dev);

	if (dev->started)
		igb_write(igb, IGB_RCTL, rctl_value(dev, on));
	return 0; /* otherwise applied at start from dev->promisc */
}

static int igb_stats_get(struct zdk_eth_dev *dev, struct zdk_eth_stats *st)
{
	struct igb_dev *igb = igb_of(dev);
	const struct igb_hw_stats *h = &igb->hw, *b = &igb->base;
	unsigned q;

	hw_stats_update(igb);
	st->ipackets = h->gprc - b->gprc;
	st->opackets = h->gptc - b->gptc;
	st->ibytes = h->gorc - b->gorc;
	st->obytes = h->gotc - b->gotc;
	st->imissed = h->mpc - b->mpc;
	st->ierrors = (h->crcerrs - b->crcerrs) + (h->rlec - b->rlec) + (h->rxerrc - b->rxerrc);
	for (q = 0; q < dev->nb_rxq && q < IGB_NB_QUEUES; q++) {
		const struct igb_rx_queue *rxq = dev->rxq[q];

		st->q_missed[q] = h->rqdpc[q] - b->rqdpc[q];
		st->imissed += st->q_missed[q];
		if (!rxq)
			continue;
		st->q_ipackets[q] = rxq->packets;
		st->q_ibytes[q] = rxq->bytes;
		st->q_errors[q] = rxq->errors; /* descriptors rx_burst dropped */
		st->ierrors += rxq->errors;
		st->rx_nombuf += rxq->nombuf;
	}
	for (q = 0; q < dev->nb_txq && q < IGB_NB_QUEUES; q++) {
		const struct igb_tx_queue *txq = dev->txq[q];

		if (!txq)
			continue;
		st->q_opackets[q] = txq->packets;
		st->q_obytes[q] = txq->bytes;
	}
	return 0;
}

static int igb_stats_reset(struct zdk_eth_dev *dev)
{
	struct igb_dev *igb = igb_of(dev);
	unsigned q;

	hw_stats_update(igb);
	igb->base = igb->hw;
	for (q = 0; q < ZDK_ETH_MAX_QUEUES; q++) {
		struct igb_rx_queue *rxq = dev->rxq[q];
		struct igb_tx_queue *txq = dev->txq[q];

		if (rxq)
			rxq->packets = rxq->bytes = rxq->nombuf = rxq->errors = 0;
		if (txq)
			txq->packets = txq->bytes = 0;
	}
	return 0;
}

/* 8.10.14-15: receive address 0 holds the MAC loaded from the EEPROM. */
static int igb_mac_get(struct zdk_eth_dev *dev, struct zdk_ether_addr *mac)
{
	struct igb_dev *igb = igb_of(dev);
	uint32_t ral = igb_read(igb, IGB_RAL0), rah = igb_read(igb, IGB_RAH0);
	unsigned i;

	for (i = 0; i < 4; i++)
		mac->addr[i] = (uint8_t)(ral >> (8 * i));
	mac->addr[4] = (uint8_t)rah;
	mac->addr[5] = (uint8_t)(rah >> 8);
	return 0;
}

static const struct zdk_eth_dev_ops igb_ops = {
	.configure = igb_configure,
	.start = igb_start,
	.stop = igb_stop,
	.close = igb_close,
	.rx_queue_setup = igb_rx_queue_setup,
	.tx_queue_setup = igb_tx_queue_setup,
	.rx_queue_release = igb_rx_queue_release,
	.tx_queue_release = igb_tx_queue_release,
	.link_get = igb_link_get,
	.promisc_set = igb_promisc_set,
	.stats_get = igb_stats_get,
	.stats_reset = igb_stats_reset,
	.mac_get = igb_mac_get,
};

static void info_fill(struct zdk_eth_dev_info *info)
{
	info->max_rx_queues = IGB_NB_QUEUES;
	info->max_tx_queues = IGB_NB_QUEUES;
	info->min_desc = IGB_MIN_DESC;
	info->max_desc = IGB_MAX_DESC;
	info->desc_align = IGB_DESC_ALIGN;
	/* One buffer per frame: 2 KiB of data room holds a 1518-byte frame. */
	info->min_rx_bufsize = 2048 + ZDK_MBUF_HEADROOM;
	info->max_rx_pktlen = 1518;
	info->rss_hf = ZDK_ETH_RSS_IP | ZDK_ETH_RSS_TCP | ZDK_ETH_RSS_UDP;
	info->reta_size = 4 * IGB_RETA_REGS;
}

/* Write PHY register @reg through MDIC (8.2.4) and wait for READY. */
static int phy_write(struct igb_dev *igb, uint32_t reg, uint16_t val)
{
	uint32_t mdic = 0;
	int i;

	igb_write(igb, IGB_MDIC, val | reg << IGB_MDIC_REG_SHIFT |
				 IGB_PHY_ADDR << IGB_MDIC_PHY_SHIFT | IGB_MDIC_OP_WRITE);
	for (i = 0; i < 100 && !(mdic & IGB_MDIC_READY); i++) {
		sleep_us(50);
		mdic = igb_read(igb, IGB_MDIC);
	}
	if (!(mdic & IGB_MDIC_READY) || (mdic & IGB_MDIC_ERROR)) {
		ZDK_ERR("%s: PHY register %u write failed (MDIC 0x%08x)", igb->pci->name, reg, mdic);
		return -EIO;
	}
	return 0;
}

/* Bring the function to a known state: reset, no interrupts, link coming up. */
static int hw_init(struct igb_dev *igb)
{
	int ret = hw_reset(igb);

	if (ret)
		return ret;
	igb_write(igb, IGB_CTRL_EXT, igb_read(igb, IGB_CTRL_EXT) | IGB_CTRL_EXT_DRV_LOAD);
	if (igb_read(igb, IGB_CTRL_EXT) & IGB_CTRL_EXT_LINK_MODE_MASK) {
		/* Fiber and SerDes parts have no MDIO PHY: their PCS negotiates the
		 * link (82576 datasheet 3.5, 8.23), with the MAC following (SLU). */
		igb_write(igb, IGB_CTRL, igb_read(igb, IGB_CTRL) | IGB_CTRL_SLU);
		igb_write(igb, IGB_PCS_LCTL, igb_read(igb, IGB_PCS_LCTL) | IGB_PCS_LCTL_AN_ENABLE |
						     IGB_PCS_LCTL_AN_RESTART);
		goto stats;
	}
	/*
	 * 4.5.7 (copper link setup): SLU lets the MAC follow the PHY, and an
	 * auto-negotiation restart in the PHY brings the link up (QEMU's igb
	 * raises STATUS.LU about 500 ms after it). zdk_eth_link_wait() waits.
	 */
	igb_write(igb, IGB_CTRL, igb_read(igb, IGB_CTRL) | IGB_CTRL_SLU);
	ret = phy_write(igb, IGB_PHY_BMCR, IGB_BMCR_AUTOEN | IGB_BMCR_ANRESTART | IGB_BMCR_FD |
					   IGB_BMCR_SPEED1000);
	if (ret)
		return ret;
stats:
	hw_stats_update(igb); /* start the totals at zero (4.5.6) */
	memset(&igb->hw, 0, sizeof(igb->hw));
	return 0;
}

/*
 * The id table: the 82576 family, which this driver drives, then igb-class
 * parts of other generations (82575, 82580, I350, I354, I210/I211), which
 * look alike but differ in their queues, descriptors and PHY access: they
 * are matched only so that zdk says it does not support them yet, instead
 * of passing over them in silence.
 */
#define IGB_NSUPPORTED 8
static const struct zdk_pci_id igb_ids[] = {
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_FIBER),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_SERDES),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_QUAD_COPPER),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_QUAD_COPPER_ET2),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_NS),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_NS_SERDES),
	ZDK_PCI_DEVICE(IGB_VENDOR_INTEL, IGB_DEV_82576_SERDES_QUAD),
	/* not supported yet */
	ZDK_PCI_DEVICE(0x8086, 0x10a7), ZDK_PCI_DEVICE(0x8086, 0x10a9), /* 82575 */
	ZDK_PCI_DEVICE(0x8086, 0x10d6),
	ZDK_PCI_DEVICE(0x8086, 0x150e), ZDK_PCI_DEVICE(0x8086, 0x150f), /* 82580 */
	ZDK_PCI_DEVICE(0x8086, 0x1510), ZDK_PCI_DEVICE(0x8086, 0x1511),
	ZDK_PCI_DEVICE(0x8086, 0x1516), ZDK_PCI_DEVICE(0x8086, 0x1527),
	ZDK_PCI_DEVICE(0x8086, 0x1521), ZDK_PCI_DEVICE(0x8086, 0x1522), /* I350 */
	ZDK_PCI_DEVICE(0x8086, 0x1523), ZDK_PCI_DEVICE(0x8086, 0x1524),
	ZDK_PCI_DEVICE(0x8086, 0x1546),
	ZDK_PCI_DEVICE(0x8086, 0x1f40), ZDK_PCI_DEVICE(0x8086, 0x1f41), /* I354 */
	ZDK_PCI_DEVICE(0x8086, 0x1f45),
	ZDK_PCI_DEVICE(0x8086, 0x1533), ZDK_PCI_DEVICE(0x8086, 0x1536), /* I210 */
	ZDK_PCI_DEVICE(0x8086, 0x1537), ZDK_PCI_DEVICE(0x8086, 0x1538),
	ZDK_PCI_DEVICE(0x8086, 0x157b), ZDK_PCI_DEVICE(0x8086, 0x157c),
	ZDK_PCI_DEVICE(0x8086, 0x1539),                                 /* I211 */
	{ 0 },
};

static bool family_unsupported(uint16_t device)
{
	for (const struct zdk_pci_id *id = &igb_ids[IGB_NSUPPORTED]; id->vendor_id; id++)
		if (id->device_id == device)
			return true;
	return false;
}

static int igb_probe(struct zdk_pci_device *pci)
{
	struct igb_dev *igb;
	size_t len = 0;
	void *bar;
	int ret;

	if (family_unsupported(pci->device_id)) {
		ZDK_WARN("%s: %04x:%04x is an igb-class controller that zdk's igb driver does "
			 "not support yet (it drives the 82576 family); left unused", pci->name,
			 pci->vendor_id, pci->device_id);
		return -ENOTSUP;
	}

	ret = zdk_pci_bar_map(pci, 0, &bar, &len);
	if (ret) {
		ZDK_ERR("%s: cannot map BAR 0: %d", pci->name, ret);
		return ret;
	}
	if (len < IGB_BAR_LEN) {
		ZDK_ERR("%s: BAR 0 is %zu bytes, an 82576 has %u", pci->name, len, IGB_BAR_LEN);
		return -ENODEV;
	}
	igb = calloc(1, sizeof(*igb));
	if (!igb)
		return -ENOMEM;
	igb->pci = pci;
	igb->bar = bar;
	ret = zdk_pci_bus_master(pci, true);
	if (ret)
		goto err_free_igb;
	ret = hw_init(igb);
	if (ret)
		goto err_bus_master_off;
	ret = zdk_eth_dev_alloc(pci, "igb", &igb->eth);
	if (ret)
		goto err_reset;
	igb->eth->ops = &igb_ops;
	igb->eth->priv = igb;
	zdk_eth_dev_intr_ops_set(igb->eth, &igb_intr_ops);
	info_fill(&igb->eth->info);
	pci->driver_data = igb;
	ZDK_INFO("%s: port %u", igb->eth->name, igb->eth->port_id);
	return 0;

err_reset:
	hw_reset(igb);
err_bus_master_off:
	zdk_pci_bus_master(pci, false);
err_free_igb:
	free(igb);
	return ret;
}

static void igb_remove(struct zdk_pci_device *pci)
{
	struct igb_dev *igb = pci->driver_data;

	if (!igb)
		return;
	zdk_eth_dev_release(igb->eth); /* stops and closes the port */
	hw_reset(igb);                 /* leave the device quiet: no DMA */
	zdk_pci_bus_master(pci, false);
	pci->driver_data = NULL;
	free(igb);
}

static struct zdk_pci_driver igb_driver = {
	.name = "igb",
	.id_table = igb_ids,
	.probe = igb_probe,
	.remove = igb_remove,
};

ZDK_PCI_DRIVER_REGISTER(igb_driver)
