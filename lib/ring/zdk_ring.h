/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_ring.h - a lock-free ring of pointers for passing objects (mbufs)
 * between lcores: single or multiple producers and consumers.
 *
 * The ring has a power-of-two number of slots, all usable. Producers and
 * consumers each own a head/tail pair of free-running 32-bit counters (they
 * wrap; slot = counter & mask). An enqueue first reserves slots by moving
 * prod.head (a CAS loop when there are several producers), copies the
 * pointers, then publishes them by moving prod.tail once every earlier
 * producer has published. Dequeue is the mirror image on cons.head/tail.
 *
 * "bulk" calls move all n objects or none; "burst" calls move as many as
 * they can. Whether a side is single- or multi-threaded is chosen at create
 * (ZDK_RING_F_SP_ENQ, ZDK_RING_F_SC_DEQ): a single side skips the CAS and
 * the wait for earlier producers/consumers.
 */
#ifndef ZDK_RING_H
#define ZDK_RING_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_RING_NAMESIZE 32
/* create() flags: the default is multi-producer, multi-consumer. */
#define ZDK_RING_F_SP_ENQ 0x1 /* one producer thread */
#define ZDK_RING_F_SC_DEQ 0x2 /* one consumer thread */
#define ZDK_RING_SZ_MAX (1u << 28)

/* head and tail are only touched through __atomic builtins (C and C++ alike). */
struct zdk_ring_headtail {
	uint32_t head; /* next slot to reserve */
	uint32_t tail; /* slots before it are published */
	uint32_t single;       /* 1: single producer/consumer */
};

struct zdk_ring {
	char name[ZDK_RING_NAMESIZE];
	uint32_t size;  /* slots, a power of two */
	uint32_t mask;  /* size - 1 */
	uint32_t flags;
	struct zdk_ring_headtail prod __zdk_cache_aligned;
	struct zdk_ring_headtail cons __zdk_cache_aligned;
	__extension__ void *slots[] __zdk_cache_aligned; /* flexible: C++ takes it as a GNU extension */
};

/**
 * zdk_ring_create() - allocate a ring.
 * @name: for messages (copied, truncated).
 * @count: slots; a power of two, at most ZDK_RING_SZ_MAX.
 * @socket: NUMA node for the memory, or ZDK_SOCKET_ANY.
 * @flags: ZDK_RING_F_SP_ENQ and/or ZDK_RING_F_SC_DEQ.
 * @ring: set to the new ring.
 *
 * Return: 0, -EINVAL (count not a power of two, or too large), -ENOMEM.
 */
ZDK_EXPORT int zdk_ring_create(const char *name, unsigned count, int socket, unsigned flags,
			       struct zdk_ring **ring);

/** zdk_ring_destroy() - free a ring from zdk_ring_create(); NULL is ignored. */
ZDK_EXPORT void zdk_ring_destroy(struct zdk_ring *ring);

/** zdk_ring_count() - objects in the ring (a snapshot under concurrency). */
static inline unsigned zdk_ring_count(const struct zdk_ring *r)
{
	uint32_t prod = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
	uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_RELAXED);

	return prod - cons;
}

/** zdk_ring_free_count() - free slots (a snapshot under concurrency). */
static inline unsigned zdk_ring_free_count(const struct zdk_ring *r)
{
	return r->size - zdk_ring_count(r);
}

enum zdk_ring_behavior {
	ZDK_RING_FIXED = 0, /* all n or nothing */
	ZDK_RING_VARIABLE,  /* as many as possible */
};

/*
 * Reserve up to @n slots on @ht (our side) against @other's tail (the other
 * side). @room is the capacity seen from our side: size for producers (free
 * slots = size - (head - cons.tail)), 0 for consumers (entries =
 * prod.tail - head). Returns the count reserved, with *old the first.
 */
