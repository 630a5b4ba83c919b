/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-hotplug - a controller unplugged under I/O and plugged again, in
 * one process (issue 11):
 *
 *   [zdk options, -b BDF] -- BDF DEL_CMD ADD_CMD SEED
 *
 * 1. zdk_pci_event_register(), then zdk_nvme_ctrlr_attach(BDF).
 * 2. Writes and reads at depth 32 on every namespace, each write stamped
 *    with its block and a sequence number; after a random 0.2-1 s, DEL_CMD
 *    (sh -c) unplugs the controller (QMP device_del) while I/O runs.
 * 3. ZDK_PCI_EVENT_REMOVE must come; every command must complete exactly
 *    once, those in flight with ZDK_NVME_STATUS_REMOVED; nothing may hang.
 * 4. ADD_CMD plugs it again and binds it to vfio-pci; ZDK_PCI_EVENT_ADD must
 *    come; the controller is attached again, in the same process (the arena
 *    and every zdk_dma_map()ped region mapped for it).
 * 5. Every block whose write was reported successful is read back and must
 *    hold that write: no I/O was reported done that did not happen.
 * Prints the times: device_del -> ZDK_PCI_EVENT_REMOVE, and ADD -> attached.
 * Exit 0 on success, 1 with what differed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_mem.h"
#include "zdk_nvme.h"
#include "zdk_pci.h"

#define QD 32
#define UNITS 4096 /* 4 KiB units per namespace: the first 16 MiB */
#define UNIT 4096u
#define MAX_NS 4

struct nsrun;

struct io {
	struct nsrun *r;
	uint8_t *buf;
	uint32_t unit;
	uint64_t seq;
	bool write, busy;
};

struct nsrun {
	const struct zdk_nvme_ns *ns;
	uint64_t stamp[UNITS]; /* last write reported done; 0 none, UINT64_MAX unknown */
	uint8_t busy[UNITS];
	struct io io[QD];
	uint64_t ok, removed, failed;
};

static struct {
	const char *bdf;
	volatile int removed, added;
	uint64_t t_removed, t_added;
} ev;

static struct nsrun runs[MAX_NS];
static unsigned nruns;
static uint64_t seq, rng;

