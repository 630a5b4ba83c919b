/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme_dma.c - the NVMe data path over memory that is not
 * IOVA-contiguous: zdk_dma_map()ped pages at scattered "physical" frames (a
 * no-IOMMU mock) and buffers that span two separate mappings, through the
 * inline path, PRP lists, SGLs and vectors; and refused buffers.
 */
#include "../zdk_test.h"
#include "test_env.h"
/* The driver under test, with the seams of test_env.h. */
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"
#include "nvme_test_util.h"

#define PG 4096u

/*
 * Read @len bytes of ns 1 from LBA 0 into @buf and write them back at LBA
 * 4096: the data must match and every byte of @area outside @buf keep 0xee.
 */
static void rw_ext(struct zdk_nvme_qpair *qp, uint8_t *area, size_t area_len, uint8_t *buf,
		   size_t len)
{
	const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(ctrlr, 1);
	uint32_t nlb = (uint32_t)(len >> ns->lba_shift);
	struct done r = { 0 }, w = { 0 };

	memset(area, 0xee, area_len);
	fill(fake_nvme_disk(&fake, 1, 0), len, (unsigned)len);
	CU_ASSERT_FATAL(zdk_nvme_ns_read(ns, qp, buf, 0, nlb, done_cb, &r) == 0);
	drain(qp);
	CU_ASSERT(r.calls == 1 && r.status == 0);
	CU_ASSERT(memcmp(buf, fake_nvme_disk(&fake, 1, 0), len) == 0);
	CU_ASSERT(all_bytes(area, (size_t)(buf - area), 0xee));
	CU_ASSERT(all_bytes(buf + len, area_len - (size_t)(buf - area) - len, 0xee));
	CU_ASSERT_FATAL(zdk_nvme_ns_write(ns, qp, buf, 4096, nlb, done_cb, &w) == 0);
	drain(qp);
	CU_ASSERT(w.calls == 1 && w.status == 0);
	CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 4096), fake_nvme_disk(&fake, 1, 0), len) == 0);
}

/* Issue 9, item 7: the inline PRP2 of a two-page read in no-IOMMU mode. */
static void test_noiommu_scattered(void)
{
	static const size_t offs[] = { 0, 4, 2048, 4092 };
	struct zdk_nvme_qpair_opts sgl = { .size = sizeof(sgl), .prefer_sgl = true };
	struct zdk_nvme_qpair *qp;
	uint8_t *area, *other;
	uint64_t iova;

	setup_with(NULL);
	test_ext_reset(42, true);
	area = test_ext_alloc(6 * PG);
	other = test_ext_alloc(64 * PG);
	CU_ASSERT_FATAL(area && other);
	/* Everything mapped is a potential victim of a wrong address. */
	CU_ASSERT_FATAL(zdk_dma_map(area, 6 * PG, &iova) == 0);
	CU_ASSERT_FATAL(zdk_dma_map(other, 64 * PG, &iova) == 0);
	memset(other, 0x5a, 64 * PG);
	for (int pass = 0; pass < 2; pass++) {
		CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, pass ? &sgl : NULL, &qp) == 0);
		for (unsigned i = 0; i < ZDK_ARRAY_SIZE(offs); i++) {
			rw_ext(qp, area, 6 * PG, area + PG + offs[i], PG);      /* crosses a page */
			rw_ext(qp, area, 6 * PG, area + PG + offs[i], 2 * PG);  /* two or three */
			rw_ext(qp, area, 6 * PG, area + PG + offs[i], 3 * PG);  /* list or SGL */
		}
		CU_ASSERT(all_bytes(other, 64 * PG, 0x5a));
		zdk_nvme_qpair_free(qp);
	}
	CU_ASSERT(fake.nr_sgl > 0);
	CU_ASSERT(zdk_dma_unmap(area, 6 * PG) == 0 && zdk_dma_unmap(other, 64 * PG) == 0);
	teardown();
}

