/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme.c - the NVMe driver against the fake controller: bring-up,
 * PRP/SGL building for every alignment and size edge, queue wrap and phase,
 * command-id reuse, duplicate completions, errors, timeouts (Abort, then
 * reset), CSTS.CFS recovery, failed resets, allocation failures, probe.
 */
#include <stdlib.h>
#include <string.h>

#include "../zdk_test.h"
#include "test_env.h"
/* The driver under test, with the seams of test_env.h. */
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"

extern int test_bus_master;
extern const struct zdk_pci_driver *test_registered;

static struct fake_nvme fake;
static struct zdk_nvme_ctrlr *ctrlr;

static void setup(void)
{
	fake_nvme_init(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr) == 0);
}

static void teardown(void)
{
	nvme_ctrlr_destroy(ctrlr);
	ctrlr = NULL;
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

/* Run the controller and poll until @qp has nothing outstanding. */
static void drain(struct zdk_nvme_qpair *qp)
{
	for (int i = 0; i < 100000 && zdk_nvme_qpair_outstanding(qp); i++) {
		fake_nvme_run(&fake);
		zdk_nvme_qpair_poll(qp, 0);
	}
	CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 0);
}

struct done {
	int calls;
	uint16_t status;
};

static void done_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct done *d = arg;

	d->calls++;
	d->status = ZDK_NVME_CPL_STATUS(cpl);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static void test_bringup(void)
{
	const struct zdk_nvme_ns *ns1, *ns2;

	setup();
	CU_ASSERT(fake.enabled);
	CU_ASSERT(memcmp(zdk_nvme_ctrlr_data(ctrlr)->sn, "FAKE0001", 8) == 0);
	CU_ASSERT(zdk_nvme_ctrlr_max_xfer(ctrlr) == NVME_MAX_XFER);
	CU_ASSERT(zdk_nvme_ctrlr_sgl_supported(ctrlr));
	CU_ASSERT(ctrlr->nr_io_queues == FAKE_MAXQ - 1);
	ns1 = zdk_nvme_ns_get(ctrlr, 1);
	ns2 = zdk_nvme_ns_get(ctrlr, 2);
	CU_ASSERT_FATAL(ns1 && ns2);
	CU_ASSERT(ns1->lba_size == 512 && ns1->nblocks == FAKE_NS_BLOCKS_512);
	CU_ASSERT(ns2->lba_size == 4096 && ns2->nblocks == FAKE_NS_BLOCKS_4K);
	CU_ASSERT(zdk_nvme_ns_get(ctrlr, 3) == NULL);
	CU_ASSERT(zdk_nvme_ns_next(ctrlr, NULL) == ns1);
	CU_ASSERT(zdk_nvme_ns_next(ctrlr, ns1) == ns2);
	CU_ASSERT(zdk_nvme_ns_next(ctrlr, ns2) == NULL);
	teardown();
	CU_ASSERT(fake.nr_shutdown == 1);
	CU_ASSERT(!fake.enabled);
}

static void test_never_ready(void)
{
	struct zdk_nvme_ctrlr *c = NULL;

	fake_nvme_init(&fake);
	fake.never_ready = true;
	test_fake = &fake;
	CU_ASSERT(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &c) == -ETIMEDOUT);
	CU_ASSERT(c == NULL);
	CU_ASSERT(test_dma_live == 0);
	fake_nvme_fini(&fake);
}

/* Write then read @nlb blocks through @buf at page offset @off, check both ways. */
static void rw_check(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns, size_t off,
		     uint32_t nlb, uint64_t lba)
{
	size_t len = (size_t)nlb << ns->lba_shift;
	uint8_t *wbuf = zdk_dma_zalloc(len + 2 * 4096, 4096, -1, NULL);
	uint8_t *rbuf = zdk_dma_zalloc(len + 2 * 4096, 4096, -1, NULL);
	struct done w = { 0 }, r = { 0 };

	fill(wbuf + off, len, (unsigned)(off + nlb));
	CU_ASSERT_FATAL(zdk_nvme_ns_write(ns, qp, wbuf + off, lba, nlb, done_cb, &w) == 0);
	drain(qp);
	CU_ASSERT(w.calls == 1 && w.status == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, ns->nsid, lba), wbuf + off, len) == 0);
	CU_ASSERT_FATAL(zdk_nvme_ns_read(ns, qp, rbuf + off, lba, nlb, done_cb, &r) == 0);
	drain(qp);
	CU_ASSERT(r.calls == 1 && r.status == 0);
	CU_ASSERT(memcmp(rbuf + off, wbuf + off, len) == 0);
	/* Nothing written outside the buffer. */
	for (size_t i = 0; i < off; i++)
		CU_ASSERT_FATAL(rbuf[i] == 0);
	for (size_t i = off + len; i < len + 2 * 4096; i++)
		CU_ASSERT_FATAL(rbuf[i] == 0);
	zdk_dma_free(wbuf);
	zdk_dma_free(rbuf);
}

