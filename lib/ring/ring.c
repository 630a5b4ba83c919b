/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring.c - creating and destroying rings; the data path is inline in
 * zdk_ring.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "ring"
#include "zdk_log.h"
#include "zdk_ring.h"

ZDK_EXPORT int zdk_ring_create(const char *name, unsigned count, int socket, unsigned flags,
			       struct zdk_ring **ring)
{
	struct zdk_ring *r;
	size_t len;

	(void)socket; /* ordinary memory: first touch places it on the caller's node */
	if (!ZDK_IS_POW2(count) || count > ZDK_RING_SZ_MAX) {
		ZDK_ERR("ring %s: %u slots: need a power of two up to %u", name, count,
			ZDK_RING_SZ_MAX);
		return -EINVAL;
	}
	len = sizeof(*r) + (size_t)count * sizeof(r->slots[0]);
	if (posix_memalign((void **)&r, ZDK_CACHE_LINE, len))
		return -ENOMEM;
	memset(r, 0, len);
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->size = count;
	r->mask = count - 1;
	r->flags = flags;
	r->prod.single = !!(flags & ZDK_RING_F_SP_ENQ);
	r->cons.single = !!(flags & ZDK_RING_F_SC_DEQ);
	*ring = r;
	return 0;
}

ZDK_EXPORT void zdk_ring_destroy(struct zdk_ring *ring)
{
	free(ring);
}
