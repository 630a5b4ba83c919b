/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommu_facts.c - the forms of the kernel's DMA interface present here, and
 * the IOMMU hardware behind a device, for zdk-doctor.
 *
 * Forms: native iommufd (/dev/iommu + device cdevs), VFIO's own type1
 * container, iommufd's compat container (/dev/vfio/vfio served by iommufd:
 * it answers iommufd's IOMMU_DESTROY), VFIO's no-IOMMU group (through
 * either container), and no-IOMMU through iommufd (Linux 7.3,
 * IOMMU_IOAS_NOIOMMU_GET_PA). Each probe opens a node and asks one harmless
 * question.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommu_facts.h"
#include "uapi_compat.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

static int open_node(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void probe_container(const char *dev_root, struct iommu_facts *f)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = 0 };
	int fd = open_node(dev_root, "vfio/vfio");

	if (fd < 0)
		return;
	f->container = true;
	f->container_by_iommufd = xioctl(fd, IOMMU_DESTROY, &d) == -ENOENT; /* see type1.c */
	f->type1v2 = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1;
	f->noiommu_group = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 1;
	close(fd);
}

/* VT-d capability register (VT-d spec 11.4.2): what matters to zdk. */
static void describe_vtd(const struct iommu_hw_info_vtd *v, const struct iommu_hw_info *h,
			 char *buf, size_t len)
{
	unsigned mgaw = (unsigned)((v->cap_reg >> 16) & 0x3f) + 1;
	unsigned sllps = (unsigned)((v->cap_reg >> 34) & 0xf);
	bool cm = (v->cap_reg >> 7) & 1;
	bool nest = (v->ecap_reg >> 26) & 1;

	snprintf(buf, len, "Intel VT-d: %u-bit addresses; IOMMU page sizes 4K%s%s; caching mode "
		 "%s; nested translation %s; dirty tracking %s; PASID %u bits",
		 mgaw, sllps & 1 ? " 2M" : "", sllps & 2 ? " 1G" : "", cm ? "on" : "off",
		 nest ? "yes" : "no",
		 h->out_capabilities & ZDK_IOMMU_HW_CAP_DIRTY_TRACKING ? "yes" : "no",
		 h->out_max_pasid_log2);
}

static void probe_hw(int ifd, const char *dev_root, const char *cdev, struct iommu_facts *f)
{
	struct vfio_device_bind_iommufd bind = { .argsz = ZDK_VFIO_BIND_IOMMUFD_ARGSZ };
	struct vfio_device_attach_iommufd_pt att = { .argsz = ZDK_VFIO_ATTACH_PT_ARGSZ };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_hw_info_vtd vtd = { 0 };
	struct iommu_hw_info h = { .size = sizeof(h) };
	struct iommu_iova_range r[16];
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .num_iovas = 16 };
	struct iommu_destroy d = { .size = sizeof(d) };
	char rel[80];
	int dfd, rc;
	size_t n = 0;

	snprintf(rel, sizeof(rel), "vfio/devices/%s", cdev);
	dfd = open_node(dev_root, rel);
	if (dfd < 0) {
		snprintf(f->hw_why, sizeof(f->hw_why), "cannot open /dev/%s: %s", rel, strerror(errno));
		return;
	}
	bind.iommufd = ifd;
	rc = xioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc) {
		snprintf(f->hw_why, sizeof(f->hw_why), "/dev/%s: %s%s", rel, strerror(-rc),
			 rc == -EBUSY || rc == -EINVAL ? " (in use by a program)" : "");
		goto out_close;
	}
	h.dev_id = bind.out_devid;
	h.data_len = sizeof(vtd);
	h.data_uptr = (uintptr_t)&vtd;
	rc = xioctl(ifd, IOMMU_GET_HW_INFO, &h);
	if (rc) {
		snprintf(f->hw_why, sizeof(f->hw_why), "IOMMU_GET_HW_INFO: %s", strerror(-rc));
		goto out_close;
	}
	f->hw = true;
	if (h.out_data_type == ZDK_IOMMU_HW_INFO_TYPE_INTEL_VTD)
		describe_vtd(&vtd, &h, f->hw_desc, sizeof(f->hw_desc));
	else
		snprintf(f->hw_desc, sizeof(f->hw_desc), "%s (hardware info type %u); PASID %u bits",
			 h.out_data_type == ZDK_IOMMU_HW_INFO_TYPE_AMD ? "AMD-Vi"
			 : h.out_data_type == ZDK_IOMMU_HW_INFO_TYPE_ARM_SMMUV3 ? "Arm SMMUv3"
			 : h.out_data_type == 0 ? "an IOMMU that reports no details" : "another IOMMU",
			 h.out_data_type, h.out_max_pasid_log2);
	/* The ranges a process gets once the device is attached. */
	if (xioctl(ifd, IOMMU_IOAS_ALLOC, &alloc))
		goto out_close;
	att.pt_id = alloc.out_ioas_id;
	q.ioas_id = alloc.out_ioas_id;
	q.allowed_iovas = (uintptr_t)r;
	if (!xioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &att) &&
	    !xioctl(ifd, IOMMU_IOAS_IOVA_RANGES, &q)) {
		for (unsigned i = 0; i < q.num_iovas && i < 16 && n < sizeof(f->ranges) - 48; i++)
			n += (size_t)snprintf(f->ranges + n, sizeof(f->ranges) - n, "%s[0x%llx, 0x%llx]",
					      i ? " " : "", (unsigned long long)r[i].start,
					      (unsigned long long)r[i].last);
	}
	close(dfd); /* detaches before the IOAS goes */
	dfd = -1;
	d.id = alloc.out_ioas_id;
	ioctl(ifd, IOMMU_DESTROY, &d);
out_close:
	if (dfd >= 0)
		close(dfd);
}

void iommu_facts_probe(const char *dev_root, const char *cdev, struct iommu_facts *f)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_noiommu_get_pa pa = { .size = sizeof(pa), .length = 1 };
	struct iommu_destroy d = { .size = sizeof(d) };
	int ifd, rc;

	memset(f, 0, sizeof(*f));
	probe_container(dev_root, f);
	ifd = open_node(dev_root, "iommu");
	if (ifd < 0)
		return;
	if (!xioctl(ifd, IOMMU_IOAS_ALLOC, &alloc)) {
		f->iommufd = true;
		d.id = alloc.out_ioas_id;
		ioctl(ifd, IOMMU_DESTROY, &d);
	}
	/* A kernel without it does not know the ioctl; one with it checks
	 * CAP_SYS_RAWIO, then the (invalid) IOAS id 0. */
	rc = xioctl(ifd, IOMMU_IOAS_NOIOMMU_GET_PA, &pa);
	f->noiommu_cdev = f->iommufd && rc != -ENOTTY && rc != -EOPNOTSUPP;
	if (f->iommufd && cdev && strncmp(cdev, "noiommu-", 8))
		probe_hw(ifd, dev_root, cdev, f);
	close(ifd);
}
