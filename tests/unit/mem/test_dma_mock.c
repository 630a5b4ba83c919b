// SPDX-License-Identifier: BSD-3-Clause
/*
 * The arena and external DMA mappings over a mock IOMMU backend: the arena
 * is mapped once (by file where the backend can, else by VA) inside a
 * 39-bit aperture, zdk_virt2iova() agrees with what was mapped, external
 * maps get IOVAs clear of the arena and are unmapped exactly, and a type1
 * container that is not ready yet defers the mapping. Issue 9, defects 8
 * and 12: IOVAs handed out before any backend could map are the ones mapped
 * later; what type1 loses with its last group is mapped again, at the same
 * IOVAs; no-IOMMU mode refuses 4 KiB pages and late physical addresses.
 * Issue 13: no-IOMMU through iommufd pins the arena and external maps in the
 * IOAS and hands the device the kernel's physical addresses.
 */
#include "../zdk_test.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/capability.h>

/* The files under test, each with its own log component. */
#include "../../../lib/iommu/iommu.c"
#include "../../../lib/iommu/iova.c"
#include "../../../lib/iommu/extents.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/iommu/nonroot.c"
#undef ZDK_LOG_COMPONENT
/* arena.c's pagemap reader is replaced by mock_frames below (dma.c calls it). */
#define mem_virt2phys arena_mem_virt2phys
#include "../../../lib/mem/arena.c"
#undef mem_virt2phys
#undef ZDK_LOG_COMPONENT
int mem_virt2phys(const void *va, uint64_t *pa);
#include "../../../lib/mem/dma.c"
#include "../../../lib/mem/malloc.c"
#undef ZDK_LOG_COMPONENT
#include "../../../lib/mem/nonroot.c"

/* The real backends are not under test here. */
const struct iommu_ops iommu_iommufd_ops, iommu_type1_ops, iommu_noiommu_ops,
	iommu_noiommu_cdev_ops;

int zdk_socket_id(void)
{
	return 0;
}

enum { OP_MAP, OP_MAP_FILE, OP_UNMAP };
static struct call {
	int op;
	uint64_t iova, len;
	void *va;
} calls[64];
static int ncalls;
static bool has_map_file;
static int fail_map;

static int mock_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	if (fail_map)
		return fail_map;
	calls[ncalls++] = (struct call){ OP_MAP, iova, len, va };
	return 0;
}

static int mock_map_file(struct iommu *io, int fd, uint64_t off, uint64_t iova, uint64_t len)
{
	if (!has_map_file)
		return -EOPNOTSUPP;
	calls[ncalls++] = (struct call){ OP_MAP_FILE, iova, len, NULL };
	return 0;
}

static int mock_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	calls[ncalls++] = (struct call){ OP_UNMAP, iova, len, NULL };
	return 0;
}

/*
 * No-IOMMU mode: the "physical" frame of each 4 KiB page of mock_base,
 * deliberately not adjacent where a run must end.
 */
static char *mock_base;
static const uint64_t mock_frames[8] = { 10, 11, 12, 40, 41, 5, 100, 101 };

int mem_virt2phys(const void *va, uint64_t *pa)
{
	size_t i = (size_t)((const char *)va - mock_base) / 4096;

	if (!mock_base || (const char *)va < mock_base || i >= ZDK_ARRAY_SIZE(mock_frames))
		return -EPERM;
	*pa = mock_frames[i] * 4096 + (uintptr_t)va % 4096;
	return 0;
}

static const struct iommu_ops mock_ops = {
	.name = "mock",
	.mode = ZDK_IOMMU_IOMMUFD,
	.map = mock_map,
	.map_file = mock_map_file,
	.unmap = mock_unmap,
};

static const struct iommu_ops mock_noiommu_ops = {
	.name = "mock-noiommu",
	.mode = ZDK_IOMMU_NOIOMMU,
	.map = mock_map,
	.unmap = mock_unmap,
};

/*
 * No-IOMMU through iommufd: the "physical" address behind an IOAS IOVA. Each
 * 2 MiB of a mapping lands in reversed order from 0x40000000 (so runs end
 * at every 2 MiB), offset by mock_moved once the pages "moved".
 */
static uint64_t mock_moved;

