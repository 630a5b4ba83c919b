/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme_prop.c - property tests of the NVMe data path against the fake
 * controller, over the whole legal space: per case a random controller
 * (MDTS, CAP.MQES, SGL support, completion order) and IOMMU mode of the
 * external memory (no-IOMMU: every 4 KiB page at its own non-adjacent
 * frame; IOMMU: buffers across two mappings), random qpairs (2 to 4096
 * entries as CAP.MQES allows, SGL preferred or not, batched doorbells), and
 * a random interleaving of reads and writes (inline, PRP list, SGL,
 * vectored), polls, controller runs, resets, qpair frees and controller
 * detach/attach. Buffers: arena or zdk_dma_map()ped, at any dword offset,
 * any length up to MDTS, with guard bytes around them.
 *
 * Invariants after every step: no guard byte changes; at completion, a
 * command completes once, with success, a read's buffer holds what the
 * namespace holds, a write's data is on the namespace and its buffer was
 * not written. At the end of a case the namespaces equal the model.
 * ZDK_TEST_SEED reproduces a run, ZDK_TEST_CASES scales it.
 */
#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "test_env.h"
/* The driver under test, with the seams of test_env.h. */
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"
#include "nvme_test_util.h"

#define PG 4096u
#define GUARD 0xe7
#define MAX_IOV 8
#define MAX_CMDS 48

/* A data buffer between guard bytes, in the arena or zdk_dma_map()ped. */
struct pbuf {
	uint8_t *area, *data;
	size_t area_len, len, split; /* split: bytes of the first of two mappings, 0 = one */
	bool mapped;
};

struct pcmd {
	struct zdk_prop *p;
	bool busy, write;
	const struct zdk_nvme_ns *ns;
	uint64_t lba;
	uint32_t nlb;
	struct pbuf b[MAX_IOV];
	int nb;
	unsigned seed;
	int calls;
};

static struct {
	struct zdk_prop p;
	struct zdk_nvme_qpair *qp;
	struct pcmd cmd[MAX_CMDS];
	uint8_t *model[2];     /* what each namespace must hold */
	bool noiommu;
	unsigned done;         /* commands completed in this run */
} S;

static void pbuf_alloc(struct pbuf *b, size_t off, size_t len)
{
	struct zdk_prop *p = &S.p;
	uint64_t iova;

	b->len = len;
	b->area_len = (PG + off + len + PG + PG - 1) / PG * PG;
	b->split = 0;
	b->mapped = zdk_prop_chance(p, 1, 2) && (b->area = test_ext_alloc(b->area_len)) != NULL;
	if (b->mapped) {
		/* With an IOMMU, half the buffers span two separate mappings. */
		if (b->area_len > PG && zdk_prop_chance(p, 1, 2))
			b->split = zdk_prop_pick(p, 1, b->area_len / PG - 1) * PG;
		if (b->split) {
			ZDK_PROP_CHECK(p, zdk_dma_map(b->area, b->split, &iova) == 0);
			ZDK_PROP_CHECK(p, zdk_dma_map(b->area + b->split, b->area_len - b->split,
						      &iova) == 0);
		} else {
			ZDK_PROP_CHECK(p, zdk_dma_map(b->area, b->area_len, &iova) == 0);
		}
	} else {
		b->area = zdk_dma_zalloc(b->area_len, PG, -1, NULL);
		ZDK_PROP_CHECK(p, b->area != NULL);
	}
	b->data = b->area + PG + off;
	memset(b->area, GUARD, b->area_len);
}

static void pbuf_free(struct pbuf *b)
{
	if (!b->mapped) {
		zdk_dma_free(b->area);
		return;
	}
	if (b->split) {
		zdk_dma_unmap(b->area, b->split);
		zdk_dma_unmap(b->area + b->split, b->area_len - b->split);
	} else {
		zdk_dma_unmap(b->area, b->area_len);
	}
	test_ext_free(b->area, b->area_len);
}

static bool pbuf_guards_ok(const struct pbuf *b)
{
	size_t before = (size_t)(b->data - b->area);

	return all_bytes(b->area, before, GUARD) &&
	       all_bytes(b->data + b->len, b->area_len - before - b->len, GUARD);
}

