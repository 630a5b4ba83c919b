/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-vmcheck - the checks the nvme-*.sh VM tests run against QEMU's
 * controller through the real VFIO:
 *
 *   gen SEED OFFSET BYTES              pattern bytes at a byte offset, on stdout (no init)
 *   [zdk options] -- identify 1:512,2:4096   namespaces and LBA sizes as expected
 *   [zdk options] -- write NSID LBA BYTES SEED   write the pattern, synchronously
 *   [zdk options] -- check NSID LBA BYTES SEED   read back and compare with it
 *   [zdk options] -- stress NSID MIB SEED [reset]
 *       MIB MiB of writes of random sizes (1 block .. max transfer) at random
 *       offsets, up to 16 in flight on one qpair, some from unaligned buffers,
 *       some vectored, some through SGLs; then everything read back in random
 *       chunks and compared with a copy in RAM. With "reset", the controller is
 *       reset three times while writes are in flight: nothing may be lost,
 *       failed, or completed twice.
 *   [zdk options] -- extmem NSID SEED
 *       I/O from ordinary mmap()ed memory registered with zdk_dma_map():
 *       writes and reads of several sizes and offsets compared; the same
 *       memory before registration is refused (-EFAULT), never sent.
 *   [zdk options without the device] -- lateattach BDF NSID SEED
 *       zdk_eal_init() opened no device (pass -b BDF): buffers allocated
 *       before the controller exists are written and read back after
 *       zdk_nvme_ctrlr_attach(), with a zdk_dma_map()ped region too; then
 *       detach (type1: the container loses every mapping with its last
 *       group) and attach again: both read back intact, and new writes too.
 *
 * Exit status 0 on success, 1 with a message naming what differed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_mem.h"
#include "zdk_nvme.h"

#define INFLIGHT 16
#define REGION (64ULL << 20) /* the stress test works in the first 64 MiB */

static uint8_t pattern_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = (off / 8 + 1) * 0x9e3779b97f4a7c15ULL ^ seed * 0xff51afd7ed558ccdULL;

	x ^= x >> 29;
	return (uint8_t)(x >> ((off % 8) * 8));
}

static void pattern_fill(uint8_t *p, uint64_t seed, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(seed, off + i);
}

static int cmd_gen(int argc, char **argv)
{
	uint64_t seed, off, len;
	uint8_t buf[65536];

	if (argc != 4)
		return 2;
	seed = strtoull(argv[1], NULL, 0);
	off = strtoull(argv[2], NULL, 0);
	len = strtoull(argv[3], NULL, 0);
	for (uint64_t done = 0; done < len;) {
		size_t n = (size_t)ZDK_MIN(len - done, sizeof(buf));

		pattern_fill(buf, seed, off + done, n);
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		done += n;
	}
	return 0;
}

static struct zdk_nvme_ctrlr *ctrlr;

static int cmd_identify(const char *want)
{
	const struct zdk_nvme_id_ctrlr *id = zdk_nvme_ctrlr_data(ctrlr);
	char spec[128], *tok, *save;
	int bad = 0;

	printf("%s: %.40s serial %.20s, %u namespaces, max transfer %u, SGL %s\n",
	       zdk_nvme_ctrlr_name(ctrlr), id->mn, id->sn, id->nn, zdk_nvme_ctrlr_max_xfer(ctrlr),
	       zdk_nvme_ctrlr_sgl_supported(ctrlr) ? "yes" : "no");
	for (const struct zdk_nvme_ns *ns = zdk_nvme_ns_next(ctrlr, NULL); ns; ns = zdk_nvme_ns_next(ctrlr, ns))
		printf("  nsid %u: %" PRIu64 " blocks of %u bytes (%" PRIu64 " MiB)\n", ns->nsid,
		       ns->nblocks, ns->lba_size, (ns->nblocks << ns->lba_shift) >> 20);
	snprintf(spec, sizeof(spec), "%s", want);
	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned nsid, lbas;
		const struct zdk_nvme_ns *ns;

		if (sscanf(tok, "%u:%u", &nsid, &lbas) != 2)
			return 2;
		ns = zdk_nvme_ns_get(ctrlr, nsid);
		if (!ns || ns->lba_size != lbas || ns->nblocks == 0) {
			printf("FAIL: nsid %u: want LBA size %u, got %u\n", nsid, lbas, ns ? ns->lba_size : 0);
			bad = 1;
		}
	}
	return bad;
}

