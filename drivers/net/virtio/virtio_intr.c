/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_intr.c - receive interrupts, for a poller that sleeps when idle
 * (zdk_eth_rx_intr_*). Section numbers are those of the virtio v1.1
 * specification.
 *
 * MSI-X, one vector per rx queue: rx queue q -> vector 1 + q; vector 0 is
 * left for configuration changes, which keep none (msix_config =
 * VIRTIO_MSI_NO_VECTOR: the link is polled), and so do the transmit and
 * control queues. A vector is named in queue_msix_vector while the queue is
 * set up, before DRIVER_OK (§4.1.5.1.3), so vnet_start() writes 1 + q at
 * every start when the device's MSI-X table is large enough, and reads it
 * back (the device answers VIRTIO_MSI_NO_VECTOR when it cannot map it,
 * §4.1.5.1.2). That alone signals nothing: every queue keeps
 * VIRTQ_AVAIL_F_NO_INTERRUPT set while it is polled, and MSI-X stays off on
 * the function. The first zdk_eth_rx_intr_fd() or _enable() turns MSI-X on
 * through VFIO (intr_setup(), as igb does); for a modern device that
 * changes nothing in the register layout (only the legacy interface moves its
 * device config when MSI-X is on, and this driver has no legacy path).
 * Sleeping is then: clear NO_INTERRUPT, look at the used ring once more
 * (virtq_intr_arm()); waking: set it again. Without VIRTIO_F_EVENT_IDX (not
 * negotiated) NO_INTERRUPT is a hint the device may ignore (§2.6.7.2), so a
 * stray signal while polling is possible and drained before the next sleep.
 *
 * A reset (stop) takes the vectors back to VIRTIO_MSI_NO_VECTOR and the
 * start after it writes them again; MSI-X stays on, and the eventfds valid,
 * until the port is configured again or closed (vnet_intr_teardown()).
 */
#include <errno.h>

#define ZDK_LOG_COMPONENT "virtio"
#include "sys.h"
#include "zdk_log.h"
#include "zdk_pci.h"
#include "virtio_net.h"

/* MSI-X vectors a port with @nb_rxq rx queues needs: config's, then one per queue. */
static unsigned vectors_needed(uint16_t nb_rxq)
{
	return 1u + nb_rxq;
}

/* At probe: the MSI-X table the device offers through VFIO. */
void vnet_intr_probe(struct vnet_dev *vd)
{
	int n = zdk_pci_irq_count(vd->vp.pdev, ZDK_PCI_IRQ_MSIX);

	vd->msix_table = n > 0 ? (uint16_t)ZDK_MIN(n, UINT16_MAX) : 0;
	vd->nr_vectors = 0;
	for (unsigned v = 0; v < ZDK_ARRAY_SIZE(vd->efd); v++)
		vd->efd[v] = -1;
}

/*
 * The vector vnet_start() names for rx queue @q: 1 + q when the table has
 * room for every rx queue's, else none (the port is polled only).
 */
uint16_t vnet_intr_rx_vector(const struct vnet_dev *vd, uint16_t q)
{
	if (vd->msix_table < vectors_needed(vd->eth->nb_rxq))
		return VIRTIO_MSI_NO_VECTOR;
	return (uint16_t)(1 + q);
}

