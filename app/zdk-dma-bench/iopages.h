/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iopages.h - what size of IOMMU page table entries back a range of IOVAs:
 * the proof that hugepages became huge IOMMU pages (or, under type1 v1 on
 * iommufd's compat container, did not). Read from the VT-d page tables the
 * kernel shows in debugfs (CONFIG_IOMMU_DEBUGFS, CONFIG_INTEL_IOMMU_DEBUGFS):
 * /sys/kernel/debug/iommu/intel/<BDF>/domain_translation_struct.
 */
#ifndef DMA_BENCH_IOPAGES_H
#define DMA_BENCH_IOPAGES_H

#include <stdint.h>
#include <stdio.h>

struct iopages {
	uint64_t n4k, n2m, n1g; /* leaf entries inside the range */
	uint64_t bytes;         /* of the range they cover */
};

/*
 * iopages_parse() - count the leaf entries of one domain_translation_struct
 * dump that fall inside [@iova, @iova + @len).
 * Return: 0, or -EINVAL when no line of the dump looks like a page table.
 */
int iopages_parse(FILE *f, uint64_t iova, uint64_t len, struct iopages *out);

/*
 * iopages_read() - the same for device @bdf's domain, from debugfs.
 * Return: 0; -ENOENT (debugfs or the file is missing: its cause is printed
 * to stderr with the fix), or -EINVAL.
 */
int iopages_read(const char *bdf, uint64_t iova, uint64_t len, struct iopages *out);

/* "4K=0 2M=32 1G=0" */
void iopages_format(const struct iopages *p, char *buf, size_t len);

/*
 * iopages_type1_v1() - the trap, shown without the library (which always
 * asks for type1 v2): a container of its own with VFIO_TYPE1_IOMMU, @bdf's
 * group in it, @len bytes of 2 MiB hugepages (a memfd) mapped at 4 GiB, and
 * the entries counted. The device must be bound to vfio-pci and not open.
 * Return: 0, -EOPNOTSUPP when the container has no v1, or -errno.
 */
int iopages_type1_v1(const char *bdf, uint64_t len, struct iopages *out, int *compat);

#endif /* DMA_BENCH_IOPAGES_H */