static void test_prp_edges(void)
{
	static const size_t offs[] = { 0, 4, 512, 2048, 3584, 4092 };
	static const uint32_t nlbs[] = { 1, 7, 8, 9, 15, 16, 17, 24, 511, 512, 1023, 1024, 2047,
					 2048, 4096, 4097, 8191, 8192 };
	const struct zdk_nvme_ns *ns = NULL;
	struct zdk_nvme_qpair *qp;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(offs); i++)
		for (unsigned j = 0; j < ZDK_ARRAY_SIZE(nlbs); j++)
			rw_check(qp, ns, offs[i], nlbs[j], (i * 37 + j * 101) % 4000);
	/* 4 MiB needs 1024 list entries: two chained list pages at least. */
	CU_ASSERT(fake.nr_chain > 0);
	CU_ASSERT(fake.nr_sgl == 0);
	/* 4 KiB LBAs: one block, two blocks (PRP2 as a page), three (a list). */
	ns = zdk_nvme_ns_get(ctrlr, 2);
	for (uint32_t nlb = 1; nlb <= 3; nlb++)
		rw_check(qp, ns, 0, nlb, 100 + nlb);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_sgl(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .prefer_sgl = true };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	uint8_t *buf, *disk;
	struct iovec iov[3];
	struct done d = { 0 };

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	/* Two pages or less stay on the PRP fast path; more use one Data Block. */
	rw_check(qp, ns, 0, 16, 0);
	CU_ASSERT(fake.nr_sgl == 0);
	rw_check(qp, ns, 100 & ~3u, 64, 64);
	CU_ASSERT(fake.nr_sgl == 2);
	/* A vector no PRP list can describe: a Last Segment of Data Blocks. */
	buf = zdk_dma_zalloc(16384, 4096, -1, NULL);
	fill(buf, 16384, 5);
	iov[0] = (struct iovec){ buf + 100, 512 };
	iov[1] = (struct iovec){ buf + 5000, 1024 };
	iov[2] = (struct iovec){ buf + 9000, 512 };
	CU_ASSERT(zdk_nvme_ns_writev(ns, qp, iov, 3, 500, 4, done_cb, &d) == 0);
	drain(qp);
	CU_ASSERT(d.calls == 1 && d.status == 0);
	CU_ASSERT(fake.last_sqe_flags == ZDK_NVME_FLAG_PSDT_SGL);
	disk = fake_nvme_disk(&fake, 1, 500);
	CU_ASSERT(memcmp(disk, buf + 100, 512) == 0);
	CU_ASSERT(memcmp(disk + 512, buf + 5000, 1024) == 0);
	CU_ASSERT(memcmp(disk + 1536, buf + 9000, 512) == 0);
	/* Lengths that do not add up to the blocks are refused. */
	CU_ASSERT(zdk_nvme_ns_writev(ns, qp, iov, 3, 500, 5, done_cb, &d) == -EINVAL);
	/* Without SGL support the same vector cannot be expressed. */
	ctrlr->sgl = false;
	CU_ASSERT(zdk_nvme_ns_writev(ns, qp, iov, 3, 500, 4, done_cb, &d) == -EINVAL);
	/* A PRP-compatible vector works either way: end, whole page, start. */
	iov[0] = (struct iovec){ buf + 3584, 512 };
	iov[1] = (struct iovec){ buf + 4096, 4096 };
	iov[2] = (struct iovec){ buf + 8192, 1024 };
	d.calls = 0;
	CU_ASSERT(zdk_nvme_ns_readv(ns, qp, iov, 3, 0, 11, done_cb, &d) == 0);
	drain(qp);
	CU_ASSERT(d.calls == 1 && d.status == 0);
	CU_ASSERT(fake.last_sqe_flags == 0);
	CU_ASSERT(memcmp(buf + 3584, fake_nvme_disk(&fake, 1, 0), 5632) == 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_mdts_and_bad_buffer(void)
{
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d = { 0 };
	uint8_t *buf;

	fake_nvme_init(&fake);
	fake.mdts = 2; /* 16 KiB */
	test_fake = &fake;
	CU_ASSERT_FATAL(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr) == 0);
	CU_ASSERT(zdk_nvme_ctrlr_max_xfer(ctrlr) == 16384);
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT(ns->max_blocks == 32);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	buf = zdk_dma_zalloc(65536, 4096, -1, NULL);
	rw_check(qp, ns, 0, 32, 0);
	/* Above MDTS the driver splits (issue 10: small controllers refused
	 * every larger I/O): every size and offset around 1..4 commands' worth,
	 * one callback each, the data intact, each piece within MDTS. */
	for (uint32_t nlb = 31; nlb <= 4 * 32 + 1; nlb += 1 + (nlb > 40 && nlb < 120) * 12) {
		uint32_t before = fake.nr_io;

		rw_check(qp, ns, 512 * (nlb % 9), nlb, 7);
		CU_ASSERT(fake.nr_io - before == 2 * ((nlb + 31) / 32));
	}
	CU_ASSERT(zdk_nvme_ns_rw_sync(ns, qp, true, buf, 3, 100) == 0);
	CU_ASSERT(zdk_nvme_ns_rw_sync(ns, qp, false, buf, 3, 100) == 0);
	/* Memory the DMA layer does not know is refused, not sent. */
	CU_ASSERT(zdk_nvme_ns_write(ns, qp, (void *)16, 0, 1, done_cb, &d) == -EFAULT);
	CU_ASSERT(d.calls == 0 && zdk_nvme_qpair_outstanding(qp) == 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

/* A split needs all its command ids at once: with too few, nothing is sent. */
static void test_mdts_split_all_or_nothing(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .entries = 8 }; /* 4 command ids */
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d = { 0 }, one = { 0 };
	uint8_t *buf;

	fake_nvme_init(&fake);
	fake.mdts = 1; /* 8 KiB: 16 blocks of 512 */
	test_fake = &fake;
	CU_ASSERT_FATAL(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr) == 0);
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	buf = zdk_dma_zalloc(64 << 10, 4096, -1, NULL);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 16 * 5, done_cb, &d) == -EAGAIN);
	CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 0 && fake.nr_io == 0);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 1, done_cb, &one) == 0);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 16 * 4, done_cb, &d) == -EAGAIN);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 16 * 3, done_cb, &d) == 0);
	drain(qp);
	CU_ASSERT(d.calls == 1 && d.status == 0 && one.calls == 1);
	CU_ASSERT(zdk_nvme_qpair_nfree(qp) == 4);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_wrap_phase_cid_reuse(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .entries = 4 };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[3];
	uint8_t *buf;
	int phase_flips = 0, last_phase;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	buf = zdk_dma_zalloc(3 * 512, 4096, -1, NULL);
	last_phase = qp->phase;
	fake.reverse = true;
	for (int round = 0; round < 1000; round++) {
		memset(d, 0, sizeof(d));
		for (int i = 0; i < 2; i++)
			CU_ASSERT_FATAL(zdk_nvme_ns_read(ns, qp, buf + i * 512, (uint64_t)round * 3 + i,
							 1, done_cb, &d[i]) == 0);
		/* Two command ids for four entries: the third submit must wait. */
		CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 1, done_cb, &d[2]) == -EAGAIN);
		drain(qp);
		for (int i = 0; i < 2; i++)
			CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
		CU_ASSERT(d[2].calls == 0);
		if (qp->phase != last_phase) {
			phase_flips++;
			last_phase = qp->phase;
		}
	}
	CU_ASSERT(phase_flips > 400);
	/* A completion posted twice is delivered once. */
	memset(d, 0, sizeof(d));
	fake.reverse = false;
	fake.dup_next = 1;
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 1, done_cb, &d[0]) == 0);
	drain(qp);
	fake_nvme_run(&fake);
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(d[0].calls == 1);
	CU_ASSERT(zdk_nvme_qpair_nfree(qp) == 2);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