static int mock_phys(struct iommu *io, uint64_t iova, uint64_t len, uint64_t *pa,
		     uint64_t *contig)
{
	const uint64_t huge = 2u << 20;

	for (int i = ncalls - 1; i >= 0; i--) {
		const struct call *c = &calls[i];
		uint64_t off = iova - c->iova, slot;

		if (c->op == OP_UNMAP || iova < c->iova || off >= c->len)
			continue;
		slot = (c->len + huge - 1) / huge - 1 - off / huge;
		*pa = 0x40000000 + mock_moved + slot * huge + off % huge;
		*contig = ZDK_MIN(len, huge - off % huge);
		return 0;
	}
	return -ENOENT;
}

static const struct iommu_ops mock_noiommu_cdev = {
	.name = "mock-noiommu-cdev",
	.mode = ZDK_IOMMU_NOIOMMU,
	.map = mock_map,
	.map_file = mock_map_file,
	.unmap = mock_unmap,
	.phys = mock_phys,
};

static struct iommu *mock_create_ops(const struct iommu_ops *ops, bool ready)
{
	struct iommu *io = calloc(1, sizeof(*io));

	io->ops = ops;
	io->fd = -1;
	io->ready = ready;
	io->ranges[0] = (struct iova_range){ 0, (1ULL << 39) - 1 };
	io->nranges = 1;
	pthread_spin_init(&io->lock, PTHREAD_PROCESS_PRIVATE);
	ncalls = 0;
	iommu_g = io;
	return io;
}

static struct iommu *mock_create(bool ready)
{
	return mock_create_ops(&mock_ops, ready);
}

static void mock_destroy(struct iommu *io)
{
	mem_ext_release(io);
	mem_dma_teardown(io);
	iommu_g = NULL;
	pthread_spin_destroy(&io->lock);
	extents_fini(&io->extents);
	free(io);
	mem_fini();
}

static int arena_up(void)
{
	struct mem_conf mc = { .no_huge = true, .prefix = "t" };

	mc.node_mem[0] = 8u << 20;
	return mem_init(&mc);
}

static void check_arena_xlate(const struct call *c)
{
	char *p = zdk_dma_zalloc(10000, 4096, ZDK_SOCKET_ANY, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* the IOVA the device sees is the one the mapping was made at */
	CU_ASSERT_EQUAL(zdk_virt2iova(p), c->iova + (uint64_t)(p - mem_arena_g->base));
	CU_ASSERT_EQUAL(zdk_virt2iova(p + 9999), zdk_virt2iova(p) + 9999);
	CU_ASSERT_TRUE(iova_range_contains(iommu_g->ranges, 1, zdk_virt2iova(p), 10000));
	zdk_dma_free(p);
}

static void test_arena_by_file(void)
{
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	has_map_file = true;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1);
	CU_ASSERT_EQUAL(calls[0].op, OP_MAP_FILE);
	CU_ASSERT_EQUAL(calls[0].len, 8u << 20);
	/* the 47-bit VA does not fit 39 bits: allocated inside the aperture */
	CU_ASSERT_TRUE(calls[0].iova + calls[0].len <= (1ULL << 39));
	CU_ASSERT_NOT_EQUAL(calls[0].iova, 0);
	check_arena_xlate(&calls[0]);
	/* mapped once: a second setup maps nothing */
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(ncalls, 1);
	mock_destroy(io);
	CU_ASSERT_EQUAL(ncalls, 2);
	CU_ASSERT_EQUAL(calls[1].op, OP_UNMAP);
	CU_ASSERT_EQUAL(calls[1].iova, calls[0].iova);
	CU_ASSERT_EQUAL(calls[1].len, calls[0].len);
}

static void test_arena_by_va_fallback(void)
{
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	has_map_file = false;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1);
	CU_ASSERT_EQUAL(calls[0].op, OP_MAP);
	CU_ASSERT_PTR_EQUAL(calls[0].va, mem_arena_g->base);
	check_arena_xlate(&calls[0]);
	mock_destroy(io);
}

static void test_deferred_until_ready(void)
{
	struct iommu *io;
	uint64_t early;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(false);
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(ncalls, 0); /* type1 with no group: nothing to map into */
	/* but allocations already get their IOVAs (a mempool keeps them) ... */
	early = zdk_virt2iova(mem_arena_g->base);
	CU_ASSERT_NOT_EQUAL(early, ZDK_BAD_IOVA);
	io->ready = true; /* the first group joined */
	io->ndevs = 1;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1);
	/* ... and the mapping made later is at exactly those IOVAs */
	CU_ASSERT_EQUAL(calls[0].iova, early);
	CU_ASSERT_EQUAL(zdk_virt2iova(mem_arena_g->base), early);
	mock_destroy(io);
}

/* Defect 12: init found no backend at all (no device, no VFIO yet); a device
 * attached later must get the arena mapped, at the IOVAs already handed out. */
