/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_virtio.c - drivers/net/virtio against a software virtio-net device:
 * feature negotiation (and its refusal), queue setup, data integrity of
 * frames through tx and rx, ring and 16-bit index wrap, notification
 * suppression, the control queue, link, stop/start and allocation failures.
 *
 * The driver's .c files are included here with their MMIO accessors bound
 * to the fake device (the seam in virtio_pci.h); lib/eth and lib/mbuf are
 * the real ones.
 */
#include <CUnit/Basic.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_virtio.h"
#include "test_env.h"
#include "virtio_seam.h"

#define WANTED (FAKE_F_MAC | FAKE_F_STATUS | FAKE_F_CTRL_VQ | FAKE_F_CTRL_RX | \
		FAKE_F_VERSION_1 | FAKE_F_ACCESS_PLATFORM)
#define ETHERTYPE_TEST 0x88b5
#define NB_MBUFS 1024

struct port {
	struct fake_virtio *f;
	uint16_t id;
	struct zdk_mempool *mp;
};

static int probe(struct fake_virtio *f)
{
	return test_pci_driver->probe(&f->pdev);
}

static unsigned ports_alive(void)
{
	unsigned n = 0;

	for (uint16_t p = 0; p < ZDK_ETH_MAX_PORTS; p++)
		n += zdk_eth_dev_get(p) != NULL;
	return n;
}

/* Probe a fake, configure one queue pair of @nb_desc, start. */
static void port_up(struct port *p, uint64_t features, uint16_t nb_desc)
{
	struct vnet_dev *vd;

	p->f = fake_virtio_create(features, 256);
	CU_ASSERT_FATAL(probe(p->f) == 0);
	vd = p->f->pdev.driver_data;
	p->id = vd->eth->port_id;
	CU_ASSERT_FATAL(zdk_mbuf_pool_create("test", NB_MBUFS, 0, ZDK_MBUF_DEFAULT_BUF_SIZE,
					     ZDK_SOCKET_ANY, &p->mp) == 0);
	CU_ASSERT_FATAL(zdk_eth_dev_configure(p->id, 1, 1, NULL) == 0);
	CU_ASSERT_FATAL(zdk_eth_rx_queue_setup(p->id, 0, nb_desc, ZDK_SOCKET_ANY, p->mp) == 0);
	CU_ASSERT_FATAL(zdk_eth_tx_queue_setup(p->id, 0, nb_desc, ZDK_SOCKET_ANY) == 0);
	CU_ASSERT_FATAL(zdk_eth_dev_start(p->id) == 0);
}

/* Close, remove, and check nothing leaked and the device saw no violation. */
static void port_down(struct port *p)
{
	CU_ASSERT(p->f->proto_errors == 0);
	CU_ASSERT(p->f->dma_faults == 0);
	CU_ASSERT(p->f->early_notifies == 0);
	CU_ASSERT(p->f->irq_unrouted == 0);
	for (unsigned q = 0; q < FAKE_NQ; q++)
		CU_ASSERT(p->f->vq[q].interrupts == 0); /* polled: none */
	CU_ASSERT(zdk_eth_dev_close(p->id) == 0);
	CU_ASSERT(zdk_mempool_avail_count(p->mp) == NB_MBUFS);
	test_pci_driver->remove(&p->f->pdev);
	CU_ASSERT(p->f->status == 0); /* reset at remove: no more DMA */
	zdk_mbuf_pool_destroy(p->mp);
	fake_virtio_destroy(p->f);
}

/* A test frame: broadcast, ethertype 0x88b5, then seq and a seq-keyed pattern. */
static void frame_fill(uint8_t *b, unsigned len, uint32_t seq)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

	for (unsigned i = 0; i < 6; i++) {
		b[i] = 0xff;
		b[6 + i] = src[i];
	}
	b[12] = ETHERTYPE_TEST >> 8;
	b[13] = ETHERTYPE_TEST & 0xff;
	memcpy(b + 14, &seq, 4);
	for (unsigned i = 18; i < len; i++)
		b[i] = (uint8_t)(seq * 7 + i);
}

static struct zdk_mbuf *frame_mbuf(struct zdk_mempool *mp, unsigned len, uint32_t seq)
{
	struct zdk_mbuf *m = zdk_mbuf_alloc(mp);
	uint8_t *b;

	CU_ASSERT_FATAL(m != NULL);
	b = zdk_mbuf_append(m, len);
	CU_ASSERT_FATAL(b != NULL);
	frame_fill(b, len, seq);
	return m;
}

static bool frame_check(const struct zdk_mbuf *m, unsigned len, uint32_t seq)
{
	uint8_t want[1600];

	frame_fill(want, len, seq);
	return m->pkt_len == len && m->data_len == len &&
	       memcmp(zdk_mbuf_mtod(m, const uint8_t *), want, len) == 0;
}

static unsigned frame_len(uint32_t seq)
{
	return 60 + (seq * 37) % (1514 - 60 + 1);
}

/*
 * Feature negotiation
 */
static void test_negotiation(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT | FAKE_F_GUEST_TSO4 |
						   FAKE_F_MRG_RXBUF | FAKE_F_EVENT_IDX, 256);
	struct zdk_ether_addr mac;
	struct zdk_eth_dev *eth;

	CU_ASSERT_FATAL(probe(f) == 0);
	/* Exactly what the driver understands, nothing it was merely offered. */
	CU_ASSERT(f->accepted == WANTED);
	CU_ASSERT(f->status == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK));
	CU_ASSERT(f->resets == 1);
	CU_ASSERT(f->bus_master);
	eth = ((struct vnet_dev *)f->pdev.driver_data)->eth;
	CU_ASSERT(eth->info.max_desc == 256);
	CU_ASSERT(zdk_eth_macaddr_get(eth->port_id, &mac) == 0);
	CU_ASSERT(memcmp(mac.addr, &f->bar[0x2000], 6) == 0);
	CU_ASSERT(f->proto_errors == 0);
	test_pci_driver->remove(&f->pdev);
	CU_ASSERT(f->status == 0);
	CU_ASSERT(ports_alive() == 0);
	fake_virtio_destroy(f);
	CU_ASSERT(test_dma_live() == 0);
}

