/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_eth.c - lib/eth with a software device: the port state machine, the
 * checks done before each op, the fast-path table (bursts reach the driver's
 * function with its queue, and return 0 once stopped), port numbering.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_mem.h"
#include "zdk_eth_driver.h"

static struct { unsigned configure, start, stop, close, rxq_rel, txq_rel; } calls;
static int rxq_obj[4], txq_obj[4];
static void *last_q;

static int sw_configure(struct zdk_eth_dev *d) { (void)d; calls.configure++; return 0; }
static int sw_start(struct zdk_eth_dev *d) { (void)d; calls.start++; return 0; }
static void sw_stop(struct zdk_eth_dev *d) { (void)d; calls.stop++; }
static void sw_close(struct zdk_eth_dev *d) { (void)d; calls.close++; }

static int sw_rxq_setup(struct zdk_eth_dev *d, uint16_t q, uint16_t nb, int s, struct zdk_mempool *mp)
{
	(void)nb; (void)s; (void)mp;
	d->rxq[q] = &rxq_obj[q];
	return 0;
}

static int sw_txq_setup(struct zdk_eth_dev *d, uint16_t q, uint16_t nb, int s)
{
	(void)nb; (void)s;
	d->txq[q] = &txq_obj[q];
	return 0;
}

static void sw_rxq_release(struct zdk_eth_dev *d, uint16_t q) { d->rxq[q] = NULL; calls.rxq_rel++; }
static void sw_txq_release(struct zdk_eth_dev *d, uint16_t q) { d->txq[q] = NULL; calls.txq_rel++; }

static int sw_link(struct zdk_eth_dev *d, struct zdk_eth_link *l)
{
	(void)d;
	l->up = true;
	l->speed_mbps = 10000;
	return 0;
}

static int sw_promisc(struct zdk_eth_dev *d, bool on) { (void)d; (void)on; return 0; }
static int sw_stats(struct zdk_eth_dev *d, struct zdk_eth_stats *s) { (void)d; s->ipackets = 7; return 0; }
static int sw_stats_reset(struct zdk_eth_dev *d) { (void)d; return 0; }
static int sw_mac(struct zdk_eth_dev *d, struct zdk_ether_addr *m)
{
	(void)d;
	memset(m->addr, 0xab, 6);
	return 0;
}

static uint16_t sw_rx(void *q, struct zdk_mbuf **pkts, uint16_t n)
{
	(void)pkts;
	last_q = q;
	return n / 2;
}

static uint16_t sw_tx(void *q, struct zdk_mbuf **pkts, uint16_t n)
{
	(void)pkts;
	last_q = q;
	return n;
}

static const struct zdk_eth_dev_ops sw_ops = {
	sw_configure, sw_start, sw_stop, sw_close, sw_rxq_setup, sw_txq_setup,
	sw_rxq_release, sw_txq_release, sw_link, sw_promisc, sw_stats, sw_stats_reset, sw_mac,
};

static struct zdk_pci_device pci[2];

/* lib/pci's side of a removal: the hook each port's device registered. */
static void (*on_remove[2])(struct zdk_pci_device *dev);

void zdk_pci_device_on_remove(struct zdk_pci_device *dev, void (*fn)(struct zdk_pci_device *dev))
{
	on_remove[dev - pci] = fn;
}

static struct zdk_eth_dev *sw_alloc(struct zdk_pci_device *p)
{
	struct zdk_eth_dev *dev;

	CU_ASSERT_FATAL(zdk_eth_dev_alloc(p, "sw", &dev) == 0);
	dev->ops = &sw_ops;
	dev->info.max_rx_queues = dev->info.max_tx_queues = 4;
	dev->info.min_desc = 32;
	dev->info.max_desc = 1024;
	dev->info.desc_align = 32;
	dev->rx_burst = sw_rx;
	dev->tx_burst = sw_tx;
	return dev;
}