static uint8_t pattern(unsigned seed, size_t i)
{
	return (uint8_t)(seed * 131 + i * 7 + (i >> 8) * 13 + 1);
}

static uint8_t *model_at(const struct pcmd *c)
{
	return S.model[c->ns->nsid - 1] + (c->lba << c->ns->lba_shift);
}

/* Check a finished command against the namespace and the model. */
static void pcmd_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct pcmd *c = arg;
	struct zdk_prop *p = c->p;
	const uint8_t *disk = fake_nvme_disk(&fake, c->ns->nsid, c->lba);
	uint8_t *model = model_at(c);
	size_t pos = 0;

	ZDK_PROP_CHECK(p, c->busy && c->calls == 0);
	c->calls++;
	ZDK_PROP_CHECK(p, ZDK_NVME_CPL_STATUS(cpl) == 0);
	for (int i = 0; i < c->nb; i++) {
		const struct pbuf *b = &c->b[i];

		ZDK_PROP_CHECK(p, pbuf_guards_ok(b));
		if (c->write) {
			/* The device read the buffer and wrote it to the namespace... */
			ZDK_PROP_CHECK(p, memcmp(disk + pos, b->data, b->len) == 0);
			/* ... and never wrote into it. */
			for (size_t k = 0; k < b->len; k++)
				ZDK_PROP_CHECK(p, b->data[k] == pattern(c->seed, pos + k));
			memcpy(model + pos, b->data, b->len);
		} else {
			ZDK_PROP_CHECK(p, memcmp(b->data, model + pos, b->len) == 0);
		}
		pos += b->len;
	}
	for (int i = 0; i < c->nb; i++)
		pbuf_free(&c->b[i]);
	c->busy = false;
	S.done++;
}

static bool overlaps(const struct zdk_nvme_ns *ns, uint64_t lba, uint32_t nlb)
{
	for (int i = 0; i < MAX_CMDS; i++) {
		const struct pcmd *c = &S.cmd[i];

		if (c->busy && c->ns == ns && lba < c->lba + c->nlb && c->lba < lba + nlb)
			return true;
	}
	return false;
}

/* Any dword offset in a page, with the edges often. */
static size_t pick_off(size_t len)
{
	struct zdk_prop *p = &S.p;

	switch (zdk_prop_pick(p, 0, 5)) {
	case 0:
		return 0;
	case 1:
		return PG - 4;
	case 2:
		return (PG - len % PG) % PG; /* ends on a page */
	default:
		return 4 * zdk_prop_pick(p, 0, PG / 4 - 1);
	}
}

/* Blocks: small (the inline path) half the time, up to MDTS otherwise. */
static uint32_t pick_nlb(const struct zdk_nvme_ns *ns, uint32_t cap_bytes)
{
	struct zdk_prop *p = &S.p;
	uint32_t max = ZDK_MIN(ns->max_blocks, cap_bytes >> ns->lba_shift);
	uint32_t small = ZDK_MAX((2 * PG) >> ns->lba_shift, 1u);

	uint32_t mid = zdk_prop_chance(p, 1, 8) ? max : 64u;

	/* (ZDK_MIN evaluates its arguments twice: no draws inside it.) */
	if (zdk_prop_chance(p, 1, 2))
		return (uint32_t)zdk_prop_pick(p, 1, ZDK_MIN(small, max));
	if (zdk_prop_chance(p, 1, 4))
		return max;
	return (uint32_t)zdk_prop_pick(p, 1, ZDK_MIN(max, mid));
}

/*
 * Split @len bytes into elements: a layout a PRP list can describe (inner
 * boundaries on pages) or any dword-aligned one. Returns whether PRPs fit.
 */
static bool split_iov(struct pcmd *c, size_t len, bool prp)
{
	struct zdk_prop *p = &S.p;
	size_t left = len;
	bool fits = true;

	c->nb = 0;
	while (left && c->nb < MAX_IOV) {
		size_t off, n, want;

		if (prp) {
			off = c->nb == 0 ? 4 * zdk_prop_pick(p, 0, PG / 4 - 1) : 0;
			want = PG - off + zdk_prop_pick(p, 0, 2) * PG;
		} else {
			off = 4 * zdk_prop_pick(p, 0, PG / 4 - 1);
			want = 4 * zdk_prop_pick(p, 1, 2 * PG / 4);
		}
		n = ZDK_MIN(left, want);
		if (c->nb == MAX_IOV - 1)
			n = left;
		pbuf_alloc(&c->b[c->nb], off, n);
		/* The driver's rule (base spec 4.1.1), as an oracle. */
		if ((c->nb > 0 && off) || (n < left && (off + n) % PG))
			fits = false;
		c->nb++;
		left -= n;
	}
	return fits;
}