/* A probe that must fail with @err, mark the device FAILED and leave nothing. */
static void probe_fails(struct fake_virtio *f, int err, const char *msg)
{
	unsigned errs = test_errs;

	CU_ASSERT(probe(f) == err);
	CU_ASSERT(test_errs > errs);
	CU_ASSERT(strstr(test_last_err, msg) != NULL);
	if (!strstr(test_last_err, msg))
		fprintf(stderr, "\nmessage was: %s\n", test_last_err);
	CU_ASSERT(ports_alive() == 0);
	CU_ASSERT(test_dma_live() == 0);
	CU_ASSERT(f->pdev.driver_data == NULL);
	fake_virtio_destroy(f);
}

static void test_features_refused(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT, 256);

	f->refuse_features = true;
	probe_fails(f, -ENOTSUP, "refused");
}

static void test_features_failed_status(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT, 256);

	f->refuse_features = true;
	CU_ASSERT(probe(f) == -ENOTSUP);
	/* §3.1.1: the driver sets FAILED when it gives up. */
	CU_ASSERT(f->status_seen & VIRTIO_STATUS_FAILED);
	fake_virtio_destroy(f);
}

static void test_no_version_1(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT & ~FAKE_F_VERSION_1, 256);

	probe_fails(f, -ENOTSUP, "lacks required feature");
}

static void test_no_access_platform(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT & ~FAKE_F_ACCESS_PLATFORM, 256);

	/* Behind an IOMMU the device must translate our IOVAs. */
	test_iommu_mode = ZDK_IOMMU_TYPE1;
	test_err_log[0] = 0;
	CU_ASSERT(probe(f) == -ENOTSUP);
	/* The message says why and both ways out. */
	CU_ASSERT(strstr(test_err_log, "bypass the IOMMU") != NULL);
	CU_ASSERT(strstr(test_err_log, "iommu_platform=on") != NULL);
	CU_ASSERT(strstr(test_err_log, "--iommu=noiommu") != NULL);
	CU_ASSERT(test_dma_live() == 0);
	fake_virtio_destroy(f);

	/* Without an IOMMU, IOVA = PA: the device works without it. */
	test_iommu_mode = ZDK_IOMMU_NOIOMMU;
	f = fake_virtio_create(FAKE_F_DEFAULT & ~FAKE_F_ACCESS_PLATFORM, 256);
	CU_ASSERT_FATAL(probe(f) == 0);
	CU_ASSERT(f->accepted == (WANTED & ~FAKE_F_ACCESS_PLATFORM));
	test_pci_driver->remove(&f->pdev);
	fake_virtio_destroy(f);
	test_iommu_mode = ZDK_IOMMU_IOMMUFD;
}

static void test_not_modern(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT, 256);

	fake_virtio_set_modern(f, false);
	probe_fails(f, -ENODEV, "disable-legacy=on");
}

/* A capability pointing past the end of its BAR is refused, by name. */
static void test_cap_outside_bar(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT, 256);
	uint32_t off = 0x3ff0; /* + 0x38 bytes of common config > the 16 KiB BAR */

	memcpy(&f->cfg[0x64 + 8], &off, 4);
	probe_fails(f, -EINVAL, "does not fit");
}

/* Without VIRTIO_NET_F_MAC: a random, locally administered unicast address. */
static void test_random_mac(void)
{
	struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT & ~FAKE_F_MAC, 256);
	struct zdk_ether_addr mac;
	struct vnet_dev *vd;

	CU_ASSERT_FATAL(probe(f) == 0);
	vd = f->pdev.driver_data;
	CU_ASSERT(zdk_eth_macaddr_get(vd->eth->port_id, &mac) == 0);
	CU_ASSERT((mac.addr[0] & 0x03) == 0x02);
	CU_ASSERT(memcmp(mac.addr, &f->bar[0x2000], 6) != 0);
	test_pci_driver->remove(&f->pdev);
	fake_virtio_destroy(f);
	CU_ASSERT(test_dma_live() == 0);
}

/* A control command the device answers with VIRTIO_NET_ERR fails with -EIO. */
static void test_ctrl_rejected(void)
{
	struct port a;

	port_up(&a, FAKE_F_DEFAULT, 64);
	a.f->reject_ctrl = true;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -EIO);
	CU_ASSERT(strstr(test_last_err, "rejected") != NULL);
	CU_ASSERT(zdk_eth_promiscuous_get(a.id) == 0);
	/* start applies the rx mode: a refusal fails the start, cleanly. */
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == -EIO);
	CU_ASSERT(a.f->status == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK));
	a.f->reject_ctrl = false;
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/*
 * A control command the device answers late, or never (issue 9, defect 5):
 * a late ack is not the next command's, and a stuck queue says how to
 * recover.
 */
