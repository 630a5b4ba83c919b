/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.c - the arena in a live handover. The old process describes its
 * segments (files, offsets, heap heads) and, once the new process is ready,
 * lets go without unmapping the IOMMU or unlinking a file; the new process
 * maps the same files at the same addresses, checks the heaps without
 * writing them, and takes them over when the old process has let go. The
 * arena's IOVAs do not change: the IOAS that maps them is handed over too.
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "sys.h"
#include "zdk_log.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The heap heads and file paths from the blob, installed at commit. */
static struct mem_heap_state adopted_heaps[MEM_MAX_NODES];
static char adopted_paths[MEM_MAX_NODES][PATH_MAX];

int mem_handover_describe(struct mem_handover *st)
{
	struct mem_arena *a = mem_arena_g;

	if (!a)
		return -ENODEV;
	memset(st, 0, sizeof(*st));
	st->base = (uintptr_t)a->base;
	st->len = a->len;
	st->pgsz = a->pgsz;
	st->iova_base = a->iova_base;
	st->iova_fixed = a->iova_fixed;
	st->dma_mapped = a->dma_mapped;
	st->by_file = a->by_file;
	st->nsegs = a->nsegs;
	for (unsigned i = 0; i < a->nsegs; i++) {
		struct mem_seg *s = &a->segs[i];
		struct mem_handover_seg *d = &st->segs[i];

		d->node = s->node;
		d->fd = s->fd;
		d->off = (uint64_t)(s->va - a->base);
		d->len = s->len;
		snprintf(d->path, sizeof(d->path), "%s", s->path);
		heap_state(&s->heap, &d->heap);
	}
	return 0;
}

void mem_handover_release(void)
{
	struct mem_arena *a = mem_arena_g;
	void *va;

	if (!a)
		return;
	a->frozen = a->released = true;
	/* The IOAS mappings and the files are the new process's now. */
	a->dma_mapped = false;
	for (unsigned i = 0; i < a->nsegs; i++)
		a->segs[i].path[0] = '\0';
	/* A stray access here faults instead of writing the new process's memory. */
	if (sys_mmap(a->base, a->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		     MAP_FIXED, -1, 0, &va))
		ZDK_WARN("the handed-over arena stays mapped in this process: do not touch it");
}

/* Say what already sits in [@base, @base + @len) here (from /proc/self/maps). */
static void who_is_there(uintptr_t base, uint64_t len, char *out, size_t outlen)
{
	char line[512];
	FILE *f;

	snprintf(out, outlen, "something");
	if (sys_fopen("/proc/self/maps", "re", &f))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi <= base || lo >= base + len)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, outlen, "'%s'", line);
		break;
	}
	fclose(f);
}

static int reserve_exact(struct mem_arena *a)
{
	char who[600];
	void *va;
	int rc;

	rc = sys_mmap(a->base, a->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		      MAP_FIXED_NOREPLACE, -1, 0, &va);
	if (rc == 0 && va != a->base) { /* a kernel older than 4.17 took it as a hint */
		munmap(va, a->len);
		rc = -EEXIST;
	}
	if (rc) {
		who_is_there((uintptr_t)a->base, a->len, who, sizeof(who));
		ZDK_ERR("the arena must sit at [%p, +%zu MiB) as in the old process, and %s is "
			"there in this one: call zdk_handover_connect() and zdk_eal_init_takeover() "
			"first thing in main(), before the program maps memory of its own (%s)",
			(void *)a->base, a->len >> 20, who, strerror(-rc));
		return rc == -EEXIST ? -EADDRINUSE : rc;
	}
	a->resv = va;
	a->resv_len = a->len;
	return 0;
}

