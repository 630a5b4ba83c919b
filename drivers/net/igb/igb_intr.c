/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb_intr.c - receive interrupts, for a poller that sleeps when idle
 * (zdk_eth_rx_intr_*). MSI-X, one vector per rx queue (82576 datasheet
 * 7.3.1.3): GPIE in MSI-X mode, so that EICR bit v is vector v; IVAR0[q]
 * maps rx queue q to vector q; EIAC clears the EICR bit once its message is
 * sent. Every vector stays masked (EIMC) except while its owner sleeps:
 * enable unmasks it (EIMS), disable masks it again. The other causes (link,
 * transmit) keep no vector: the port is polled.
 */
#include <errno.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "igb"
#include "igb.h"
#include "sys.h"
#include "zdk_log.h"
#include "zdk_pci.h"

static struct igb_dev *igb_of(struct zdk_eth_dev *dev)
{
	return dev->priv;
}

/* Vectors for the configured rx queues, and their programming (7.3.1.3). */
static int intr_setup(struct igb_dev *igb)
{
	struct zdk_eth_dev *dev = igb->eth;
	uint16_t n = dev->nb_rxq, q;
	int count, rc;

	if (igb->nr_vectors)
		return 0;
	count = zdk_pci_irq_count(igb->pci, ZDK_PCI_IRQ_MSIX);
	if (count < 0)
		return count;
	if (count == 0) {
		ZDK_ERR("%s: the device offers no MSI-X vector: no receive interrupts, poll it",
			dev->name);
		return -ENOTSUP;
	}
	if (count < n) {
		ZDK_ERR("%s: %u rx queues and %d MSI-X vectors: receive interrupts need one per "
			"queue (configure at most %d rx queues)", dev->name, n, count, count);
		return -ENOSPC;
	}
	/* MSI-X on the function before the device's own setup (as Linux's igb). */
	rc = zdk_pci_irq_enable(igb->pci, ZDK_PCI_IRQ_MSIX, n, igb->efd);
	if (rc) {
		ZDK_ERR("%s: enabling %u MSI-X vectors failed (%d)", dev->name, n, rc);
		return rc;
	}
	igb_write(igb, IGB_EIMC, ~0u);
	igb_write(igb, IGB_GPIE, IGB_GPIE_MSIX_MODE | IGB_GPIE_PBA | IGB_GPIE_NSICR);
	for (q = 0; q < IGB_NB_QUEUES; q++)
		igb_write(igb, IGB_IVAR0(q), q < n ? (IGB_IVAR_VALID | q) : 0);
	igb_write(igb, IGB_IVAR_MISC, 0);
	for (q = 0; q < n; q++)
		igb_write(igb, IGB_EITR(q), 0); /* no throttling: wake at once */
	igb_write(igb, IGB_EIAC, (1u << n) - 1);
	igb_write(igb, IGB_EICR, ~0u); /* write 1 to clear */
	igb->nr_vectors = n;
	ZDK_INFO("%s: receive interrupts on %u MSI-X vectors", dev->name, n);
	return 0;
}

void igb_intr_mask_all(struct igb_dev *igb)
{
	if (igb->nr_vectors)
		igb_write(igb, IGB_EIMC, ~0u);
}

void igb_intr_teardown(struct igb_dev *igb)
{
	if (!igb->nr_vectors)
		return;
	igb_write(igb, IGB_EIMC, ~0u);
	for (unsigned q = 0; q < IGB_NB_QUEUES; q++)
		igb_write(igb, IGB_IVAR0(q), 0);
	igb_write(igb, IGB_EIAC, 0);
	igb_write(igb, IGB_GPIE, 0);
	zdk_pci_irq_disable(igb->pci);
	igb->nr_vectors = 0;
}

static int igb_rx_intr_fd(struct zdk_eth_dev *dev, uint16_t q)
{
	struct igb_dev *igb = igb_of(dev);
	int rc = intr_setup(igb);

	return rc ? rc : igb->efd[q];
}

static int igb_rx_intr_enable(struct zdk_eth_dev *dev, uint16_t q)
{
	struct igb_dev *igb = igb_of(dev);
	uint64_t cnt;
	int rc = intr_setup(igb);

	if (rc)
		return rc;
	/* Signals from while the owner polled must not wake it now. */
	sys_read(igb->efd[q], &cnt, sizeof(cnt)); /* an eventfd read resets it */
	/* A cause left from while the vector was masked would fire at once:
	 * clear it, then unmask. A packet from here on is either signalled or
	 * seen by the look at the ring below. */
	igb_write(igb, IGB_EICR, 1u << q);
	igb_write(igb, IGB_EIMS, 1u << q);
	/* The unmask before the look at the descriptor. */
	zdk_mb();
	return igb_rx_queue_pending(dev->rxq[q]) ? -EAGAIN : 0;
}

static int igb_rx_intr_disable(struct zdk_eth_dev *dev, uint16_t q)
{
	struct igb_dev *igb = igb_of(dev);

	if (igb->nr_vectors)
		igb_write(igb, IGB_EIMC, 1u << q);
	return 0;
}

const struct zdk_eth_intr_ops igb_intr_ops = {
	.size = sizeof(struct zdk_eth_intr_ops),
	.rx_intr_fd = igb_rx_intr_fd,
	.rx_intr_enable = igb_rx_intr_enable,
	.rx_intr_disable = igb_rx_intr_disable,
};
