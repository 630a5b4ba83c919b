/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mbuf.c - mbuf pools: a mempool whose objects are an mbuf header followed
 * by its buffer, with the buffer's IOVA written once here.
 */
#include <errno.h>

#define ZDK_LOG_COMPONENT "mbuf"
#include "zdk_log.h"
#include "zdk_mbuf.h"

static void mbuf_init(struct zdk_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct zdk_mbuf *m = obj;

	(void)arg;
	(void)idx;
	m->buf_addr = (char *)m + sizeof(*m);
	m->buf_iova = zdk_mempool_obj_iova(mp, m->buf_addr);
	m->buf_len = mp->mbuf_data_room;
	m->pool = mp;
	zdk_mbuf_reset(m);
}

ZDK_EXPORT int zdk_mbuf_pool_create(const char *name, unsigned count, unsigned cache_size,
				    unsigned data_room, int socket, struct zdk_mempool **mpp)
{
	struct zdk_mempool *mp;
	unsigned i;
	int ret;

	if (data_room <= ZDK_MBUF_HEADROOM || data_room > UINT16_MAX) {
		ZDK_ERR("mbuf pool %s: data room %u: need %u..%u (headroom included)", name,
			data_room, ZDK_MBUF_HEADROOM + 1, UINT16_MAX);
		return -EINVAL;
	}
	/* The init needs mp->mbuf_data_room, set only once the pool exists:
	 * create without obj_init, then initialise the free objects in place. */
	ret = zdk_mempool_create(name, count, sizeof(struct zdk_mbuf) + data_room, cache_size,
				 socket, NULL, NULL, &mp);
	if (ret)
		return ret;
	mp->mbuf_data_room = (uint16_t)data_room;
	for (i = 0; i < count; i++)
		mbuf_init(mp, NULL, (char *)mp->base + (size_t)i * mp->elt_size, i);
	*mpp = mp;
	return 0;
}

ZDK_EXPORT void zdk_mbuf_pool_destroy(struct zdk_mempool *mp)
{
	zdk_mempool_destroy(mp);
}