static int rw_pattern(const struct zdk_nvme_ns *ns, bool write, uint64_t lba, uint64_t bytes,
		      uint64_t seed)
{
	uint32_t chunk = ZDK_MIN(zdk_nvme_ctrlr_max_xfer(ctrlr), 128u << 10);
	struct zdk_nvme_qpair *qp;
	uint8_t *buf, *want;
	int rc = 0;

	if (bytes % ns->lba_size || zdk_nvme_qpair_alloc(ctrlr, NULL, &qp))
		return 2;
	buf = zdk_dma_zalloc(chunk, 4096, ZDK_SOCKET_ANY, NULL);
	want = malloc(chunk);
	for (uint64_t done = 0; rc == 0 && done < bytes; done += chunk) {
		uint32_t n = (uint32_t)ZDK_MIN(bytes - done, chunk);
		uint64_t off = (lba << ns->lba_shift) + done;

		pattern_fill(want, seed, off, n);
		if (write)
			memcpy(buf, want, n);
		rc = zdk_nvme_ns_rw_sync(ns, qp, write, buf, off >> ns->lba_shift, n >> ns->lba_shift);
		if (rc)
			printf("FAIL: %s at byte %" PRIu64 ": %s\n", write ? "write" : "read", off, strerror(-rc));
		else if (!write && memcmp(buf, want, n)) {
			printf("FAIL: nsid %u: data at byte %" PRIu64 " differs from pattern %" PRIu64 "\n",
			       ns->nsid, off, seed);
			rc = 1;
		}
	}
	zdk_dma_free(buf);
	free(want);
	zdk_nvme_qpair_free(qp);
	return rc ? 1 : 0;
}

struct io {
	uint8_t *buf;        /* DMA buffer (with an offset) */
	uint8_t *base;
	uint64_t off, len;   /* bytes in the namespace */
	int calls;
	uint16_t status;
	bool busy;
};

