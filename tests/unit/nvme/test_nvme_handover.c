/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme_handover.c - NVMe controllers across a live handover, on the
 * fake controller. One process plays both sides: the "old" controller is
 * exported and made inert (as the old process lets go), the "new" one is
 * imported from the bytes over the same BAR and queue memory (the same
 * addresses, as a new process maps the arena), its qpair claimed.
 *
 *  - property: random qpairs and interleavings of reads and writes, fake
 *    runs (with fetches held, completions reversed), polls with budgets,
 *    admin commands, controller resets and handovers with commands in
 *    flight (posted and not reaped, or not fetched yet): every command
 *    completes exactly once, with its own cid, through its callback or the
 *    new process's inherited() handler, with its data; a new command never
 *    takes the index of one in flight; CC.EN is never set again (the fake
 *    counts enables and disables) and the counters say so;
 *  - strict parsing: every truncation refused, every byte flipped either
 *    refused or harmless, targeted lies (heads, tails, sizes, phases,
 *    command ids, queue ids, CAP, a disabled controller, another admin
 *    queue) refused, nothing left bound after a refusal;
 *  - what cannot be handed over is refused: split I/O in flight, no tag
 *    function, commands in flight in a reset handover, an unclaimed qpair
 *    with commands in flight at commit.
 */
#include <stdlib.h>
#include <string.h>

#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "test_env.h"
/* The driver under test, with the seams of test_env.h. */
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_handover.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"

/* lib/handover's side: the tests call the section functions directly. */
int handover_section_add(struct zdk_handover *h, const char *name, uint32_t version,
			 uint32_t flags, const void *data, size_t len)
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

#define BDF "0000:01:00.0"
#define SLOTS 48
#define SLOT_BLOCKS 16 /* LBAs each command slot owns on each namespace */

static struct fake_nvme fake;

/* ZDK_FUZZ_SEEDS=DIR: write this state as a seed of tests/fuzz/corpus/handover-blob. */
static void fuzz_seed(const char *name, uint8_t mode, uint8_t nfds, const void *p, size_t len)
{
	const char *dir = getenv("ZDK_FUZZ_SEEDS");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fputc(mode, f);
	fputc(nfds, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

struct hcmd {
	bool busy, write;
	uint32_t nsid, nlb;
	uint64_t lba;
	uint8_t *buf, *area;
	unsigned seed;
	uint16_t cid;
	int calls;
};

static struct {
	struct zdk_prop p;
	struct zdk_nvme_ctrlr *c;
	struct zdk_nvme_qpair *qp;
	struct hcmd cmd[SLOTS];
	uint8_t *model[2];
	unsigned done, handovers, inherited;
} H;

static void fill(uint8_t *b, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 29 + i * 13 + (i >> 8));
}

static void cmd_done(struct hcmd *m, const struct zdk_nvme_cpl *cpl)
{
	const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(H.c, m->nsid);
	size_t len = (size_t)m->nlb << ns->lba_shift, off = (size_t)m->lba << ns->lba_shift;

	ZDK_PROP_CHECK(&H.p, m->busy && m->calls == 0);
	ZDK_PROP_CHECK(&H.p, cpl->cid == m->cid && ZDK_NVME_CPL_STATUS(cpl) == 0);
	m->calls++;
	m->busy = false;
	if (m->write)
		memcpy(H.model[m->nsid - 1] + off, m->buf, len);
	else
		ZDK_PROP_CHECK(&H.p, memcmp(m->buf, H.model[m->nsid - 1] + off, len) == 0);
	zdk_dma_free(m->area);
	m->area = NULL;
	H.done++;
}

static void cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	cmd_done(arg, cpl);
}

static uint64_t tag_of(void *ctx, zdk_nvme_cb fn, void *arg)
{
	ZDK_PROP_CHECK(&H.p, fn == cb);
	return (uint64_t)((struct hcmd *)arg - H.cmd);
}

