/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.c - the init orchestrator's handover provider: the arena, the
 * IOMMU and the devices. The old process says whether a live handover is
 * possible (iommufd with the arena mapped by file, nothing else mapped,
 * every driven device's driver able to hand it over), exports them, and
 * lets go of them once the new process is ready. The new process adopts
 * them in zdk_eal_init_takeover(), before its lcores map their stacks.
 */
#define ZDK_LOG_COMPONENT "eal"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eal_handover.h"
#include "eal_private.h"
#include "iommu_private.h"
#include "pci_private.h"
#include "zdk_log.h"

static int iommu_extent_count(struct iommu *io)
{
	int n;

	pthread_spin_lock(&io->lock);
	n = (int)io->extents.n;
	pthread_spin_unlock(&io->lock);
	return n;
}

static int eal_check(char *why, size_t len)
{
	struct iommu *io = iommu_g;
	struct mem_arena *a = mem_arena_g;
	uintptr_t va;
	size_t elen;
	unsigned n;

	if (!a) {
		snprintf(why, len, "zdk_eal_init() has not set up memory");
		return 1;
	}
	if (io && io->ops->mode == ZDK_IOMMU_TYPE1) {
		snprintf(why, len, "the IOMMU backend is type1, whose DMA mappings belong to this "
			 "process and cannot move to another (IOMMU_IOAS_CHANGE_PROCESS is "
			 "iommufd's, Linux 6.13+: run with --iommu=iommufd for a live handover)");
		return 1;
	}
	if (io && io->ops->mode == ZDK_IOMMU_NOIOMMU) {
		snprintf(why, len, "no-IOMMU mode: devices use physical addresses, and no IOMMU "
			 "mapping exists that a new process could take over");
		return 1;
	}
	if (io && !a->by_file) {
		snprintf(why, len, "the arena is mapped with IOMMU_IOAS_MAP (this kernel lacks "
			 "IOMMU_IOAS_MAP_FILE, Linux 6.13+), whose pinned pages cannot change process");
		return 1;
	}
	n = mem_ext_count(&va, &elen);
	if (n) {
		snprintf(why, len, "%u zdk_dma_map() region(s) of anonymous memory (the first at "
			 "%p, %zu bytes) cannot be handed over: no other process can map them "
			 "(zdk_dma_unmap() them first, or keep such buffers in the arena)", n,
			 (void *)va, elen);
		return 1;
	}
	if (io && iommu_extent_count(io) > 1) {
		snprintf(why, len, "zdk_iommu_map() or zdk_iommu_iova_alloc() ranges exist besides "
			 "the arena: raw mappings cannot be handed over");
		return 1;
	}
	for (struct zdk_pci_device *d = zdk_pci_device_next(NULL); d; d = zdk_pci_device_next(d))
		if (d->driver && !handover_provider_known(d->driver->name)) {
			snprintf(why, len, "%s is driven by %s, which cannot hand a device over live",
				 d->name, d->driver->name);
			return 1;
		}
	return 0;
}

static int eal_export(struct zdk_handover *h, enum zdk_handover_mode mode)
{
	bool live = mode == ZDK_HANDOVER_LIVE;
	struct eal_ho_state *st = calloc(1, sizeof(*st));
	struct hwriter w = { 0 };
	int rc = 0, idx;

	if (!st)
		return -ENOMEM;
	if (live)
		rc = mem_handover_describe(&st->mem);
	for (unsigned i = 0; live && !rc && i < st->mem.nsegs; i++) {
		idx = handover_fd_add(h, st->mem.segs[i].fd);
		rc = idx < 0 ? idx : 0;
		st->mem.segs[i].fd = idx;
	}
	if (live && !rc && iommu_g) {
		st->iommu = 1;
		st->ioas_id = iommu_g->ioas_id;
		idx = handover_fd_add(h, iommu_g->fd);
		rc = idx < 0 ? idx : 0;
		st->iommu_fd = idx;
	}
	for (struct zdk_pci_device *d = zdk_pci_device_next(NULL); !rc && d;
	     d = zdk_pci_device_next(d)) {
		if (st->ndevs == EAL_HO_MAX_DEVS) {
			rc = -ENOSPC;
			break;
		}
		snprintf(st->devs[st->ndevs].bdf, sizeof(st->devs[0].bdf), "%s", d->name);
		idx = live ? handover_fd_add(h, d->fd) : -1;
		if (live && idx < 0)
			rc = idx;
		st->devs[st->ndevs++].fd = idx;
	}
	if (!rc)
		rc = eal_ho_write(&w, st);
	if (!rc)
		rc = handover_section_add(h, EAL_HO_SECTION, EAL_HO_VERSION, HANDOVER_SECT_REQUIRED,
					  w.buf, w.len);
	hw_free(&w);
	free(st);
	return rc;
}

static bool exported_live;

static int eal_export_hook(struct zdk_handover *h, enum zdk_handover_mode mode)
{
	exported_live = mode == ZDK_HANDOVER_LIVE;
	return eal_export(h, mode);
}

/* The new process is ready: the devices, the IOAS and the arena are its own. */
static void eal_release(void)
{
	for (struct zdk_pci_device *d = zdk_pci_device_next(NULL); d; d = zdk_pci_device_next(d))
		pci_device_release(d);
	iommu_release(iommu_g);
	mem_handover_release();
}

/* The new process may have moved the pinned-page accounting to itself: take it back. */
static void eal_resume(void)
{
	int rc;

	if (!exported_live || !iommu_g || iommu_g->ops->mode != ZDK_IOMMU_IOMMUFD)
		return;
	rc = iommufd_change_process(iommu_g->fd);
	if (rc)
		ZDK_DEBUG("IOMMU_IOAS_CHANGE_PROCESS back to this process: %s", strerror(-rc));
}

/* New side: the parsed section, and what was adopted of it. */
static struct eal_ho_state *in;

static int section_parse(struct zdk_handover *h, bool live)
{
	const struct handover_section *s = handover_section_get(h, EAL_HO_SECTION);

	if (!s) {
		ZDK_ERR("handover blob refused: no eal section");
		return -EBADMSG;
	}
	if (s->version >> 16 != EAL_HO_VERSION >> 16) {
		ZDK_ERR("handover: eal section version %u.x, this zdk reads %u.x", s->version >> 16,
			EAL_HO_VERSION >> 16);
		return -EPROTO;
	}
	if (!in)
		in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	return eal_ho_parse(s->data, s->len, handover_nfds(h), live, in);
}

/* Turn every fd index into the fd; on failure close those taken. */
static int fds_take(struct zdk_handover *h, struct eal_ho_state *st)
{
	int *slot[MEM_MAX_NODES + 1 + EAL_HO_MAX_DEVS];
	unsigned n = 0, i;

	for (i = 0; i < st->mem.nsegs; i++)
		slot[n++] = &st->mem.segs[i].fd;
	if (st->iommu)
		slot[n++] = &st->iommu_fd;
	for (i = 0; i < st->ndevs; i++)
		slot[n++] = &st->devs[i].fd;
	for (i = 0; i < n; i++) {
		int fd = handover_fd_take(h, (uint32_t)*slot[i]);

		if (fd < 0) {
			while (i--)
				close(*slot[i]);
			return -EBADF;
		}
		*slot[i] = fd;
	}
	return 0;
}

static int iommu_take(struct eal_ho_state *st)
{
	struct iommu *io;
	int rc = iommu_adopt(st->iommu_fd, st->ioas_id, &io);

	if (rc)
		return rc;
	/* The pinned pages are charged to this process from now on (Linux 6.13+). */
	rc = iommufd_change_process(io->fd);
	if (rc) {
		ZDK_ERR("IOMMU_IOAS_CHANGE_PROCESS failed: %s%s", strerror(-rc),
			rc == -ENOMEM ? " (raise RLIMIT_MEMLOCK: ulimit -l unlimited)"
			: rc == -ENOTTY ? " (the kernel lacks it: Linux 6.13+)"
			: rc == -EINVAL ? " (a mapping other than the arena's files exists)" : "");
		pthread_spin_destroy(&io->lock);
		free(io);
		return rc;
	}
	iommu_g = io;
	st->iommu_fd = -1; /* the backend's now */
	return mem_handover_dma_adopt(io);
}

/* Drop what eal_import() or eal_abort() adopted, writing nothing the old process uses. */
static void adopted_drop(void)
{
	pci_close_all();
	if (iommu_g) {
		iommu_release(iommu_g);
		iommu_destroy(iommu_g);
		iommu_g = NULL;
	}
	mem_handover_abort();
}

static int eal_import(struct zdk_handover *h)
{
	int rc = section_parse(h, true);

	if (!rc)
		rc = fds_take(h, in);
	if (rc)
		return rc;
	rc = mem_handover_adopt(&in->mem);
	if (!rc)
		for (unsigned i = 0; i < in->mem.nsegs; i++)
			in->mem.segs[i].fd = -1; /* the arena's now */
	if (!rc && in->iommu)
		rc = iommu_take(in);
	for (unsigned d = 0; !rc && d < in->ndevs; d++) {
		struct zdk_pci_device *dev;

		rc = pci_device_adopt(in->devs[d].bdf, in->devs[d].fd, &dev);
		if (!rc)
			in->devs[d].fd = -1;
	}
	if (!rc)
		return 0;
	for (unsigned i = 0; i < in->mem.nsegs; i++)
		if (in->mem.segs[i].fd >= 0)
			close(in->mem.segs[i].fd);
	if (in->iommu && in->iommu_fd >= 0)
		close(in->iommu_fd);
	for (unsigned d = 0; d < in->ndevs; d++)
		if (in->devs[d].fd >= 0)
			close(in->devs[d].fd);
	adopted_drop();
	return rc;
}

static void eal_commit(void)
{
	mem_handover_commit();
	for (struct zdk_pci_device *d = zdk_pci_device_next(NULL); d; d = zdk_pci_device_next(d))
		pci_device_watch(d);
	free(in);
	in = NULL;
}

/* GO did not come: close what was adopted, writing nothing the old process uses. */
static void eal_abort(void)
{
	adopted_drop();
	free(in);
	in = NULL;
}

static struct handover_provider eal_provider = {
	.name = "eal",
	.order = 10,
	.check = eal_check,
	.export = eal_export_hook,
	.release = eal_release,
	.resume = eal_resume,
	.import = eal_import,
	.commit = eal_commit,
	.abort = eal_abort,
};
HANDOVER_PROVIDER_REGISTER(eal_provider)

/* Options that ask for something a live takeover cannot honour. */
static int options_check(const struct eal_conf *c)
{
	for (unsigned i = 0; i < c->nallow; i++) {
		char bdf[ZDK_PCI_ADDR_LEN];
		bool found = false;

		zdk_pci_addr_format(&c->allow[i], bdf, sizeof(bdf));
		for (unsigned d = 0; d < in->ndevs; d++)
			found |= !strcmp(in->devs[d].bdf, bdf);
		if (!found) {
			ZDK_ERR("-a %s: a takeover opens only the devices the old process hands "
				"over: drop it, or attach it after init", bdf);
			return -EINVAL;
		}
	}
	if (in->iommu && c->iommu != ZDK_EAL_IOMMU_AUTO && c->iommu != ZDK_EAL_IOMMU_IOMMUFD) {
		ZDK_ERR("--iommu: the old process hands over an iommufd: drop the option");
		return -EINVAL;
	}
	if (c->mem_set || c->huge_dir[0] || c->huge_size || c->no_huge)
		ZDK_INFO("-m, --huge-dir, --huge-size, --no-huge: ignored, the arena is the old "
			 "process's");
	return 0;
}

int eal_takeover_live(const struct eal_conf *c, struct zdk_handover *h)
{
	int rc = section_parse(h, true);

	if (!rc)
		rc = options_check(c);
	if (rc)
		return rc;
	return handover_import_all(h);
}

int eal_takeover_reset(struct eal_conf *c, struct zdk_handover *h)
{
	int rc = section_parse(h, false);

	if (rc)
		return rc;
	if (!c->nallow) {
		for (unsigned d = 0; d < in->ndevs && d < EAL_MAX_DEVS; d++)
			zdk_pci_addr_parse(in->devs[d].bdf, &c->allow[c->nallow++]);
	}
	free(in);
	in = NULL;
	return handover_reset_wait_go(h);
}
