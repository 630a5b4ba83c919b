/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_ns.c - NVM command set commands other than the inline read/write:
 * Flush, Write Zeroes, Dataset Management, vectored I/O, synchronous I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"

static int rw_one(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns, uint8_t opc, void *buf,
		  uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	struct zdk_nvme_sqe cmd = {
		.opc = opc, .nsid = ns->nsid, .cdw10 = (uint32_t)lba,
		.cdw11 = (uint32_t)(lba >> 32), .cdw12 = nlb - 1,
	};

	return zdk_nvme_qpair_submit(qp, &cmd, buf, (size_t)nlb << ns->lba_shift, cb, arg);
}

/*
 * A read or write larger than the controller takes in one command (MDTS, or
 * NLB's 65536 blocks) goes out as commands of ns->max_blocks each, as SPDK
 * splits them; the caller's callback runs once, when the last one completes,
 * with the first failure's completion (or the last success's).
 */
struct split_io {
	zdk_nvme_cb cb;
	void *arg;
	uint32_t left;            /* commands not completed yet */
	bool failed;
	struct zdk_nvme_cpl cpl;  /* what the caller's callback gets */
};

static void split_child_done(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct split_io *s = arg;

	if (!s->failed) {
		s->cpl = *cpl;
		s->failed = ZDK_NVME_CPL_STATUS(cpl) != 0;
	}
	if (--s->left)
		return;
	s->cb(s->arg, &s->cpl);
	free(s);
}

static int rw_split(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns, uint8_t opc,
		    char *buf, uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	uint32_t step = ns->max_blocks, n = (nlb + step - 1) / step;
	struct split_io *s;
	int rc;

	/* All or nothing: every command must find a command id now. */
	if (zdk_nvme_qpair_nfree(qp) < n)
		return -EAGAIN;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct split_io){ .cb = cb, .arg = arg, .left = n };
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = ZDK_MIN(step, nlb - i * step);

		rc = rw_one(qp, ns, opc, buf + ((size_t)i * step << ns->lba_shift), lba + i * step,
			    k, split_child_done, s);
		if (rc && i == 0) {
			free(s);
			return rc;
		}
		if (rc) {
			/* Those sent will complete; the caller hears of the failure
			 * once, through its callback, as a transfer error. */
			s->left -= n - i;
			s->failed = true;
			s->cpl = (struct zdk_nvme_cpl){ .status = ZDK_NVME_SC_DATA_XFER_ERROR << 1 };
			break;
		}
	}
	return 0;
}

int zdk_nvme_qpair_rw_slow(struct zdk_nvme_qpair *qp, const struct zdk_nvme_ns *ns, uint8_t opc,
			   void *buf, uint64_t lba, uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	/* PRP1 0 would have the device DMA to (physical) address 0. */
	if (!buf || nlb == 0)
		return -EINVAL;
	if (nlb > ns->max_blocks)
		return rw_split(qp, ns, opc, buf, lba, nlb, cb, arg);
	return rw_one(qp, ns, opc, buf, lba, nlb, cb, arg);
}

int zdk_nvme_ns_flush(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, zdk_nvme_cb cb,
		      void *arg)
{
	struct zdk_nvme_sqe cmd = { .opc = ZDK_NVME_OPC_FLUSH, .nsid = ns->nsid };

	return zdk_nvme_qpair_submit(qp, &cmd, NULL, 0, cb, arg);
}

int zdk_nvme_ns_write_zeroes(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, uint64_t lba,
			     uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	struct zdk_nvme_sqe cmd = {
		.opc = ZDK_NVME_OPC_WRITE_ZEROES, .nsid = ns->nsid, .cdw10 = (uint32_t)lba,
		.cdw11 = (uint32_t)(lba >> 32), .cdw12 = nlb - 1,
	};

	if (!(ns->ctrlr->id.oncs & ZDK_NVME_ONCS_WRITE_ZEROES))
		return -ENOTSUP;
	if (nlb == 0 || nlb > 65536)
		return -EINVAL;
	return zdk_nvme_qpair_submit(qp, &cmd, NULL, 0, cb, arg);
}

int zdk_nvme_ns_deallocate(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, uint64_t lba,
			   uint32_t nlb, zdk_nvme_cb cb, void *arg)
{
	/* One range, NR 0-based, AD bit 2 (NVM command set 3.2.1). */
	struct zdk_nvme_sqe cmd = {
		.opc = ZDK_NVME_OPC_DSM, .nsid = ns->nsid, .cdw10 = 0, .cdw11 = 1u << 2,
	};
	struct zdk_nvme_dsm_range range = { .nlb = nlb, .slba = lba };

	if (!(ns->ctrlr->id.oncs & ZDK_NVME_ONCS_DSM))
		return -ENOTSUP;
	if (nlb == 0)
		return -EINVAL;
	return nvme_qpair_submit_copy(qp, &cmd, &range, sizeof(range), cb, arg);
}

static int ns_rwv(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, uint8_t opc,
		  const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb, zdk_nvme_cb cb,
		  void *arg)
{
	struct zdk_nvme_sqe cmd = {
		.opc = opc, .nsid = ns->nsid, .cdw10 = (uint32_t)lba,
		.cdw11 = (uint32_t)(lba >> 32), .cdw12 = nlb - 1,
	};
	uint64_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (nlb == 0 || nlb > ns->max_blocks || len != (uint64_t)nlb << ns->lba_shift)
		return -EINVAL;
	return zdk_nvme_qpair_submitv(qp, &cmd, iov, iovcnt, cb, arg);
}

int zdk_nvme_ns_readv(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
		      const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		      zdk_nvme_cb cb, void *arg)
{
	return ns_rwv(ns, qp, ZDK_NVME_OPC_READ, iov, iovcnt, lba, nlb, cb, arg);
}

int zdk_nvme_ns_writev(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp,
		       const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		       zdk_nvme_cb cb, void *arg)
{
	return ns_rwv(ns, qp, ZDK_NVME_OPC_WRITE, iov, iovcnt, lba, nlb, cb, arg);
}

struct sync_io {
	uint16_t status;
	bool done;
};

static void sync_io_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct sync_io *s = arg;

	s->status = ZDK_NVME_CPL_STATUS(cpl);
	s->done = true;
}

int zdk_nvme_ns_rw_sync(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, bool write,
			void *buf, uint64_t lba, uint32_t nlb)
{
	struct sync_io s = { .done = false };
	int rc;

	if (!buf || nlb == 0 || nlb > ns->nblocks || lba > ns->nblocks - nlb)
		return -EINVAL;
	rc = zdk_nvme_qpair_rw(qp, ns, write ? ZDK_NVME_OPC_WRITE : ZDK_NVME_OPC_READ, buf, lba,
			       nlb, sync_io_cb, &s);
	if (rc)
		return rc;
	while (!s.done)
		if (!zdk_nvme_qpair_poll(qp, 0))
			NVME_IDLE(ns->ctrlr, 0);
	return s.status ? -EIO : 0;
}

bool nvme_ns_cb_internal(zdk_nvme_cb cb)
{
	return cb == split_child_done || cb == sync_io_cb;
}
