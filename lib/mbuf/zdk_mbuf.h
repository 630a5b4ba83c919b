/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_mbuf.h - packet buffers.
 *
 * An mbuf is one cache line of metadata followed by its buffer (headroom,
 * then data room), all in one mempool object. The buffer's IOVA is stored
 * in the mbuf at pool creation, so drivers put zdk_mbuf_data_iova() in a
 * descriptor without any translation. One segment per packet.
 */
#ifndef ZDK_MBUF_H
#define ZDK_MBUF_H

#include <stdint.h>
#include "zdk_common.h"
#include "zdk_mempool.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_MBUF_HEADROOM 128
/* 2 KiB of data room (igb's SRRCTL buffer size unit is 1 KiB) + headroom. */
#define ZDK_MBUF_DEFAULT_BUF_SIZE (2048 + ZDK_MBUF_HEADROOM)
#define ZDK_MBUF_PORT_INVALID UINT16_MAX

/* ol_flags */
#define ZDK_MBUF_F_RX_RSS_HASH (1ULL << 1)  /* rss_hash is valid */
#define ZDK_MBUF_F_RX_IP_CKSUM_BAD (1ULL << 4)
#define ZDK_MBUF_F_RX_L4_CKSUM_BAD (1ULL << 3)

struct zdk_mbuf {
	void *buf_addr;    /* the buffer: headroom, then data */
	uint64_t buf_iova; /* IOVA of buf_addr */
	/* Written as one 64-bit store by rx paths (rearm_data). */
	union {
		uint64_t rearm_data;
		__extension__ struct { /* anonymous: C11, and a GNU extension in C++ */
			uint16_t data_off; /* packet start, from buf_addr */
			uint16_t port;     /* rx port, or ZDK_MBUF_PORT_INVALID */
			uint16_t buf_len;  /* buffer bytes, headroom included */
			uint16_t nb_segs;  /* always 1 */
		};
	};
	uint32_t pkt_len;  /* == data_len: one segment */
	uint16_t data_len; /* bytes of packet in this buffer */
	uint16_t vlan_tci;
	uint64_t ol_flags; /* ZDK_MBUF_F_* */
	uint32_t rss_hash; /* valid with ZDK_MBUF_F_RX_RSS_HASH */
	uint32_t packet_type;
	struct zdk_mempool *pool; /* where it returns on free */
	uint64_t udata64;         /* the application's */
} __zdk_cache_aligned;

ZDK_STATIC_ASSERT(sizeof(struct zdk_mbuf) == ZDK_CACHE_LINE, "mbuf metadata is one cache line");

/* rearm_data for an mbuf with the default headroom, received on @port. */
static inline uint64_t zdk_mbuf_rearm_value(uint16_t buf_len, uint16_t port)
{
	struct zdk_mbuf m;

	m.data_off = buf_len < ZDK_MBUF_HEADROOM ? buf_len : ZDK_MBUF_HEADROOM;
	m.port = port;
	m.buf_len = buf_len;
	m.nb_segs = 1;
	return m.rearm_data;
}

/**
 * zdk_mbuf_pool_create() - a mempool of mbufs.
 * @name: for messages.
 * @count: number of mbufs.
 * @cache_size: per-lcore cache (see zdk_mempool_create()); 256 suits bursts of 32.
 * @data_room: buffer bytes per mbuf including ZDK_MBUF_HEADROOM, e.g.
 *             ZDK_MBUF_DEFAULT_BUF_SIZE; at most 65535.
 * @socket: NUMA node, or ZDK_SOCKET_ANY.
 * @mp: set to the pool.
 *
 * Return: 0, -EINVAL (bad sizes), -ENOMEM.
 */
ZDK_EXPORT int zdk_mbuf_pool_create(const char *name, unsigned count, unsigned cache_size,
				    unsigned data_room, int socket, struct zdk_mempool **mp);

/** zdk_mbuf_pool_destroy() - free an mbuf pool; NULL is ignored. */
ZDK_EXPORT void zdk_mbuf_pool_destroy(struct zdk_mempool *mp);

/** zdk_mbuf_pool_data_room() - buffer bytes per mbuf, headroom included. */
static inline unsigned zdk_mbuf_pool_data_room(const struct zdk_mempool *mp)
{
	return mp->mbuf_data_room;
}

/**
 * zdk_mbuf_pool_iova_offset() - what turns an mbuf's address into its
 * buffer's IOVA: every mbuf @m of an mbuf pool @mp has
 * m->buf_iova == (uintptr_t)m + zdk_mbuf_pool_iova_offset(mp) (modulo 2^64).
 * Rx refills write descriptors from the pointers alone, without touching
 * the mbufs' cache lines.
 */