static void inherited(void *ctx, uint64_t tag, const struct zdk_nvme_cpl *cpl)
{
	ZDK_PROP_CHECK(&H.p, tag < SLOTS);
	H.inherited++;
	cmd_done(&H.cmd[tag], cpl);
}

static const struct zdk_nvme_handover_ops ops = {
	.size = sizeof(ops), .tag = tag_of, .inherited = inherited,
};

static struct zdk_nvme_qpair_opts qopts(struct zdk_prop *p)
{
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o) };

	o.entries = 1u << zdk_prop_pick(p, 1, 8);
	o.batch = zdk_prop_chance(p, 1, 2);
	o.prefer_sgl = zdk_prop_chance(p, 1, 2);
	return o;
}

/* A controller and a qpair of @entries (0: random), the namespaces modelled. */
static void bring_up(struct zdk_prop *p, uint32_t entries)
{
	struct zdk_nvme_qpair_opts o = qopts(p);

	if (entries)
		o.entries = entries;
	fake_nvme_init(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_attach(BDF, &H.c) == 0);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(H.c, &o, &H.qp) == 0);
	for (int i = 0; i < 2; i++) {
		H.model[i] = calloc(1, 8u << 20);
		memcpy(H.model[i], fake_nvme_disk(&fake, i + 1, 0), 8u << 20);
	}
}

static void submit(struct zdk_prop *p, unsigned slot)
{
	struct hcmd *m = &H.cmd[slot];
	const struct zdk_nvme_ns *ns;
	size_t off, len;
	int rc;

	m->nsid = (uint32_t)zdk_prop_pick(p, 1, 2);
	ns = zdk_nvme_ns_get(H.c, m->nsid);
	m->nlb = (uint32_t)zdk_prop_pick(p, 1, m->nsid == 1 ? SLOT_BLOCKS : 4);
	m->lba = (uint64_t)slot * SLOT_BLOCKS + zdk_prop_pick(p, 0, SLOT_BLOCKS - m->nlb);
	m->write = zdk_prop_chance(p, 1, 2);
	len = (size_t)m->nlb << ns->lba_shift;
	off = zdk_prop_pick(p, 0, 1023) * 4;
	m->area = zdk_dma_zalloc(len + off, 4096, ZDK_SOCKET_ANY, NULL);
	m->buf = m->area + off;
	m->seed = (unsigned)zdk_prop_next(p);
	if (m->write)
		fill(m->buf, len, m->seed);
	m->busy = true;
	m->calls = 0;
	rc = zdk_nvme_qpair_rw(H.qp, ns, m->write ? ZDK_NVME_OPC_WRITE : ZDK_NVME_OPC_READ, m->buf,
			       m->lba, m->nlb, cb, m);
	if (rc == -EAGAIN) {
		m->busy = false;
		zdk_dma_free(m->area);
		m->area = NULL;
		return;
	}
	ZDK_PROP_CHECK(p, rc == 0);
	m->cid = H.qp->sq[(H.qp->sq_tail - 1) & H.qp->mask].cid;
	/* Never the index of a command still in flight, inherited ones included. */
	for (unsigned i = 0; i < SLOTS; i++)
		ZDK_PROP_CHECK(p, i == slot || !H.cmd[i].busy ||
				  (H.cmd[i].cid & H.qp->cid_mask) != (m->cid & H.qp->cid_mask));
}

static void admin_identify(struct zdk_prop *p)
{
	struct zdk_nvme_sqe cmd = { .opc = ZDK_NVME_ADM_IDENTIFY, .cdw10 = ZDK_NVME_CNS_CTRLR };
	void *buf = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, NULL);

	ZDK_PROP_CHECK(p, zdk_nvme_ctrlr_admin(H.c, &cmd, buf, 4096, NULL) == 0);
	ZDK_PROP_CHECK(p, memcmp(((struct zdk_nvme_id_ctrlr *)buf)->sn, "FAKE0001", 8) == 0);
	zdk_dma_free(buf);
}