static void test_ctrl_late_ack(void)
{
	struct port a;
	struct vnet_dev *vd;

	port_up(&a, FAKE_F_DEFAULT, 64);
	vd = a.f->pdev.driver_data;
	vd->ctrl_timeout_ns = 2000000;
	/* The device sits on the command: it times out. */
	a.f->ctrl_hold = UINT_MAX;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -ETIMEDOUT);
	/* The next doorbell answers that one, late, but not the new command. */
	a.f->ctrl_hold = 1;
	CU_ASSERT(zdk_eth_promiscuous_disable(a.id) == -ETIMEDOUT);
	CU_ASSERT(a.f->ctrl_cmds == 2);
	/* The device answers everything again; each command reads its own ack. */
	a.f->ctrl_hold = 0;
	a.f->reject_ctrl = true;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -EIO);
	a.f->reject_ctrl = false;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == 0);
	CU_ASSERT(a.f->promisc);
	/* A device that never answers: commands time out until no slot is left. */
	a.f->ctrl_hold = UINT_MAX;
	for (unsigned i = 0; i < VNET_CTRL_SLOTS; i++)
		CU_ASSERT(zdk_eth_promiscuous_disable(a.id) == -ETIMEDOUT);
	CU_ASSERT(zdk_eth_promiscuous_disable(a.id) == -EBUSY);
	CU_ASSERT(strstr(test_last_err, "stop and start") != NULL);
	/* A restart resets the device and the queue. */
	a.f->ctrl_hold = 0;
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	CU_ASSERT(zdk_eth_promiscuous_disable(a.id) == 0);
	CU_ASSERT(!a.f->promisc);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/* Used entries on the control queue that name no command in flight. */
static void test_ctrl_used_lies(void)
{
	struct port a;
	struct vnet_dev *vd;

	port_up(&a, FAKE_F_DEFAULT, 64);
	vd = a.f->pdev.driver_data;
	vd->ctrl_timeout_ns = 2000000;
	a.f->ctrl_hold = UINT_MAX;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -ETIMEDOUT);
	/* A foreign id within the count in flight: dropped, the command stays pending. */
	fake_virtio_used_put(a.f, FAKE_CTRLQ, 1, 1);
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -ETIMEDOUT);
	CU_ASSERT(vd->cvq.errors == 1);
	/* More used entries than commands in flight: broken until restart. */
	fake_virtio_used_idx_set(a.f, FAKE_CTRLQ, (uint16_t)(a.f->vq[FAKE_CTRLQ].used_idx + 9));
	a.f->ctrl_hold = 0;
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -EIO);
	CU_ASSERT(strstr(test_last_err, "broken") != NULL);
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == 0);
	CU_ASSERT(a.f->promisc);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/* Fail every DMA allocation of probe and start in turn: clean errors, no leaks. */
static void test_dma_fail_nth_alloc(void)
{
	unsigned n;
	int ret;

	for (n = 1;; n++) {
		struct fake_virtio *f = fake_virtio_create(FAKE_F_DEFAULT, 256);

		test_dma_fail_nth(n);
		ret = probe(f);
		test_dma_fail_nth(0);
		if (ret == 0) {
			test_pci_driver->remove(&f->pdev);
			fake_virtio_destroy(f);
			break;
		}
		CU_ASSERT(ret == -ENOMEM);
		CU_ASSERT(test_dma_live() == 0);
		CU_ASSERT(ports_alive() == 0);
		fake_virtio_destroy(f);
	}
	CU_ASSERT(n > 1); /* the probe does allocate (control queue) */
	CU_ASSERT(test_dma_live() == 0);
}

/*
 * Queues and data
 */
static void test_queue_setup(void)
{
	struct port p;
	struct fake_vq *rx, *tx;
	struct zdk_mempool *big;

	port_up(&p, FAKE_F_DEFAULT, 64);
	rx = &p.f->vq[FAKE_RXQ];
	tx = &p.f->vq[FAKE_TXQ];
	CU_ASSERT(p.f->status & VIRTIO_STATUS_DRIVER_OK);
	CU_ASSERT(rx->enable && tx->enable && p.f->vq[FAKE_CTRLQ].enable);
	CU_ASSERT(rx->size == 64 && tx->size == 64);
	/* rx queue 0 names MSI-X vector 1 (virtio_intr.c), the others none; MSI-X
	 * stays off and every queue asks for no interrupt until one is wanted. */
	CU_ASSERT(rx->msix == 1 && tx->msix == VIRTIO_MSI_NO_VECTOR &&
		  p.f->vq[FAKE_CTRLQ].msix == VIRTIO_MSI_NO_VECTOR);
	CU_ASSERT(p.f->msix_config == VIRTIO_MSI_NO_VECTOR && p.f->nr_vectors == 0);
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_RXQ) && fake_virtio_no_interrupt(p.f, FAKE_TXQ) &&
		  fake_virtio_no_interrupt(p.f, FAKE_CTRLQ));
	/* The whole rx ring is posted at start, then the device is told once. */
	CU_ASSERT(fake_virtio_avail(p.f, FAKE_RXQ) == 64);
	CU_ASSERT(rx->notifies == 1);
	CU_ASSERT(fake_virtio_avail(p.f, FAKE_TXQ) == 0);
	/* Not a power of two, or above the device's maximum. */
	CU_ASSERT(zdk_eth_dev_stop(p.id) == 0);
	CU_ASSERT(zdk_eth_tx_queue_setup(p.id, 0, 96, ZDK_SOCKET_ANY) == -EINVAL);
	CU_ASSERT(zdk_eth_tx_queue_setup(p.id, 0, 512, ZDK_SOCKET_ANY) == -EINVAL);
	/* No DMA memory for the ring: -ENOMEM, and the old queue is gone cleanly. */
	test_dma_fail_nth(1);
	CU_ASSERT(zdk_eth_tx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY) == -ENOMEM);
	test_dma_fail_nth(0);
	CU_ASSERT(zdk_eth_tx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY) == 0);
	/* Buffers too small for a full frame. */
	CU_ASSERT_FATAL(zdk_mbuf_pool_create("small", 64, 0, 1024, ZDK_SOCKET_ANY, &big) == 0);
	CU_ASSERT(zdk_eth_rx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY, big) == -EINVAL);
	CU_ASSERT(strstr(test_last_err, "data room") != NULL);
	zdk_mbuf_pool_destroy(big);
	CU_ASSERT(zdk_eth_rx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY, p.mp) == 0);
	CU_ASSERT(zdk_eth_dev_start(p.id) == 0);
	port_down(&p);
}