static void io_done(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct io *io = arg;

	io->calls++;
	io->status = ZDK_NVME_CPL_STATUS(cpl);
	io->busy = false;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool overlaps(const struct io *ios, uint64_t off, uint64_t len)
{
	for (int i = 0; i < INFLIGHT; i++)
		if (ios[i].busy && off < ios[i].off + ios[i].len && ios[i].off < off + len)
			return true;
	return false;
}

/* One write of random size, offset, buffer alignment and form. */
static int submit_random(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp[2], struct io *io,
			 uint8_t *shadow, uint64_t *seed, struct io *all)
{
	uint64_t max_blocks = ns->max_blocks, blocks = REGION >> ns->lba_shift, nlb, lba;
	uint64_t r = rng(seed);
	struct iovec iov[2];

	/* Mostly small, sometimes up to the maximum transfer. */
	nlb = (r & 3) ? 1 + rng(seed) % ZDK_MIN(max_blocks, 16) : 1 + rng(seed) % max_blocks;
	do
		lba = rng(seed) % (blocks - nlb);
	while (overlaps(all, lba << ns->lba_shift, nlb << ns->lba_shift));
	io->off = lba << ns->lba_shift;
	io->len = nlb << ns->lba_shift;
	io->buf = io->base + ((r >> 8) & 1 ? ((r >> 16) & 0x3ff) * 4 : 0); /* dword-aligned offset */
	/* New data for the range: a lost or misplaced write shows at the end. */
	pattern_fill(shadow + io->off, rng(seed), io->off, io->len);
	memcpy(io->buf, shadow + io->off, io->len);
	io->busy = true;
	io->calls = 0;
	if ((r >> 9) & 1 && io->len >= 2 * ns->lba_size) {
		/* Split at a block boundary: a PRP list if page aligned, else an SGL. */
		uint64_t cut = ((r >> 24) % (nlb - 1) + 1) << ns->lba_shift;

		iov[0] = (struct iovec){ io->buf, cut };
		iov[1] = (struct iovec){ io->buf + cut, io->len - cut };
		return zdk_nvme_ns_writev(ns, qp[(r >> 10) & 1], iov, 2, lba, (uint32_t)nlb, io_done, io);
	}
	return zdk_nvme_ns_write(ns, qp[(r >> 10) & 1], io->buf, lba, (uint32_t)nlb, io_done, io);
}

static int poll_all(struct zdk_nvme_qpair *qp[2])
{
	return (int)(zdk_nvme_qpair_poll(qp[0], 0) + zdk_nvme_qpair_poll(qp[1], 0));
}

static int stress_write(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp[2], struct io *ios,
			uint8_t *shadow, uint64_t total, uint64_t seed, bool reset)
{
	uint64_t written = 0, resets = 0, calls = 0, submitted = 0;
	int rc;

	while (written < total || zdk_nvme_qpair_outstanding(qp[0]) || zdk_nvme_qpair_outstanding(qp[1])) {
		for (int i = 0; i < INFLIGHT && written < total; i++) {
			if (ios[i].busy)
				continue;
			calls += (uint64_t)ios[i].calls;
			if (ios[i].calls > 1 || ios[i].status) {
				printf("FAIL: write at byte %" PRIu64 " completed %d times, status 0x%x\n",
				       ios[i].off, ios[i].calls, ios[i].status);
				return 1;
			}
			rc = submit_random(ns, qp, &ios[i], shadow, &seed, ios);
			if (rc) {
				printf("FAIL: submit: %s\n", strerror(-rc));
				return 1;
			}
			submitted++;
			written += ios[i].len;
			if (reset && resets < 3 && written > (resets + 1) * total / 4) {
				rc = zdk_nvme_ctrlr_reset(ctrlr);
				printf("reset %" PRIu64 " with %u writes in flight: %s\n", ++resets,
				       zdk_nvme_qpair_outstanding(qp[0]) + zdk_nvme_qpair_outstanding(qp[1]),
				       rc ? strerror(-rc) : "ok");
				if (rc)
					return 1;
			}
		}
		poll_all(qp);
	}
	for (int i = 0; i < INFLIGHT; i++) {
		calls += (uint64_t)ios[i].calls;
		if (ios[i].calls > 1 || ios[i].status) {
			printf("FAIL: write completed %d times, status 0x%x\n", ios[i].calls, ios[i].status);
			return 1;
		}
	}
	if (calls != submitted) {
		printf("FAIL: %" PRIu64 " writes submitted, %" PRIu64 " completions\n", submitted, calls);
		return 1;
	}
	printf("wrote %" PRIu64 " MiB in %" PRIu64 " writes of random size and alignment\n",
	       written >> 20, submitted);
	return 0;
}

static int stress_verify(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, uint8_t *buf,
			 const uint8_t *shadow, uint64_t seed)
{
	uint64_t off = 0, max = ZDK_MIN(zdk_nvme_ctrlr_max_xfer(ctrlr), 256u << 10);

	while (off < REGION) {
		uint64_t len = (1 + rng(&seed) % (max >> ns->lba_shift)) << ns->lba_shift;
		int rc;

		len = ZDK_MIN(len, REGION - off); /* not inside ZDK_MIN: it evaluates twice */
		rc = zdk_nvme_ns_rw_sync(ns, qp, false, buf, off >> ns->lba_shift,
					     (uint32_t)(len >> ns->lba_shift));

		if (rc || memcmp(buf, shadow + off, len)) {
			for (uint64_t i = 0; !rc && i < len; i++)
				if (buf[i] != shadow[off + i]) {
					off += i;
					break;
				}
			printf("FAIL: nsid %u byte %" PRIu64 ": %s\n", ns->nsid, off,
			       rc ? strerror(-rc) : "read back differs from what was written");
			return 1;
		}
		off += len;
	}
	printf("read back %llu MiB in random chunks: identical\n", REGION >> 20);
	return 0;
}

static int cmd_stress(const struct zdk_nvme_ns *ns, uint64_t mib, uint64_t seed, bool reset)
{
	struct zdk_nvme_qpair_opts sgl = { .size = sizeof(sgl), .prefer_sgl = true, .entries = 64 };
	struct zdk_nvme_qpair *qp[2] = { NULL, NULL };
	struct io ios[INFLIGHT] = { { 0 } };
	uint8_t *shadow = malloc(REGION), *rbuf = NULL;
	int rc = 1;

	if (!shadow || zdk_nvme_qpair_alloc(ctrlr, NULL, &qp[0]) ||
	    zdk_nvme_qpair_alloc(ctrlr, &sgl, &qp[1]))
		goto out;
	/* Start from known content: the pattern over the whole region. */
	pattern_fill(shadow, seed, 0, REGION);
	for (int i = 0; i < INFLIGHT; i++) {
		ios[i].base = zdk_dma_zalloc(zdk_nvme_ctrlr_max_xfer(ctrlr) + 4096, 4096, ZDK_SOCKET_ANY, NULL);
		if (!ios[i].base)
			goto out;
	}
	rbuf = zdk_dma_zalloc(256u << 10, 4096, ZDK_SOCKET_ANY, NULL);
	if (!rbuf)
		goto out;
	for (uint64_t off = 0; off < REGION; off += 256u << 10) {
		memcpy(rbuf, shadow + off, 256u << 10);
		if (zdk_nvme_ns_rw_sync(ns, qp[0], true, rbuf, off >> ns->lba_shift,
					(256u << 10) >> ns->lba_shift))
			goto out;
	}
	rc = stress_write(ns, qp, ios, shadow, mib << 20, seed, reset);
	if (!rc)
		rc = stress_verify(ns, qp[0], rbuf, shadow, seed + 1);
out:
	for (int i = 0; i < INFLIGHT; i++)
		zdk_dma_free(ios[i].base);
	zdk_dma_free(rbuf);
	zdk_nvme_qpair_free(qp[1]);
	zdk_nvme_qpair_free(qp[0]);
	free(shadow);
	return rc;
}

static int cmd_extmem(const struct zdk_nvme_ns *ns, uint64_t seed)
{
	static const size_t offs[] = { 0, 512, 4092 & ~(size_t)511, 4096, 8192 + 1024 };
	const size_t len = 4u << 20;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			    -1, 0);
	struct zdk_nvme_qpair *qp = NULL;
	uint32_t max = ZDK_MIN(zdk_nvme_ctrlr_max_xfer(ctrlr), 256u << 10);
	uint64_t iova;
	int rc = 1, n = 0;

	if (mem == MAP_FAILED || zdk_nvme_qpair_alloc(ctrlr, NULL, &qp))
		goto out;
	rc = zdk_nvme_ns_rw_sync(ns, qp, true, mem, 0, 1);
	if (rc != -EFAULT) {
		printf("FAIL: I/O from unregistered memory: %d, want -EFAULT\n", rc);
		rc = 1;
		goto out;
	}
	rc = zdk_dma_map(mem, len, &iova);
	if (rc) {
		printf("FAIL: zdk_dma_map of %zu bytes: %s\n", len, strerror(-rc));
		rc = 1;
		goto out;
	}
	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(offs); i++)
		for (uint32_t sz = ns->lba_size; sz <= max; sz *= 4, n++) {
			uint8_t *w = mem + offs[i], *r = mem + len / 2 + offs[i];
			uint64_t lba = (uint64_t)n * (max >> ns->lba_shift);

			if ((offs[i] & (ns->lba_size - 1)) && ns->lba_size > 512)
				continue;
			pattern_fill(w, seed + n, lba << ns->lba_shift, sz);
			memset(r, 0, sz);
			rc = zdk_nvme_ns_rw_sync(ns, qp, true, w, lba, sz >> ns->lba_shift);
			if (!rc)
				rc = zdk_nvme_ns_rw_sync(ns, qp, false, r, lba, sz >> ns->lba_shift);
			if (rc || memcmp(w, r, sz)) {
				printf("FAIL: external memory, offset %zu size %u: %s\n", offs[i], sz,
				       rc ? strerror(-rc) : "read back differs");
				rc = 1;
				goto out_unmap;
			}
		}
	printf("%d writes and reads from zdk_dma_map()ped memory compared\n", n);
	rc = 0;
