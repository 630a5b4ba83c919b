/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_igb_intr.c - igb receive interrupts (zdk_eth_rx_intr_*) on the fake
 * 82576, whose MSI-X model writes real eventfds: the programming (GPIE,
 * IVAR, EIAC, masks), arming and the look after it, masking while polling,
 * RSS queues each on its own vector, too few vectors, teardown at
 * reconfigure/close/stop, a removed port, and a property: whatever the
 * interleaving of frames, bursts, armings and disarmings on 1-4 RSS queues,
 * a frame that lands on a queue armed with "sleep" is signalled on that
 * queue's eventfd, and a masked queue is never signalled.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "fake_igb.h"
#include "igb.h"
#include "test_mem.h"
#include "zdk_eth_driver.h"

#define NB_MBUF 4096
#define NB_DESC 128

extern bool fake_pci_gone;
extern void (*fake_pci_on_remove)(struct zdk_pci_device *dev);

static struct zdk_mempool *mp;
static struct fake_igb *fk;

static int setup(void)
{
	const struct zdk_pci_driver *drv = fake_igb_driver();

	test_lcore_set(0);
	if (zdk_mbuf_pool_create("igb-intr", NB_MBUF, 64, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp))
		return -1;
	fk = fake_igb_create("0000:01:00.0", 0);
	return drv && fk && drv->probe(&fk->pci) == 0 ? 0 : -1;
}

static int teardown(void)
{
	fake_igb_driver()->remove(&fk->pci);
	fake_igb_destroy(fk);
	zdk_mbuf_pool_destroy(mp);
	return test_dma_live() == 0 ? 0 : -1;
}

static void port_start(uint16_t nq)
{
	struct zdk_eth_conf conf = { .size = sizeof(conf), .rss_hf = nq > 1 ? ZDK_ETH_RSS_IP : 0 };

	CU_ASSERT_FATAL(zdk_eth_dev_configure(0, nq, nq, &conf) == 0);
	for (uint16_t q = 0; q < nq; q++) {
		CU_ASSERT_FATAL(zdk_eth_rx_queue_setup(0, q, NB_DESC, 0, mp) == 0);
		CU_ASSERT_FATAL(zdk_eth_tx_queue_setup(0, q, NB_DESC, 0) == 0);
	}
	CU_ASSERT_FATAL(zdk_eth_dev_start(0) == 0);
}

static void port_close(void)
{
	CU_ASSERT(zdk_eth_dev_close(0) == 0);
	CU_ASSERT(fk->nr_vectors == 0); /* the vectors went with the port */
	CU_ASSERT(fake_igb_reg(fk, IGB_GPIE) == 0);
	CU_ASSERT(zdk_mempool_avail_count(mp) == NB_MBUF);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* A frame from 10.0.@idx>>8.@idx: the fake's RSS hash spreads by source. */
static int inject(unsigned idx)
{
	uint8_t f[100] = { 0 };

	memcpy(f, fk->mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[26] = 10;
	f[28] = (uint8_t)(idx >> 8);
	f[29] = (uint8_t)idx;
	f[30] = 10;
	f[33] = 1;
	return fake_igb_rx_inject(fk, f, sizeof(f));
}

static unsigned drain(uint16_t q)
{
	struct zdk_mbuf *pkts[32];
	unsigned got = 0;
	uint16_t n;

	while ((n = zdk_eth_rx_burst(0, q, pkts, 32)) > 0) {
		zdk_mbuf_free_bulk(pkts, n);
		got += n;
	}
	return got;
}

static void test_programming(void)
{
	int fd0, fd1;

	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) == -EINVAL); /* not started */
	CU_ASSERT(zdk_eth_rx_intr_fd(7, 0) == -ENODEV);
	port_start(2);
	CU_ASSERT(fk->nr_vectors == 0); /* nothing until asked for */
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 2) == -EINVAL);
	fd0 = zdk_eth_rx_intr_fd(0, 0);
	fd1 = zdk_eth_rx_intr_fd(0, 1);
	CU_ASSERT(fd0 >= 0 && fd1 >= 0 && fd0 != fd1);
	CU_ASSERT(fk->nr_vectors == 2 && fk->irq_efd[0] == fd0 && fk->irq_efd[1] == fd1);
	CU_ASSERT(fake_igb_reg(fk, IGB_GPIE) & IGB_GPIE_MSIX_MODE);
	CU_ASSERT(fake_igb_reg(fk, IGB_IVAR0(0)) == (IGB_IVAR_VALID | 0));
	CU_ASSERT(fake_igb_reg(fk, IGB_IVAR0(1)) == (IGB_IVAR_VALID | 1));
	CU_ASSERT(fake_igb_reg(fk, IGB_IVAR0(2)) == 0);
	CU_ASSERT(fake_igb_reg(fk, IGB_EIAC) == 3);
	CU_ASSERT(fk->eims == 0); /* masked until armed */
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) == fd0); /* set up once */
	/* stop masks, start leaves masked; the fds stay */
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 1) == 0 && fk->eims == 2);
	CU_ASSERT(zdk_eth_dev_stop(0) == 0);
	CU_ASSERT(fk->eims == 0);
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 1) == -EINVAL);
	CU_ASSERT(zdk_eth_dev_start(0) == 0);
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 1) == fd1 && fk->eims == 0);
	/* reconfigure: the vectors go, and come back for the new queue count */
	CU_ASSERT(zdk_eth_dev_stop(0) == 0);
	port_start(4);
	CU_ASSERT(fk->nr_vectors == 0 && fake_igb_reg(fk, IGB_GPIE) == 0);
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 3) >= 0 && fk->nr_vectors == 4);
	CU_ASSERT(fake_igb_reg(fk, IGB_EIAC) == 0xf);
	port_close();
}