static void test_backend_after_init(void)
{
	char *p;
	uint64_t early;
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	CU_ASSERT_EQUAL(mem_dma_setup(NULL), 0);
	p = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, &early);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_NOT_EQUAL(early, ZDK_BAD_IOVA);
	/* inside every IOMMU's aperture, clear of the MSI window */
	CU_ASSERT_TRUE(early >= (1ULL << 32) && early < (1ULL << 39));

	io = mock_create(true);
	io->ndevs = 1;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1);
	CU_ASSERT_TRUE(calls[0].iova <= early && early < calls[0].iova + calls[0].len);
	CU_ASSERT_EQUAL(calls[0].iova + (uint64_t)(p - mem_arena_g->base), early);
	CU_ASSERT_EQUAL(zdk_virt2iova(p), early);
	zdk_dma_free(p);
	mock_destroy(io);
}

/* A backend that cannot map the IOVAs handed out says so and maps nothing. */
static void test_backend_after_init_cannot_keep_iovas(void)
{
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	CU_ASSERT_EQUAL(mem_dma_setup(NULL), 0);
	io = mock_create(true);
	io->ndevs = 1;
	io->ranges[0] = (struct iova_range){ 0, (1ULL << 32) - 1 }; /* a 32-bit IOMMU */
	CU_ASSERT_EQUAL(mem_dma_setup(io), -ERANGE);
	CU_ASSERT_EQUAL(ncalls, 0);
	mock_destroy(io);
}

/* Defect 12, type1: the last group leaving drops every mapping in the kernel;
 * the next attach maps the arena and the zdk_dma_map() regions again. */
static void test_type1_mappings_lost_and_restored(void)
{
	uint64_t arena_iova, ext_iova;
	struct iommu *io;
	char *buf = NULL;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	io->ndevs = 1;
	has_map_file = false;
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	arena_iova = calls[0].iova;
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&buf, 4096, 1 << 16), 0);
	CU_ASSERT_EQUAL_FATAL(zdk_dma_map(buf, 1 << 16, &ext_iova), 0);

	/* the last group leaves: what the kernel dropped is no longer counted */
	io->ready = false;
	io->ndevs = 0;
	mem_dma_lost(io);
	mem_ext_lost(io);
	ncalls = 0;
	/* a device attaches again */
	io->ready = true;
	io->ndevs = 1;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(mem_ext_remap(io), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 2);
	CU_ASSERT_EQUAL(calls[0].op, OP_MAP);
	CU_ASSERT_EQUAL(calls[0].iova, arena_iova);
	CU_ASSERT_EQUAL(calls[1].op, OP_MAP);
	CU_ASSERT_PTR_EQUAL(calls[1].va, buf);
	CU_ASSERT_EQUAL(calls[1].iova, ext_iova);
	CU_ASSERT_EQUAL(zdk_virt2iova(buf + 5), ext_iova + 5);
	/* mapped once more, not twice: a further attach maps nothing */
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(mem_ext_remap(io), 0);
	CU_ASSERT_EQUAL(ncalls, 2);
	mock_destroy(io);
	free(buf);
}

/* Defect 8: however no-IOMMU mode was chosen, 4 KiB pages are refused, and
 * so are physical addresses after other IOVAs were handed out. */
static void test_noiommu_refuses(void)
{
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0); /* --no-huge */
	io = mock_create_ops(&mock_noiommu_ops, true);
	CU_ASSERT_EQUAL(mem_dma_setup(io), -EINVAL);
	CU_ASSERT_EQUAL(mem_arena_g->dma_mapped, false);
	mock_destroy(io);

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	CU_ASSERT_EQUAL(mem_dma_setup(NULL), 0);
	mem_arena_g->pgsz = 2u << 20; /* as if hugepages: only the late start is wrong */
	io = mock_create_ops(&mock_noiommu_ops, true);
	CU_ASSERT_EQUAL(mem_dma_setup(io), -EINVAL);
	mem_arena_g->pgsz = 4096;
	mock_destroy(io);
}