static void counters(struct zdk_nvme_ctrlr_counters *k)
{
	k->size = sizeof(*k);
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_counters_get(H.c, k) == 0);
}

/* The old process exports and lets go; the new one imports and claims. */
static void handover(struct zdk_prop *p)
{
	struct zdk_nvme_ctrlr_counters k0, k1;
	uint32_t enables = fake.nr_enables, disables = fake.nr_resets;
	struct hwriter w = { 0 };
	uint16_t qid = zdk_nvme_qpair_id(H.qp);
	int live;

	counters(&k0);
	/* After a reset the owner reconnects its qpair first (export refuses otherwise). */
	if (nvme_qpair(H.qp)->gen != atomic_load(&H.c->gen)) {
		struct hwriter busy = { 0 };

		ZDK_PROP_CHECK(p, nvme_ho_export(&busy, true) == -EBUSY);
		hw_free(&busy);
		zdk_nvme_qpair_tick(H.qp);
	}
	live = test_dma_live;
	ZDK_PROP_CHECK(p, zdk_nvme_qpair_handover_set(H.qp, &ops) == 0);
	ZDK_PROP_CHECK(p, nvme_ho_export(&w, true) == 0);
	nvme_ho_release();
	zdk_nvme_qpair_free(H.qp); /* the old application's cleanup: host memory only */
	ZDK_PROP_CHECK(p, zdk_nvme_ctrlr_next(NULL) == NULL && test_dma_live == live);
	ZDK_PROP_CHECK(p, nvme_ho_import(w.buf, w.len) == 0);
	hw_free(&w);
	H.c = zdk_nvme_ctrlr_next(NULL);
	ZDK_PROP_CHECK(p, H.c && zdk_pci_device_find(BDF)->driver_data == H.c);
	ZDK_PROP_CHECK(p, zdk_nvme_qpair_inherit(H.c, qid, &ops, &H.qp) == 0);
	ZDK_PROP_CHECK(p, nvme_ho_ready() == 0);
	nvme_ho_commit();
	counters(&k1);
	ZDK_PROP_CHECK(p, fake.nr_enables == enables && fake.nr_resets == disables);
	ZDK_PROP_CHECK(p, k1.enables == k0.enables && k1.resets == k0.resets &&
			  k1.handovers == k0.handovers + 1);
	ZDK_PROP_CHECK(p, (k1.cc & ZDK_NVME_CC_EN) && k1.asq == k1.admin_sq_iova &&
			  k1.acq == k1.admin_cq_iova && k1.asq == k0.asq);
	H.handovers++;
}

static void step(struct zdk_prop *p)
{
	unsigned what = (unsigned)zdk_prop_pick(p, 0, 19);

	if (what < 7) {
		for (unsigned n = (unsigned)zdk_prop_pick(p, 1, 8); n; n--) {
			unsigned slot = (unsigned)zdk_prop_pick(p, 0, SLOTS - 1);

			if (!H.cmd[slot].busy)
				submit(p, slot);
		}
	} else if (what < 10) {
		test_fake_run(&fake);
	} else if (what < 13) {
		zdk_nvme_qpair_poll(H.qp, (uint32_t)zdk_prop_pick(p, 0, 4));
	} else if (what == 13) {
		fake.io_hold = zdk_prop_chance(p, 1, 2);
		fake.reverse = zdk_prop_chance(p, 1, 2);
	} else if (what == 14) {
		admin_identify(p);
	} else if (what == 15) {
		if (zdk_prop_chance(p, 1, 8)) {
			bool hold = fake.io_hold;

			fake.io_hold = false; /* a reset needs the admin queue */
			ZDK_PROP_CHECK(p, zdk_nvme_ctrlr_reset(H.c) == 0);
			fake.io_hold = hold;
		}
	} else if (zdk_prop_chance(p, 1, 3)) {
		handover(p);
	}
}