/* A full queue of commands, over and over: the lazy CQ head doorbell must
 * keep the controller from ever seeing a full CQ (it would stop posting). */
static void test_cq_doorbell_lazy(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .entries = 64 };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[32];
	uint32_t rings = 0, last = 0;
	uint8_t *buf;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 2);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	buf = zdk_dma_zalloc(4096, 4096, -1, NULL);
	for (int round = 0; round < 200; round++) {
		memset(d, 0, sizeof(d));
		for (int i = 0; i < 32; i++)
			CU_ASSERT_FATAL(zdk_nvme_ns_read(ns, qp, buf, (uint64_t)i, 1, done_cb, &d[i]) == 0);
		CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 32);
		drain(qp);
		for (int i = 0; i < 32; i++)
			CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
		if (*qp->cq_db != last) {
			rings++;
			last = *qp->cq_db;
		}
	}
	/* It was rung, and the controller never found the CQ full. */
	CU_ASSERT(rings > 0 && fake.nr_io == 200 * 32);
	CU_ASSERT(fake.nr_cq_full == 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_budget_and_batch(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .entries = 64, .batch = true };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[32] = { { 0 } };
	uint8_t *buf;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 2);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	buf = zdk_dma_zalloc(4096, 4096, -1, NULL);
	for (int i = 0; i < 32; i++)
		CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, (uint64_t)i, 1, done_cb, &d[i]) == 0);
	/* Batch mode: nothing rung yet, so the controller sees nothing. */
	fake_nvme_run(&fake);
	CU_ASSERT(fake.nr_io == 0);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 0);
	fake_nvme_run(&fake);
	CU_ASSERT(fake.nr_io == 32);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 10) == 10);
	CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 22);
	drain(qp);
	for (int i = 0; i < 32; i++)
		CU_ASSERT(d[i].calls == 1);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_error_status_and_other_cmds(void)
{
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d = { 0 };
	uint8_t *buf;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	buf = zdk_dma_zalloc(8192, 4096, -1, NULL);
	fake.fail_status = ZDK_NVME_STATUS(2, 0x81); /* media: unrecovered read error */
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 1, done_cb, &d) == 0);
	drain(qp);
	CU_ASSERT(d.calls == 1 && d.status == ZDK_NVME_STATUS(2, 0x81));
	CU_ASSERT(zdk_nvme_ns_rw_sync(ns, qp, false, buf, FAKE_NS_BLOCKS_512 - 1, 2) == -EINVAL);
	memset(fake_nvme_disk(&fake, 1, 10), 0xab, 16 * 512);
	CU_ASSERT(zdk_nvme_ns_write_zeroes(ns, qp, 10, 4, done_cb, &d) == 0);
	CU_ASSERT(zdk_nvme_ns_deallocate(ns, qp, 18, 4, done_cb, &d) == 0);
	CU_ASSERT(zdk_nvme_ns_flush(ns, qp, done_cb, &d) == 0);
	drain(qp);
	CU_ASSERT(d.calls == 4 && d.status == 0);
	CU_ASSERT(fake_nvme_disk(&fake, 1, 10)[0] == 0 && fake_nvme_disk(&fake, 1, 13)[511] == 0);
	CU_ASSERT(fake_nvme_disk(&fake, 1, 14)[0] == 0xab && fake_nvme_disk(&fake, 1, 17)[511] == 0xab);
	CU_ASSERT(fake_nvme_disk(&fake, 1, 18)[0] == 0 && fake_nvme_disk(&fake, 1, 21)[511] == 0);
	CU_ASSERT(fake_nvme_disk(&fake, 1, 22)[0] == 0xab);
	fill(buf, 8192, 9);
	CU_ASSERT(zdk_nvme_ns_rw_sync(ns, qp, true, buf, 100, 16) == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 100), buf, 8192) == 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