static void test_external(void)
{
	struct iommu *io;
	uint64_t iova, iova2, arena_lo, arena_hi;
	char *buf = NULL;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	has_map_file = true;
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	arena_lo = calls[0].iova;
	arena_hi = arena_lo + calls[0].len;
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&buf, 4096, 1 << 16), 0);

	CU_ASSERT_EQUAL(zdk_dma_map(buf + 1, 4096, &iova), -EINVAL);
	CU_ASSERT_EQUAL(zdk_dma_map(buf, 100, &iova), -EINVAL);
	CU_ASSERT_EQUAL(zdk_dma_map(mem_arena_g->base, 4096, &iova), -EINVAL);
	fail_map = -ENOSPC; /* type1's dma_entry_limit */
	CU_ASSERT_EQUAL(zdk_dma_map(buf, 1 << 16, &iova), -ENOSPC);
	fail_map = 0;
	CU_ASSERT_EQUAL(zdk_virt2iova(buf), ZDK_BAD_IOVA);

	CU_ASSERT_EQUAL_FATAL(zdk_dma_map(buf, 1 << 16, &iova), 0);
	CU_ASSERT_TRUE(iova + (1 << 16) <= arena_lo || iova >= arena_hi);
	CU_ASSERT_EQUAL(zdk_virt2iova(buf + 777), iova + 777);
	CU_ASSERT_EQUAL(zdk_dma_map(buf + 4096, 4096, &iova2), -EEXIST);
	CU_ASSERT_EQUAL(calls[ncalls - 1].op, OP_MAP);
	CU_ASSERT_EQUAL(zdk_dma_unmap(buf, 4096), -ENOENT); /* not the exact range */
	CU_ASSERT_EQUAL(zdk_dma_unmap(buf, 1 << 16), 0);
	CU_ASSERT_EQUAL(calls[ncalls - 1].op, OP_UNMAP);
	CU_ASSERT_EQUAL(calls[ncalls - 1].iova, iova);
	CU_ASSERT_EQUAL(zdk_virt2iova(buf), ZDK_BAD_IOVA);
	CU_ASSERT_EQUAL(zdk_dma_unmap(buf, 1 << 16), -ENOENT);
	/* the IOVA space was returned: the same range is handed out again */
	CU_ASSERT_EQUAL(zdk_dma_map(buf, 1 << 16, &iova2), 0);
	CU_ASSERT_EQUAL(iova2, iova);
	/* left mapped on purpose: cleanup must unmap it */
	ncalls = 0;
	mock_destroy(io);
	CU_ASSERT_EQUAL(ncalls, 2);
	CU_ASSERT_EQUAL(calls[0].op, OP_UNMAP);
	CU_ASSERT_EQUAL(calls[0].iova, iova2);
	free(buf);
}

static void test_iova_alloc(void)
{
	struct iommu *io;
	uint64_t a, b;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(zdk_iommu_iova_alloc(1 << 20, 1 << 20, &a), 0);
	CU_ASSERT_EQUAL(zdk_iommu_iova_alloc(1 << 20, 1 << 20, &b), 0);
	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a % (1 << 20), 0);
	zdk_iommu_iova_free(a, 1 << 20);
	CU_ASSERT_EQUAL(zdk_iommu_iova_alloc(1 << 20, 1 << 20, &b), 0);
	CU_ASSERT_EQUAL(b, a);
	CU_ASSERT_EQUAL(zdk_iommu_iova_alloc(1ULL << 40, 4096, &b), -ENOSPC);
	mock_destroy(io);
}

/* Every run the query reports is contiguous and ends where contiguity does. */
static void check_runs(const char *buf, size_t len, const size_t *want, unsigned nwant)
{
	size_t off = 0, run;
	unsigned n = 0;

	while (off < len) {
		uint64_t iova = zdk_virt2iova_run(buf + off, len - off, &run);

		CU_ASSERT_NOT_EQUAL_FATAL(iova, ZDK_BAD_IOVA);
		CU_ASSERT_FATAL(n < nwant);
		CU_ASSERT_EQUAL(run, want[n]);
		for (size_t b = 0; b < run; b += 1000)
			CU_ASSERT_EQUAL(zdk_virt2iova(buf + off + b), iova + b);
		off += run;
		n++;
	}
	CU_ASSERT_EQUAL(n, nwant);
}