static void test_arm_wake_mask(void)
{
	int fd;

	port_start(1);
	fd = zdk_eth_rx_intr_fd(0, 0);
	CU_ASSERT_FATAL(fd >= 0);
	/* polling: masked, frames signal nothing */
	CU_ASSERT(inject(1) == 0);
	CU_ASSERT(!readable(fd) && fk->nr_irqs == 0);
	/* a frame waiting when arming: poll, not sleep */
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == -EAGAIN);
	CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == 0 && fk->eims == 0);
	CU_ASSERT(drain(0) == 1);
	/* the cause that frame left in EICR does not fire at the arming */
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == 0);
	CU_ASSERT(!readable(fd) && fk->nr_irqs == 0);
	/* asleep: the next frame wakes */
	CU_ASSERT(inject(2) == 0);
	CU_ASSERT(readable(fd) && fk->nr_irqs == 1);
	CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == 0);
	CU_ASSERT(inject(3) == 0 && fk->nr_irqs == 1);
	CU_ASSERT(drain(0) == 2);
	/* arming drains the eventfd */
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == 0 && !readable(fd));
	CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == 0);
	port_close();
}

/* RSS: each queue wakes only its own sleeper. */
static void test_rss_queues(void)
{
	int fd[2];
	unsigned i, hits[2] = { 0 };

	port_start(2);
	fd[0] = zdk_eth_rx_intr_fd(0, 0);
	fd[1] = zdk_eth_rx_intr_fd(0, 1);
	for (i = 0; i < 64; i++) {
		int q;

		CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == 0);
		CU_ASSERT(zdk_eth_rx_intr_enable(0, 1) == 0);
		q = inject(i);
		CU_ASSERT_FATAL(q == 0 || q == 1);
		hits[q]++;
		CU_ASSERT(readable(fd[q]));
		CU_ASSERT(!readable(fd[!q]));
		CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == 0);
		CU_ASSERT(zdk_eth_rx_intr_disable(0, 1) == 0);
		CU_ASSERT(drain((uint16_t)q) == 1);
	}
	CU_ASSERT(hits[0] > 5 && hits[1] > 5);
	port_close();
}

static void test_vectors_short(void)
{
	port_start(2);
	fk->msix_vectors = 1;
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) == -ENOSPC);
	fk->msix_vectors = 0;
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) == -ENOTSUP);
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 1) == -ENOTSUP);
	fk->msix_vectors = 10;
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 1) >= 0);
	port_close();
}

/* The device goes: arming says sleep, the fd stays until close. (Last: the
 * port cannot start again.) */