/* Poll with the clock moving until @cond or the budget of steps runs out. */
#define POLL_UNTIL(qp, cond, step_ns)                                  \
	for (int i_ = 0; i_ < 20000 && !(cond); i_++) {               \
		fake_nvme_run(&fake);                                  \
		test_tsc += (step_ns);                                 \
		(qp)->tick = 1;                                        \
		zdk_nvme_qpair_poll((qp), 0);                          \
	}

static void test_timeout_abort_reset(void)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .timeout_ms = 100 };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[4] = { { 0 } };
	uint8_t *buf;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &opts, &qp) == 0);
	buf = zdk_dma_zalloc(4 * 512, 4096, -1, NULL);
	fill(buf, 4 * 512, 3);

	/* An Abort that works completes the command with Abort Requested. */
	fake.swallow = 1;
	fake.abort_works = true;
	CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf, 0, 1, done_cb, &d[0]) == 0);
	POLL_UNTIL(qp, d[0].calls, 10 * 1000 * 1000);
	CU_ASSERT(d[0].calls == 1 && d[0].status == ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_REQUESTED));
	CU_ASSERT(fake.nr_abort == 1 && fake.nr_resets == 0);

	/* An Abort that does nothing: the second timeout resets the controller
	 * and the hung command fails back; the others completed normally. */
	memset(d, 0, sizeof(d));
	fake.abort_works = false;
	fake.swallow = 1;
	for (int i = 0; i < 4; i++)
		CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf + i * 512, 10 + i, 1, done_cb, &d[i]) == 0);
	fake_nvme_run(&fake);
	/* The fake swallowed the first one and completed the other three. */
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(d[1].calls == 1 && d[2].calls == 1 && d[3].calls == 1);
	POLL_UNTIL(qp, d[0].calls, 10 * 1000 * 1000);
	CU_ASSERT(d[0].calls == 1 && d[0].status == ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_REQUESTED));
	CU_ASSERT(fake.nr_abort == 2 && fake.nr_resets == 1);
	for (int i = 1; i < 4; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
	/* The qpair works after its reconnect. */
	rw_check(qp, ns, 0, 8, 40);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static int calls(const struct done *d, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++)
		sum += d[i].calls;
	return sum;
}

