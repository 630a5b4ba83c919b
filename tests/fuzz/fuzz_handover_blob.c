// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_handover_blob.c - the parsers of a live handover's state on any
 * bytes: the container (header, section table, CRC), the eal section
 * (arena, IOMMU, devices) and the nvme section (controllers, namespaces,
 * qpairs, command ids in flight). The first input byte picks the parser
 * (0 container, then its sections; 1 eal live; 2 eal reset; 3 nvme), the
 * second says how many fds came with the blob; the rest is the blob.
 *
 * Checked (abort() otherwise): a parse fails cleanly or yields values in
 * range: sections inside the blob and apart; segments tiling the arena,
 * page multiples, fd indexes below the fds received and each used once;
 * every qpair's heads, tails and phase inside its queue, free and in-flight
 * command ids together each index exactly once, each in-flight command's
 * SQE naming its cid; nothing leaks (ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/nvme/nvme_ctrlr.c"
#include "../../drivers/nvme/nvme_handover.c"
#include "../../drivers/nvme/nvme_ns.c"
#include "../../drivers/nvme/nvme_pci.c"
#include "../../drivers/nvme/nvme_qpair.c"
#include "eal_handover.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int handover_section_add(struct zdk_handover *h, const char *name, uint32_t version,
			 uint32_t flags, const void *p, size_t len)
{
	return -ENOTSUP;
}

const struct handover_section *handover_section_get(struct zdk_handover *h, const char *name)
{
	return NULL;
}

void handover_provider_register(struct handover_provider *p)
{
}

static void eal_check(const struct eal_ho_state *st, uint32_t nfds, bool live)
{
	uint8_t seen[HANDOVER_MAX_FDS] = { 0 };
	uint64_t at = 0;

	for (unsigned i = 0; i < st->mem.nsegs; i++) {
		const struct mem_handover_seg *s = &st->mem.segs[i];

		check(s->off == at && s->len && s->len % st->mem.pgsz == 0);
		check((uint32_t)s->fd < nfds && !seen[s->fd]++);
		check(strlen(s->path) < sizeof(s->path));
		at += s->len;
	}
	check(at == st->mem.len);
	check(!live || (st->mem.nsegs && st->mem.base % st->mem.pgsz == 0));
	if (st->iommu)
		check((uint32_t)st->iommu_fd < nfds && !seen[st->iommu_fd]++);
	for (unsigned d = 0; d < st->ndevs; d++)
		check(live ? (uint32_t)st->devs[d].fd < nfds && !seen[st->devs[d].fd]++
			   : st->devs[d].fd == -1);
}

static void qpair_check(const struct nvme_qpair *q)
{
	const struct zdk_nvme_qpair *qp = &q->qp;
	uint8_t *seen = calloc((size_t)qp->cid_mask + 1, 1);
	uint32_t n = 0;

	check(seen && ZDK_IS_POW2(q->entries) && qp->mask == q->entries - 1);
	check(qp->sq_tail < q->entries && qp->sq_rung < q->entries && qp->cq_head < q->entries &&
	      qp->cq_rung < q->entries && qp->phase <= 1);
	for (uint16_t i = qp->free_head; i != qp->free_tail; i++, n++)
		check(!seen[qp->free_cids[i & qp->cid_mask] & qp->cid_mask]++);
	for (uint32_t idx = 0; idx <= qp->cid_mask; idx++) {
		const struct zdk_nvme_req *r = &qp->reqs[idx];

		if (!r->cb)
			continue;
		check(r->cb == inherited_done && (r->cid & qp->cid_mask) == idx);
		check(r->sqe.cid == r->cid && !seen[idx]++);
		n++;
	}
	check(n == (uint32_t)qp->cid_mask + 1);
	free(seen);
}

static void nvme_parse_all(const uint8_t *p, size_t len)
{
	struct hreader r;
	uint32_t n;

	hr_init(&r, p, len);
	n = hr_u32(&r);
	for (uint32_t i = 0; i < n && i < MAX_CTRLRS && !r.bad; i++) {
		struct zdk_nvme_ctrlr *c;

		if (nvme_ho_parse(&r, &c))
			return;
		qpair_check(&c->admin);
		check(c->admin.entries == NVME_ADMIN_ENTRIES);
		for (const struct nvme_qpair *q = c->qpairs; q; q = q->next) {
			qpair_check(q);
			check(q->qid >= 1 && q->qid <= c->nr_io_queues);
		}
		for (uint32_t k = 0; k < c->nr_ns; k++)
			check(!c->ns[k].active || (c->ns[k].lba_shift >= 9 && c->ns[k].lba_shift <= 16));
		ctrlr_parsed_free(c);
	}
}

static void container(const uint8_t *p, size_t len, uint32_t nfds)
{
	struct handover_blob b;
	struct eal_ho_state st;

	if (handover_blob_parse(p, len, nfds, &b))
		return;
	for (uint32_t i = 0; i < b.nsections; i++) {
		const struct handover_section *s = &b.sect[i];

		check(s->data >= p && s->data + s->len <= p + len);
		check(i == 0 || s->data >= b.sect[i - 1].data + b.sect[i - 1].len);
		if (!strcmp(s->name, "eal") &&
		    !eal_ho_parse(s->data, s->len, nfds, b.mode == ZDK_HANDOVER_LIVE, &st))
			eal_check(&st, nfds, b.mode == ZDK_HANDOVER_LIVE);
		if (!strcmp(s->name, "nvme"))
			nvme_parse_all(s->data, s->len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct eal_ho_state st;
	uint32_t nfds;

	if (size < 2)
		return 0;
	zdk_log_level = 0;
	nfds = data[1] % (HANDOVER_MAX_FDS + 2);
	switch (data[0] % 4) {
	case 0:
		container(data + 2, size - 2, nfds);
		break;
	case 1:
	case 2:
		if (!eal_ho_parse(data + 2, size - 2, nfds, data[0] % 4 == 1, &st))
			eal_check(&st, nfds, data[0] % 4 == 1);
		break;
	default:
		nvme_parse_all(data + 2, size - 2);
		break;
	}
	return 0;
}