static void drain_all(struct zdk_prop *p)
{
	fake.io_hold = false;
	for (int i = 0; i < 100000 && zdk_nvme_qpair_outstanding(H.qp); i++) {
		test_fake_run(&fake);
		zdk_nvme_qpair_poll(H.qp, 0);
	}
	ZDK_PROP_CHECK(p, zdk_nvme_qpair_outstanding(H.qp) == 0);
	for (unsigned i = 0; i < SLOTS; i++)
		ZDK_PROP_CHECK(p, !H.cmd[i].busy);
}

static void test_property(void)
{
	struct zdk_prop *p = &H.p;
	unsigned total_handovers = 0, total_inherited = 0, resets = 0;

	zdk_prop_begin(p, "nvme-handover");
	for (unsigned c = 0; c < zdk_prop_cases(40); c++) {
		struct zdk_nvme_ctrlr_counters k;

		p->step = c;
		memset(H.cmd, 0, sizeof(H.cmd));
		H.handovers = H.inherited = 0;
		bring_up(p, 0);
		for (unsigned s = 0; s < 400; s++)
			step(p);
		/* At least one handover with commands in flight in every case. */
		fake.io_hold = true;
		for (unsigned n = 0; n < 8; n++)
			if (!H.cmd[n].busy)
				submit(p, n);
		handover(p);
		drain_all(p);
		counters(&k);
		ZDK_PROP_CHECK(p, k.enables == 1 + k.resets && k.handovers == H.handovers);
		for (int i = 0; i < 2; i++)
			ZDK_PROP_CHECK(p, memcmp(H.model[i], fake_nvme_disk(&fake, i + 1, 0), 8u << 20) == 0);
		total_handovers += H.handovers;
		total_inherited += H.inherited;
		resets += (unsigned)k.resets;
		zdk_nvme_qpair_free(H.qp);
		zdk_nvme_ctrlr_detach(H.c);
		free(H.model[0]);
		free(H.model[1]);
		fake_nvme_fini(&fake);
		ZDK_PROP_CHECK(p, test_dma_live == 0);
	}
	printf("  %u handovers, %u inherited completions, %u resets\n", total_handovers,
	       total_inherited, resets);
	CU_ASSERT(total_inherited > 0);
}

/* An exported state with commands in flight, the old controller let go. */
static struct hwriter exported(void)
{
	struct zdk_prop *p = &H.p;
	struct hwriter w = { 0 };

	zdk_prop_begin(p, "nvme-handover-parse");
	memset(H.cmd, 0, sizeof(H.cmd));
	H.done = 0;
	bring_up(p, 64);
	for (unsigned n = 0; n < 12; n++)
		submit(p, n);
	test_fake_run(&fake);
	fake.io_hold = true;
	for (unsigned n = 12; n < 20; n++)
		submit(p, n);
	CU_ASSERT_FATAL(zdk_nvme_qpair_handover_set(H.qp, &ops) == 0);
	CU_ASSERT_FATAL(nvme_ho_export(&w, true) == 0);
	fuzz_seed("nvme-inflight", 3, 0, w.buf, w.len);
	return w;
}

static void let_go(void)
{
	nvme_ho_release();
	zdk_nvme_qpair_free(H.qp);
}