/* Issue 9, item 7, with an IOMMU: a buffer across two separate mappings. */
static void test_two_maps(void)
{
	struct zdk_nvme_qpair_opts sgl = { .size = sizeof(sgl), .prefer_sgl = true };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct iovec iov[2];
	struct done d = { 0 };
	uint8_t *area;
	uint64_t a, b;

	setup_with(NULL);
	ns = zdk_nvme_ns_get(ctrlr, 1);
	test_ext_reset(7, false);
	area = test_ext_alloc(8 * PG);
	CU_ASSERT_FATAL(zdk_dma_map(area, 4 * PG, &a) == 0);
	CU_ASSERT_FATAL(zdk_dma_map(area + 4 * PG, 4 * PG, &b) == 0);
	CU_ASSERT_FATAL(b != a + 4 * PG);
	for (int pass = 0; pass < 2; pass++) {
		CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, pass ? &sgl : NULL, &qp) == 0);
		rw_ext(qp, area, 8 * PG, area + 3 * PG + 512, PG);
		rw_ext(qp, area, 8 * PG, area + 3 * PG, 2 * PG);
		rw_ext(qp, area, 8 * PG, area + 2 * PG + 4, 3 * PG);
		rw_ext(qp, area, 8 * PG, area + 4, 6 * PG);
		/* A vector no PRP list can describe, each element across the boundary. */
		fill(area, 8 * PG, 3);
		iov[0] = (struct iovec){ area + 4 * PG - 1024, 2048 };
		iov[1] = (struct iovec){ area + 4 * PG - 512, 1024 };
		d.calls = 0;
		CU_ASSERT(zdk_nvme_ns_writev(ns, qp, iov, 2, 100, 6, done_cb, &d) == 0);
		drain(qp);
		CU_ASSERT(d.calls == 1 && d.status == 0);
		CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 100), iov[0].iov_base, 2048) == 0);
		CU_ASSERT(memcmp(fake_nvme_disk(&fake, 1, 104), iov[1].iov_base, 1024) == 0);
		zdk_nvme_qpair_free(qp);
	}
	CU_ASSERT(zdk_dma_unmap(area, 4 * PG) == 0 && zdk_dma_unmap(area + 4 * PG, 4 * PG) == 0);
	teardown();
}

/* Issue 9, item 9: no data buffer, or an unknown one, never reaches the SQ. */
static void test_refused_buffers(void)
{
	struct zdk_nvme_sqe read = { .opc = ZDK_NVME_OPC_READ, .nsid = 1 };
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	struct done d = { 0 };
	struct iovec iov = { NULL, 512 };
	uint8_t *ext, *buf;

	setup_with(NULL);
	ns = zdk_nvme_ns_get(ctrlr, 1);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, NULL, &qp) == 0);
	test_ext_reset(1, true);
	ext = test_ext_alloc(2 * PG); /* not mapped */
	buf = zdk_dma_zalloc(PG, PG, -1, NULL);
	/* No blocks: NLB would wrap to 65536 of them (NVM command set 3.3.4). */
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, buf, 0, 0, done_cb, &d) == -EINVAL);
	CU_ASSERT(zdk_nvme_ns_write(ns, qp, buf + 512, 0, 0, done_cb, &d) == -EINVAL);
	zdk_dma_free(buf);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, NULL, 0, 1, done_cb, &d) == -EINVAL);
	CU_ASSERT(zdk_nvme_ns_write(ns, qp, NULL, 0, 8, done_cb, &d) == -EINVAL);
	CU_ASSERT(zdk_nvme_qpair_submit(qp, &read, NULL, 512, done_cb, &d) == -EINVAL);
	CU_ASSERT(zdk_nvme_ns_readv(ns, qp, &iov, 1, 0, 1, done_cb, &d) == -EINVAL);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, ext, 0, 1, done_cb, &d) == -EFAULT);
	CU_ASSERT(zdk_nvme_ns_read(ns, qp, ext + 100, 0, 16, done_cb, &d) == -EFAULT);
	CU_ASSERT(zdk_nvme_ns_rw_sync(ns, qp, false, NULL, 0, 1) == -EINVAL);
	test_fake_run(&fake);
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(d.calls == 0 && zdk_nvme_qpair_outstanding(qp) == 0 && fake.nr_io == 0);
	zdk_nvme_qpair_free(qp);
	teardown();
}

static const struct zdk_test tests[] = {
	{ "no-IOMMU: scattered pages, inline/PRP/SGL", test_noiommu_scattered },
	{ "IOMMU: a buffer across two mappings", test_two_maps },
	{ "NULL and unknown buffers are refused", test_refused_buffers },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme-dma", NULL, NULL, tests);
}