/*
 * Which ring sizes a port takes, through lib/eth and the driver: exactly the
 * powers of two from 32 (info.min_desc) to the device's queue size, for every
 * queue size a device may offer up to 1024 (the pool holds more mbufs than
 * any ring, as lib/eth requires). The property tests run them all.
 */
static void test_ring_sizes(void)
{
	for (unsigned qmax = 32; qmax <= 1024; qmax *= 2) {
		struct port p;
		unsigned wrong = 0;

		p.f = fake_virtio_create(FAKE_F_DEFAULT, (uint16_t)qmax);
		CU_ASSERT_FATAL(probe(p.f) == 0);
		p.id = ((struct vnet_dev *)p.f->pdev.driver_data)->eth->port_id;
		CU_ASSERT_FATAL(zdk_mbuf_pool_create("sizes", 2048, 0, ZDK_MBUF_DEFAULT_BUF_SIZE,
						     ZDK_SOCKET_ANY, &p.mp) == 0);
		CU_ASSERT_FATAL(zdk_eth_dev_configure(p.id, 1, 1, NULL) == 0);
		for (unsigned nb = 0; nb <= 2 * qmax + 1; nb++) {
			bool legal = nb >= 32 && nb <= qmax && ZDK_IS_POW2(nb);

			wrong += (zdk_eth_rx_queue_setup(p.id, 0, (uint16_t)nb, ZDK_SOCKET_ANY,
							 p.mp) == 0) != legal;
			wrong += (zdk_eth_tx_queue_setup(p.id, 0, (uint16_t)nb, ZDK_SOCKET_ANY) == 0) !=
				 legal;
		}
		CU_ASSERT(wrong == 0);
		CU_ASSERT(zdk_eth_dev_close(p.id) == 0);
		test_pci_driver->remove(&p.f->pdev);
		zdk_mbuf_pool_destroy(p.mp);
		fake_virtio_destroy(p.f);
	}
	CU_ASSERT(test_dma_live() == 0);
}

/* Send @n frames from @a to @b through the fake cable, checking each. */
static void traffic(struct port *a, struct port *b, uint32_t n, unsigned (*len_of)(uint32_t),
		    unsigned seed)
{
	uint32_t sent = 0, rcvd = 0, spins = 0;
	uint64_t bytes = 0;
	struct zdk_mbuf *pkts[32];
	bool ok = true;

	while (rcvd < n && spins++ < 10 * n + 1000) {
		uint16_t k, i, done, r;

		seed = seed * 1103515245 + 12345;
		k = (uint16_t)ZDK_MIN(1 + seed % 32, n - sent);

		for (i = 0; i < k; i++)
			pkts[i] = frame_mbuf(a->mp, len_of(sent + i), sent + i);
		done = zdk_eth_tx_burst(a->id, 0, pkts, k);
		for (i = done; i < k; i++)
			zdk_mbuf_free(pkts[i]);
		for (i = 0; i < done; i++)
			bytes += len_of(sent + i);
		sent += done;
		fake_virtio_wire(a->f, b->f, 1 + (seed >> 8) % 48);
		r = zdk_eth_rx_burst(b->id, 0, pkts, 32);
		for (i = 0; i < r; i++) {
			ok &= frame_check(pkts[i], len_of(rcvd), rcvd);
			rcvd++;
		}
		zdk_mbuf_free_bulk(pkts, r);
	}
	CU_ASSERT(ok);
	CU_ASSERT(rcvd == n);
	CU_ASSERT(sent == n);
	{
		struct zdk_eth_stats sa, sb;

		CU_ASSERT(zdk_eth_stats_get(a->id, &sa) == 0);
		CU_ASSERT(zdk_eth_stats_get(b->id, &sb) == 0);
		CU_ASSERT(sa.opackets == n && sa.obytes == bytes);
		CU_ASSERT(sb.ipackets == n && sb.ibytes == bytes);
		CU_ASSERT(sb.q_ipackets[0] == n && sb.ierrors == 0);
	}
}

static void test_data_integrity(void)
{
	struct port a, b;

	port_up(&a, FAKE_F_DEFAULT, 256);
	port_up(&b, FAKE_F_DEFAULT, 256);
	traffic(&a, &b, 3000, frame_len, 1);
	traffic(&b, &a, 3000, frame_len, 2);
	port_down(&a);
	port_down(&b);
	CU_ASSERT(test_dma_live() == 0);
}

static unsigned len_min(uint32_t seq)
{
	return 60;
}

/* 70000 frames through 32-entry rings: ring wrap and 16-bit index wrap. */
static void test_index_wrap(void)
{
	struct port a, b;

	port_up(&a, FAKE_F_DEFAULT, 32);
	port_up(&b, FAKE_F_DEFAULT, 32);
	zdk_eth_stats_reset(a.id);
	zdk_eth_stats_reset(b.id);
	traffic(&a, &b, 70000, len_min, 3);
	CU_ASSERT(b.f->vq[FAKE_RXQ].used_idx == (uint16_t)70000);
	port_down(&a);
	port_down(&b);
	CU_ASSERT(test_dma_live() == 0);
}