/* MSI-X on the function, once the device has taken every rx queue's vector. */
static int intr_setup(struct vnet_dev *vd)
{
	struct zdk_eth_dev *dev = vd->eth;
	unsigned n = vectors_needed(dev->nb_rxq);
	int rc;

	if (vd->nr_vectors)
		return 0;
	if (vd->msix_table == 0) {
		ZDK_ERR("%s: the device offers no MSI-X vector: no receive interrupts, poll it "
			"(QEMU: -device virtio-net-pci,vectors=%u or more)", dev->name, n);
		return -ENOTSUP;
	}
	if (vd->msix_table < n) {
		ZDK_ERR("%s: %u rx queues need %u MSI-X vectors (config, then one per queue), the "
			"device has %u: no receive interrupts (QEMU: -device virtio-net-pci,vectors=%u)",
			dev->name, dev->nb_rxq, n, vd->msix_table, n);
		return -ENOSPC;
	}
	for (uint16_t q = 0; q < dev->nb_rxq; q++) {
		const struct vnet_rxq *rxq = dev->rxq[q];

		if (rxq->vq.msix_vector != 1 + q) {
			ZDK_ERR("%s: the device refused MSI-X vector %u for rx queue %u (read back "
				"%#x): no receive interrupts, poll it", dev->name, 1 + q, q,
				rxq->vq.msix_vector);
			return -ENOSPC;
		}
	}
	rc = zdk_pci_irq_enable(vd->vp.pdev, ZDK_PCI_IRQ_MSIX, n, vd->efd);
	if (rc) {
		ZDK_ERR("%s: enabling %u MSI-X vectors failed (%d)", dev->name, n, rc);
		return rc;
	}
	vd->nr_vectors = (uint16_t)n;
	ZDK_INFO("%s: receive interrupts on MSI-X vectors 1..%u", dev->name, n - 1);
	return 0;
}

/*
 * Configure and close: MSI-X off on the function, its eventfds closed. The
 * stop before either reset the device, which took its vectors back to
 * VIRTIO_MSI_NO_VECTOR; they are written again all the same, in case it
 * did not (a device that is still there).
 */
void vnet_intr_teardown(struct vnet_dev *vd)
{
	struct zdk_eth_dev *dev = vd->eth;

	if (!vd->nr_vectors)
		return;
	if (!zdk_pci_device_removed(vd->vp.pdev) && vd->vp.common) {
		for (uint16_t q = 0; q < dev->nb_rxq && dev->rxq[q]; q++) {
			struct vnet_rxq *rxq = dev->rxq[q];

			virtq_intr_disarm(&rxq->vq);
			rxq->vq.msix_vector = virtio_pci_queue_vector_set(&vd->vp, rxq->vq.index,
									  VIRTIO_MSI_NO_VECTOR);
		}
		virtio_pci_msix_config_set(&vd->vp, VIRTIO_MSI_NO_VECTOR);
	}
	zdk_pci_irq_disable(vd->vp.pdev);
	for (unsigned v = 0; v < ZDK_ARRAY_SIZE(vd->efd); v++)
		vd->efd[v] = -1;
	vd->nr_vectors = 0;
}

static int vnet_rx_intr_fd(struct zdk_eth_dev *dev, uint16_t q)
{
	struct vnet_dev *vd = dev->priv;
	int rc = intr_setup(vd);

	return rc ? rc : vd->efd[1 + q];
}

static int vnet_rx_intr_enable(struct zdk_eth_dev *dev, uint16_t q)
{
	struct vnet_dev *vd = dev->priv;
	struct vnet_rxq *rxq = dev->rxq[q];
	uint64_t cnt;
	int rc = intr_setup(vd);

	if (rc)
		return rc;
	/* Signals from while the owner polled must not wake it now. */
	sys_read(vd->efd[1 + q], &cnt, sizeof(cnt)); /* an eventfd read resets it */
	/* A buffer from here on is either signalled or seen by this look. */
	return virtq_intr_arm(&rxq->vq) ? -EAGAIN : 0;
}

static int vnet_rx_intr_disable(struct zdk_eth_dev *dev, uint16_t q)
{
	struct vnet_rxq *rxq = dev->rxq[q];

	virtq_intr_disarm(&rxq->vq);
	return 0;
}

const struct zdk_eth_intr_ops vnet_intr_ops = {
	.size = sizeof(struct zdk_eth_intr_ops),
	.rx_intr_fd = vnet_rx_intr_fd,
	.rx_intr_enable = vnet_rx_intr_enable,
	.rx_intr_disable = vnet_rx_intr_disable,
};