static void test_cfs_recovery(void)
{
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[16] = { { 0 } };
	uint8_t *buf;
	setup();
	ns = zdk_nvme_ns_get(ctrlr, 2);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	buf = zdk_dma_zalloc(16 * 4096, 4096, -1, NULL);
	fill(buf, 16 * 4096, 11);
	fake.cfs_after = 5; /* five commands done, then the controller dies */
	for (int i = 0; i < 16; i++)
		CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf + i * 4096, 200 + i, 1, done_cb, &d[i]) == 0);
	POLL_UNTIL(qp, calls(d, 16) == 16, 1000 * 1000);
	CU_ASSERT(fake.nr_resets == 1);
	for (int i = 0; i < 16; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, 2, 200), buf, 16 * 4096) == 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static void test_reset_mid_io_and_failed_reset(void)
{
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d[8] = { { 0 } }, extra = { 0 };
	uint8_t *buf;

	setup();
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	buf = zdk_dma_zalloc(8 * 512, 4096, -1, NULL);
	fill(buf, 8 * 512, 1);
	fake.hold = true;
	for (int i = 0; i < 8; i++)
		CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf + i * 512, i, 1, done_cb, &d[i]) == 0);
	fake.hold = false;
	CU_ASSERT(zdk_nvme_ctrlr_reset(ctrlr) == 0);
	/* Submitted after the reset, before the qpair reconnects: the doorbell
	 * must not reach the controller, where that queue does not exist. */
	CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf, 0, 1, done_cb, &extra) == 0);
	fake_nvme_run(&fake);
	drain(qp);
	CU_ASSERT(fake.nr_bad_db == 0);
	CU_ASSERT(extra.calls == 1 && extra.status == 0);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 0), buf, 8 * 512) == 0);

	/* Completions posted before a reset but not polled yet are delivered
	 * with their status, not executed a second time. */
	memset(d, 0, sizeof(d));
	fake.nr_io = 0;
	fake.fail_status = ZDK_NVME_STATUS(2, 0x81);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf + i * 512, i, 1, done_cb, &d[i]) == 0);
	fake_nvme_run(&fake);
	CU_ASSERT(fake.nr_io == 8);
	CU_ASSERT(zdk_nvme_ctrlr_reset(ctrlr) == 0);
	drain(qp);
	CU_ASSERT(fake.nr_io == 8);
	CU_ASSERT(d[0].calls == 1 && d[0].status == ZDK_NVME_STATUS(2, 0x81));
	for (int i = 1; i < 8; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);

	/* Commands the reset's SQ deletion aborts, seen by a poll before the
	 * qpair reconnects, are resubmitted and succeed, once. */
	memset(d, 0, sizeof(d));
	fake.nr_io = 0;
	fake.swallow = 4;
	for (int i = 0; i < 8; i++)
		CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf + i * 512, 40 + i, 1, done_cb, &d[i]) == 0);
	fake_nvme_run(&fake);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 4);
	qp->tick = 1000; /* poll once more before the reconnect */
	pthread_mutex_lock(&ctrlr->lock);
	delete_io_queues_locked(ctrlr, nvme_qpair(qp)->gen);
	pthread_mutex_unlock(&ctrlr->lock);
	zdk_nvme_qpair_poll(qp, 0);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(d[i].calls == (i < 4 ? 0 : 1));
	CU_ASSERT(zdk_nvme_ctrlr_reset(ctrlr) == 0);
	drain(qp);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 40), buf, 8 * 512) == 0);

	/* A reset that never completes: everything fails back, exactly once. */
	memset(d, 0, sizeof(d));
	fake.hold = true;
	for (int i = 0; i < 8; i++)
		CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf + i * 512, i, 1, done_cb, &d[i]) == 0);
	fake.never_ready = true;
	CU_ASSERT(zdk_nvme_ctrlr_reset(ctrlr) == -ETIMEDOUT);
	drain(qp);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(d[i].calls == 1 &&
			  d[i].status == ZDK_NVME_STATUS(0, ZDK_NVME_SC_ABORT_SQ_DELETION));
	/* Later submissions also come back failed instead of hanging. */
	memset(d, 0, sizeof(d));
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 1, done_cb, &d[0]) == 0);
	drain(qp);
	CU_ASSERT(d[0].calls == 1 && d[0].status != 0);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

