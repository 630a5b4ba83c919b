/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nonroot.c - what the backends need to run without root (doc/nonroot.md):
 * the descriptors a privileged launcher handed over (--iommufd-fd,
 * --vfio-fd), used instead of opening /dev paths and never closed, since
 * they stay the caller's; who the kernel charges pins to; and the fix
 * when a node may not be opened.
 */
#define ZDK_LOG_COMPONENT "iommu"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iommu_private.h"
#include "uapi_compat.h"
#include "zdk_log.h"

#define HANDOVER_MAX_DEVS 64

static struct {
	bool active;
	int iommufd; /* -1: open /dev/iommu by path */
	unsigned ndevs;
	struct {
		char bdf[32];
		int fd;
	} devs[HANDOVER_MAX_DEVS];
} handover = { .iommufd = -1 };

int iommu_handover_set(int iommufd, const char *const *bdfs, const int *fds, unsigned n)
{
	if (n > HANDOVER_MAX_DEVS)
		return -EINVAL;
	handover.iommufd = iommufd;
	handover.ndevs = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(handover.devs[i].bdf, sizeof(handover.devs[i].bdf), "%s", bdfs[i]);
		handover.devs[i].fd = fds[i];
	}
	handover.active = iommufd >= 0 || n;
	return 0;
}

void iommu_handover_clear(void)
{
	memset(&handover, 0, sizeof(handover));
	handover.iommufd = -1;
}

bool iommu_handover_active(void)
{
	return handover.active;
}

int iommu_handover_iommufd(void)
{
	return handover.iommufd;
}

int iommu_handover_dev(const char *bdf)
{
	for (unsigned i = 0; i < handover.ndevs; i++)
		if (!strcmp(handover.devs[i].bdf, bdf))
			return handover.devs[i].fd;
	return -1;
}

bool iommu_handover_is(int fd)
{
	if (fd < 0)
		return false;
	if (fd == handover.iommufd)
		return true;
	for (unsigned i = 0; i < handover.ndevs; i++)
		if (handover.devs[i].fd == fd)
			return true;
	return false;
}

void iommu_fd_close(int fd)
{
	if (fd >= 0 && !iommu_handover_is(fd))
		close(fd);
}

/*
 * Closing a device cdev detaches and unbinds it; a handed-over one is not
 * ours to close, so it is detached from the IOAS (which can then be
 * destroyed) and stays bound to its iommufd until its owner closes it.
 */
void iommufd_dev_fd_release(int fd)
{
	struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

	if (!iommu_handover_is(fd)) {
		close(fd);
		return;
	}
	if (sys_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d))
		ZDK_DEBUG("fd %d: VFIO_DEVICE_DETACH_IOMMUFD_PT failed", fd);
}

enum memlock_acct iommu_pin_acct(const struct iommu *io)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};

	switch (io->ops->mode) {
	case ZDK_IOMMU_NOIOMMU:
		return MEMLOCK_NONE;
	case ZDK_IOMMU_TYPE1:
		return MEMLOCK_PER_PROCESS;
	default:
		if (io->fd >= 0 && sys_ioctl(io->fd, IOMMU_OPTION, &opt) == 0 && opt.val64 == 1)
			return MEMLOCK_PER_PROCESS;
		return MEMLOCK_PER_USER;
	}
}

const char *iommu_open_fix(int rc, const char *path, const char *bdf, char *buf, size_t len)
{
	if ((rc == -EACCES || rc == -EPERM) && strstr(path, "noiommu")) {
		snprintf(buf, len, " (VFIO's no-IOMMU mode needs CAP_SYS_RAWIO: it cannot run "
			 "without root)");
		return buf;
	}
	if (rc == -EACCES || rc == -EPERM) {
		size_t n = (size_t)snprintf(buf, len, " (");

		rights_hint(path, "read-write", bdf, buf + n, len - n);
		n = strlen(buf);
		snprintf(buf + n, len - n, ")");
		return buf;
	}
	return rc == -EBUSY ? " (another process has it open)" : "";
}