static void test_lifecycle(void)
{
	struct zdk_mempool *mp;
	struct zdk_eth_dev *d1, *d0;
	struct zdk_mbuf *pkts[8];
	struct zdk_eth_stats st;
	struct zdk_ether_addr mac;

	zdk_pci_addr_parse("0000:05:00.0", &pci[1].addr);
	zdk_pci_addr_parse("0000:04:00.0", &pci[0].addr);
	d1 = sw_alloc(&pci[1]);
	d0 = sw_alloc(&pci[0]); /* sorts first: takes port 0, d1 moves to 1 */
	CU_ASSERT_EQUAL(d0->port_id, 0);
	CU_ASSERT_EQUAL(d1->port_id, 1);
	CU_ASSERT_EQUAL(zdk_eth_port_find("04:00.0"), 0);
	CU_ASSERT_EQUAL(zdk_eth_port_find("bogus"), -EINVAL);
	CU_ASSERT_FATAL(zdk_mbuf_pool_create("eth", 256, 0, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp) == 0);

	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), -EINVAL); /* not configured */
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 2, 1, NULL), 0);
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 0, 64, 0, mp), 0);
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 1, 512, 0, mp), -EINVAL); /* pool too small */
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 1, 64, 0, mp), 0);
	CU_ASSERT_EQUAL(zdk_eth_tx_queue_setup(0, 0, 64, 0), 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), -EALREADY);
	CU_ASSERT_EQUAL(zdk_eth_dev_configure(0, 1, 1, NULL), -EBUSY);
	CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(0, 0, 64, 0, mp), -EINVAL); /* started */

	/* The fast path reaches the driver with the right queue object. */
	CU_ASSERT_EQUAL(zdk_eth_rx_burst(0, 1, pkts, 8), 4);
	CU_ASSERT_PTR_EQUAL(last_q, &rxq_obj[1]);
	CU_ASSERT_EQUAL(zdk_eth_tx_burst(0, 0, pkts, 8), 8);
	CU_ASSERT_PTR_EQUAL(last_q, &txq_obj[0]);
	CU_ASSERT_EQUAL(zdk_eth_stats_get(0, &st), 0);
	CU_ASSERT_EQUAL(st.ipackets, 7);
	CU_ASSERT_EQUAL(zdk_eth_macaddr_get(0, &mac), 0);
	CU_ASSERT_EQUAL(mac.addr[5], 0xab);
	CU_ASSERT_EQUAL(zdk_eth_promiscuous_enable(0), 0);
	CU_ASSERT_EQUAL(zdk_eth_promiscuous_get(0), 1);

	CU_ASSERT_EQUAL(zdk_eth_dev_stop(0), 0);
	last_q = NULL;
	CU_ASSERT_EQUAL(zdk_eth_rx_burst(0, 1, pkts, 8), 0); /* stopped: nothing */
	CU_ASSERT_PTR_NULL(last_q);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), 0); /* restart */
	CU_ASSERT_EQUAL(zdk_eth_dev_close(0), 0); /* stops, releases 2 rx + 1 tx */
	CU_ASSERT_EQUAL(calls.stop, 2);
	CU_ASSERT_EQUAL(calls.rxq_rel, 2);
	CU_ASSERT_EQUAL(calls.txq_rel, 1);
	CU_ASSERT_EQUAL(calls.close, 1);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(0), -EINVAL); /* closed: configure again */

	zdk_eth_dev_release(d0);
	zdk_eth_dev_release(d1);
	zdk_eth_dev_release(NULL);
	CU_ASSERT_EQUAL(zdk_eth_port_count(), 0);
	CU_ASSERT_EQUAL(zdk_eth_port_next(-1), -1);
	zdk_mbuf_pool_destroy(mp);
}

/*
 * Issue 11: the kernel takes port 1's device back while both run. Port 1's
 * bursts do nothing from then on (the driver is never entered again), it
 * cannot start again, and it still stops and closes; port 0 goes on.
 */
static void test_removed(void)
{
	struct zdk_mempool *mp;
	struct zdk_eth_dev *d[2];
	struct zdk_mbuf *pkts[8];

	memset(&calls, 0, sizeof(calls));
	d[0] = sw_alloc(&pci[0]);
	d[1] = sw_alloc(&pci[1]);
	CU_ASSERT_FATAL(zdk_mbuf_pool_create("eth-rm", 256, 0, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp) == 0);
	for (uint16_t port = 0; port < 2; port++) {
		CU_ASSERT_EQUAL(zdk_eth_dev_configure(port, 1, 1, NULL), 0);
		CU_ASSERT_EQUAL(zdk_eth_rx_queue_setup(port, 0, 64, 0, mp), 0);
		CU_ASSERT_EQUAL(zdk_eth_tx_queue_setup(port, 0, 64, 0), 0);
		CU_ASSERT_EQUAL(zdk_eth_dev_start(port), 0);
		CU_ASSERT_FALSE(zdk_eth_dev_removed(port));
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(on_remove[1]);
	on_remove[1](&pci[1]);
	CU_ASSERT_TRUE(zdk_eth_dev_removed(1));
	CU_ASSERT_FALSE(zdk_eth_dev_removed(0));
	last_q = NULL;
	CU_ASSERT_EQUAL(zdk_eth_rx_burst(1, 0, pkts, 8), 0);
	CU_ASSERT_EQUAL(zdk_eth_tx_burst(1, 0, pkts, 8), 0); /* not taken: the caller keeps them */
	CU_ASSERT_PTR_NULL(last_q); /* the driver was not entered */
	CU_ASSERT_EQUAL(zdk_eth_rx_burst(0, 0, pkts, 8), 4); /* the other port goes on */
	CU_ASSERT_EQUAL(zdk_eth_dev_stop(1), 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_start(1), -ENODEV);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(1), 0);
	CU_ASSERT_EQUAL(zdk_eth_dev_close(0), 0);
	CU_ASSERT_EQUAL(calls.close, 2);
	zdk_eth_dev_release(d[0]);
	zdk_eth_dev_release(d[1]);
	zdk_mbuf_pool_destroy(mp);
}

static const struct zdk_test tests[] = {
	{ "port life cycle, checks, fast path, numbering", test_lifecycle },
	{ "a port whose device is removed", test_removed },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("eth", NULL, NULL, tests);
}