/* Every allocation of bring-up and qpair creation fails in turn: no leak, -ENOMEM. */
static void test_fail_nth(void)
{
	for (int n = 1; n < 20; n++) {
		struct zdk_nvme_qpair *qp = NULL;
		int rc;

		fake_nvme_init(&fake);
		test_fake = &fake;
		test_dma_fail_at = n;
		rc = nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr);
		if (rc == 0) {
			rc = zdk_nvme_qpair_alloc(ctrlr, NULL, &qp);
			if (rc == 0)
				zdk_nvme_qpair_free(qp);
			nvme_ctrlr_destroy(ctrlr);
		}
		CU_ASSERT(rc == 0 || rc == -ENOMEM);
		CU_ASSERT(test_dma_live == 0);
		test_dma_fail_at = 0;
		fake_nvme_fini(&fake);
	}
	ctrlr = NULL;
}

static void test_qpair_limits(void)
{
	struct zdk_nvme_qpair *qp[FAKE_MAXQ];
	struct zdk_nvme_qpair_opts bad = { .size = sizeof(bad), .entries = 100 };
	struct zdk_nvme_qpair *extra;
	int n = 0;

	setup();
	CU_ASSERT(zdk_nvme_qpair_alloc(ctrlr, &bad, &extra) == -EINVAL);
	/* opts carry their size: unset, or larger than this library knows */
	CU_ASSERT(zdk_nvme_qpair_alloc(ctrlr, &(struct zdk_nvme_qpair_opts){ .entries = 8 },
				       &extra) == -EINVAL);
	CU_ASSERT(zdk_nvme_qpair_alloc(ctrlr, &(struct zdk_nvme_qpair_opts){
				       .size = sizeof(bad) + 8 }, &extra) == -EINVAL);
	while (n < FAKE_MAXQ && zdk_nvme_qpair_alloc(ctrlr, NULL, &qp[n]) == 0)
		n++;
	CU_ASSERT(n == FAKE_MAXQ - 1);
	CU_ASSERT(zdk_nvme_qpair_alloc(ctrlr, NULL, &extra) == -ENOSPC);
	zdk_nvme_qpair_free(qp[3]);
	CU_ASSERT(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp[3]) == 0);
	CU_ASSERT(nvme_qpair(qp[3])->qid == 4);
	for (int i = 0; i < n; i++)
		zdk_nvme_qpair_free(qp[i]);
	teardown();
}

