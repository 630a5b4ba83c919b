/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover_state.c - the "eal" section of the handover blob: the arena
 * (base, length, page size, IOVA base, each segment's file, offset and heap
 * head), the IOMMU (iommufd and IOAS id) and the devices (BDF and VFIO
 * cdev). Written by the old process, parsed by the new one with every field
 * checked; no system call, so the fuzz target runs it as is.
 *
 *   record mem   u64 base, len, page size, IOVA base; u32 flags, segments;
 *                per segment a record: i32 node, u32 fd, u64 offset, length,
 *                first free block, free bytes, allocations; u32 path length,
 *                the path (no NUL)
 *   record iommu u32 present, u32 fd, u32 IOAS id
 *   record devs  u32 count; per device a record: char bdf[16], u32 fd
 */
#include <string.h>

#define ZDK_LOG_COMPONENT "eal"
#include "eal_handover.h"
#include "zdk_log.h"

#define MEM_REC_MIN (4 + 4 * 8 + 2 * 4)
#define SEG_REC_MIN (4 + 2 * 4 + 5 * 8 + 4)
#define IOMMU_REC_MIN (4 + 3 * 4)
#define DEVS_REC_MIN (4 + 4)
#define DEV_REC_MIN (4 + 16 + 4)
#define F_IOVA_FIXED (1u << 0)
#define F_DMA_MAPPED (1u << 1)
#define F_BY_FILE (1u << 2)
#define USER_VA_END (1ULL << 47)

static void write_mem(struct hwriter *w, const struct mem_handover *m)
{
	size_t rec = hw_record_begin(w);

	hw_u64(w, m->base);
	hw_u64(w, m->len);
	hw_u64(w, m->pgsz);
	hw_u64(w, m->iova_base);
	hw_u32(w, (m->iova_fixed ? F_IOVA_FIXED : 0) | (m->dma_mapped ? F_DMA_MAPPED : 0) |
		  (m->by_file ? F_BY_FILE : 0));
	hw_u32(w, m->nsegs);
	for (unsigned i = 0; i < m->nsegs; i++) {
		const struct mem_handover_seg *s = &m->segs[i];
		size_t srec = hw_record_begin(w);
		uint32_t plen = (uint32_t)strnlen(s->path, sizeof(s->path));

		hw_u32(w, (uint32_t)s->node);
		hw_u32(w, (uint32_t)s->fd);
		hw_u64(w, s->off);
		hw_u64(w, s->len);
		hw_u64(w, s->heap.free_off);
		hw_u64(w, s->heap.free_bytes);
		hw_u64(w, s->heap.nalloc);
		hw_u32(w, plen);
		hw_bytes(w, s->path, plen);
		hw_record_end(w, srec);
	}
	hw_record_end(w, rec);
}

int eal_ho_write(struct hwriter *w, const struct eal_ho_state *st)
{
	size_t rec;

	write_mem(w, &st->mem);
	rec = hw_record_begin(w);
	hw_u32(w, st->iommu);
	hw_u32(w, (uint32_t)st->iommu_fd);
	hw_u32(w, st->ioas_id);
	hw_record_end(w, rec);
	rec = hw_record_begin(w);
	hw_u32(w, st->ndevs);
	for (unsigned i = 0; i < st->ndevs; i++) {
		size_t drec = hw_record_begin(w);

		hw_bytes(w, st->devs[i].bdf, sizeof(st->devs[i].bdf));
		hw_u32(w, st->devs[i].fd < 0 ? HANDOVER_NO_FD : (uint32_t)st->devs[i].fd);
		hw_record_end(w, drec);
	}
	hw_record_end(w, rec);
	return w->err;
}

static int refuse(const char *what)
{
	ZDK_ERR("handover blob refused: eal section: %s", what);
	return -EBADMSG;
}

/* Each fd index names a received fd, and only once. */
static bool fd_ok(uint32_t fd, uint32_t nfds, uint8_t *seen)
{
	if (fd >= nfds || seen[fd])
		return false;
	seen[fd] = 1;
	return true;
}

static int parse_seg(struct hreader *r, struct mem_handover *m, unsigned i, uint64_t *at,
		     uint32_t nfds, uint8_t *seen, unsigned *nodes)
{
	struct mem_handover_seg *s = &m->segs[i];
	struct hreader rec;
	uint32_t plen, node;

	if (!hr_record(r, SEG_REC_MIN, &rec))
		return refuse("segment record");
	node = hr_u32(&rec);
	s->fd = (int)hr_u32(&rec);
	s->off = hr_u64(&rec);
	s->len = hr_u64(&rec);
	s->heap.free_off = hr_u64(&rec);
	s->heap.free_bytes = hr_u64(&rec);
	s->heap.nalloc = hr_u64(&rec);
	plen = hr_u32(&rec);
	if (rec.bad || plen >= sizeof(s->path) || plen > rec.len - rec.pos)
		return refuse("segment path");
	hr_bytes(&rec, s->path, plen);
	s->path[plen] = '\0';
	if (strlen(s->path) != plen)
		return refuse("a NUL inside a segment path");
	if (node >= MEM_MAX_NODES || (*nodes & (1u << node)))
		return refuse("segment node out of range or repeated");
	*nodes |= 1u << node;
	s->node = (int)node;
	if (!fd_ok((uint32_t)s->fd, nfds, seen))
		return refuse("segment fd index");
	if (s->off != *at || !s->len || s->len % m->pgsz || s->len > m->len - s->off)
		return refuse("segment offset or length");
	if ((s->heap.free_off != UINT64_MAX && s->heap.free_off >= s->len) ||
	    s->heap.free_bytes > s->len || s->heap.nalloc > s->len / MEM_ELEM_SIZE)
		return refuse("heap head out of range");
	*at += s->len;
	return 0;
}

