/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fwd.c - l2fwd's inner loop on two fake virtio-net ports, for counting
 * instructions per forwarded packet with callgrind:
 *
 *   valgrind --tool=callgrind --toggle-collect=fwd_burst bench-virtio-fwd-fake N
 *
 * fwd_burst() is what is measured: rx_burst of 32 on port 0 (used ring
 * reads, mbuf fields, refill from the mempool cache, one avail publish),
 * tx_burst of the same 32 on port 1 (header zeroing, descriptors, one avail
 * publish) and the recycling of sent mbufs (used ring reads, one bulk put).
 * Both queues carry VIRTQ_USED_F_NO_NOTIFY, as QEMU's do while it is busy,
 * so no doorbell is written; the fake device's work runs outside. Prints the
 * packet count and, without callgrind, ns/packet of the whole loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_virtio.h"
#include "test_env.h"
#include "virtio_seam.h"

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

static int port_start(struct fake_virtio *f, struct zdk_mempool *mp, uint16_t *port)
{
	struct vnet_dev *vd;

	if (test_pci_driver->probe(&f->pdev))
		return -1;
	vd = f->pdev.driver_data;
	*port = vd->eth->port_id;
	if (zdk_eth_dev_configure(*port, 1, 1, NULL) ||
	    zdk_eth_rx_queue_setup(*port, 0, 256, 0, mp) ||
	    zdk_eth_tx_queue_setup(*port, 0, 256, 0) || zdk_eth_dev_start(*port))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)atoi(argv[1]) : 100000, i, k;
	struct fake_virtio *f0, *f1;
	struct zdk_mempool *mp;
	struct timespec t0, t1;
	uint8_t frame[60] = { 0 }, out[2048];
	uint16_t p0, p1;

	test_lcore = 0;
	f0 = fake_virtio_create(FAKE_F_DEFAULT, 256);
	f1 = fake_virtio_create(FAKE_F_DEFAULT, 256);
	if (zdk_mbuf_pool_create("bench", 4096, 256, ZDK_MBUF_DEFAULT_BUF_SIZE, 0, &mp) ||
	    port_start(f0, mp, &p0) || port_start(f1, mp, &p1) || p0 != 0 || p1 != 1) {
		fprintf(stderr, "bench-virtio-fwd-fake: setup failed\n");
		return 1;
	}
	fake_virtio_set_no_notify(f0, FAKE_RXQ, true);
	fake_virtio_set_no_notify(f1, FAKE_TXQ, true);
	frame[12] = 0x08;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < iters; i++) {
		for (k = 0; k < BURST; k++)
			fake_virtio_rx_push(f0, frame, sizeof(frame));
		fwd_burst();
		while (fake_virtio_tx_pop(f1, out, sizeof(out)) >= 0)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("bench-virtio-fwd-fake: forwarded %llu packets in bursts of %d, %.1f ns/packet "
	       "(loop with the fake device)\n", (unsigned long long)fwd_total, BURST,
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)fwd_total);
	if (f0->proto_errors || f1->proto_errors || f0->dma_faults || f1->dma_faults)
		fprintf(stderr, "bench-virtio-fwd-fake: the fake device saw protocol errors\n");
	zdk_eth_dev_close(p0);
	zdk_eth_dev_close(p1);
	test_pci_driver->remove(&f0->pdev);
	test_pci_driver->remove(&f1->pdev);
	zdk_mbuf_pool_destroy(mp);
	fake_virtio_destroy(f0);
	fake_virtio_destroy(f1);
	return fwd_total == (uint64_t)iters * BURST ? 0 : 1;
}