static void test_pci_probe_attach(void)
{
	struct zdk_nvme_ctrlr *c = NULL, *again = NULL;

	fake_nvme_init(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(test_registered != NULL);
	CU_ASSERT(strcmp(test_registered->name, "nvme") == 0);
	CU_ASSERT(test_registered->id_table[0].class_code == 0x010802 &&
		  test_registered->id_table[0].class_mask == 0xffffff);
	CU_ASSERT(zdk_nvme_ctrlr_attach("0000:02:00.0", &c) == -ENODEV);
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_attach("0000:01:00.0", &c) == 0);
	CU_ASSERT(test_bus_master == 1);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == c && zdk_nvme_ctrlr_next(c) == NULL);
	CU_ASSERT(strcmp(zdk_nvme_ctrlr_name(c), "0000:01:00.0") == 0);
	CU_ASSERT(zdk_nvme_ctrlr_attach("01:00.0", &again) == 0 || again == NULL);
	CU_ASSERT(zdk_nvme_ctrlr_attach("0000:01:00.0", &again) == 0 && again == c);
	/* one lifetime rule: each attach is a reference, the last detach shuts down */
	zdk_nvme_ctrlr_detach(again);
	CU_ASSERT(test_bus_master == 1);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == c);
	zdk_nvme_ctrlr_detach(c);
	CU_ASSERT(test_bus_master == 0);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == NULL);
	CU_ASSERT(test_dma_live == 0);
	zdk_nvme_ctrlr_detach(NULL);
	fake_nvme_fini(&fake);
}

/* Probed by zdk_eal_init(): an attach shares the controller, its detach
 * leaves the probe's reference, and cleanup's remove shuts it down. Before,
 * that detach did nothing at all and the attached one was never shut down. */
static void test_pci_probe_then_attach(void)
{
	struct zdk_pci_device *dev;
	struct zdk_nvme_ctrlr *c = NULL;

	fake_nvme_init(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(zdk_pci_device_open("0000:01:00.0", &dev) == 0);
	CU_ASSERT_FATAL(test_registered->probe(dev) == 0);
	dev->driver = test_registered; /* as pci_probe_all() does */
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_attach("0000:01:00.0", &c) == 0);
	CU_ASSERT(c == dev->driver_data);
	zdk_nvme_ctrlr_detach(c);
	CU_ASSERT(test_bus_master == 1);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == c);
	test_registered->remove(dev); /* zdk_eal_cleanup() */
	dev->driver = NULL;
	zdk_pci_device_close(dev);
	CU_ASSERT(test_bus_master == 0);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == NULL);
	CU_ASSERT(test_dma_live == 0);
	fake_nvme_fini(&fake);
}

static const struct zdk_test tests[] = {
	{ "bring-up, identify, shutdown", test_bringup },
	{ "controller never ready", test_never_ready },
	{ "PRP edges (offsets x sizes, chained lists)", test_prp_edges },
	{ "SGL and vectors", test_sgl },
	{ "MDTS split and unknown memory", test_mdts_and_bad_buffer },
	{ "MDTS split: all command ids or none", test_mdts_split_all_or_nothing },
	{ "queue wrap, phase, cid reuse, duplicates", test_wrap_phase_cid_reuse },
	{ "lazy CQ head doorbell never fills the CQ", test_cq_doorbell_lazy },
	{ "poll budget and batched doorbells", test_budget_and_batch },
	{ "error status, write zeroes, deallocate, flush", test_error_status_and_other_cmds },
	{ "timeout: Abort, then reset", test_timeout_abort_reset },
	{ "CSTS.CFS recovery", test_cfs_recovery },
	{ "reset mid-I/O, failed reset", test_reset_mid_io_and_failed_reset },
	{ "allocation failures (fail-nth)", test_fail_nth },
	{ "qpair limits", test_qpair_limits },
	{ "PCI probe, attach, detach", test_pci_probe_attach },
	{ "probed, then attached: one lifetime", test_pci_probe_then_attach },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme", NULL, NULL, tests);
}