static int parse_mem(struct hreader *r, struct mem_handover *m, uint32_t nfds, uint8_t *seen,
		     bool live)
{
	struct hreader rec;
	uint64_t at = 0;
	uint32_t flags;
	unsigned nodes = 0;
	int rc;

	if (!hr_record(r, MEM_REC_MIN, &rec))
		return refuse("mem record");
	m->base = hr_u64(&rec);
	m->len = hr_u64(&rec);
	m->pgsz = hr_u64(&rec);
	m->iova_base = hr_u64(&rec);
	flags = hr_u32(&rec);
	m->nsegs = hr_u32(&rec);
	m->iova_fixed = flags & F_IOVA_FIXED;
	m->dma_mapped = flags & F_DMA_MAPPED;
	m->by_file = flags & F_BY_FILE;
	if (rec.bad || (flags & ~(F_IOVA_FIXED | F_DMA_MAPPED | F_BY_FILE)))
		return refuse("mem flags");
	if (!live)
		return m->nsegs || m->base || m->len || m->pgsz || m->iova_base || flags
		       ? refuse("a reset handover carries no arena") : 0;
	if (m->nsegs == 0 || m->nsegs > MEM_MAX_NODES)
		return refuse("segment count");
	if (m->pgsz < 4096 || m->pgsz > (1ULL << 30) || !ZDK_IS_POW2(m->pgsz))
		return refuse("page size");
	if (!m->base || m->base % m->pgsz || !m->len || m->len % m->pgsz ||
	    m->base >= USER_VA_END || m->len > USER_VA_END - m->base)
		return refuse("arena base or length");
	if (m->iova_fixed && (!m->iova_base || m->iova_base % m->pgsz ||
			      m->iova_base > UINT64_MAX - m->len))
		return refuse("arena IOVA base");
	if (m->dma_mapped && !m->iova_fixed)
		return refuse("mapped without IOVAs");
	for (unsigned i = 0; i < m->nsegs; i++) {
		rc = parse_seg(&rec, m, i, &at, nfds, seen, &nodes);
		if (rc)
			return rc;
	}
	return at == m->len ? 0 : refuse("the segments do not add up to the arena");
}

static int parse_devs(struct hreader *r, struct eal_ho_state *st, uint32_t nfds, uint8_t *seen,
		      bool live)
{
	struct hreader rec;

	if (!hr_record(r, DEVS_REC_MIN, &rec))
		return refuse("devices record");
	st->ndevs = hr_u32(&rec);
	if (st->ndevs > EAL_HO_MAX_DEVS || !hr_count_ok(&rec, st->ndevs, DEV_REC_MIN))
		return refuse("device count");
	if (live && st->ndevs && !st->iommu)
		return refuse("devices without an IOMMU");
	for (unsigned i = 0; i < st->ndevs; i++) {
		struct hreader d;
		struct zdk_pci_addr a;

		if (!hr_record(&rec, DEV_REC_MIN, &d))
			return refuse("device record");
		hr_bytes(&d, st->devs[i].bdf, sizeof(st->devs[i].bdf));
		st->devs[i].fd = (int)hr_u32(&d);
		if (!memchr(st->devs[i].bdf, '\0', sizeof(st->devs[i].bdf)) ||
		    zdk_pci_addr_parse(st->devs[i].bdf, &a))
			return refuse("device address");
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(st->devs[j].bdf, st->devs[i].bdf))
				return refuse("a device appears twice");
		if (live ? !fd_ok((uint32_t)st->devs[i].fd, nfds, seen) : st->devs[i].fd != -1)
			return refuse("device fd index");
	}
	return 0;
}

int eal_ho_parse(const void *p, size_t len, uint32_t nfds, bool live, struct eal_ho_state *st)
{
	uint8_t seen[HANDOVER_MAX_FDS] = { 0 };
	struct hreader r, rec;
	int rc;

	memset(st, 0, sizeof(*st));
	if (nfds > HANDOVER_MAX_FDS)
		return refuse("fd count");
	hr_init(&r, p, len);
	rc = parse_mem(&r, &st->mem, nfds, seen, live);
	if (rc)
		return rc;
	if (!hr_record(&r, IOMMU_REC_MIN, &rec))
		return refuse("iommu record");
	st->iommu = hr_u32(&rec);
	st->iommu_fd = (int)hr_u32(&rec);
	st->ioas_id = hr_u32(&rec);
	if (st->iommu > 1 || (st->iommu && !live))
		return refuse("iommu");
	if (st->iommu && (!fd_ok((uint32_t)st->iommu_fd, nfds, seen) || !st->mem.dma_mapped ||
			  !st->mem.by_file))
		return refuse("an IOMMU without its fd or without the arena mapped by file");
	if (!st->iommu && st->mem.dma_mapped)
		return refuse("the arena is mapped but no IOMMU is handed over");
	return parse_devs(&r, st, nfds, seen, live);
}