static void test_runs_noiommu(void)
{
	static const size_t want[] = { 3 * 4096 - 100, 2 * 4096, 4096, 4096 + 100 };
	struct iommu *io;
	uint64_t iova;
	size_t run;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create_ops(&mock_noiommu_ops, true);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&mock_base, 4096, 8 * 4096), 0);
	if (zdk_dma_map(mock_base, 8 * 4096, &iova) == -EPERM) {
		printf("skipped: mlock of 32 KiB refused (RLIMIT_MEMLOCK)\n");
		goto out;
	}
	CU_ASSERT_EQUAL(iova, 10 * 4096);
	/* from 100 bytes in: frames 10-12 | 40-41 | 5 | 100-101 (cut at max) */
	check_runs(mock_base + 100, 7 * 4096, want, ZDK_ARRAY_SIZE(want));
	CU_ASSERT_EQUAL(zdk_virt2iova_run(mock_base + 7 * 4096 + 5, 1 << 20, &run), 101 * 4096 + 5);
	CU_ASSERT_EQUAL(run, 4096 - 5); /* the end of the mapping */
	CU_ASSERT_EQUAL(zdk_virt2iova_run(mock_base + 8 * 4096, 1, &run), ZDK_BAD_IOVA);
	CU_ASSERT_EQUAL(run, 0);
	CU_ASSERT_EQUAL(zdk_dma_unmap(mock_base, 8 * 4096), 0);
out:
	mock_destroy(io);
	free(mock_base);
	mock_base = NULL;
}

/* Two mappings side by side in VA are two runs, whatever IOVAs they got. */
static void test_runs_two_maps(void)
{
	static const size_t want_arena[] = { 10000 };
	struct iommu *io;
	uint64_t a, b;
	char *buf = NULL, *p;
	size_t run;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create(true);
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	p = zdk_dma_zalloc(10000, 4096, ZDK_SOCKET_ANY, NULL);
	check_runs(p, 10000, want_arena, 1);
	zdk_dma_free(p);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&buf, 4096, 4 * 4096), 0);
	CU_ASSERT_EQUAL_FATAL(zdk_dma_map(buf, 2 * 4096, &a), 0);
	CU_ASSERT_EQUAL_FATAL(zdk_dma_map(buf + 2 * 4096, 2 * 4096, &b), 0);
	CU_ASSERT_EQUAL(zdk_virt2iova_run(buf + 4096, 3 * 4096, &run), a + 4096);
	CU_ASSERT_EQUAL(run, 4096);
	CU_ASSERT_EQUAL(zdk_virt2iova_run(buf + 2 * 4096, 3 * 4096, &run), b);
	CU_ASSERT_EQUAL(run, 2 * 4096);
	CU_ASSERT_EQUAL(zdk_virt2iova_run(buf + 2 * 4096, 77, &run), b);
	CU_ASSERT_EQUAL(run, 77);
	mock_destroy(io);
	free(buf);
}

/* No-IOMMU through iommufd: nothing until a device brings the software
 * domain; then the arena is pinned in the IOAS and the device gets the
 * kernel's physical addresses; pages that moved while unpinned are refused. */
static void test_noiommu_iommufd_arena(void)
{
	const uint64_t huge = 2u << 20;
	struct iommu *io;
	uint64_t ioas;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	mem_arena_g->pgsz = huge; /* 8 MiB as four "hugepages" */
	io = mock_create_ops(&mock_noiommu_cdev, false);
	mock_moved = 0;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(mem_arena_g->dma_mapped, false);
	CU_ASSERT_EQUAL(ncalls, 0);

	io->ready = true; /* the first device attached */
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(mem_arena_g->dma_mapped, true);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1); /* pinned once, the whole arena */
	CU_ASSERT_EQUAL(calls[0].len, 8u << 20);
	ioas = calls[0].iova;
	/* reversed 2 MiB slots: page 0 at slot 3, page 1 at slot 2 */
	CU_ASSERT_EQUAL(zdk_virt2iova(mem_arena_g->base), 0x40000000 + 3 * huge);
	CU_ASSERT_EQUAL(zdk_virt2iova(mem_arena_g->base + huge + 5), 0x40000000 + 2 * huge + 5);
	CU_ASSERT_TRUE(iova_range_contains(&(struct iova_range){ ioas, ioas + (8u << 20) - 1 }, 1,
					   mem_arena_g->iova_base, 8u << 20));

	/* the last device left and a new one came: same pages, same addresses */
	io->ready = false;
	mem_dma_lost(io);
	io->ready = true;
	CU_ASSERT_EQUAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL(ncalls, 1); /* the IOAS kept the mapping */
	CU_ASSERT_EQUAL(zdk_virt2iova(mem_arena_g->base), 0x40000000 + 3 * huge);

	/* ...but pages that moved in between would strand every buffer */
	io->ready = false;
	mem_dma_lost(io);
	io->ready = true;
	mock_moved = 64 * huge;
	CU_ASSERT_EQUAL(mem_dma_setup(io), -EIO);
	mock_moved = 0;

	mock_destroy(io);
	CU_ASSERT_EQUAL(ncalls, 2);
	CU_ASSERT_EQUAL(calls[1].op, OP_UNMAP);
	CU_ASSERT_EQUAL(calls[1].iova, ioas);
}

