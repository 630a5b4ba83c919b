// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_nvme_identify.c - NVMe controller bring-up against a controller whose
 * register values and admin answers come from the input.
 *
 * Input: CAP (8 bytes), a BAR0 length selector (1 byte), then the fake
 * controller's hostile stream (tests/unit/nvme/fake_nvme.c, evil_*): Identify
 * Controller / active list / Identify Namespace fields (MDTS, NN, SGLS,
 * RTD3E, NSZE, NLBAF, FLBAS, LBA formats), Set Features answers, mangled
 * admin completions, CSTS reading all ones. Checked (abort() otherwise):
 * bring-up fails cleanly or leaves a controller whose every derived value is
 * in range: transfer size, queue count within what BAR0's doorbells and
 * Set Features allow, a bounded namespace table sorted by nsid, namespaces
 * whose LBA size and block limit are usable; shutdown frees everything.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/nvme/nvme_ctrlr.c"
#include "../../drivers/nvme/nvme_ns.c"
#include "../../drivers/nvme/nvme_pci.c"
#include "../../drivers/nvme/nvme_qpair.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

static void check_ctrlr(const struct zdk_nvme_ctrlr *c, size_t bar_len)
{
	uint32_t prev = 0;

	check(c->max_xfer >= ZDK_NVME_PAGE_SIZE && c->max_xfer <= NVME_MAX_XFER);
	check(c->max_qid >= 1 && c->max_qid <= NVME_MAX_IO_QUEUES);
	check(ZDK_NVME_REG_DBS + (2u * c->max_qid + 2) * c->db_stride <= bar_len);
	check(c->nr_io_queues <= c->max_qid);
	check(c->nr_ns <= NVME_MAX_NS && (c->nr_ns == 0 || c->ns));
	for (uint32_t i = 0; i < c->nr_ns; i++) {
		const struct zdk_nvme_ns *ns = &c->ns[i];

		check(ns->nsid > prev && ns->nsid <= c->nn && ns->ctrlr == c);
		prev = ns->nsid;
		if (!ns->active)
			continue;
		check(ns->lba_shift >= 9 && ns->lba_shift <= 16 && ns->lba_size == 1u << ns->lba_shift);
		check(ns->max_blocks >= 1 && ns->max_blocks <= 65536);
		check(((uint64_t)ns->max_blocks << ns->lba_shift) <= c->max_xfer);
		check(ns->nblocks >= 1);
		check(zdk_nvme_ns_get((struct zdk_nvme_ctrlr *)c, ns->nsid) == ns);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_nvme fake;
	static const size_t bar_lens[] = { FAKE_BAR_SIZE, 0x1000 + 8, 0x1000 + 16, 0x1000 + 40,
					   0x1000 + 256, 0x2000, 0x1000 };
	struct zdk_nvme_ctrlr *c = NULL;
	uint64_t cap = 0;
	size_t bar_len;

	if (size < 9)
		return 0;
	memcpy(&cap, data, 8);
	bar_len = bar_lens[data[8] % (sizeof(bar_lens) / sizeof(bar_lens[0]))];
	zdk_log_level = -1;
	test_time_warp = 100000; /* CAP.TO and admin timeouts in a hundred steps */
	fake_nvme_init(&fake);
	/* The fake keeps its doorbells inside its BAR whatever CAP claims. */
	fake.mqes = (uint16_t)ZDK_NVME_CAP_MQES(cap);
	fake.dstrd = ZDK_MIN(ZDK_NVME_CAP_DSTRD(cap), 5u);
	fake_nvme_set_cap(&fake, cap);
	fake.evil = data + 9;
	fake.evil_len = size - 9;
	fake.evil_admin = true;
	test_fake = &fake;
	if (nvme_ctrlr_create(fake.bar, bar_len, "fuzz", &c) == 0) {
		check_ctrlr(c, bar_len);
		nvme_ctrlr_destroy(c);
	}
	fake_nvme_fini(&fake);
	check(test_dma_live == 0);
	return 0;
}