static void submit_one(bool vectored)
{
	struct zdk_prop *p = &S.p;
	const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(ctrlr, (uint32_t)zdk_prop_pick(p, 1, 2));
	struct pcmd *c = NULL;
	struct iovec iov[MAX_IOV];
	bool prp_ok = true, write = zdk_prop_chance(p, 1, 2);
	uint32_t nlb;
	size_t len, pos = 0;
	int rc;

	for (int i = 0; i < MAX_CMDS && !c; i++)
		if (!S.cmd[i].busy)
			c = &S.cmd[i];
	if (!c || zdk_nvme_qpair_nfree(S.qp) == 0)
		return;
	/* Vectors without a PRP layout stay under 256 KiB: their runs fit one segment. */
	nlb = pick_nlb(ns, vectored ? 256 * 1024 : UINT32_MAX);
	len = (size_t)nlb << ns->lba_shift;
	*c = (struct pcmd){ .p = p, .write = write, .ns = ns, .nlb = nlb,
			    .seed = (unsigned)zdk_prop_next(p) };
	c->lba = zdk_prop_pick(p, 0, ns->nblocks - nlb);
	if (overlaps(ns, c->lba, nlb))
		return;
	if (vectored) {
		prp_ok = split_iov(c, len, zdk_prop_chance(p, 1, 2));
	} else {
		pbuf_alloc(&c->b[0], pick_off(len), len);
		c->nb = 1;
	}
	for (int i = 0; i < c->nb; i++) {
		iov[i] = (struct iovec){ c->b[i].data, c->b[i].len };
		for (size_t k = 0; k < c->b[i].len; k++)
			c->b[i].data[k] = write ? pattern(c->seed, pos + k) : 0x11;
		pos += c->b[i].len;
	}
	c->busy = true;
	if (!vectored)
		rc = write ? zdk_nvme_ns_write(ns, S.qp, c->b[0].data, c->lba, nlb, pcmd_cb, c)
			   : zdk_nvme_ns_read(ns, S.qp, c->b[0].data, c->lba, nlb, pcmd_cb, c);
	else
		rc = write ? zdk_nvme_ns_writev(ns, S.qp, iov, c->nb, c->lba, nlb, pcmd_cb, c)
			   : zdk_nvme_ns_readv(ns, S.qp, iov, c->nb, c->lba, nlb, pcmd_cb, c);
	if (!prp_ok && !zdk_nvme_ctrlr_sgl_supported(ctrlr)) {
		/* Neither PRPs nor (missing) SGLs describe it: refused, nothing sent. */
		ZDK_PROP_CHECK(p, rc == -EINVAL);
		rc = 1;
	} else {
		ZDK_PROP_CHECK(p, rc == 0);
	}
	if (rc) {
		c->busy = false;
		for (int i = 0; i < c->nb; i++)
			pbuf_free(&c->b[i]);
	}
}

/* Guard bytes of every buffer in flight: nothing outside a command is touched. */
static void check_all_guards(void)
{
	for (int i = 0; i < MAX_CMDS; i++)
		for (int j = 0; S.cmd[i].busy && j < S.cmd[i].nb; j++)
			ZDK_PROP_CHECK(&S.p, pbuf_guards_ok(&S.cmd[i].b[j]));
}

static void drain_all(void)
{
	for (int i = 0; i < 100000 && zdk_nvme_qpair_outstanding(S.qp); i++) {
		test_fake_run(&fake);
		zdk_nvme_qpair_poll(S.qp, 0);
	}
	ZDK_PROP_CHECK(&S.p, zdk_nvme_qpair_outstanding(S.qp) == 0);
	for (int i = 0; i < MAX_CMDS; i++)
		ZDK_PROP_CHECK(&S.p, !S.cmd[i].busy);
}