/* Import, claim, commit, drain: every command of the blob completes once. */
static void take_and_finish(const struct hwriter *w)
{
	uint16_t qid = 0;

	CU_ASSERT_FATAL(nvme_ho_import(w->buf, w->len) == 0);
	H.c = zdk_nvme_ctrlr_next(NULL);
	CU_ASSERT_FATAL(H.c && H.c->qpairs);
	qid = H.c->qpairs->qid;
	CU_ASSERT_FATAL(zdk_nvme_qpair_inherit(H.c, qid, &ops, &H.qp) == 0);
	CU_ASSERT(nvme_ho_ready() == 0);
	nvme_ho_commit();
	drain_all(&H.p);
	CU_ASSERT(H.done == 20);
	zdk_nvme_qpair_free(H.qp);
	zdk_nvme_ctrlr_detach(H.c);
	free(H.model[0]);
	free(H.model[1]);
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

/* A refused import leaves nothing bound and nothing allocated. */
static void import_refused(const void *buf, size_t len)
{
	int live = test_dma_live;

	CU_ASSERT(nvme_ho_import(buf, len) != 0);
	CU_ASSERT(zdk_nvme_ctrlr_next(NULL) == NULL);
	CU_ASSERT(zdk_pci_device_find(BDF)->driver == NULL);
	CU_ASSERT(test_dma_live == live);
}

static void test_truncated_and_flipped(void)
{
	struct hwriter w = exported();
	uint8_t *b = malloc(w.len);
	unsigned accepted = 0;

	let_go();
	H.done = 0;
	zdk_log_level = 0; /* thousands of refusals, each said once */
	for (size_t len = 0; len < w.len; len++)
		import_refused(w.buf, len);
	for (size_t i = 0; i < w.len; i++) {
		static const uint8_t x[] = { 0x01, 0x80, 0xff };

		for (unsigned k = 0; k < 3; k++) {
			memcpy(b, w.buf, w.len);
			b[i] ^= x[k];
			if (nvme_ho_import(b, w.len) == 0) {
				/* Harmless (a tag, an SQE byte, a counter): drop it unclaimed. */
				accepted++;
				nvme_ho_abort();
			}
			CU_ASSERT_FATAL(zdk_pci_device_find(BDF)->driver == NULL);
		}
	}
	zdk_log_level = ZDK_LOG_ERR;
	printf("  %zu bytes: every truncation refused; %u of %zu flips accepted as harmless\n",
	       w.len, accepted, 3 * w.len);
	free(b);
	take_and_finish(&w);
	hw_free(&w);
}

/* Lie about one thing in the old controller's state: the new one must refuse. */
static void lie(void (*tweak)(struct nvme_qpair *q, int undo))
{
	struct nvme_qpair *q;
	struct hwriter bad = { 0 };

	H.done = 0;
	{
		struct hwriter w = exported();

		q = nvme_qpair(H.qp);
		tweak(q, 0);
		CU_ASSERT_FATAL(nvme_ho_export(&bad, true) == 0);
		tweak(q, 1);
		let_go();
		import_refused(bad.buf, bad.len);
		take_and_finish(&w);
		hw_free(&w);
		hw_free(&bad);
	}
}

static uint16_t saved16;
static uint32_t saved32;
static uint64_t saved64;

static void t_sq_tail(struct nvme_qpair *q, int undo)
{
	/* The doorbell value too: the export would ring the lie otherwise. */
	if (!undo) {
		saved16 = q->qp.sq_tail;
		q->qp.sq_tail = q->qp.sq_rung = (uint16_t)q->entries;
	} else {
		q->qp.sq_tail = q->qp.sq_rung = saved16;
	}
}

static void t_cq_head(struct nvme_qpair *q, int undo)
{
	if (!undo)
		saved16 = q->qp.cq_head, q->qp.cq_head = (uint16_t)(q->entries + 3);
	else
		q->qp.cq_head = saved16;
}

static void t_phase(struct nvme_qpair *q, int undo)
{
	if (!undo)
		saved16 = q->qp.phase, q->qp.phase = 2;
	else
		q->qp.phase = saved16;
}

static void t_entries(struct nvme_qpair *q, int undo)
{
	if (!undo)
		saved32 = q->entries, q->entries = 3 * q->entries / 2;
	else
		q->entries = saved32;
}

static void t_dup_free(struct nvme_qpair *q, int undo)
{
	uint16_t i = q->qp.free_head & q->qp.cid_mask, j = (uint16_t)(q->qp.free_head + 1) & q->qp.cid_mask;

	if (!undo)
		saved16 = q->qp.free_cids[j], q->qp.free_cids[j] = q->qp.free_cids[i];
	else
		q->qp.free_cids[j] = saved16;
}

static void t_free_in_flight(struct nvme_qpair *q, int undo)
{
	/* A free id that names a command in flight: it would be reused under it. */
	uint16_t i = q->qp.free_head & q->qp.cid_mask;

	if (!undo)
		saved16 = q->qp.free_cids[i], q->qp.free_cids[i] = H.cmd[0].cid;
	else
		q->qp.free_cids[i] = saved16;
}

static void t_qid(struct nvme_qpair *q, int undo)
{
	if (!undo)
		saved16 = q->qid, q->qid = (uint16_t)(q->qp.ctrlr->nr_io_queues + 1);
	else
		q->qid = saved16;
}

static void t_sqe_cid(struct nvme_qpair *q, int undo)
{
	struct zdk_nvme_req *r = &q->qp.reqs[H.cmd[0].cid & q->qp.cid_mask];

	if (!undo)
		saved16 = r->sqe.cid, r->sqe.cid ^= 0x100;
	else
		r->sqe.cid = saved16;
}

static void t_sq_iova(struct nvme_qpair *q, int undo)
{
	if (!undo)
		saved64 = q->sq_iova, q->sq_iova += 4096;
	else
		q->sq_iova = saved64;
}

static void t_cap(struct nvme_qpair *q, int undo)
{
	/* CAP.TO changed: bring-up's numbers no longer follow from it. */
	if (!undo)
		saved64 = q->qp.ctrlr->cap, q->qp.ctrlr->cap ^= 1ULL << 25;
	else
		q->qp.ctrlr->cap = saved64;
}

static void test_lies(void)
{
	void (*tweaks[])(struct nvme_qpair *, int) = {
		t_sq_tail, t_cq_head, t_phase, t_entries, t_dup_free, t_free_in_flight, t_qid,
		t_sqe_cid, t_sq_iova, t_cap,
	};

	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(tweaks); i++)
		lie(tweaks[i]);
}