static void test_noiommu_iommufd_external(void)
{
	const uint64_t huge = 2u << 20;
	struct iommu *io;
	uint64_t iova, ioas;
	char *buf = NULL;
	size_t run;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	mem_arena_g->pgsz = huge;
	io = mock_create_ops(&mock_noiommu_cdev, true);
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&buf, huge, 2 * huge), 0);
	ncalls = 0;
	CU_ASSERT_EQUAL_FATAL(zdk_dma_map(buf, 2 * huge, &iova), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 1); /* pinned through the IOAS, no mlock */
	ioas = calls[0].iova;
	CU_ASSERT_EQUAL(iova, 0x40000000 + huge); /* its first 2 MiB went to slot 1 */
	/* a run stops where the physical pages stop following each other */
	CU_ASSERT_EQUAL(zdk_virt2iova_run(buf + huge - 4096, 2 * 4096, &run),
			0x40000000 + 2 * huge - 4096);
	CU_ASSERT_EQUAL(run, 4096);
	CU_ASSERT_EQUAL(zdk_virt2iova(buf + huge), 0x40000000);
	CU_ASSERT_EQUAL(zdk_dma_unmap(buf, 2 * huge), 0);
	CU_ASSERT_EQUAL_FATAL(ncalls, 2);
	CU_ASSERT_EQUAL(calls[1].op, OP_UNMAP);
	CU_ASSERT_EQUAL(calls[1].iova, ioas);
	CU_ASSERT_EQUAL(zdk_virt2iova(buf), ZDK_BAD_IOVA);
	mock_destroy(io);
	free(buf);
}

static const struct iommu_ops mock_type1_ops = {
	.name = "mock-type1",
	.mode = ZDK_IOMMU_TYPE1,
	.map = mock_map,
	.unmap = mock_unmap,
};

static char logged[4096];

static void log_keep(int level, const char *component, const char *msg, void *ctx)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/* Drop CAP_IPC_LOCK from the effective set: with it no limit applies. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	return (int)syscall(SYS_capset, &h, d);
}

#define EXPECT(cond) ((cond) ? 0 : (fprintf(stderr, "\nchild: %s failed (want: %s); log:\n%s", #cond, want, logged), 1))

/*
 * In a child: RLIMIT_MEMLOCK of 4 MiB and no CAP_IPC_LOCK. The 8 MiB arena
 * is refused before any pin, with the figures and the fix; under iommufd
 * the note that a user's processes add up; under type1 what the process has
 * mlock()ed counts too.
 */