static void qpair_new(void)
{
	struct zdk_prop *p = &S.p;
	struct zdk_nvme_qpair_opts o = {
		.size = sizeof(o),
		.entries = 1u << zdk_prop_pick(p, 1, 12),
		.timeout_ms = ZDK_NVME_TIMEOUT_NONE,
		.batch = zdk_prop_chance(p, 1, 3),
		.prefer_sgl = zdk_prop_chance(p, 1, 2),
	};

	ZDK_PROP_CHECK(p, zdk_nvme_qpair_alloc(ctrlr, &o, &S.qp) == 0);
	/* As many entries as asked for and CAP.MQES allows, rounded down to a power of two. */
	ZDK_PROP_CHECK(p, S.qp->mask + 1u <= ZDK_MIN(o.entries, fake.mqes + 1u));
	ZDK_PROP_CHECK(p, (S.qp->mask + 1u) * 2 > ZDK_MIN(o.entries, fake.mqes + 1u));
}

static void one_case(void)
{
	struct zdk_prop *p = &S.p;
	unsigned steps = (unsigned)zdk_prop_pick(p, 10, 80);

	fake_nvme_init(&fake);
	fake.mdts = zdk_prop_chance(p, 1, 3) ? 0 : (uint8_t)zdk_prop_pick(p, 1, 10);
	fake.mqes = (uint16_t)zdk_prop_pick(p, 1, 2047);
	fake_nvme_set_cap(&fake, fake.mqes | 1u << 16 | 1u << 24 | 1ULL << 37 | 4ULL << 52);
	fake.sgls = zdk_prop_chance(p, 2, 3);
	fake.reverse = zdk_prop_chance(p, 1, 2);
	S.noiommu = zdk_prop_chance(p, 1, 2);
	test_ext_reset(zdk_prop_next(p), S.noiommu);
	test_fake = &fake;
	for (int n = 0; n < 2; n++)
		S.model[n] = calloc(fake.nblocks[n], 1u << fake.lba_shift[n]);
	ZDK_PROP_CHECK(p, nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &ctrlr) == 0);
	qpair_new();
	for (unsigned s = 0; s < steps; s++) {
		unsigned op = (unsigned)zdk_prop_pick(p, 0, 99);

		if (op < 45) {
			submit_one(op >= 30);
		} else if (op < 70) {
			test_fake_run(&fake);
		} else if (op < 92) {
			zdk_nvme_qpair_poll(S.qp, (uint32_t)zdk_prop_pick(p, 0, 3));
		} else if (op < 95) {
			ZDK_PROP_CHECK(p, zdk_nvme_ctrlr_reset(ctrlr) == 0);
		} else if (op < 98) {
			drain_all();
			zdk_nvme_qpair_free(S.qp);
			qpair_new();
		} else {
			/* Detach and attach again: the namespaces keep their data. */
			drain_all();
			zdk_nvme_qpair_free(S.qp);
			nvme_ctrlr_destroy(ctrlr);
			ZDK_PROP_CHECK(p, nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake",
							    &ctrlr) == 0);
			qpair_new();
		}
		check_all_guards();
	}
	drain_all();
	for (int n = 0; n < 2; n++) {
		ZDK_PROP_CHECK(p, memcmp(S.model[n], fake_nvme_disk(&fake, n + 1, 0),
					 fake.nblocks[n] << fake.lba_shift[n]) == 0);
		free(S.model[n]);
	}
	zdk_nvme_qpair_free(S.qp);
	nvme_ctrlr_destroy(ctrlr);
	ctrlr = NULL;
	fake_nvme_fini(&fake);
	ZDK_PROP_CHECK(p, test_dma_live == 0 && test_ext_maps() == 0);
}

static void test_data_path(void)
{
	unsigned cases = zdk_prop_cases(60);

	zdk_prop_begin(&S.p, "nvme-data-path");
	for (S.p.step = 0; S.p.step < cases; S.p.step++)
		one_case();
	printf("%u cases, %u commands checked\n", cases, S.done);
}

static const struct zdk_test tests[] = {
	{ "data path: random controllers, buffers, interleavings", test_data_path },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme-prop", NULL, NULL, tests);
}
