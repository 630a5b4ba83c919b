/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-dma-map - zdk_dma_map()/zdk_dma_unmap()'s own work, counted by
 * callgrind over a backend whose map and unmap do nothing (buildtools/
 * insn-count runs it):
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_map \
 *            --toggle-collect=bench_unmap --toggle-collect=stub_map \
 *            --toggle-collect=stub_unmap bench-dma-map HELD PAIRS
 *
 * The toggles collect inside bench_map() and bench_unmap() (one call each
 * of zdk_dma_map() and zdk_dma_unmap()) and not in the stubs (a nested
 * toggle turns collection off), so the figure is the bookkeeping zdk adds
 * to the ioctl: checks, locks, the IOVA choice, the extent and mapping
 * tables, allocations. HELD 4 KiB mappings are made first and one pair
 * warms up (neither is counted: the first map reads the RLIMIT_MEMLOCK
 * state once), then PAIRS times one 4 KiB page is mapped and unmapped, as
 * zdk-dma-bench's latency test does. The 8 MiB arena (4 KiB pages, no
 * hugepages needed) is mapped too, as after zdk_eal_init().
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../../lib/iommu/iommu.c"
#include "../../../lib/iommu/iova.c"
#include "../../../lib/iommu/extents.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/iommu/nonroot.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/mem/arena.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/mem/dma.c"
#include "../../../lib/mem/malloc.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/mem/nonroot.c"

/* The real backends are not built in. */
const struct iommu_ops iommu_iommufd_ops, iommu_type1_ops, iommu_noiommu_ops,
	iommu_noiommu_cdev_ops;

int zdk_socket_id(void)
{
	return 0;
}

__attribute__((noinline)) int stub_map(struct iommu *io, void *va, uint64_t iova, uint64_t len);
__attribute__((noinline)) int stub_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	__asm__ volatile("" ::: "memory");
	return 0;
}

__attribute__((noinline)) int stub_unmap(struct iommu *io, uint64_t iova, uint64_t len);
__attribute__((noinline)) int stub_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	__asm__ volatile("" ::: "memory");
	return 0;
}

static const struct iommu_ops stub_ops = {
	.name = "stub",
	.mode = ZDK_IOMMU_IOMMUFD,
	.map = stub_map,
	.unmap = stub_unmap,
};

__attribute__((noinline)) int bench_map(void *va, size_t len, uint64_t *iova);
__attribute__((noinline)) int bench_map(void *va, size_t len, uint64_t *iova)
{
	return zdk_dma_map(va, len, iova);
}

__attribute__((noinline)) int bench_unmap(void *va, size_t len);
__attribute__((noinline)) int bench_unmap(void *va, size_t len)
{
	return zdk_dma_unmap(va, len);
}

/* Application memory is never touched with an IOMMU: any page-aligned VA do. */
#define VA_BASE 0x40000000ul
#define PG 4096ul

int main(int argc, char **argv)
{
	struct mem_conf mc = { .no_huge = true, .prefix = "bench" };
	unsigned long held, pairs, i;
	struct iommu *io;
	uint64_t iova;

	if (argc != 3 || (pairs = strtoul(argv[2], NULL, 0)) == 0) {
		fprintf(stderr, "usage: %s HELD PAIRS\n", argv[0]);
		return 2;
	}
	held = strtoul(argv[1], NULL, 0);
	zdk_log_set_level(ZDK_LOG_ERR);
	mc.node_mem[0] = 8u << 20;
	io = calloc(1, sizeof(*io));
	if (!io || mem_init(&mc))
		return 1;
	io->ops = &stub_ops;
	io->fd = -1;
	io->ready = true;
	io->ndevs = 1;
	io->ranges[0] = (struct iova_range){ 0, (1ULL << 39) - 1 };
	io->nranges = 1;
	pthread_spin_init(&io->lock, PTHREAD_PROCESS_PRIVATE);
	iommu_g = io;
	if (mem_dma_setup(io))
		return 1;
	for (i = 0; i < held; i++)
		if (zdk_dma_map((void *)(VA_BASE + (i + 1) * 2 * PG), PG, &iova))
			return 1;
	if (zdk_dma_map((void *)VA_BASE, PG, &iova) || zdk_dma_unmap((void *)VA_BASE, PG))
		return 1;
	for (i = 0; i < pairs; i++) {
		if (bench_map((void *)VA_BASE, PG, &iova) || iova != VA_BASE ||
		    bench_unmap((void *)VA_BASE, PG))
			return 1;
	}
	printf("%lu map/unmap pairs of 4 KiB with %lu mappings held\n", pairs, held);
	mem_ext_release(io);
	mem_dma_teardown(io);
	iommu_g = NULL;
	extents_fini(&io->extents);
	pthread_spin_destroy(&io->lock);
	free(io);
	mem_fini();
	return 0;
}