static void on_event(const char *bdf, enum zdk_pci_event e, void *arg)
{
	(void)arg;
	if (strcmp(bdf, ev.bdf))
		return;
	if (e == ZDK_PCI_EVENT_REMOVE && !ev.removed) {
		ev.t_removed = zdk_time_ns();
		__atomic_store_n(&ev.removed, 1, __ATOMIC_RELEASE);
	} else if (e == ZDK_PCI_EVENT_ADD && !ev.added) {
		ev.t_added = zdk_time_ns();
		__atomic_store_n(&ev.added, 1, __ATOMIC_RELEASE);
	}
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void stamp_fill(uint8_t *p, uint32_t unit, uint64_t s)
{
	for (unsigned i = 0; i < UNIT / 8; i++)
		((uint64_t *)p)[i] = (unit * 0x9e3779b97f4a7c15ULL) ^ s ^ i;
}

static bool stamp_ok(const uint8_t *p, uint32_t unit, uint64_t s)
{
	for (unsigned i = 0; i < UNIT / 8; i++)
		if (((const uint64_t *)p)[i] != ((unit * 0x9e3779b97f4a7c15ULL) ^ s ^ i))
			return false;
	return true;
}

static int submit(struct io *io, struct zdk_nvme_qpair *qp);

static void done(void *arg, const struct zdk_nvme_cpl *cpl)
{
	struct io *io = arg;
	struct nsrun *r = io->r;
	uint16_t st = ZDK_NVME_CPL_STATUS(cpl);

	if (!io->busy) {
		printf("FAIL: a command completed twice (unit %u)\n", io->unit);
		exit(1);
	}
	io->busy = false;
	r->busy[io->unit] = 0;
	if (st == 0) {
		r->ok++;
		if (io->write)
			r->stamp[io->unit] = io->seq;
		else if (r->stamp[io->unit] && r->stamp[io->unit] != UINT64_MAX &&
			 !stamp_ok(io->buf, io->unit, r->stamp[io->unit])) {
			printf("FAIL: ns %u unit %u: read back is not write #%" PRIu64 "\n",
			       r->ns->nsid, io->unit, r->stamp[io->unit]);
			exit(1);
		}
		return;
	}
	if (io->write)
		r->stamp[io->unit] = UINT64_MAX; /* may or may not have reached the media */
	if (st == ZDK_NVME_STATUS_REMOVED)
		r->removed++;
	else
		r->failed++;
}

static int submit(struct io *io, struct zdk_nvme_qpair *qp)
{
	struct nsrun *r = io->r;
	uint32_t unit = (uint32_t)(rnd() % UNITS), nlb = UNIT / r->ns->lba_size;
	int rc;

	while (r->busy[unit])
		unit = (unit + 1) % UNITS;
	io->unit = unit;
	io->write = rnd() & 1;
	if (io->write) {
		io->seq = ++seq;
		stamp_fill(io->buf, unit, io->seq);
	}
	r->busy[unit] = 1;
	io->busy = true;
	rc = io->write ? zdk_nvme_ns_write(r->ns, qp, io->buf, (uint64_t)unit * nlb, nlb, done, io)
		       : zdk_nvme_ns_read(r->ns, qp, io->buf, (uint64_t)unit * nlb, nlb, done, io);
	if (rc) {
		io->busy = false;
		r->busy[unit] = 0;
	}
	return rc;
}

static int sh(const char *what, const char *cmd)
{
	int rc = system(cmd);

	if (rc) {
		printf("FAIL: %s (%s) exited %d\n", what, cmd, rc);
		return 1;
	}
	return 0;
}

/* Phase 2-3: I/O until the removal, then until nothing is outstanding. */
static int run_until_removed(struct zdk_nvme_ctrlr *c, const char *del_cmd)
{
	struct zdk_nvme_qpair *qp;
	uint64_t t0 = zdk_time_ns(), t_del = 0, deadline;
	uint64_t after = (200 + rnd() % 800) * 1000000ULL;
	int rc, outstanding;

	rc = zdk_nvme_qpair_alloc(c, NULL, &qp);
	if (rc) {
		printf("FAIL: qpair: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned n = 0; n < nruns; n++)
		for (unsigned i = 0; i < QD / nruns; i++)
			if (submit(&runs[n].io[i], qp)) {
				printf("FAIL: first submit\n");
				return 1;
			}
	deadline = t0 + 60 * 1000000000ULL;
	for (;;) {
		uint64_t now = zdk_time_ns();

		zdk_nvme_qpair_poll(qp, 0);
		outstanding = (int)zdk_nvme_qpair_outstanding(qp);
		if (!t_del && now - t0 >= after) {
			char cmd[512];

			snprintf(cmd, sizeof(cmd), "%s &", del_cmd); /* QMP returns at once */
			t_del = zdk_time_ns();
			if (sh("DEL_CMD", cmd))
				return 1;
		}
		if (!ev.removed) /* keep the queue full until the device goes */
			for (unsigned n = 0; n < nruns; n++)
				for (unsigned i = 0; i < QD / nruns; i++)
					if (!runs[n].io[i].busy)
						submit(&runs[n].io[i], qp);
		if (ev.removed && !outstanding)
			break;
		if (now > deadline) {
			printf("FAIL: %s: removed %d, %d commands outstanding after 60 s\n", ev.bdf,
			       ev.removed, outstanding);
			return 1;
		}
	}
	if (!zdk_nvme_ctrlr_removed(c)) {
		printf("FAIL: ZDK_PCI_EVENT_REMOVE came, but the controller is not marked removed\n");
		return 1;
	}
	printf("removal: ZDK_PCI_EVENT_REMOVE %.1f ms after device_del; I/O before it: ",
	       (double)(ev.t_removed - t_del) / 1e6);
	for (unsigned n = 0; n < nruns; n++)
		printf("ns %u %" PRIu64 " done, %" PRIu64 " failed as removed%s", runs[n].ns->nsid,
		       runs[n].ok, runs[n].removed, n + 1 < nruns ? "; " : "\n");
	for (unsigned n = 0; n < nruns; n++)
		if (runs[n].failed) {
			printf("FAIL: ns %u: %" PRIu64 " commands failed with another status\n",
			       runs[n].ns->nsid, runs[n].failed);
			return 1;
		}
	zdk_nvme_qpair_free(qp);
	return 0;
}

/* Phase 5: every block whose write was reported done holds that write. */
static int verify_after(struct zdk_nvme_ctrlr *c)
{
	uint64_t checked = 0, unknown = 0;
	uint8_t *buf = zdk_dma_zalloc(UNIT, UNIT, ZDK_SOCKET_ANY, NULL);
	struct zdk_nvme_qpair *qp;
	int rc;

	if (!buf || zdk_nvme_qpair_alloc(c, NULL, &qp))
		return 1;
	for (unsigned n = 0; n < nruns; n++) {
		const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(c, runs[n].ns->nsid);

		if (!ns) {
			printf("FAIL: ns %u is gone after the re-attach\n", runs[n].ns->nsid);
			return 1;
		}
		for (uint32_t u = 0; u < UNITS; u++) {
			uint64_t s = runs[n].stamp[u];
			uint32_t nlb = UNIT / ns->lba_size;

			if (!s || s == UINT64_MAX) {
				unknown += s == UINT64_MAX;
				continue;
			}
			rc = zdk_nvme_ns_rw_sync(ns, qp, false, buf, (uint64_t)u * nlb, nlb);
			if (rc || !stamp_ok(buf, u, s)) {
				printf("FAIL: ns %u unit %u: write #%" PRIu64 " was reported done but "
				       "%s\n", ns->nsid, u, s, rc ? "cannot be read" : "is not there");
				return 1;
			}
			checked++;
		}
	}
	printf("after re-attach: %" PRIu64 " blocks hold the writes reported done (%" PRIu64
	       " whose fate the removal left unknown not checked)\n", checked, unknown);
	zdk_nvme_qpair_free(qp);
	zdk_dma_free(buf);
	return checked ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct zdk_nvme_ctrlr *c;
	uint64_t deadline, t_add;
	int ret = zdk_eal_init(argc, argv), rc;

	if (ret < 0)
		return 1;
	argc -= ret;
	argv += ret;
	if (argc != 5) {
		printf("usage: nvme-hotplug [zdk options] -- BDF DEL_CMD ADD_CMD SEED\n");
		return 2;
	}
	ev.bdf = argv[1];
	rng = strtoull(argv[4], NULL, 0) | 1;
	printf("seed %s\n", argv[4]);
	if (zdk_pci_event_register(on_event, NULL) || zdk_nvme_ctrlr_attach(ev.bdf, &c)) {
		printf("FAIL: cannot watch events or attach %s\n", ev.bdf);
		return 1;
	}
	for (const struct zdk_nvme_ns *ns = zdk_nvme_ns_next(c, NULL); ns && nruns < MAX_NS;
	     ns = zdk_nvme_ns_next(c, ns)) {
		runs[nruns].ns = ns;
		for (unsigned i = 0; i < QD; i++) {
			runs[nruns].io[i].r = &runs[nruns];
			runs[nruns].io[i].buf = zdk_dma_zalloc(UNIT, UNIT, ZDK_SOCKET_ANY, NULL);
		}
		nruns++;
	}
	rc = run_until_removed(c, argv[2]);
	zdk_nvme_ctrlr_detach(c); /* must not wait on the absent controller */
	if (rc)
		goto out;
	t_add = zdk_time_ns();
	if (sh("ADD_CMD", argv[3])) {
		rc = 1;
		goto out;
	}
	for (deadline = zdk_time_ns() + 30 * 1000000000ULL; !ev.added && zdk_time_ns() < deadline;)
		usleep(10000);
	if (!ev.added) {
		printf("FAIL: no ZDK_PCI_EVENT_ADD for %s within 30 s of ADD_CMD\n", ev.bdf);
		rc = 1;
		goto out;
	}
	rc = zdk_nvme_ctrlr_attach(ev.bdf, &c);
	if (rc) {
		printf("FAIL: attach after re-add: %s\n", strerror(-rc));
		rc = 1;
		goto out;
	}
	printf("re-add: ZDK_PCI_EVENT_ADD %.0f ms after ADD_CMD began, attached again\n",
	       (double)(ev.t_added - t_add) / 1e6);
	rc = verify_after(c);
	zdk_nvme_ctrlr_detach(c);
out:
	zdk_pci_event_unregister(on_event, NULL);
	zdk_eal_cleanup();
	return rc;
}