/* A full tx ring takes no more; the device's progress frees it in a batch. */
static void test_tx_ring_full(void)
{
	struct port a;
	struct zdk_mbuf *pkts[64];
	uint8_t buf[2048];
	unsigned i, free0;

	port_up(&a, FAKE_F_DEFAULT, 32);
	free0 = zdk_mempool_avail_count(a.mp);
	for (i = 0; i < 40; i++)
		pkts[i] = frame_mbuf(a.mp, 100, i);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 40) == 32);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts + 32, 8) == 0);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_TXQ) == 32);
	for (i = 0; i < 32; i++)
		CU_ASSERT(fake_virtio_tx_pop(a.f, buf, sizeof(buf)) == 100);
	/* Nothing is reclaimed until the next burst needs room. */
	CU_ASSERT(zdk_mempool_avail_count(a.mp) == free0 - 40);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts + 32, 8) == 8);
	CU_ASSERT(zdk_mempool_avail_count(a.mp) == free0 - 8);
	for (i = 0; i < 8; i++) {
		CU_ASSERT(fake_virtio_tx_pop(a.f, buf, sizeof(buf)) == 100);
		CU_ASSERT(memcmp(buf + 14, &(uint32_t){ 32 + i }, 4) == 0);
	}
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

static void test_notify_suppression(void)
{
	struct port a;
	struct zdk_mbuf *pkts[32];
	struct fake_vq *tx, *rx;
	uint8_t buf[2048];
	unsigned i;

	port_up(&a, FAKE_F_DEFAULT, 64);
	tx = &a.f->vq[FAKE_TXQ];
	rx = &a.f->vq[FAKE_RXQ];
	/* One doorbell per burst, not per packet. */
	for (i = 0; i < 8; i++)
		pkts[i] = frame_mbuf(a.mp, 64, i);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 8) == 8);
	CU_ASSERT(tx->notifies == 1);
	/* The device is busy (NO_NOTIFY): publish without a doorbell. */
	fake_virtio_set_no_notify(a.f, FAKE_TXQ, true);
	for (i = 0; i < 8; i++)
		pkts[i] = frame_mbuf(a.mp, 64, i);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 8) == 8);
	CU_ASSERT(tx->notifies == 1);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_TXQ) == 16);
	fake_virtio_set_no_notify(a.f, FAKE_TXQ, false);
	/* An empty burst publishes nothing and rings nothing. */
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 0) == 0);
	CU_ASSERT(tx->notifies == 1);
	pkts[0] = frame_mbuf(a.mp, 64, 0);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 1) == 1);
	CU_ASSERT(tx->notifies == 2);
	while (fake_virtio_tx_pop(a.f, buf, sizeof(buf)) >= 0)
		;

	/* rx: refilled buffers are announced only if the device asks. */
	CU_ASSERT(rx->notifies == 1);
	fake_virtio_set_no_notify(a.f, FAKE_RXQ, true);
	for (i = 0; i < 40; i++) {
		frame_fill(buf, 64, i);
		CU_ASSERT(fake_virtio_rx_push(a.f, buf, 64) == 0);
	}
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 32);
	zdk_mbuf_free_bulk(pkts, 32);
	CU_ASSERT(rx->notifies == 1);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_RXQ) == 64 - 40 + 32);
	fake_virtio_set_no_notify(a.f, FAKE_RXQ, false);
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 8);
	zdk_mbuf_free_bulk(pkts, 8);
	/* Re-armed in place, and the device asks: one doorbell for the burst. */
	CU_ASSERT(rx->notifies == 2);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_RXQ) == 64);
	/* Nothing received: nothing published, no doorbell. */
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 0);
	CU_ASSERT(rx->notifies == 2);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/* An empty mempool: packets still come in, the ring is refilled later. */
static void test_rx_no_mbufs(void)
{
	struct port a;
	struct zdk_mbuf *hoard[NB_MBUFS], *pkts[32];
	struct zdk_eth_stats st;
	uint8_t buf[64];
	unsigned i, held = 0;

	port_up(&a, FAKE_F_DEFAULT, 64);
	while ((hoard[held] = zdk_mbuf_alloc(a.mp)) != NULL)
		held++;
	for (i = 0; i < 40; i++) {
		frame_fill(buf, 64, i);
		CU_ASSERT(fake_virtio_rx_push(a.f, buf, 64) == 0);
	}
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 32);
	for (i = 0; i < 32; i++)
		CU_ASSERT(frame_check(pkts[i], 64, i));
	CU_ASSERT(zdk_eth_stats_get(a.id, &st) == 0 && st.rx_nombuf >= 1);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_RXQ) == 64 - 40);
	zdk_mbuf_free_bulk(pkts, 32);
	zdk_mbuf_free_bulk(hoard, held);
	/* The next burst refills every descriptor taken while the pool was dry. */
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 8);
	zdk_mbuf_free_bulk(pkts, 8);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_RXQ) == 64);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/* Used entries with no frame, or more than the buffer, are counted and recycled. */
static void test_rx_runt(void)
{
	struct port a;
	struct zdk_mbuf *pkts[4];
	struct zdk_eth_stats st;
	uint8_t buf[64];

	port_up(&a, FAKE_F_DEFAULT, 64);
	frame_fill(buf, 64, 9);
	CU_ASSERT(fake_virtio_rx_push(a.f, buf, 0) == 0);
	/* Longer than the buffer: dropped, not handed out. */
	CU_ASSERT(fake_virtio_rx_push_len(a.f, 12 + 2048 + 1) == 0);
	CU_ASSERT(fake_virtio_rx_push_len(a.f, 0) == 0);
	CU_ASSERT(fake_virtio_rx_push(a.f, buf, 64) == 0);
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 4) == 1);
	CU_ASSERT(frame_check(pkts[0], 64, 9));
	zdk_mbuf_free(pkts[0]);
	CU_ASSERT(zdk_eth_stats_get(a.id, &st) == 0);
	CU_ASSERT(st.ierrors == 3 && st.ipackets == 1);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/*
 * A device that lies in its used ring (issue 9, defect 4). The driver must
 * drop what names no buffer in flight, stop trusting a queue whose used->idx
 * claims more than it has, and never free or hand out a buffer twice.
 */
