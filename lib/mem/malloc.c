/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * malloc.c - the arena's heap: first fit over an address-ordered free list
 * of 64-byte-granular blocks, coalesced on free. A spinlock, no syscall:
 * allocation is control-path work (queues, pools), but it must never sleep
 * in the kernel or allocate behind the IOMMU's back.
 */
#include <string.h>

#include "mem_private.h"

#define ELEM_MAGIC_FREE 0x7a646b2d66726565ULL /* "zdk-free" */
#define ELEM_MAGIC_USED 0x7a646b2d75736564ULL /* "zdk-used" */

static uintptr_t ptr_align_up(uintptr_t v, uintptr_t a)
{
	return (v + a - 1) & ~(a - 1);
}

void heap_init(struct mem_heap *h, void *base, size_t len, int node)
{
	struct mem_elem *e = base;

	pthread_spin_init(&h->lock, PTHREAD_PROCESS_PRIVATE);
	h->base = base;
	h->len = len & ~(size_t)(MEM_ELEM_SIZE - 1);
	h->node = node;
	h->nalloc = 0;
	e->magic = ELEM_MAGIC_FREE;
	e->size = h->len;
	e->next = NULL;
	e->heap = h;
	h->free = e;
	h->free_bytes = h->len;
}

static struct mem_elem *elem_at(struct mem_heap *h, char *at, size_t size)
{
	struct mem_elem *e = (struct mem_elem *)at;

	e->size = size;
	e->heap = h;
	return e;
}

/* Carve [lead | block | tail] out of free block @e, linked after *@pp. */
static void *carve(struct mem_heap *h, struct mem_elem **pp, struct mem_elem *e, size_t lead,
		   size_t need)
{
	struct mem_elem *blk, *tail;
	size_t rest = e->size - lead - need;

	*pp = e->next;
	if (rest) {
		tail = elem_at(h, (char *)e + lead + need, rest);
		tail->magic = ELEM_MAGIC_FREE;
		tail->next = *pp;
		*pp = tail;
	}
	if (lead) {
		e->size = lead;
		e->next = *pp;
		*pp = e;
	}
	blk = elem_at(h, (char *)e + lead, need);
	blk->magic = ELEM_MAGIC_USED;
	blk->next = NULL;
	h->free_bytes -= need;
	h->nalloc++;
	return blk + 1;
}

void *heap_alloc(struct mem_heap *h, size_t size, size_t align)
{
	struct mem_elem **pp, *e;
	void *va = NULL;

	if (align < MEM_ELEM_SIZE)
		align = MEM_ELEM_SIZE;
	if (!size || size > h->len || (align & (align - 1)))
		return NULL;
	size = ptr_align_up(size, MEM_ELEM_SIZE);

	pthread_spin_lock(&h->lock);
	for (pp = &h->free; (e = *pp); pp = &e->next) {
		uintptr_t data = ptr_align_up((uintptr_t)(e + 1), align);
		size_t need = sizeof(*e) + size;
		size_t lead = data - sizeof(*e) - (uintptr_t)e;

		/* No-IOMMU: slide to the next page until the span is contiguous. */
		while (lead + need <= e->size && h->contig && !h->contig((void *)data, size)) {
			data = ptr_align_up(data + 1, ZDK_MAX(align, h->contig_step));
			lead = data - sizeof(*e) - (uintptr_t)e;
		}
		if (lead + need > e->size)
			continue;
		va = carve(h, pp, e, lead, need);
		break;
	}
	pthread_spin_unlock(&h->lock);
	if (va)
		memset(va, 0, size);
	return va;
}

struct mem_heap *heap_of(const void *va)
{
	const struct mem_elem *e = (const struct mem_elem *)va - 1;

	return e->magic == ELEM_MAGIC_USED ? e->heap : NULL;
}

void heap_free(void *va)
{
	struct mem_elem *e = (struct mem_elem *)va - 1, **pp, *prev = NULL;
	struct mem_heap *h = e->heap;

	pthread_spin_lock(&h->lock);
	e->magic = ELEM_MAGIC_FREE;
	h->free_bytes += e->size;
	h->nalloc--;
	for (pp = &h->free; *pp && *pp < e; pp = &(*pp)->next)
		prev = *pp;
	e->next = *pp;
	*pp = e;
	/* Merge with the next block, then with the previous one. */
	if (e->next && (char *)e + e->size == (char *)e->next) {
		e->size += e->next->size;
		e->next->magic = 0;
		e->next = e->next->next;
	}
	if (prev && (char *)prev + prev->size == (char *)e) {
		prev->size += e->size;
		prev->next = e->next;
		e->magic = 0;
	}
	pthread_spin_unlock(&h->lock);
}

/*
 * Live handover. The blocks live in the arena, which the new process maps at
 * the same address: only the heap's head (first free block, free bytes,
 * allocations) travels in the blob, and each block's back pointer to its
 * heap, which is this process's, is rewritten once the new process owns
 * the arena.
 */
void heap_state(struct mem_heap *h, struct mem_heap_state *st)
{
	pthread_spin_lock(&h->lock);
	st->free_off = h->free ? (uint64_t)((char *)h->free - h->base) : UINT64_MAX;
	st->free_bytes = h->free_bytes;
	st->nalloc = h->nalloc;
	pthread_spin_unlock(&h->lock);
}

/*
 * Walk every block (read only: the old process may still resume): each one
 * free or used, a multiple of the header (a block starts wherever its data's
 * alignment puts its header), inside the heap, the blocks tiling it;
 * the free list in address order through exactly the free blocks; the free
 * bytes and the allocations as @st says.
 */
int heap_check(const void *base, size_t len, const struct mem_heap_state *st)
{
	const size_t hdr = sizeof(struct mem_elem);
	const char *b = base, *next_free;
	size_t off = 0, free_bytes = 0, len_g = len & ~(size_t)(MEM_ELEM_SIZE - 1);
	uint64_t nalloc = 0;

	if (st->free_off != UINT64_MAX && (st->free_off >= len_g || st->free_off % hdr))
		return -EBADMSG;
	next_free = st->free_off == UINT64_MAX ? NULL : b + st->free_off;
	while (off < len_g) {
		const struct mem_elem *e = (const struct mem_elem *)(b + off);

		if (e->size < hdr || e->size % hdr || e->size > len_g - off)
			return -EBADMSG;
		if (e->magic == ELEM_MAGIC_FREE) {
			if ((const char *)e != next_free)
				return -EBADMSG;
			next_free = (const char *)e->next;
			if (next_free && (next_free <= (const char *)e || next_free >= b + len_g))
				return -EBADMSG;
			free_bytes += e->size;
		} else if (e->magic == ELEM_MAGIC_USED) {
			nalloc++;
		} else {
			return -EBADMSG;
		}
		off += e->size;
	}
	if (next_free || free_bytes != st->free_bytes || nalloc != st->nalloc)
		return -EBADMSG;
	return 0;
}

void heap_adopt(struct mem_heap *h, void *base, size_t len, int node,
		const struct mem_heap_state *st)
{
	char *b = base;

	pthread_spin_init(&h->lock, PTHREAD_PROCESS_PRIVATE);
	h->base = base;
	h->len = len & ~(size_t)(MEM_ELEM_SIZE - 1);
	h->node = node;
	h->free = st->free_off == UINT64_MAX ? NULL : (struct mem_elem *)(b + st->free_off);
	h->free_bytes = st->free_bytes;
	h->nalloc = (unsigned)st->nalloc;
	for (size_t off = 0; off < h->len; off += ((struct mem_elem *)(b + off))->size)
		((struct mem_elem *)(b + off))->heap = h;
}
