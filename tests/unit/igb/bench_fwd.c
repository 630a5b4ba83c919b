/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fwd.c - l2fwd's inner loop on two fake 82576 ports, for counting
 * instructions per forwarded packet with callgrind (buildtools/bench-l2fwd):
 *
 *   valgrind --tool=callgrind --toggle-collect=fwd_burst bench-fwd-fake N
 *
 * fwd_burst() is what is measured: rx_burst of 32 on port 0 (descriptor
 * reads, mbuf fields, batched refill from the mempool cache, one RDT write
 * per 32), tx_burst of the same 32 on port 1 (descriptors, RS on every 32nd,
 * one TDT write) and the recycling of sent mbufs (one DD check and one bulk
 * put per 32). The fake device's work (consuming tx, writing rx) runs
 * outside it. Prints the packet count; without callgrind also ns/packet of
 * the whole loop, device included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_igb.h"
#include "test_mem.h"
#include "zdk_eth.h"

#define BURST 32

static uint64_t fwd_total;

__attribute__((noinline)) void fwd_burst(void);
__attribute__((noinline)) void fwd_burst(void)
{
	struct zdk_mbuf *pkts[BURST];
	uint16_t n, sent;

	n = zdk_eth_rx_burst(0, 0, pkts, BURST);
	sent = zdk_eth_tx_burst(1, 0, pkts, n);
	if (zdk_unlikely(sent < n))
		zdk_mbuf_free_bulk(pkts + sent, n - sent);
	fwd_total += sent;
}

static int port_start(uint16_t port, struct zdk_mempool *mp)
{
	if (zdk_eth_dev_configure(port, 1, 1, NULL) ||
	    zdk_eth_rx_queue_setup(port, 0, 512, 0, mp) ||
	    zdk_eth_tx_queue_setup(port, 0, 512, 0) || zdk_eth_dev_start(port))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)atoi(argv[1]) : 100000, i, k;
	struct fake_igb *f0, *f1;
	struct zdk_mempool *mp;
	struct timespec t0, t1;
	uint8_t frame[60] = { 0 };

	test_lcore_set(0);
	f0 = fake_igb_create("0000:02:00.0", 1);
	f1 = fake_igb_create("0000:03:00.0", 2);
	if (!f0 || !f1 || fake_igb_driver()->probe(&f0->pci) || fake_igb_driver()->probe(&f1->pci) ||
	    zdk_mbuf_pool_create("bench", 4096, 256, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp) ||
	    port_start(0, mp) || port_start(1, mp)) {
		fprintf(stderr, "bench-fwd-fake: setup failed\n");
		return 1;
	}
	memcpy(frame, f0->mac, 6);
	frame[12] = 0x08;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < iters; i++) {
		for (k = 0; k < BURST; k++)
			fake_igb_rx_inject(f0, frame, sizeof(frame));
		fwd_burst();
		fake_igb_tx_run(f1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("bench-fwd-fake: forwarded %llu packets in bursts of %d, %.1f ns/packet "
	       "(loop with the fake device)\n", (unsigned long long)fwd_total, BURST,
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)fwd_total);
	zdk_eth_dev_close(0);
	zdk_eth_dev_close(1);
	fake_igb_driver()->remove(&f0->pci);
	fake_igb_driver()->remove(&f1->pci);
	zdk_mbuf_pool_destroy(mp);
	fake_igb_destroy(f0);
	fake_igb_destroy(f1);
	return fwd_total == (uint64_t)iters * BURST ? 0 : 1;
}