static void test_removed(void)
{
	port_start(1);
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) >= 0);
	fake_pci_gone = true;
	fake_pci_on_remove(&fk->pci);
	CU_ASSERT(zdk_eth_dev_removed(0));
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == 0);
	CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == 0);
	CU_ASSERT(zdk_eth_dev_close(0) == 0);
	fake_pci_gone = false;
	CU_ASSERT(zdk_mempool_avail_count(mp) == NB_MBUF);
}

/* A port whose driver has no receive interrupts. */
static void test_no_intr_ops(void)
{
	struct zdk_eth_dev *dev = zdk_eth_dev_get(0);

	port_start(1);
	CU_ASSERT(zdk_eth_dev_intr_ops_set(dev, &(struct zdk_eth_intr_ops){ .size = 999 }) ==
		  -EINVAL);
	CU_ASSERT(zdk_eth_dev_intr_ops_set(dev, NULL) == 0);
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) == -ENOTSUP);
	CU_ASSERT(zdk_eth_rx_intr_enable(0, 0) == -ENOTSUP);
	CU_ASSERT(zdk_eth_rx_intr_disable(0, 0) == -ENOTSUP);
	CU_ASSERT(zdk_eth_dev_intr_ops_set(dev, &igb_intr_ops) == 0);
	CU_ASSERT(zdk_eth_rx_intr_fd(0, 0) >= 0);
	port_close();
}

static void test_prop_no_lost_wakeup(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "igb-intr-wakeup");
	for (p.step = 0; p.step < zdk_prop_cases(30); p.step++) {
		uint16_t nq = (uint16_t)zdk_prop_pick(&p, 1, 4);
		bool asleep[4] = { false }, armed[4] = { false };
		uint64_t waiting[4] = { 0 }; /* frames on the ring, not yet received */
		int fd[4];
		unsigned idx = 0;

		port_start(nq);
		for (uint16_t q = 0; q < nq; q++)
			fd[q] = zdk_eth_rx_intr_fd(0, q);
		for (unsigned step = 0; step < 600; step++) {
			uint16_t q = (uint16_t)zdk_prop_pick(&p, 0, nq - 1);

			switch (zdk_prop_pick(&p, 0, 3)) {
			case 0: { /* frames arrive */
				for (uint64_t n = zdk_prop_pick(&p, 1, 3); n; n--) {
					int got = inject(idx++);

					if (got < 0)
						continue; /* ring full: dropped, signals nothing */
					waiting[got]++;
					if (asleep[got])
						ZDK_PROP_CHECK(&p, readable(fd[got]));
					if (!armed[got])
						ZDK_PROP_CHECK(&p, !(fk->eims & (1u << got)));
				}
				break;
			}
			case 1: /* a burst */
				asleep[q] = false;
				zdk_eth_rx_intr_disable(0, q);
				armed[q] = false;
				ZDK_PROP_CHECK(&p, drain(q) == waiting[q]);
				waiting[q] = 0;
				break;
			case 2: { /* arm */
				int rc = zdk_eth_rx_intr_enable(0, q);

				ZDK_PROP_CHECK(&p, rc == 0 || rc == -EAGAIN);
				armed[q] = true;
				asleep[q] = rc == 0;
				/* sleep only with nothing waiting, and nothing signalled yet */
				ZDK_PROP_CHECK(&p, (rc == 0) == (waiting[q] == 0));
				if (rc == 0)
					ZDK_PROP_CHECK(&p, !readable(fd[q]));
				break;
			}
			default: /* disarm */
				ZDK_PROP_CHECK(&p, zdk_eth_rx_intr_disable(0, q) == 0);
				armed[q] = asleep[q] = false;
				ZDK_PROP_CHECK(&p, !(fk->eims & (1u << q)));
				break;
			}
		}
		port_close();
	}
}

static const struct zdk_test tests[] = {
	{ "programming: GPIE, IVAR, EIAC, masks; stop, reconfigure", test_programming },
	{ "arm, wake, mask while polling", test_arm_wake_mask },
	{ "RSS: each queue its own vector", test_rss_queues },
	{ "too few vectors", test_vectors_short },
	{ "a driver without interrupts", test_no_intr_ops },
	{ "property: no lost wake-up, no signal while masked", test_prop_no_lost_wakeup },
	{ "a removed port", test_removed },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("igb receive interrupts", setup, teardown, tests);
}