static uint64_t port_oerrors(struct port *p)
{
	struct zdk_eth_stats st;

	CU_ASSERT(zdk_eth_stats_get(p->id, &st) == 0);
	return st.oerrors;
}

static uint64_t port_ierrors(struct port *p)
{
	struct zdk_eth_stats st;

	CU_ASSERT(zdk_eth_stats_get(p->id, &st) == 0);
	return st.ierrors;
}

/* Send @n frames of 100 bytes from seq @seq and check the device got them. */
static void tx_roundtrip(struct port *p, unsigned n, uint32_t seq)
{
	struct zdk_mbuf *pkts[32];
	uint8_t buf[2048];

	for (unsigned i = 0; i < n; i++)
		pkts[i] = frame_mbuf(p->mp, 100, seq + i);
	CU_ASSERT_FATAL(zdk_eth_tx_burst(p->id, 0, pkts, (uint16_t)n) == n);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT(fake_virtio_tx_pop(p->f, buf, sizeof(buf)) == 100);
		CU_ASSERT(memcmp(buf + 14, &(uint32_t){ seq + i }, 4) == 0);
	}
}

static void test_tx_used_over_report(void)
{
	struct port a;
	struct zdk_mbuf *pkts[40];
	unsigned i;

	port_up(&a, FAKE_F_DEFAULT, 32);
	tx_roundtrip(&a, 8, 0);
	/* 8 buffers were in flight; the device claims 208 used entries. */
	fake_virtio_used_idx_set(a.f, FAKE_TXQ, (uint16_t)(a.f->vq[FAKE_TXQ].used_idx + 200));
	for (i = 0; i < 40; i++)
		pkts[i] = frame_mbuf(a.mp, 100, 100 + i);
	/* The queue is broken: it takes nothing more, and says so once. */
	test_errs = 0;
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 40) == 0);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 40) == 0);
	CU_ASSERT(test_errs == 1);
	CU_ASSERT(strstr(test_last_err, "restarted") != NULL);
	zdk_mbuf_free_bulk(pkts, 40);
	CU_ASSERT(port_oerrors(&a) == 1);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	/* A restart resets the device, and the ring is trusted again. */
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	tx_roundtrip(&a, 32, 200);
	tx_roundtrip(&a, 32, 300);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

static void test_tx_used_bad_ids(void)
{
	struct port a;
	struct zdk_mbuf *pkts[8];
	uint8_t buf[2048];
	unsigned i;

	port_up(&a, FAKE_F_DEFAULT, 32);
	for (i = 0; i < 8; i++)
		pkts[i] = frame_mbuf(a.mp, 100, i);
	CU_ASSERT_FATAL(zdk_eth_tx_burst(a.id, 0, pkts, 8) == 8);
	for (i = 0; i < 8; i++)
		CU_ASSERT_FATAL(fake_virtio_hold(a.f, FAKE_TXQ) == 0);
	/* Four sent, then a duplicate of the first and two ids beyond the ring. */
	for (i = 0; i < 4; i++)
		CU_ASSERT(fake_virtio_tx_complete(a.f, 0, buf, sizeof(buf)) == 100);
	fake_virtio_used_put(a.f, FAKE_TXQ, 0, 0);
	fake_virtio_used_put(a.f, FAKE_TXQ, 32 + 5, 0);
	fake_virtio_used_put(a.f, FAKE_TXQ, 0x80000005u, 0);
	/* 7 entries, 8 in flight: each bad one is dropped and counted. */
	tx_roundtrip(&a, 1, 50);
	CU_ASSERT(port_oerrors(&a) == 3);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	/* The four the device still had are intact and go out now. */
	for (i = 0; i < 4; i++) {
		CU_ASSERT(fake_virtio_tx_complete(a.f, 0, buf, sizeof(buf)) == 100);
		CU_ASSERT(memcmp(buf + 14, &(uint32_t){ 4 + i }, 4) == 0);
	}
	tx_roundtrip(&a, 32, 100);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

static void test_rx_used_lies(void)
{
	struct port a;
	struct zdk_mbuf *pkts[32];
	uint8_t buf[64];
	unsigned i, n;
	bool ok = true;

	port_up(&a, FAKE_F_DEFAULT, 64);
	for (i = 0; i < 3; i++) {
		frame_fill(buf, 64, i);
		CU_ASSERT(fake_virtio_rx_push(a.f, buf, 64) == 0);
	}
	/* A duplicate of a returned id, and two ids beyond the ring (one 32-bit). */
	fake_virtio_used_put(a.f, FAKE_RXQ, 0, 12 + 64);
	fake_virtio_used_put(a.f, FAKE_RXQ, 64 + 3, 12 + 64);
	fake_virtio_used_put(a.f, FAKE_RXQ, 0x80000001u, 12 + 64);
	n = zdk_eth_rx_burst(a.id, 0, pkts, 32);
	CU_ASSERT(n == 3);
	for (i = 0; i < n && i < 3; i++)
		ok &= frame_check(pkts[i], 64, i);
	CU_ASSERT(ok);
	zdk_mbuf_free_bulk(pkts, n);
	CU_ASSERT(port_ierrors(&a) == 3);
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_RXQ) == 64);
	/* More used entries than buffers posted: the queue is broken until restart. */
	fake_virtio_used_idx_set(a.f, FAKE_RXQ, (uint16_t)(a.f->vq[FAKE_RXQ].used_idx + 100));
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 0);
	CU_ASSERT(port_ierrors(&a) == 4);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	frame_fill(buf, 64, 7);
	CU_ASSERT(fake_virtio_rx_push(a.f, buf, 64) == 0);
	CU_ASSERT(zdk_eth_rx_burst(a.id, 0, pkts, 32) == 1);
	CU_ASSERT(frame_check(pkts[0], 64, 7));
	zdk_mbuf_free(pkts[0]);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/*
 * tx mbufs with any headroom (issue 9, defect 6): the virtio_net_hdr needs
 * 12 bytes before the data; with less, the packet must still go out
 * unchanged and nothing outside the data may be written.
 */
