/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.c - the IOMMU's part of a live handover: a new process adopts the
 * old one's iommufd and IOAS instead of opening /dev/iommu, and takes over
 * the pinned-page accounting (IOMMU_IOAS_CHANGE_PROCESS, the one ioctl of
 * this file); the old process lets go of them without unmapping anything.
 */
#define ZDK_LOG_COMPONENT "iommufd"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommu_private.h"
#include "uapi_compat.h"
#include "zdk_log.h"

int iommufd_change_process(int fd)
{
	struct iommu_ioas_change_process cp = { .size = sizeof(cp) };

	return sys_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cp);
}

int iommu_adopt(int fd, uint32_t ioas_id, struct iommu **out)
{
	struct iommu *io;
	int rc;

	if (iommu_g) {
		ZDK_ERR("an IOMMU backend is already open: a takeover adopts the old process's");
		return -EBUSY;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->ops = &iommu_iommufd_ops;
	io->fd = fd;
	io->ioas_id = ioas_id;
	io->map_file = 1; /* a live handover needs the arena mapped by file */
	io->ready = true;
	pthread_spin_init(&io->lock, PTHREAD_PROCESS_PRIVATE);
	/* A read-only query: it also proves the fd is an iommufd with this IOAS. */
	rc = io->ops->ranges(io);
	if (rc) {
		ZDK_ERR("the handed-over iommufd has no IOAS %u (%s)", ioas_id, strerror(-rc));
		goto err_free;
	}
	*out = io;
	return 0;

err_free:
	pthread_spin_destroy(&io->lock);
	free(io);
	return rc;
}

void iommu_release(struct iommu *io)
{
	if (!io)
		return;
	/*
	 * The IOAS and its mappings live on in the new process's references
	 * to the same iommufd: close ours, so that no IOMMU_DESTROY or unmap
	 * follows at cleanup (iommufd_close() skips a closed fd).
	 */
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	io->ready = false;
}