/* The controller must still be as handed over: enabled, on the same admin queue. */
static void test_device_changed(void)
{
	uint32_t *cc = (uint32_t *)(fake.bar + ZDK_NVME_REG_CC), saved;
	uint64_t *asq;
	struct hwriter w = exported();

	let_go();
	saved = *cc;
	*cc &= ~ZDK_NVME_CC_EN; /* as if someone disabled it (the fake is not run) */
	import_refused(w.buf, w.len);
	*cc = saved;
	asq = (uint64_t *)(fake.bar + ZDK_NVME_REG_ASQ);
	*asq += 4096;
	import_refused(w.buf, w.len);
	*asq -= 4096;
	take_and_finish(&w);
	hw_free(&w);
}

static void ignore_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
}

static void test_refusals(void)
{
	struct zdk_nvme_handover_ops no_tag = { .size = sizeof(no_tag), .inherited = inherited };
	struct hwriter w = { 0 };
	struct zdk_prop *p = &H.p;
	const struct zdk_nvme_ns *ns;
	void *big;
	uint16_t qid;

	zdk_prop_begin(p, "nvme-handover-refusals");
	memset(H.cmd, 0, sizeof(H.cmd));
	bring_up(p, 64);
	fake.io_hold = true;
	submit(p, 0);
	/* No tag function. */
	CU_ASSERT(zdk_nvme_qpair_handover_set(H.qp, &no_tag) == 0);
	CU_ASSERT(nvme_ho_export(&w, true) == -EINVAL);
	hw_free(&w);
	/* A reset handover needs the commands drained. */
	CU_ASSERT(nvme_ho_export(&w, false) == -EBUSY);
	hw_free(&w);
	/* A split I/O in flight (its callback is the driver's). */
	ns = zdk_nvme_ns_get(H.c, 1);
	big = zdk_dma_zalloc(8u << 20, 4096, ZDK_SOCKET_ANY, NULL);
	CU_ASSERT(zdk_nvme_ns_read(ns, H.qp, big, 0, 2 * ns->max_blocks, ignore_cb, NULL) == 0);
	CU_ASSERT(zdk_nvme_qpair_handover_set(H.qp, &ops) == 0);
	CU_ASSERT(nvme_ho_export(&w, true) == -EBUSY);
	hw_free(&w);
	/* A bad ops size. */
	no_tag.size = 0;
	CU_ASSERT(zdk_nvme_qpair_handover_set(H.qp, &no_tag) == -EINVAL);
	/* Let everything finish, then hand over with one command in flight. */
	fake.io_hold = false;
	for (int i = 0; i < 1000 && zdk_nvme_qpair_outstanding(H.qp); i++) {
		test_fake_run(&fake);
		zdk_nvme_qpair_poll(H.qp, 0);
	}
	zdk_dma_free(big);
	fake.io_hold = true;
	submit(p, 1);
	qid = zdk_nvme_qpair_id(H.qp);
	CU_ASSERT_FATAL(nvme_ho_export(&w, true) == 0);
	let_go();
	CU_ASSERT_FATAL(nvme_ho_import(w.buf, w.len) == 0);
	H.c = zdk_nvme_ctrlr_next(NULL);
	/* Unclaimed with a command in flight: not ready. */
	CU_ASSERT(nvme_ho_ready() == -EBUSY);
	CU_ASSERT(zdk_nvme_qpair_inherit(H.c, (uint16_t)(qid + 1), &ops, &H.qp) == -ENOENT);
	no_tag.size = sizeof(no_tag);
	no_tag.inherited = NULL;
	CU_ASSERT(zdk_nvme_qpair_inherit(H.c, qid, &no_tag, &H.qp) == -EINVAL);
	CU_ASSERT_FATAL(zdk_nvme_qpair_inherit(H.c, qid, &ops, &H.qp) == 0);
	CU_ASSERT(zdk_nvme_qpair_inherit(H.c, qid, &ops, &H.qp) == -ENOENT); /* claimed already */
	CU_ASSERT(nvme_ho_ready() == 0);
	nvme_ho_commit();
	drain_all(p);
	CU_ASSERT(H.cmd[1].calls == 1);
	zdk_nvme_qpair_free(H.qp);
	zdk_nvme_ctrlr_detach(H.c);
	hw_free(&w);
	free(H.model[0]);
	free(H.model[1]);
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

/* An idle qpair nobody claims is freed at commit (its queues deleted). */
static void test_unclaimed_idle(void)
{
	struct zdk_nvme_qpair *second;
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o) };
	struct hwriter w = { 0 };

	zdk_prop_begin(&H.p, "nvme-handover-unclaimed");
	memset(H.cmd, 0, sizeof(H.cmd));
	bring_up(&H.p, 64);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(H.c, &o, &second) == 0);
	CU_ASSERT_FATAL(nvme_ho_export(&w, true) == 0);
	fuzz_seed("nvme-idle-two", 3, 0, w.buf, w.len);
	nvme_ho_release();
	zdk_nvme_qpair_free(second);
	zdk_nvme_qpair_free(H.qp);
	CU_ASSERT_FATAL(nvme_ho_import(w.buf, w.len) == 0);
	H.c = zdk_nvme_ctrlr_next(NULL);
	CU_ASSERT(nvme_ho_ready() == 0);
	nvme_ho_commit();
	CU_ASSERT(H.c->qpairs == NULL);
	CU_ASSERT(fake.sq[1].valid == false && fake.sq[2].valid == false);
	zdk_nvme_ctrlr_detach(H.c);
	hw_free(&w);
	free(H.model[0]);
	free(H.model[1]);
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

static const struct zdk_test tests[] = {
	{ "property: handovers amid I/O, resets and admin commands", test_property },
	{ "truncated and flipped state refused or harmless", test_truncated_and_flipped },
	{ "lies about the state refused", test_lies },
	{ "a controller changed since refused", test_device_changed },
	{ "what cannot be handed over is refused", test_refusals },
	{ "an idle qpair left unclaimed is freed", test_unclaimed_idle },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme-handover", NULL, NULL, tests);
}
