/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme_shadow.c - shadow doorbells (Doorbell Buffer Config) over the
 * fake, which reads I/O queue tails and heads from the slots, writes
 * EventIdx and fetches only after an MMIO doorbell write, as QEMU does.
 */
#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "test_env.h"
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"
#include "nvme_test_util.h"

static void no_dbbc(struct fake_nvme *f)
{
	f->no_dbbc = true;
}

static void test_refused(void)
{
	struct zdk_nvme_qpair *qp;

	setup_with(no_dbbc);
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == -ENOTSUP);
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, false) == 0);
	teardown();

	setup_with(NULL);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	CU_ASSERT(qp->sq_shadow == NULL); /* off by default */
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == -EBUSY);
	zdk_nvme_qpair_free(qp);
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == 0);
	CU_ASSERT(fake.dbbuf && fake.nr_dbbc == 1);
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == 0);
	CU_ASSERT(fake.nr_dbbc == 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	CU_ASSERT(qp->sq_shadow != NULL && qp->cq_shadow != NULL);
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, false) == -EBUSY);
	zdk_nvme_qpair_free(qp);
	/* Off: through a reset, and qpairs are back on MMIO doorbells. */
	CU_ASSERT(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, false) == 0);
	CU_ASSERT(!fake.dbbuf);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	CU_ASSERT(qp->sq_shadow == NULL && qp->cq_shadow == NULL);
	zdk_nvme_qpair_free(qp);
	CU_ASSERT(fake.nr_shadow_stale == 0);
	teardown();
}

/* Submissions the controller has not caught up with need no MMIO write. */
static void test_skipped(void)
{
	struct zdk_nvme_qpair *qp;
	const struct zdk_nvme_ns *ns;
	struct done d[8] = { 0 };
	uint8_t *buf;
	uint32_t before;

	setup_with(NULL);
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == 0);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	ns = zdk_nvme_ns_get(ctrlr, 1);
	buf = zdk_dma_zalloc(8 * PAGE, PAGE, -1, NULL);
	before = fake.nr_db_mmio;
	for (int i = 0; i < 8; i++)
		CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf + i * PAGE, i * 8, 8, done_cb, &d[i]) == 0);
	/* The first passes EventIdx (0); the next seven find it behind: skipped. */
	CU_ASSERT(fake.nr_db_mmio - before <= 1);
	test_fake_run(&fake);
	CU_ASSERT(fake.nr_db_mmio - before == 1);
	drain(qp);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(d[i].calls == 1 && d[i].status == 0);
	/* Caught up: the next submission must write MMIO again. */
	before = fake.nr_db_mmio;
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 8, done_cb, &d[0]) == 0);
	test_fake_run(&fake);
	CU_ASSERT(fake.nr_db_mmio - before == 1);
	drain(qp);
	CU_ASSERT(d[0].calls == 2);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	teardown();
}

/*
 * Random queue sizes, batch or not, queue depths and interleavings of
 * writes and reads, each block checked; a reset now and then.
 */
static void test_prop(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "nvme-shadow");
	for (unsigned c = 0; c < zdk_prop_cases(40); c++) {
		struct zdk_nvme_qpair_opts o = { .size = sizeof(o) };
		struct zdk_nvme_qpair *qp;
		const struct zdk_nvme_ns *ns;
		struct done d[64];
		int uses[64] = { 0 };
		uint8_t *buf;
		uint32_t qd, ios, sub = 0, mmio0;

		p.step = c;
		o.entries = 1u << zdk_prop_pick(&p, 1, 10);
		o.batch = zdk_prop_chance(&p, 1, 2);
		qd = (uint32_t)zdk_prop_pick(&p, 1, ZDK_MIN(o.entries / 2, 64u));
		ios = (uint32_t)zdk_prop_pick(&p, 1, 600);
		setup_with(NULL);
		ZDK_PROP_CHECK(&p, zdk_nvme_ctrlr_shadow_doorbell(ctrlr, true) == 0);
		ZDK_PROP_CHECK(&p, zdk_nvme_qpair_alloc(ctrlr, &o, &qp) == 0);
		ns = zdk_nvme_ns_get(ctrlr, 1);
		buf = zdk_dma_zalloc(64 * PAGE, PAGE, -1, NULL);
		memset(d, 0, sizeof(d));
		mmio0 = fake.nr_db_mmio;
		for (unsigned step = 0; sub < ios || zdk_nvme_qpair_outstanding(qp); step++) {
			ZDK_PROP_CHECK(&p, step < 100000);
			while (sub < ios && zdk_nvme_qpair_outstanding(qp) < qd &&
			       zdk_prop_chance(&p, 3, 4)) {
				uint32_t slot = 0, lba = (sub % 64) * 8;
				bool wr = (sub / 64) % 2 == 0;

				/* A buffer no command is using: fewer than qd are. */
				while (d[slot].calls != uses[slot])
					slot++;
				ZDK_PROP_CHECK(&p, slot < qd);
				uses[slot]++;
				if (wr)
					fill(buf + slot * PAGE, PAGE, sub % 64);
				ZDK_PROP_CHECK(&p, zdk_nvme_qpair_rw(qp, ns, wr ? ZDK_NVME_OPC_WRITE
								      : ZDK_NVME_OPC_READ,
								 buf + slot * PAGE, lba, 8, done_cb,
								 &d[slot]) == 0);
				sub++;
			}
			if (zdk_prop_chance(&p, 1, 200))
				ZDK_PROP_CHECK(&p, zdk_nvme_ctrlr_reset(ctrlr) == 0);
			if (zdk_prop_chance(&p, 4, 5))
				test_fake_run(&fake);
			zdk_nvme_qpair_poll(qp, (uint32_t)zdk_prop_pick(&p, 0, 4));
			for (uint32_t i = 0; i < qd; i++)
				ZDK_PROP_CHECK(&p, d[i].status == 0 && d[i].calls <= uses[i]);
		}
		/* Each block holds what its last write put there. */
		for (uint32_t b = 0; b < ZDK_MIN(ios, 64u); b++) {
			uint8_t want[PAGE];

			fill(want, PAGE, b); /* every write of block b has seed b */
			ZDK_PROP_CHECK(&p, memcmp(fake_nvme_disk(&fake, 1, b * 8), want, PAGE) == 0);
		}
		ZDK_PROP_CHECK(&p, fake.nr_shadow_stale == 0 && fake.nr_bad_db == 0);
		ZDK_PROP_CHECK(&p, fake.nr_db_mmio - mmio0 <= 2 * ios + 2 * fake.nr_dbbc);
		ZDK_PROP_CHECK(&p, fake.dbbuf && qp->sq_shadow != NULL);
		zdk_dma_free(buf);
		zdk_nvme_qpair_free(qp);
		teardown();
	}
}

static const struct zdk_test tests[] = {
	{ "-ENOTSUP, -EBUSY, on and off", test_refused },
	{ "MMIO doorbell skipped while EventIdx is behind", test_skipped },
	{ "I/O at random sizes, depths, resets", test_prop },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme-shadow", NULL, NULL, tests);
}
