/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iopages.c - count the VT-d page table entries behind a range of IOVAs, from
 * the kernel's debugfs dump (drivers/iommu/intel/debugfs.c). Each leaf is a
 * line "0x<IOVA pfn> |\t<PML5E>\t<PML4E>\t<PDPE>[\t<PDE>[\t<PTE>]]": a leaf
 * at the PDPE is a 1 GiB page, at the PDE 2 MiB, at the PTE 4 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "iopages.h"

#define DEBUGFS_INTEL "/sys/kernel/debug/iommu/intel"

int iopages_parse(FILE *f, uint64_t iova, uint64_t len, struct iopages *out)
{
	char line[512];
	bool table = false;

	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		unsigned long long pfn = strtoull(p, &end, 16);
		uint64_t start, size;
		int fields = 0;

		if (!strncmp(line, "IOVA_PFN", 8))
			table = true;
		if (end == p || strncmp(line, "0x", 2))
			continue;
		p = strchr(end, '|');
		if (!p)
			continue;
		for (p++; *p; ) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (strncmp(p, "0x", 2))
				break;
			strtoull(p, &end, 16);
			fields++;
			p = end;
		}
		switch (fields) {
		case 3: size = 1ULL << 30; break;
		case 4: size = 2ULL << 20; break;
		case 5: size = 4096; break;
		default: continue;
		}
		table = true;
		start = (uint64_t)pfn << 12;
		if (start + size <= iova || start >= iova + len)
			continue;
		out->n4k += size == 4096;
		out->n2m += size == (2ULL << 20);
		out->n1g += size == (1ULL << 30);
		out->bytes += size;
	}
	return table ? 0 : -EINVAL;
}

int iopages_read(const char *bdf, uint64_t iova, uint64_t len, struct iopages *out)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), DEBUGFS_INTEL "/%s/domain_translation_struct", bdf);
	f = fopen(path, "r");
	if (!f) {
		if (access("/sys/kernel/debug/iommu", F_OK))
			fprintf(stderr, "dma-bench: %s: no IOMMU debugfs: mount -t debugfs none "
				"/sys/kernel/debug, on a kernel with CONFIG_IOMMU_DEBUGFS and "
				"CONFIG_INTEL_IOMMU_DEBUGFS (VT-d only)\n", path);
		else
			fprintf(stderr, "dma-bench: cannot read %s: %s (VT-d only; run as root)\n",
				path, strerror(errno));
		return -ENOENT;
	}
	rc = iopages_parse(f, iova, len, out);
	fclose(f);
	if (rc)
		fprintf(stderr, "dma-bench: %s shows no page table (is DMA remapping on?)\n", path);
	return rc;
}

void iopages_format(const struct iopages *p, char *buf, size_t len)
{
	snprintf(buf, len, "4K=%llu 2M=%llu 1G=%llu", (unsigned long long)p->n4k,
		 (unsigned long long)p->n2m, (unsigned long long)p->n1g);
}

static int group_of(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX], *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	slash = strrchr(link, '/');
	return slash ? atoi(slash + 1) : -EINVAL;
}

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#define MFD_HUGE_2MB (21U << 26)

int iopages_type1_v1(const char *bdf, uint64_t len, struct iopages *out, int *compat)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	const uint64_t iova = 1ULL << 32;
	char path[64];
	int cfd, gfd = -1, mfd = -1, dfd = -1, group, rc;
	uint32_t destroy[2] = { sizeof(destroy), 0 }; /* struct iommu_destroy, id 0 */
	void *va = MAP_FAILED;

	group = group_of(bdf);
	if (group < 0)
		return group;
	cfd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (cfd < 0)
		return -errno;
	/* iommufd's compat container answers iommufd's IOMMU_DESTROY */
	*compat = ioctl(cfd, _IO(';', 0x80), destroy) && errno == ENOENT;
	if (ioctl(cfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) != 1) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	gfd = open(path, O_RDWR | O_CLOEXEC);
	if (gfd < 0 || ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd) ||
	    ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) {
		rc = -errno;
		fprintf(stderr, "dma-bench: --type1-v1: group %d into a v1 container: %s\n", group,
			strerror(errno));
		goto out;
	}
	/* iommufd's compat container attaches the device to its IOAS when the
	 * device is opened, not when its group joins. */
	dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dfd < 0) {
		rc = -errno;
		fprintf(stderr, "dma-bench: --type1-v1: opening %s: %s (is it in use?)\n", bdf,
			strerror(errno));
		goto out;
	}
	mfd = memfd_create("zdk-dma-bench-v1", MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, (off_t)len) ||
	    (va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, mfd, 0)) ==
		    MAP_FAILED) {
		rc = -errno;
		fprintf(stderr, "dma-bench: --type1-v1: %llu MiB of 2 MiB hugepages: %s\n",
			(unsigned long long)(len >> 20), strerror(errno));
		goto out;
	}
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)va;
	map.iova = iova;
	map.size = len;
	if (ioctl(cfd, VFIO_IOMMU_MAP_DMA, &map)) {
		rc = -errno;
		fprintf(stderr, "dma-bench: --type1-v1: VFIO_IOMMU_MAP_DMA: %s\n", strerror(errno));
		goto out;
	}
	rc = iopages_read(bdf, iova, len, out);
	unmap.iova = iova;
	unmap.size = len;
	ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &unmap);
out:
	if (va != MAP_FAILED)
		munmap(va, len);
	if (mfd >= 0)
		close(mfd);
	if (dfd >= 0)
		close(dfd);
	if (gfd >= 0)
		close(gfd);
	close(cfd);
	return rc;
}