static struct zdk_mbuf *mbuf_at(struct zdk_mempool *mp, unsigned headroom, unsigned len,
				uint32_t seq)
{
	struct zdk_mbuf *m = zdk_mbuf_alloc(mp);
	uint8_t *b;

	CU_ASSERT_FATAL(m != NULL);
	m->data_off = (uint16_t)headroom;
	b = zdk_mbuf_append(m, len);
	CU_ASSERT_FATAL(b != NULL);
	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 131 + i);
	m->udata64 = 0x5eed0000u + seq;
	return m;
}

static bool frame_is(const uint8_t *b, int got, unsigned len, uint32_t seq)
{
	if (got != (int)len)
		return false;
	for (unsigned i = 0; i < len; i++)
		if (b[i] != (uint8_t)(seq * 131 + i))
			return false;
	return true;
}

static void test_tx_headroom(void)
{
	static uint8_t buf[4096];
	struct port a;
	struct zdk_mbuf *pkts[40];
	unsigned h, k, i, bad = 0;
	uint32_t seq = 0;

	port_up(&a, FAKE_F_DEFAULT, 32);
	for (h = 0; h <= ZDK_MBUF_HEADROOM; h++) {
		unsigned room = ZDK_MBUF_DEFAULT_BUF_SIZE - h;
		const unsigned lens[] = { 1, 13, 60, 1514, room };

		for (k = 0; k < ZDK_ARRAY_SIZE(lens); k++, seq++) {
			struct zdk_mbuf *m = mbuf_at(a.mp, h, lens[k], seq);

			CU_ASSERT_FATAL(zdk_eth_tx_burst(a.id, 0, &m, 1) == 1);
			/* Still the driver's: its fields are as the application left them. */
			if (m->pool != a.mp || m->udata64 != 0x5eed0000u + seq ||
			    m->data_off != h || m->data_len != lens[k]) {
				printf("\nheadroom %u, %u bytes: the mbuf's fields were overwritten\n",
				       h, lens[k]);
				CU_FAIL_FATAL("tx wrote outside the packet");
			}
			bad += !frame_is(buf, fake_virtio_tx_pop(a.f, buf, sizeof(buf)), lens[k], seq);
		}
	}
	CU_ASSERT(bad == 0);
	CU_ASSERT(a.f->proto_errors == 0);
	/* A full ring of both kinds: a chain takes two descriptors of the 32. */
	for (i = 0; i < 40; i++)
		pkts[i] = mbuf_at(a.mp, i % 2 ? ZDK_MBUF_HEADROOM : 0, 100, 1000 + i);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 40) == 21);
	for (i = 0; i < 21; i++)
		bad += !frame_is(buf, fake_virtio_tx_pop(a.f, buf, sizeof(buf)), 100, 1000 + i);
	CU_ASSERT(bad == 0);
	CU_ASSERT(fake_virtio_tx_pop(a.f, buf, sizeof(buf)) == -1);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts + 21, 19) == 19);
	for (i = 21; i < 40; i++)
		bad += !frame_is(buf, fake_virtio_tx_pop(a.f, buf, sizeof(buf)), 100, 1000 + i);
	CU_ASSERT(bad == 0);
	CU_ASSERT(zdk_mempool_audit_errors(a.mp) == 0);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

static void test_promisc(void)
{
	struct port a;

	port_up(&a, FAKE_F_DEFAULT, 64);
	/* start applies the port's rx mode: off by default, like other NICs. */
	CU_ASSERT(a.f->ctrl_cmds == 1);
	CU_ASSERT(!a.f->promisc);
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == 0);
	CU_ASSERT(a.f->promisc && a.f->ctrl_cmds == 2);
	CU_ASSERT(zdk_eth_promiscuous_get(a.id) == 1);
	CU_ASSERT(zdk_eth_promiscuous_disable(a.id) == 0);
	CU_ASSERT(!a.f->promisc);
	/* Set while stopped: applied at the next start. */
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == 0);
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	CU_ASSERT(a.f->promisc);
	port_down(&a);

	port_up(&a, FAKE_F_DEFAULT & ~FAKE_F_CTRL_VQ, 64);
	CU_ASSERT(!a.f->vq[FAKE_CTRLQ].enable);
	CU_ASSERT(zdk_eth_promiscuous_enable(a.id) == -ENOTSUP);
	CU_ASSERT(strstr(test_last_err, "unsupported") != NULL);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

static void test_link(void)
{
	struct port a;
	struct zdk_eth_link link;
	unsigned reads;

	port_up(&a, FAKE_F_DEFAULT, 64);
	CU_ASSERT(zdk_eth_link_get(a.id, &link) == 0 && link.up);
	fake_virtio_set_link(a.f, false);
	CU_ASSERT(zdk_eth_link_get(a.id, &link) == 0 && !link.up);
	/* A config change during the read: read again (§2.4.1). */
	fake_virtio_set_link(a.f, true);
	a.f->bump_generation = true;
	reads = a.f->cfg_reads;
	CU_ASSERT(zdk_eth_link_get(a.id, &link) == 0 && link.up);
	CU_ASSERT(a.f->cfg_reads == reads + 2);
	port_down(&a);

	/* Without VIRTIO_NET_F_STATUS the link is up. */
	port_up(&a, FAKE_F_DEFAULT & ~FAKE_F_STATUS, 64);
	fake_virtio_set_link(a.f, false);
	CU_ASSERT(zdk_eth_link_get(a.id, &link) == 0 && link.up);
	port_down(&a);
	CU_ASSERT(test_dma_live() == 0);
}