static inline uint64_t zdk_mbuf_pool_iova_offset(const struct zdk_mempool *mp)
{
	/* The pool is one IOVA-contiguous block, and the buffer follows the
	 * one-line header (mbuf.c). */
	return mp->base_iova - (uint64_t)(uintptr_t)mp->base + sizeof(struct zdk_mbuf);
}

/** zdk_mbuf_reset() - an empty packet at the default headroom. */
static inline void zdk_mbuf_reset(struct zdk_mbuf *m)
{
	m->rearm_data = zdk_mbuf_rearm_value(m->buf_len, ZDK_MBUF_PORT_INVALID);
	m->pkt_len = 0;
	m->data_len = 0;
	m->vlan_tci = 0;
	m->ol_flags = 0;
	m->packet_type = 0;
}

/** zdk_mbuf_alloc() - one reset mbuf, or NULL when the pool is empty. */
static inline struct zdk_mbuf *zdk_mbuf_alloc(struct zdk_mempool *mp)
{
	void *obj;

	if (zdk_unlikely(zdk_mempool_get(mp, &obj)))
		return NULL;
	zdk_mbuf_reset((struct zdk_mbuf *)obj);
	return (struct zdk_mbuf *)obj;
}

/**
 * zdk_mbuf_alloc_bulk() - @n reset mbufs, all or none.
 * Return: 0 or -ENOBUFS.
 */
static inline int zdk_mbuf_alloc_bulk(struct zdk_mempool *mp, struct zdk_mbuf **mbufs, unsigned n)
{
	unsigned i;

	if (zdk_unlikely(zdk_mempool_get_bulk(mp, (void **)mbufs, n)))
		return -ENOBUFS;
	for (i = 0; i < n; i++)
		zdk_mbuf_reset(mbufs[i]);
	return 0;
}

/** zdk_mbuf_free() - return @m to its pool; NULL is ignored. */
static inline void zdk_mbuf_free(struct zdk_mbuf *m)
{
	if (m)
		zdk_mempool_put(m->pool, m);
}

/**
 * zdk_mbuf_free_bulk() - return @n mbufs (not NULL) to their pools, one
 * bulk put per run of mbufs from the same pool.
 */
static inline void zdk_mbuf_free_bulk(struct zdk_mbuf *const *mbufs, unsigned n)
{
	struct zdk_mempool *mp;
	unsigned i, start = 0;

	if (zdk_unlikely(n == 0))
		return;
	/* The common case, one pool: a compare per mbuf (a load and a
	 * predicted branch), then one put. */
	mp = mbufs[0]->pool;
#pragma GCC unroll 8
	for (i = 1; i < n; i++)
		if (zdk_unlikely(mbufs[i]->pool != mp))
			goto mixed;
	zdk_mempool_put_bulk(mp, (void *const *)mbufs, n);
	return;
mixed:
	for (i = 1; i <= n; i++) {
		if (i == n || mbufs[i]->pool != mbufs[start]->pool) {
			zdk_mempool_put_bulk(mbufs[start]->pool, (void *const *)&mbufs[start],
					     i - start);
			start = i;
		}
	}
}

/** zdk_mbuf_mtod() - the packet data as a @type pointer. */
#define zdk_mbuf_mtod(m, type) ((type)((char *)(m)->buf_addr + (m)->data_off))

/** zdk_mbuf_mtod_offset() - @off bytes into the packet, as a @type pointer. */
#define zdk_mbuf_mtod_offset(m, type, off) \
	((type)((char *)(m)->buf_addr + (m)->data_off + (off)))

/** zdk_mbuf_data_iova() - IOVA of the packet data (what descriptors carry). */
static inline uint64_t zdk_mbuf_data_iova(const struct zdk_mbuf *m)
{
	return m->buf_iova + m->data_off;
}

/** zdk_mbuf_tailroom() - bytes free after the packet. */
static inline unsigned zdk_mbuf_tailroom(const struct zdk_mbuf *m)
{
	return (unsigned)m->buf_len - m->data_off - m->data_len;
}

/**
 * zdk_mbuf_append() - grow the packet by @len bytes at its end.
 * Return: a pointer to the new bytes, or NULL if the tailroom is too small.
 */
static inline void *zdk_mbuf_append(struct zdk_mbuf *m, unsigned len)
{
	void *tail = zdk_mbuf_mtod_offset(m, char *, m->data_len);

	if (zdk_unlikely(len > zdk_mbuf_tailroom(m)))
		return NULL;
	m->data_len += len;
	m->pkt_len += len;
	return tail;
}

#ifdef __cplusplus
}
#endif

#endif /* ZDK_MBUF_H */