static int memlock_child(const struct iommu_ops *ops, size_t locked)
{
	struct rlimit rl = { 4u << 20, 8u << 20 }; /* soft 4 MiB, hard 8 MiB */
	char want[160];
	int fails = 0, rc;
	void *lk = NULL, *buf = NULL;
	uint64_t iova;

	if (drop_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 77;
	/* The system call itself: ASan's mlock() interceptor does nothing. */
	if (locked && (!(lk = mmap(NULL, locked, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) ||
		       syscall(SYS_mlock, lk, locked)))
		return 2;
	zdk_log_set_sink(log_keep, NULL);
	if (arena_up())
		return 2;
	mock_create_ops(ops, true);
	rc = mem_dma_setup(iommu_g);
	snprintf(want, sizeof(want), "pinning the arena (8 MiB) for DMA needs RLIMIT_MEMLOCK >= "
		 "%zu KiB, yours is 4096 KiB: ", 8192 + locked / 1024);
	fails += EXPECT(rc == -ENOMEM);
	fails += EXPECT(ncalls == 0);
	fails += EXPECT(strstr(logged, want) != NULL);
	/* Up to the hard limit the user raises it; beyond it root must. */
	snprintf(want, sizeof(want), locked ? "as root, prlimit --pid %d --memlock=%zu:%zu"
		 : "raise it yourself with ulimit -l 8192 (", (int)getppid(),
		 (8u << 20) + locked, (8u << 20) + locked);
	fails += EXPECT(strstr(logged, want) != NULL);
	snprintf(want, sizeof(want), " - memlock %zu' in /etc/security/limits.d/zdk.conf",
		 8192 + locked / 1024);
	fails += EXPECT(strstr(logged, want) != NULL);
	fails += EXPECT((strstr(logged, "every process of uid") != NULL) ==
			(ops->mode == ZDK_IOMMU_IOMMUFD));
	/* With the limit it asked for (or less locked), the arena maps. */
	rl.rlim_cur = 8u << 20;
	fails += EXPECT(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	fails += EXPECT(!lk || syscall(SYS_munlock, lk, locked) == 0);
	fails += EXPECT(mem_dma_setup(iommu_g) == 0);
	fails += EXPECT(ncalls == 1);
	/* A zdk_dma_map() region goes to the kernel unchecked (no reads of
	 * /proc per map): its refusal is explained, and nothing is kept. */
	fails += EXPECT(posix_memalign(&buf, 4096, 16u << 20) == 0);
	logged[0] = '\0';
	fail_map = -ENOMEM;
	fails += EXPECT(zdk_dma_map(buf, 16u << 20, &iova) == -ENOMEM);
	fail_map = 0;
	fails += EXPECT(strstr(logged, "the kernel refused to pin a zdk_dma_map() region (16 MiB): "
				       "RLIMIT_MEMLOCK (8192 KiB) is used up") != NULL);
	fails += EXPECT(zdk_virt2iova(buf) == ZDK_BAD_IOVA);
	/* Whether 16 MiB fit the 8 MiB limit is the kernel's to say (here it
	 * says yes, as it does for a process that gained CAP_IPC_LOCK). */
	fails += EXPECT(zdk_dma_map(buf, 16u << 20, &iova) == 0);
	fails += EXPECT(ncalls == 2 && calls[1].op == OP_MAP && calls[1].iova == iova);
	fails += EXPECT(zdk_dma_unmap(buf, 16u << 20) == 0);
	free(buf);
	return fails ? 1 : 0;
}

static void memlock_run(const struct iommu_ops *ops, size_t locked)
{
	int st = 0;
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(memlock_child(ops, locked));
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		fprintf(stderr, "(skipped: cannot lower RLIMIT_MEMLOCK to 4/8 MiB here) ");
		return;
	}
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

static void test_memlock_too_low(void)
{
	memlock_run(&mock_ops, 0);
	memlock_run(&mock_type1_ops, 0);
	memlock_run(&mock_type1_ops, 1u << 20);
}

/*
 * As nobody, in a child: a hugetlbfs mount one may not write is replaced by
 * <mount>/zdk-<uid> where that is writable; a file that cannot be created
 * is explained by the directory's owner and mode, or by the file's when
 * another user's is in the way, with the grant command.
 */
static int hugedir_child(const char *dir)
{
	char mine[128], file[128], buf[1024], fix[1024], want[256];
	int fails = 0;

	snprintf(mine, sizeof(mine), "%s/zdk-65534", dir);
	snprintf(file, sizeof(file), "%s/zdk-node0", dir);
	if (setgid(65534) || setuid(65534))
		return 2;
	logged[0] = '\0';
	snprintf(buf, sizeof(buf), "%s", dir);
	mem_huge_dir_user(buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s", dir); /* no zdk-65534 yet: unchanged */
	fails += EXPECT(!strcmp(buf, dir));
	mem_huge_dir_fix(-EACCES, file, fix, sizeof(fix));
	snprintf(want, sizeof(want), " (uid 65534 (");
	fails += EXPECT(!strncmp(fix, want, strlen(want)));
	snprintf(want, sizeof(want), ") has no write access to %s (root:", dir);
	fails += EXPECT(strstr(fix, want) != NULL);
	snprintf(want, sizeof(want), ", mode 0755): as root run zdk-devbind --grant=");
	fails += EXPECT(strstr(fix, want) != NULL);
	snprintf(want, sizeof(want), "--grant makes %s, which zdk then uses by itself", mine);
	fails += EXPECT(strstr(fix, want) != NULL);
	return fails;
}

static void test_hugepage_dir_rights(void)
{
	char dir[] = "/tmp/zdk-hugedir-XXXXXX", path[128], fix[1024], buf[128];
	int st = 0;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "(not root: skipped) ");
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
	pid = fork();
	if (pid == 0)
		_exit(hugedir_child(dir));
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* zdk-devbind --grant made the user's directory: it is taken. */
	snprintf(path, sizeof(path), "%s/zdk-65534", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	CU_ASSERT_EQUAL(chown(path, 65534, 65534), 0);
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		snprintf(buf, sizeof(buf), "%s", dir);
		mem_huge_dir_user(buf, sizeof(buf));
		_exit(strcmp(buf, path) ? 1 : 0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Another user's file in the way: the file is named, and --file-prefix. */
	snprintf(path, sizeof(path), "%s/zdk-node0", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	mem_huge_dir_fix(-EACCES, path, fix, sizeof(fix));
	CU_ASSERT_PTR_NOT_NULL(strstr(fix, "has no read-write access to "));
	CU_ASSERT_PTR_NOT_NULL(strstr(fix, "zdk-node0 (root:root, mode 0600)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fix, "; or give this process its own --file-prefix)"));
	CU_ASSERT_STRING_EQUAL(mem_huge_dir_fix(-ENOSPC, path, fix, sizeof(fix)), "");
	unlink(path);
	snprintf(path, sizeof(path), "%s/zdk-65534", dir);
	rmdir(path);
	rmdir(dir);
}

/*
 * Maps, unmaps and translations from three threads at once (the mapping
 * table's spinning reader-writer lock, the IOVA extents' spinlock): each
 * thread's own pages always translate to the IOVAs its maps returned, a
 * page being remapped never to a stale one, and all is unmapped in the end.
 */
static int stub_map(struct iommu *io, void *va, uint64_t iova, uint64_t len)
{
	return 0;
}

static int stub_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	return 0;
}

static const struct iommu_ops stub_ops = {
	.name = "stub", .mode = ZDK_IOMMU_IOMMUFD, .map = stub_map, .unmap = stub_unmap,
};

#define TH_PAGES 64
#define TH_ROUNDS 3000

struct th_arg {
	uintptr_t base;
	unsigned bad;
};

static void *th_mapper(void *p)
{
	struct th_arg *a = p;
	uint64_t iova[TH_PAGES];

	for (unsigned r = 0; r < TH_ROUNDS; r++) {
		unsigned i = r % TH_PAGES;
		char *va = (char *)(a->base + (uintptr_t)i * 8192);

		if (r >= TH_PAGES) {
			a->bad += zdk_virt2iova(va + 100) != iova[i] + 100;
			a->bad += zdk_dma_unmap(va, 4096) != 0;
			a->bad += zdk_virt2iova(va) != ZDK_BAD_IOVA;
		}
		a->bad += zdk_dma_map(va, 4096, &iova[i]) != 0;
		a->bad += zdk_virt2iova(va) != iova[i];
	}
	for (unsigned i = 0; i < TH_PAGES; i++)
		a->bad += zdk_dma_unmap((char *)(a->base + (uintptr_t)i * 8192), 4096) != 0;
	return NULL;
}

static void test_threads(void)
{
	struct th_arg a[3] = { { 0x40000000, 0 }, { 0x48000000, 0 }, { 0x50000000, 0 } };
	pthread_t t[3];
	struct iommu *io;

	CU_ASSERT_EQUAL_FATAL(arena_up(), 0);
	io = mock_create_ops(&stub_ops, true);
	io->ndevs = 1;
	CU_ASSERT_EQUAL_FATAL(mem_dma_setup(io), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, th_mapper, &a[i]), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(a[i].bad, 0);
	}
	CU_ASSERT_EQUAL(ext.maps.n, 0);
	CU_ASSERT_EQUAL(io->extents.n, 1); /* the arena's */
	mock_destroy(io);
}

static const struct zdk_test tests[] = {
	{ "no-IOMMU through iommufd: the arena", test_noiommu_iommufd_arena },
	{ "no-IOMMU through iommufd: external memory", test_noiommu_iommufd_external },
	{ "RLIMIT_MEMLOCK too low: the arena refused before pinning, a region after, with the fix", test_memlock_too_low },
	{ "a hugetlbfs directory the user may not write", test_hugepage_dir_rights },
	{ "contiguous runs, no-IOMMU pages scattered", test_runs_noiommu },
	{ "contiguous runs: arena, and two maps side by side", test_runs_two_maps },
	{ "arena mapped by file", test_arena_by_file },
	{ "arena mapped by VA when MAP_FILE is missing", test_arena_by_va_fallback },
	{ "type1 maps when the first group joins", test_deferred_until_ready },
	{ "a backend after init maps the IOVAs handed out", test_backend_after_init },
	{ "IOVAs a late backend cannot map are refused",
	  test_backend_after_init_cannot_keep_iovas },
	{ "type1 mappings lost with the last group come back",
	  test_type1_mappings_lost_and_restored },
	{ "no-IOMMU mode refuses 4 KiB pages and late addresses", test_noiommu_refuses },
	{ "external memory", test_external },
	{ "IOVA space outside the arena", test_iova_alloc },
	{ "maps, unmaps and translations from three threads", test_threads },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_set_level(ZDK_LOG_ERR);
	return zdk_test_run("dma over a mock IOMMU", NULL, NULL, tests);
}