static int seg_map(struct mem_seg *s, const struct mem_handover_seg *d)
{
	struct stat sb;
	void *va;
	int rc;

	if (fstat(d->fd, &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < d->len) {
		ZDK_ERR("the handed-over file of node %d's arena is not a file of %llu bytes",
			d->node, (unsigned long long)d->len);
		return -EBADF;
	}
	rc = sys_mmap(s->va, s->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, d->fd, 0, &va);
	if (rc) {
		ZDK_ERR("cannot map the handed-over arena of node %d: %s", d->node, strerror(-rc));
		return rc;
	}
	/* Fault the pages in now, not on the data path (their content is untouched). */
	sys_madvise(s->va, s->len, MADV_POPULATE_WRITE);
	if (heap_check(s->va, s->len, &d->heap)) {
		ZDK_ERR("the handed-over heap of node %d does not match its blocks", d->node);
		return -EBADMSG;
	}
	return 0;
}

int mem_handover_adopt(const struct mem_handover *st)
{
	struct mem_arena *a;
	int rc;

	if (mem_arena_g)
		return -EBUSY;
	if (!st->nsegs || st->nsegs > MEM_MAX_NODES || !st->pgsz || !st->len)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->base = (char *)(uintptr_t)st->base;
	a->len = st->len;
	a->pgsz = st->pgsz;
	a->nsegs = st->nsegs;
	a->iova_base = st->iova_base;
	a->iova_fixed = st->iova_fixed;
	a->by_file = st->by_file;
	a->frozen = true;
	for (unsigned i = 0; i < a->nsegs; i++)
		a->segs[i].fd = -1;
	mem_arena_g = a;
	rc = reserve_exact(a);
	if (rc)
		goto err_fini;
	a->pg_iova = calloc(a->len / a->pgsz, sizeof(uint64_t));
	if (!a->pg_iova) {
		rc = -ENOMEM;
		goto err_fini;
	}
	for (unsigned i = 0; i < a->nsegs; i++) {
		struct mem_seg *s = &a->segs[i];

		s->node = st->segs[i].node;
		s->va = a->base + st->segs[i].off;
		s->len = st->segs[i].len;
		pthread_spin_init(&s->heap.lock, PTHREAD_PROCESS_PRIVATE);
		s->heap.node = s->node;
		rc = seg_map(s, &st->segs[i]);
		if (rc)
			goto err_fini;
		adopted_heaps[i] = st->segs[i].heap;
	}
	/* Only now are the fds the arena's; the paths are taken at commit. */
	for (unsigned i = 0; i < a->nsegs; i++)
		a->segs[i].fd = st->segs[i].fd;
	for (size_t i = 0; st->iova_fixed && i < a->len / a->pgsz; i++)
		a->pg_iova[i] = a->iova_base + i * a->pgsz;
	zdk_mem_xlate.pg_iova = a->pg_iova;
	zdk_mem_xlate.pg_shift = (unsigned)__builtin_ctzll(a->pgsz);
	zdk_mem_xlate.va_base = (uintptr_t)a->base;
	zdk_mem_xlate.len = a->len;
	/* Kept aside until commit: a failed takeover must not unlink the old one's files. */
	for (unsigned i = 0; i < a->nsegs; i++)
		snprintf(adopted_paths[i], PATH_MAX, "%s", st->segs[i].path);
	ZDK_INFO("arena: %zu MiB taken over at %p, IOVA 0x%llx", a->len >> 20, (void *)a->base,
		 (unsigned long long)a->iova_base);
	return 0;

err_fini:
	mem_fini();
	return rc;
}

int mem_handover_dma_adopt(struct iommu *io)
{
	struct mem_arena *a = mem_arena_g;

	if (!a || !io)
		return 0;
	a->dma_mapped = true;
	return iommu_extent_add(io, a->iova_base, a->len);
}

void mem_handover_commit(void)
{
	struct mem_arena *a = mem_arena_g;

	if (!a || !a->frozen)
		return;
	for (unsigned i = 0; i < a->nsegs; i++) {
		struct mem_seg *s = &a->segs[i];

		pthread_spin_destroy(&s->heap.lock);
		heap_adopt(&s->heap, s->va, s->len, s->node, &adopted_heaps[i]);
		memcpy(s->path, adopted_paths[i], PATH_MAX);
	}
	a->frozen = false;
}

void mem_handover_abort(void)
{
	struct mem_arena *a = mem_arena_g;

	if (!a)
		return;
	/* Unmapped and closed, never unlinked: the files are still the old process's. */
	for (unsigned i = 0; i < a->nsegs; i++)
		a->segs[i].path[0] = '\0';
	mem_fini();
}