static inline unsigned zdk_ring_move_head(struct zdk_ring_headtail *ht,
					  const struct zdk_ring_headtail *other, uint32_t room,
					  unsigned n, enum zdk_ring_behavior behavior,
					  uint32_t *old)
{
	uint32_t head = __atomic_load_n(&ht->head, __ATOMIC_RELAXED);
	unsigned avail, want;

	for (;;) {
		/*
		 * Acquire pairs with the other side's release of its tail: the
		 * slots it handed over (freed or filled) are seen as such
		 * before we touch them.
		 */
		avail = room + __atomic_load_n(&other->tail, __ATOMIC_ACQUIRE) - head;
		want = n <= avail ? n : (behavior == ZDK_RING_FIXED ? 0 : avail);
		if (want == 0)
			return 0;
		if (ht->single) {
			/* Only we move this head: nobody to order against. */
			__atomic_store_n(&ht->head, head + want, __ATOMIC_RELAXED);
			break;
		}
		/* Relaxed CAS: the slots are claimed, not yet published; the
		 * tail update below carries the ordering. On failure head is
		 * reloaded and the room recomputed. */
		if (__atomic_compare_exchange_n(&ht->head, &head, head + want, true,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			break;
	}
	*old = head;
	return want;
}

/*
 * Publish [old, old + n) on @ht: wait until earlier reservations are
 * published (tail == old), then move the tail.
 */
static inline void zdk_ring_update_tail(struct zdk_ring_headtail *ht, uint32_t old, unsigned n)
{
	unsigned spins = 0;

	if (!ht->single) {
		while (__atomic_load_n(&ht->tail, __ATOMIC_RELAXED) != old) {
			zdk_pause();
			/* An earlier reserver was preempted (threads outnumber
			 * cores): let it run instead of spinning out our slice.
			 * Never reached when every lcore has its own core. */
			if (zdk_unlikely(++spins == 256)) {
				sched_yield();
				spins = 0;
			}
		}
	}
	/* Release: our slot copies are visible before the other side sees the tail move. */
	__atomic_store_n(&ht->tail, old + n, __ATOMIC_RELEASE);
}

static inline unsigned zdk_ring_do_enqueue(struct zdk_ring *r, void *const *objs, unsigned n,
					   enum zdk_ring_behavior behavior, unsigned *free_space)
{
	uint32_t old = 0, idx;
	unsigned i;

	n = zdk_ring_move_head(&r->prod, &r->cons, r->size, n, behavior, &old);
	for (i = 0, idx = old; i < n; i++, idx++)
		r->slots[idx & r->mask] = objs[i];
	if (n)
		zdk_ring_update_tail(&r->prod, old, n);
	if (free_space)
		*free_space = zdk_ring_free_count(r);
	return n;
}

static inline unsigned zdk_ring_do_dequeue(struct zdk_ring *r, void **objs, unsigned n,
					   enum zdk_ring_behavior behavior, unsigned *available)
{
	uint32_t old = 0, idx;
	unsigned i;

	n = zdk_ring_move_head(&r->cons, &r->prod, 0, n, behavior, &old);
	for (i = 0, idx = old; i < n; i++, idx++)
		objs[i] = r->slots[idx & r->mask];
	if (n)
		zdk_ring_update_tail(&r->cons, old, n);
	if (available)
		*available = zdk_ring_count(r);
	return n;
}

/**
 * zdk_ring_enqueue_bulk() - enqueue all @n objects or none.
 * @r: the ring.
 * @objs: the pointers to store.
 * @n: how many.
 * @free_space: if not NULL, set to the free slots left.
 *
 * Multi- or single-producer according to the ring's flags.
 * Return: @n or 0.
 */
static inline unsigned zdk_ring_enqueue_bulk(struct zdk_ring *r, void *const *objs, unsigned n,
					     unsigned *free_space)
{
	return zdk_ring_do_enqueue(r, objs, n, ZDK_RING_FIXED, free_space);
}

/** zdk_ring_enqueue_burst() - enqueue up to @n objects. Return: how many. */
static inline unsigned zdk_ring_enqueue_burst(struct zdk_ring *r, void *const *objs, unsigned n,
					      unsigned *free_space)
{
	return zdk_ring_do_enqueue(r, objs, n, ZDK_RING_VARIABLE, free_space);
}

/**
 * zdk_ring_dequeue_bulk() - dequeue exactly @n objects or none.
 * @r: the ring.
 * @objs: filled with the pointers.
 * @n: how many.
 * @available: if not NULL, set to the objects left.
 *
 * Return: @n or 0.
 */
static inline unsigned zdk_ring_dequeue_bulk(struct zdk_ring *r, void **objs, unsigned n,
					     unsigned *available)
{
	return zdk_ring_do_dequeue(r, objs, n, ZDK_RING_FIXED, available);
}

/** zdk_ring_dequeue_burst() - dequeue up to @n objects. Return: how many. */
static inline unsigned zdk_ring_dequeue_burst(struct zdk_ring *r, void **objs, unsigned n,
					      unsigned *available)
{
	return zdk_ring_do_dequeue(r, objs, n, ZDK_RING_VARIABLE, available);
}

/** zdk_ring_enqueue() - enqueue one object. Return: 0 or -ENOBUFS (full). */
static inline int zdk_ring_enqueue(struct zdk_ring *r, void *obj)
{
	return zdk_ring_enqueue_bulk(r, &obj, 1, NULL) ? 0 : -ENOBUFS;
}

/** zdk_ring_dequeue() - dequeue one object. Return: 0 or -ENOENT (empty). */
static inline int zdk_ring_dequeue(struct zdk_ring *r, void **obj)
{
	return zdk_ring_dequeue_bulk(r, obj, 1, NULL) ? 0 : -ENOENT;
}

#ifdef __cplusplus
}
#endif

#endif /* ZDK_RING_H */