out_unmap:
	if (zdk_dma_unmap(mem, len) && !rc) {
		printf("FAIL: zdk_dma_unmap\n");
		rc = 1;
	}
out:
	zdk_nvme_qpair_free(qp);
	if (mem != MAP_FAILED)
		munmap(mem, len);
	return rc;
}

/* One page through @buf at @lba: write the pattern, or read and compare. */
static int page_io(const struct zdk_nvme_ns *ns, struct zdk_nvme_qpair *qp, bool write,
		   uint8_t *buf, uint64_t lba, uint64_t seed, const char *what)
{
	uint8_t want[4096];
	int rc;

	pattern_fill(want, seed, lba << ns->lba_shift, sizeof(want));
	if (write)
		memcpy(buf, want, sizeof(want));
	else
		memset(buf, 0, sizeof(want));
	rc = zdk_nvme_ns_rw_sync(ns, qp, write, buf, lba, sizeof(want) >> ns->lba_shift);
	if (rc || (!write && memcmp(buf, want, sizeof(want)))) {
		printf("FAIL: %s: %s at LBA %" PRIu64 ": %s\n", what, write ? "write" : "read", lba,
		       rc ? strerror(-rc) : "data differs from what was written");
		return 1;
	}
	return 0;
}

/* Round 0 writes through both buffers and reads back; round 1, after a
 * detach and a new attach, reads both back and writes anew. */
