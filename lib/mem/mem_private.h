/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_MEM_PRIVATE_H
#define ZDK_MEM_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdk_mem.h"

#define MEM_MAX_NODES 8
#define MEM_ELEM_SIZE 64 /* block header, and the allocation granule */

struct iommu;

struct mem_conf {
	size_t node_mem[MEM_MAX_NODES]; /* bytes per node; 0 = none */
	size_t page_size;               /* 0 = the default hugepage size */
	bool no_huge;                   /* 4 KiB pages from a plain memfd */
	const char *huge_dir;           /* NULL = found with libhugetlbfs */
	const char *prefix;             /* hugepage file prefix */
	bool huge_fd_set;               /* the arena's one segment is huge_fd's file */
	int huge_fd;                    /* handed over (--huge-fd): used, never closed */
};

/* One free or used block of a heap; data follows the header. */
struct mem_elem {
	uint64_t magic;
	size_t size;              /* whole block, header included */
	struct mem_elem *next;    /* free list (address order), when free */
	struct mem_heap *heap;
};

struct mem_heap {
	pthread_spinlock_t lock;
	char *base;
	size_t len;
	struct mem_elem *free;
	size_t free_bytes;
	unsigned nalloc;
	int node;
	/* no-IOMMU: may [va, va+len) be handed out as one DMA buffer? */
	bool (*contig)(const void *va, size_t len);
	size_t contig_step; /* the page size, where contig is set */
};

/* One node's share of the arena. */
struct mem_seg {
	int node;
	char *va;
	size_t len;
	int fd;
	bool handed;         /* fd was handed over: unlocked, not closed */
	char path[PATH_MAX]; /* hugetlbfs file, "" for a memfd */
	struct mem_heap heap;
};

struct mem_arena {
	char *base;          /* aligned start of all segments */
	size_t len;          /* sum of the segments */
	void *resv;          /* the raw VA reservation */
	size_t resv_len;
	size_t pgsz;
	struct mem_seg segs[MEM_MAX_NODES];
	unsigned nsegs;
	uint64_t *pg_iova;
	uint64_t iova_base;
	bool iova_fixed;     /* IOVAs handed out: every later mapping must keep them */
	bool dma_mapped;
	bool by_file;        /* mapped with IOMMU_IOAS_MAP_FILE */
	/* No-IOMMU through iommufd: the arena sits in the IOAS at iova_base
	 * (pinned there), and pg_iova holds the kernel's physical addresses. */
	bool ioas_mapped;
	bool pa_known;       /* pg_iova holds physical addresses already */
	/* Live handover: the heaps are not this process's (handed over, or
	 * adopted and not committed yet): zdk_dma_zalloc() gives NULL. */
	bool frozen;
	bool released;       /* handed over: zdk_dma_free() is a quiet no-op */
};

extern struct mem_arena *mem_arena_g;

int mem_init(const struct mem_conf *conf);
void mem_fini(void);
/*
 * mem_dma_setup() - give the arena its IOVAs and map it through @io.
 * With no backend, or a type1 container that has no group yet, the arena
 * gets provisional IOVAs (allocations record them, e.g. a mempool's), and
 * the mapping made when a device arrives must keep them.
 */
int mem_dma_setup(struct iommu *io);
void mem_dma_teardown(struct iommu *io);
/* The kernel dropped every mapping of @io: the next setup maps again. */
void mem_dma_lost(struct iommu *io);
void mem_ext_release(struct iommu *io);
/* Map again the zdk_dma_map() regions @io lost (same IOVAs). */
int mem_ext_remap(struct iommu *io);
void mem_ext_lost(struct iommu *io);

/* The heap (malloc.c), unit tested on plain memory. */
void heap_init(struct mem_heap *h, void *base, size_t len, int node);
void *heap_alloc(struct mem_heap *h, size_t size, size_t align);
void heap_free(void *va);
struct mem_heap *heap_of(const void *va);

/*
 * Without root (nonroot.c).
 * mem_pin_check() - whether RLIMIT_MEMLOCK lets this process pin @bytes
 *	more through @io; -ENOMEM with the figures and the fix logged if not.
 * mem_pin_refused() - after the kernel refused a pin with @rc: when it was
 *	RLIMIT_MEMLOCK (per user under iommufd: other processes count), say so.
 * mem_seg_open_handed() - @s backed by the handed-over file @fd (locked,
 *	grown to s->len if shorter); mem_seg_release_handed() undoes it.
 * mem_huge_dir_user() - @dir, a hugetlbfs mount, replaced by
 *	<dir>/zdk-<euid> when the mount is not writable and that is.
 * mem_huge_dir_fix() - the parenthesis for a file @file that could not be
 *	created with @rc: which right is missing and how to grant it.
 */
int mem_pin_check(const struct iommu *io, uint64_t bytes, const char *what);
void mem_pin_refused(const struct iommu *io, uint64_t bytes, const char *what, int rc);
int mem_seg_open_handed(struct mem_seg *s, int fd);
void mem_seg_release_handed(struct mem_seg *s);
void mem_huge_dir_user(char *dir, size_t len);
const char *mem_huge_dir_fix(int rc, const char *file, char *buf, size_t len);
/* What a heap is besides its memory (live handover). */
struct mem_heap_state {
	uint64_t free_off;   /* first free block, from the heap's base; UINT64_MAX: none */
	uint64_t free_bytes;
	uint64_t nalloc;
};
void heap_state(struct mem_heap *h, struct mem_heap_state *st);
/* Return: 0, or -EBADMSG when the blocks at @base do not agree with @st. */
int heap_check(const void *base, size_t len, const struct mem_heap_state *st);
/* Take over the blocks at @base (rewrites each block's heap pointer). */
void heap_adopt(struct mem_heap *h, void *base, size_t len, int node,
		const struct mem_heap_state *st);

/* The arena in a live handover (handover.c). */
struct mem_handover_seg {
	int node;
	int fd;              /* the segment's file */
	uint64_t off;        /* from the arena's base */
	uint64_t len;
	char path[PATH_MAX]; /* hugetlbfs file, "" for a memfd */
	struct mem_heap_state heap;
};

struct mem_handover {
	uint64_t base, len, pgsz;
	uint64_t iova_base;  /* valid when iova_fixed */
	bool iova_fixed, dma_mapped, by_file;
	unsigned nsegs;
	struct mem_handover_seg segs[MEM_MAX_NODES];
};

/* Old side: the arena as it is (fds stay the arena's). -ENODEV without one. */
int mem_handover_describe(struct mem_handover *st);
/* Old side, live: the new process has it: nothing unmapped or unlinked, the
 * range made inaccessible here, zdk_dma_free() a no-op. */
void mem_handover_release(void);
/*
 * New side: map the segments' files at the old addresses (the range must be
 * free here), check the heaps; frozen until mem_handover_commit(). The fds
 * become the arena's on success.
 */
int mem_handover_adopt(const struct mem_handover *st);
/* New side: the arena is mapped in @io's IOAS at its IOVAs already. */
int mem_handover_dma_adopt(struct iommu *io);
void mem_handover_commit(void);
/* New side: drop the adopted arena, writing nothing in it, unlinking nothing. */
void mem_handover_abort(void);
/* zdk_dma_map() regions (dma.c): how many, and the first one. */
unsigned mem_ext_count(uintptr_t *va, size_t *len);

/* Physical address of a locked page, through /proc/self/pagemap. */
int mem_virt2phys(const void *va, uint64_t *pa);

#endif /* ZDK_MEM_PRIVATE_H */
