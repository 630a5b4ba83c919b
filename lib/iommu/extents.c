/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * extents.c - a set of disjoint address ranges, ordered by start: a treap
 * (a binary search tree whose nodes also form a heap of random priorities,
 * so its expected depth is O(log n)) over one array of nodes. Insert,
 * remove, and the lowest range overlapping a given one are O(log n), and
 * no call allocates but the array's doubling. Used for the IOVA extents in
 * use (iova.c) and for the zdk_dma_map() table (lib/mem/dma.c); the
 * caller locks.
 */
#include <errno.h>
#include <stdlib.h>

#include "iommu_private.h"

#define NIL 0u /* node[0]: no node */

static uint32_t prio_next(struct extents *t)
{
	/* xorshift32: any spread will do, the tree only needs it random-ish */
	t->seed ^= t->seed << 13;
	t->seed ^= t->seed >> 17;
	t->seed ^= t->seed << 5;
	return t->seed;
}

/* Split the subtree at @t into the nodes starting below @key (*@l) and the others (*@r). */
static void split(struct extent *v, uint32_t t, uint64_t key, uint32_t *l, uint32_t *r)
{
	while (t != NIL) {
		if (v[t].start < key) {
			*l = t;
			l = &v[t].right;
			t = v[t].right;
		} else {
			*r = t;
			r = &v[t].left;
			t = v[t].left;
		}
	}
	*l = *r = NIL;
}

/* Join two subtrees, every start in @a below every start in @b. */
static uint32_t merge(struct extent *v, uint32_t a, uint32_t b)
{
	uint32_t root, *link = &root;

	while (a != NIL && b != NIL) {
		if (v[a].prio > v[b].prio) {
			*link = a;
			link = &v[a].right;
			a = v[a].right;
		} else {
			*link = b;
			link = &v[b].left;
			b = v[b].left;
		}
	}
	*link = a != NIL ? a : b;
	return root;
}

int extents_insert(struct extents *t, uint64_t start, uint64_t len, uint64_t a, uint64_t b,
		   uint64_t c)
{
	uint32_t x, *link;

	if (t->free == NIL) {
		uint32_t cap = t->cap ? 2 * t->cap : 16, i;
		struct extent *v = realloc(t->node, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (!t->cap) {
			v[NIL] = (struct extent){ 0 };
			t->cap = 1;
			t->seed = 2463534242u;
		}
		/* the new nodes on the free list, through .left */
		for (i = t->cap; i < cap; i++)
			v[i].left = i + 1 < cap ? i + 1 : NIL;
		t->free = t->cap;
		t->node = v;
		t->cap = cap;
	}
	x = t->free;
	t->free = t->node[x].left;
	t->node[x] = (struct extent){ start, len, a, b, c, NIL, NIL, prio_next(t) };
	/* Down to where the heap order puts it, then the subtree there split
	 * around it. */
	link = &t->root;
	while (*link != NIL && t->node[*link].prio > t->node[x].prio)
		link = start < t->node[*link].start ? &t->node[*link].left : &t->node[*link].right;
	split(t->node, *link, start, &t->node[x].left, &t->node[x].right);
	*link = x;
	t->n++;
	return 0;
}

int extents_remove(struct extents *t, uint64_t start, uint64_t len, struct extent *out)
{
	uint32_t x, *link = &t->root;

	if (!t->n)
		return -ENOENT;
	while ((x = *link) != NIL && t->node[x].start != start)
		link = start < t->node[x].start ? &t->node[x].left : &t->node[x].right;
	if (x == NIL || t->node[x].len != len)
		return -ENOENT;
	*link = merge(t->node, t->node[x].left, t->node[x].right);
	if (out)
		*out = t->node[x];
	t->node[x].left = t->free;
	t->free = x;
	t->n--;
	return 0;
}

const struct extent *extents_overlap(const struct extents *t, uint64_t start, uint64_t len)
{
	uint32_t x, pred = NIL, succ = NIL;

	if (!t || !t->n || len == 0)
		return NULL;
	/* The last range starting at or before @start, and the first after it. */
	for (x = t->root; x != NIL;) {
		if (t->node[x].start <= start) {
			pred = x;
			x = t->node[x].right;
		} else {
			succ = x;
			x = t->node[x].left;
		}
	}
	/* Disjoint ranges: if any overlaps, pred (ending after @start) is the
	 * lowest, else succ (starting before the end). */
	if (pred != NIL && start - t->node[pred].start < t->node[pred].len)
		return &t->node[pred];
	if (succ != NIL && t->node[succ].start - start < len)
		return &t->node[succ];
	return NULL;
}

const struct extent *extents_ceil(const struct extents *t, uint64_t start)
{
	uint32_t x, best = NIL;

	if (!t || !t->n)
		return NULL;
	for (x = t->root; x != NIL;) {
		if (t->node[x].start >= start) {
			best = x;
			x = t->node[x].left;
		} else {
			x = t->node[x].right;
		}
	}
	return best != NIL ? &t->node[best] : NULL;
}

void extents_fini(struct extents *t)
{
	free(t->node);
	*t = (struct extents){ 0 };
}