/* Stop resets the device; start again with packets left in the rings. */
static void test_stop_start(void)
{
	struct port a, b;
	struct zdk_mbuf *pkts[16];
	unsigned i, resets;

	port_up(&a, FAKE_F_DEFAULT, 64);
	port_up(&b, FAKE_F_DEFAULT, 64);
	for (i = 0; i < 16; i++)
		pkts[i] = frame_mbuf(a.mp, 200, i);
	CU_ASSERT(zdk_eth_tx_burst(a.id, 0, pkts, 16) == 16);
	resets = a.f->resets;
	CU_ASSERT(zdk_eth_dev_stop(a.id) == 0);
	CU_ASSERT(a.f->resets == resets + 1);
	CU_ASSERT(a.f->status == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK));
	CU_ASSERT(zdk_eth_dev_start(a.id) == 0);
	/* The 16 frames died with the reset; their mbufs came back at start. */
	CU_ASSERT(fake_virtio_avail(a.f, FAKE_TXQ) == 0);
	CU_ASSERT(zdk_mempool_avail_count(a.mp) == NB_MBUFS - 64);
	zdk_eth_stats_reset(a.id);
	traffic(&a, &b, 500, frame_len, 4);
	port_down(&a);
	port_down(&b);
	CU_ASSERT(test_dma_live() == 0);
}

/*
 * The device in its own thread, as QEMU's I/O thread is: it moves frames
 * from a's transmit queue to b's receive queue while the driver runs.
 */
struct wire_thread {
	struct port *a, *b;
	atomic_bool stop;
};

static void *wire_run(void *arg)
{
	struct wire_thread *w = arg;

	while (!atomic_load(&w->stop))
		fake_virtio_wire(w->a->f, w->b->f, 1 + (unsigned)rand() % 64);
	return NULL;
}

static void test_concurrent_device(void)
{
	struct port a, b;
	struct wire_thread w = { .a = &a, .b = &b };
	struct zdk_mbuf *pkts[32];
	uint32_t sent = 0, rcvd = 0, n = 50000;
	bool ok = true, within = true;
	pthread_t t;
	uint64_t deadline;

	port_up(&a, FAKE_F_DEFAULT, 64);
	port_up(&b, FAKE_F_DEFAULT, 256);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, wire_run, &w) == 0);
	deadline = zdk_time_ns() + 60ULL * 1000000000ULL;
	while (rcvd < n && zdk_time_ns() < deadline) {
		uint16_t k = (uint16_t)ZDK_MIN(32u, n - sent), i, done, r;

		for (i = 0; i < k; i++)
			pkts[i] = frame_mbuf(a.mp, frame_len(sent + i), sent + i);
		done = zdk_eth_tx_burst(a.id, 0, pkts, k);
		for (i = done; i < k; i++)
			zdk_mbuf_free(pkts[i]);
		sent += done;
		/* Ask for fewer than may be ready: never more than asked. */
		r = zdk_eth_rx_burst(b.id, 0, pkts, 7);
		within &= r <= 7;
		for (i = 0; i < r && i < 7; i++, rcvd++)
			ok &= frame_check(pkts[i], frame_len(rcvd), rcvd);
		zdk_mbuf_free_bulk(pkts, r);
	}
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	CU_ASSERT(within);
	CU_ASSERT(ok);
	CU_ASSERT(rcvd == n);
	port_down(&a);
	port_down(&b);
	CU_ASSERT(test_dma_live() == 0);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "negotiation", test_negotiation },
		{ "features refused", test_features_refused },
		{ "FAILED status", test_features_failed_status },
		{ "no VERSION_1", test_no_version_1 },
		{ "no ACCESS_PLATFORM", test_no_access_platform },
		{ "not modern", test_not_modern },
		{ "capability outside BAR", test_cap_outside_bar },
		{ "random MAC", test_random_mac },
		{ "dma fail nth", test_dma_fail_nth_alloc },
		{ "queue setup", test_queue_setup },
		{ "ring sizes", test_ring_sizes },
		{ "data integrity", test_data_integrity },
		{ "index wrap", test_index_wrap },
		{ "tx ring full", test_tx_ring_full },
		{ "notify suppression", test_notify_suppression },
		{ "rx runt", test_rx_runt },
		{ "rx without mbufs", test_rx_no_mbufs },
		{ "tx used->idx over-reported", test_tx_used_over_report },
		{ "tx used ids duplicated or out of range", test_tx_used_bad_ids },
		{ "rx used ring lies", test_rx_used_lies },
		{ "tx any headroom", test_tx_headroom },
		{ "promisc", test_promisc },
		{ "control command rejected", test_ctrl_rejected },
		{ "control ack late", test_ctrl_late_ack },
		{ "control used ring lies", test_ctrl_used_lies },
		{ "link", test_link },
		{ "stop start", test_stop_start },
		{ "concurrent device", test_concurrent_device },
	};
	const char *only = getenv("ZDK_TEST_ONLY"); /* run the tests whose name has this */
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio", NULL, NULL);
	for (size_t i = 0; i < ZDK_ARRAY_SIZE(tests); i++)
		if (!only || strstr(tests[i].name, only))
			CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