static int round_io(uint32_t nsid, int round, uint8_t *early, uint8_t *ext, uint64_t seed)
{
	const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(ctrlr, nsid);
	struct zdk_nvme_qpair *qp = NULL;
	int rc;

	if (!ns || zdk_nvme_qpair_alloc(ctrlr, NULL, &qp)) {
		printf("FAIL: nsid %u or a qpair missing after attach (round %d)\n", nsid, round);
		return 1;
	}
	if (round == 0)
		rc = page_io(ns, qp, true, early, 0, seed, "arena buffer allocated before attach") ||
		     page_io(ns, qp, false, early, 0, seed, "arena buffer allocated before attach") ||
		     page_io(ns, qp, true, ext, 8, seed, "zdk_dma_map()ped region") ||
		     page_io(ns, qp, false, ext, 8, seed, "zdk_dma_map()ped region");
	else
		rc = page_io(ns, qp, false, early, 0, seed, "arena buffer after re-attach") ||
		     page_io(ns, qp, false, ext, 8, seed, "zdk_dma_map()ped region after re-attach") ||
		     page_io(ns, qp, true, ext, 16, seed + 1, "new write after re-attach") ||
		     page_io(ns, qp, false, early, 16, seed + 1, "new write after re-attach");
	zdk_nvme_qpair_free(qp);
	return rc;
}

static int cmd_lateattach(const char *bdf, uint32_t nsid, uint64_t seed)
{
	uint8_t *early = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, NULL);
	uint8_t *ext = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t iova;
	int rc = 1;

	if (zdk_nvme_ctrlr_next(NULL)) {
		printf("FAIL: a controller is up before attach: pass -b %s\n", bdf);
		goto out;
	}
	if (!early || ext == MAP_FAILED)
		goto out;
	for (int round = 0; round < 2; round++) {
		rc = zdk_nvme_ctrlr_attach(bdf, &ctrlr);
		if (rc) {
			printf("FAIL: attach %s (round %d): %s\n", bdf, round, strerror(-rc));
			rc = 1;
			goto out;
		}
		/* zdk_dma_map() needs a backend that can map: type1 has one now. */
		if (round == 0 && (rc = zdk_dma_map(ext, 1 << 16, &iova)))
			printf("FAIL: zdk_dma_map: %s\n", strerror(-rc));
		else
			rc = round_io(nsid, round, early, ext, seed);
		zdk_nvme_ctrlr_detach(ctrlr);
		ctrlr = NULL;
		if (rc) {
			rc = 1;
			goto out;
		}
	}
	printf("late attach: I/O from buffers made before the controller, across a detach and "
	       "a new attach, compared\n");
	zdk_dma_unmap(ext, 1 << 16);
out:
	zdk_dma_free(early);
	if (ext != MAP_FAILED)
		munmap(ext, 1 << 16);
	return rc;
}

int main(int argc, char **argv)
{
	const struct zdk_nvme_ns *ns = NULL;
	int ret, rc = 2;

	if (argc > 1 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 1, argv + 1);
	ret = zdk_eal_init(argc, argv);
	if (ret < 0)
		return 1;
	argc -= ret;
	argv += ret;
	if (argc == 5 && strcmp(argv[1], "lateattach") == 0) {
		rc = cmd_lateattach(argv[2], (uint32_t)strtoul(argv[3], NULL, 0),
				    strtoull(argv[4], NULL, 0));
		zdk_eal_cleanup();
		return rc;
	}
	ctrlr = zdk_nvme_ctrlr_next(NULL);
	if (!ctrlr) {
		printf("FAIL: no NVMe controller probed (pass -a BDF)\n");
		zdk_eal_cleanup();
		return 1;
	}
	if (argc >= 3)
		ns = zdk_nvme_ns_get(ctrlr, (uint32_t)strtoul(argv[2], NULL, 0));
	if (argc == 3 && strcmp(argv[1], "identify") == 0)
		rc = cmd_identify(argv[2]);
	else if (argc == 6 && ns && (!strcmp(argv[1], "write") || !strcmp(argv[1], "check")))
		rc = rw_pattern(ns, argv[1][0] == 'w', strtoull(argv[3], NULL, 0),
				strtoull(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
	else if ((argc == 5 || argc == 6) && ns && !strcmp(argv[1], "stress"))
		rc = cmd_stress(ns, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0) | 1,
				argc == 6 && !strcmp(argv[5], "reset"));
	else if (argc == 4 && ns && !strcmp(argv[1], "extmem"))
		rc = cmd_extmem(ns, strtoull(argv[3], NULL, 0));
	if (rc == 2)
		printf("usage: see the comment at the top of tests/vm/nvme-vmcheck.c\n");
	zdk_eal_cleanup();
	return rc;
}
