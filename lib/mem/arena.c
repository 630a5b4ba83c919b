/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arena.c - the hugepage arena: one virtual range for the process, one
 * segment per NUMA node backed by a hugetlbfs file (in the mount
 * libhugetlbfs finds for the page size) or a memfd, placed with mbind()
 * and populated up front so that a shortage is an error, never a SIGBUS.
 * The whole range gets one contiguous IOVA range and is mapped once.
 */
#define ZDK_LOG_COMPONENT "mem"
#include <errno.h>
#include <fcntl.h>
#include <hugetlbfs.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/memfd.h>

#include "iommu_private.h"
#include "mem_private.h"
#include "sys.h"
#include "zdk_log.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct mem_arena *mem_arena_g;
struct zdk_mem_xlate zdk_mem_xlate = { .pg_shift = 12 };

static unsigned log2_u64(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static const char *size_str(size_t sz, char *buf, size_t len)
{
	if (sz >= (1UL << 30) && !(sz & ((1UL << 30) - 1)))
		snprintf(buf, len, "%zu GiB", sz >> 30);
	else if (sz >= (1UL << 20))
		snprintf(buf, len, "%zu MiB", sz >> 20);
	else
		snprintf(buf, len, "%zu KiB", sz >> 10);
	return buf;
}

/* Free hugepages of @pgsz on @node, or -1 when sysfs does not say. */
static long free_hugepages(int node, size_t pgsz)
{
	char path[256];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-%zukB/free_hugepages", node,
		 pgsz >> 10);
	f = fopen(path, "re");
	if (!f && node == 0) {
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
			 pgsz >> 10);
		f = fopen(path, "re");
	}
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static int page_size_pick(const struct mem_conf *conf, size_t *pgsz)
{
	long sizes[8];
	int n;
	char b[32];

	if (conf->no_huge) {
		*pgsz = (size_t)sysconf(_SC_PAGESIZE);
		return 0;
	}
	n = gethugepagesizes(sizes, ZDK_ARRAY_SIZE(sizes));
	if (n <= 0) {
		ZDK_ERR("this kernel offers no hugepages (CONFIG_HUGETLBFS); use --no-huge");
		return -ENOMEM;
	}
	*pgsz = conf->page_size ? conf->page_size : (size_t)gethugepagesize();
	for (int i = 0; i < n; i++)
		if ((size_t)sizes[i] == *pgsz)
			return 0;
	ZDK_ERR("--huge-size %s: this kernel has no such hugepages; reserve them on the kernel "
		"command line (hugepagesz=%s hugepages=N)", size_str(*pgsz, b, sizeof(b)),
		*pgsz == (1UL << 30) ? "1G" : "2M");
	return -EINVAL;
}

/* The hugetlbfs directory for the files, "" for memfd backing. */
static int huge_dir_pick(const struct mem_conf *conf, size_t pgsz, char *dir, size_t len)
{
	const char *found;
	struct statfs sfs;
	char b[32];

	dir[0] = '\0';
	if (conf->no_huge)
		return 0;
	if (conf->huge_dir) {
		if (statfs(conf->huge_dir, &sfs) || (unsigned long)sfs.f_type != HUGETLBFS_MAGIC) {
			ZDK_ERR("--huge-dir %s is not a hugetlbfs mount: mount -t hugetlbfs -o "
				"pagesize=%s none %s", conf->huge_dir,
				pgsz == (1UL << 30) ? "1G" : "2M", conf->huge_dir);
			return -EINVAL;
		}
		if ((size_t)sfs.f_bsize != pgsz) {
			ZDK_ERR("--huge-dir %s holds %s pages, not %s: pick the mount with -o pagesize=%s",
				conf->huge_dir, size_str(sfs.f_bsize, b, sizeof(b)),
				size_str(pgsz, b + 16, 16), pgsz == (1UL << 30) ? "1G" : "2M");
			return -EINVAL;
		}
		snprintf(dir, len, "%s", conf->huge_dir);
		return 0;
	}
	found = hugetlbfs_find_path_for_size((long)pgsz);
	if (found) {
		snprintf(dir, len, "%s", found);
		mem_huge_dir_user(dir, len);
	} else
		ZDK_INFO("no hugetlbfs mount for %s pages: backing the arena with memfd",
			 size_str(pgsz, b, sizeof(b)));
	return 0;
}

/* A hugepage file of ours, locked while in use; a stale one is reused. */
static int seg_open_file(struct mem_seg *s, const char *dir, const char *prefix)
{
	char fix[768];
	int fd, rc;

	snprintf(s->path, sizeof(s->path), "%s/%s-node%d", dir, prefix, s->node);
	fd = sys_open_create(s->path, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		ZDK_ERR("cannot create %s: %s%s", s->path, strerror(-fd),
			mem_huge_dir_fix(fd, s->path, fix, sizeof(fix)));
		s->path[0] = '\0';
		return fd;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ZDK_ERR("%s is in use by another zdk process: give this one its own "
			"--file-prefix", s->path);
		close(fd);
		s->path[0] = '\0';
		return -EBUSY;
	}
	/* Drop whatever a crashed process left in it. */
	rc = sys_ftruncate(fd, 0);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static int seg_open(struct mem_seg *s, const char *dir, const struct mem_conf *conf, size_t pgsz)
{
	unsigned flags = MFD_CLOEXEC;
	char name[32];
	int fd, rc;

	if (conf->huge_fd_set)
		return mem_seg_open_handed(s, conf->huge_fd);
	if (dir[0]) {
		fd = seg_open_file(s, dir, conf->prefix);
	} else {
		if (!conf->no_huge)
			flags |= MFD_HUGETLB | (log2_u64(pgsz) << MFD_HUGE_SHIFT);
		snprintf(name, sizeof(name), "zdk-node%d", s->node);
		fd = sys_memfd_create(name, flags);
		if (fd < 0)
			ZDK_ERR("memfd_create(%s) failed: %s", name, strerror(-fd));
	}
	if (fd < 0)
		return fd;
	s->fd = fd;
	rc = sys_ftruncate(fd, (off_t)s->len);
	if (rc)
		ZDK_ERR("cannot size the arena of node %d to %zu MiB: %s", s->node, s->len >> 20,
			strerror(-rc));
	return rc;
}

static int seg_place(struct mem_seg *s, size_t pgsz, bool no_huge)
{
	unsigned long mask = 1UL << s->node;
	void *va;
	long nfree;
	char b[32];
	int rc;

	rc = sys_mmap(s->va, s->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s->fd, 0, &va);
	if (rc) {
		ZDK_ERR("cannot map the arena of node %d: %s", s->node, strerror(-rc));
		return rc;
	}
	if (numa_available() >= 0) {
		rc = sys_mbind(s->va, s->len, MPOL_BIND, &mask, sizeof(mask) * 8, 0);
		if (rc) {
			ZDK_ERR("cannot bind the arena to node %d: %s", s->node, strerror(-rc));
			return rc;
		}
	}
	rc = sys_madvise(s->va, s->len, MADV_POPULATE_WRITE);
	if (rc == 0)
		return 0;
	if (no_huge) {
		ZDK_ERR("cannot populate %zu MiB on node %d: %s", s->len >> 20, s->node,
			strerror(-rc));
		return -ENOMEM;
	}
	nfree = free_hugepages(s->node, pgsz);
	ZDK_ERR("too few %s hugepages on node %d: %zu needed, %ld free; reserve more with "
		"echo N > /sys/devices/system/node/node%d/hugepages/hugepages-%zukB/nr_hugepages, "
		"or ask for less with -m", size_str(pgsz, b, sizeof(b)), s->node, s->len / pgsz,
		nfree, s->node, pgsz >> 10);
	return -ENOMEM;
}

static void seg_release(struct mem_seg *s)
{
	if (s->handed)
		mem_seg_release_handed(s);
	if (s->fd >= 0)
		close(s->fd); /* drops the flock too */
	if (s->path[0])
		unlink(s->path);
	s->fd = -1;
	s->path[0] = '\0';
}

/* /proc/self/pagemap, opened once (no-IOMMU mode asks it page by page:
 * an open per page cost ~60 us each under TCG); closed by mem_fini(). */
static int pagemap_fd = -1;

static int pagemap_get(void)
{
	int fd = __atomic_load_n(&pagemap_fd, __ATOMIC_ACQUIRE), exp = -1;

	if (fd >= 0)
		return fd;
	fd = sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	if (!__atomic_compare_exchange_n(&pagemap_fd, &exp, fd, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd); /* another thread opened it first */
		fd = exp;
	}
	return fd;
}

void mem_fini(void)
{
	struct mem_arena *a = mem_arena_g;
	int fd = __atomic_exchange_n(&pagemap_fd, -1, __ATOMIC_ACQ_REL);

	if (fd >= 0)
		close(fd);
	if (!a)
		return;
	if (a->resv)
		munmap(a->resv, a->resv_len);
	for (unsigned i = 0; i < a->nsegs; i++)
		seg_release(&a->segs[i]);
	free(a->pg_iova);
	free(a);
	mem_arena_g = NULL;
	memset(&zdk_mem_xlate, 0, sizeof(zdk_mem_xlate));
	zdk_mem_xlate.pg_shift = 12;
}

/* Reserve one aligned VA range for every node's segment. */
static int arena_reserve(struct mem_arena *a)
{
	uintptr_t base;
	int rc;

	a->resv_len = a->len + a->pgsz;
	rc = sys_mmap(NULL, a->resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0, &a->resv);
	if (rc) {
		a->resv = NULL;
		ZDK_ERR("cannot reserve %zu MiB of address space: %s", a->resv_len >> 20,
			strerror(-rc));
		return -ENOMEM;
	}
	base = ((uintptr_t)a->resv + a->pgsz - 1) & ~(uintptr_t)(a->pgsz - 1);
	a->base = (char *)base;
	return 0;
}

static bool noiommu_contig(const void *va, size_t len);

static int arena_check_free(const struct mem_arena *a)
{
	char b[32];

	for (unsigned i = 0; i < a->nsegs; i++) {
		const struct mem_seg *s = &a->segs[i];
		long nfree = free_hugepages(s->node, a->pgsz);

		if (nfree >= 0 && (size_t)nfree < s->len / a->pgsz) {
			ZDK_ERR("too few %s hugepages on node %d: %zu needed, %ld free; reserve more "
				"with echo N > /sys/devices/system/node/node%d/hugepages/"
				"hugepages-%zukB/nr_hugepages, or ask for less with -m",
				size_str(a->pgsz, b, sizeof(b)), s->node, s->len / a->pgsz, nfree,
				s->node, a->pgsz >> 10);
			return -ENOMEM;
		}
	}
	return 0;
}

/* --no-huge populates plain memory: never more than the machine has free. */
static int arena_check_ram(const struct mem_arena *a)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	if (kb && a->len / 1024 > kb / 2) {
		ZDK_ERR("-m asks for %zu MiB of 4 KiB pages, but only %llu MiB are available: "
			"ask for less", a->len >> 20, kb >> 10);
		return -ENOMEM;
	}
	return 0;
}

int mem_init(const struct mem_conf *conf)
{
	char dir[PATH_MAX], b[32];
	struct mem_arena *a;
	size_t off = 0;
	int rc;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	mem_arena_g = a;
	rc = page_size_pick(conf, &a->pgsz);
	if (rc)
		goto err_fini;
	if (conf->huge_fd_set)
		dir[0] = '\0';
	else
		rc = huge_dir_pick(conf, a->pgsz, dir, sizeof(dir));
	if (rc)
		goto err_fini;
	for (int n = 0; n < MEM_MAX_NODES; n++) {
		struct mem_seg *s;

		if (!conf->node_mem[n])
			continue;
		s = &a->segs[a->nsegs++];
		s->node = n;
		s->fd = -1;
		s->len = ZDK_ALIGN_UP(conf->node_mem[n], a->pgsz);
		a->len += s->len;
	}
	if (!a->nsegs || (conf->huge_fd_set && a->nsegs > 1)) {
		ZDK_ERR(a->nsegs ? "--huge-fd: one handed-over file backs one NUMA node's memory: "
			"give -m for one node" : "no memory asked for: give -m MiB");
		rc = -EINVAL;
		goto err_fini;
	}
	rc = conf->no_huge ? arena_check_ram(a) : arena_check_free(a);
	if (rc)
		goto err_fini;
	rc = arena_reserve(a);
	if (rc)
		goto err_fini;
	a->pg_iova = calloc(a->len / a->pgsz, sizeof(uint64_t));
	if (!a->pg_iova) {
		rc = -ENOMEM;
		goto err_fini;
	}
	for (unsigned i = 0; i < a->nsegs; i++) {
		struct mem_seg *s = &a->segs[i];

		s->va = a->base + off;
		off += s->len;
		rc = seg_open(s, dir, conf, a->pgsz);
		if (rc)
			goto err_fini;
		rc = seg_place(s, a->pgsz, conf->no_huge);
		if (rc)
			goto err_fini;
		heap_init(&s->heap, s->va, s->len, s->node);
		if (s->handed)
			snprintf(b + 16, 16, "descriptor %d", s->fd);
		ZDK_INFO("arena: %zu MiB on node %d in %s pages (%s)", s->len >> 20, s->node,
			 size_str(a->pgsz, b, 16), s->handed ? b + 16 : s->path[0] ? s->path
			 : "memfd");
	}
	return 0;

err_fini:
	mem_fini();
	return rc;
}

int mem_virt2phys(const void *va, uint64_t *pa)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	uint64_t ent;
	int fd, rc;

	fd = pagemap_get();
	if (fd < 0)
		return fd;
	rc = sys_pread_all(fd, &ent, sizeof(ent), (off_t)((uintptr_t)va / pgsz * sizeof(ent)));
	if (rc)
		return rc;
	/* bit 63: present; bits 0-54: PFN (0 without CAP_SYS_ADMIN) */
	if (!(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1)))
		return -EPERM;
	*pa = (ent & ((1ULL << 55) - 1)) * pgsz + (uintptr_t)va % pgsz;
	return 0;
}

static bool noiommu_contig(const void *va, size_t len)
{
	const struct mem_arena *a = mem_arena_g;
	size_t first = ((const char *)va - a->base) / a->pgsz;
	size_t last = ((const char *)va + len - 1 - a->base) / a->pgsz;

	for (size_t i = first; i < last; i++)
		if (a->pg_iova[i + 1] != a->pg_iova[i] + a->pgsz)
			return false;
	return true;
}

static void xlate_publish(struct mem_arena *a)
{
	zdk_mem_xlate.pg_iova = a->pg_iova;
	zdk_mem_xlate.pg_shift = log2_u64(a->pgsz);
	zdk_mem_xlate.va_base = (uintptr_t)a->base;
	zdk_mem_xlate.len = a->len;
}

static int arena_phys(struct mem_arena *a)
{
	for (size_t i = 0; i < a->len / a->pgsz; i++) {
		int rc = mem_virt2phys(a->base + i * a->pgsz, &a->pg_iova[i]);

		if (rc) {
			ZDK_ERR("no-IOMMU mode needs physical addresses, and /proc/self/pagemap "
				"gives none: run as root (CAP_SYS_ADMIN)");
			return rc;
		}
	}
	for (unsigned i = 0; i < a->nsegs; i++) {
		a->segs[i].heap.contig = noiommu_contig;
		a->segs[i].heap.contig_step = a->pgsz;
	}
	return 0;
}

/*
 * Where the arena goes in IOVA space when no device has shaped it yet: inside
 * [4 GiB, 512 GiB), which every IOMMU's aperture holds (39 bits is the
 * smallest VT-d offers) and which stays clear of the MSI window below 4 GiB.
 * A device that arrives later then finds its arena IOVAs inside its ranges.
 */
#define PORTABLE_IOVA_LO (1ULL << 32)
#define PORTABLE_IOVA_HI ((1ULL << 39) - 1)

static int arena_pick(struct mem_arena *a, const struct iommu *io)
{
	struct iova_range r[IOMMU_MAX_RANGES], all = { 0, UINT64_MAX };
	const struct iova_range *src = io ? io->ranges : &all;
	unsigned n = 0, nsrc = io ? io->nranges : 1;

	if (io && io->ndevs)
		return iova_pick(io->ranges, io->nranges, &io->extents, (uintptr_t)a->base,
				 a->len, a->pgsz, &a->iova_base);
	for (unsigned i = 0; i < nsrc; i++) {
		uint64_t lo = ZDK_MAX(src[i].start, PORTABLE_IOVA_LO);
		uint64_t hi = ZDK_MIN(src[i].last, PORTABLE_IOVA_HI);

		if (lo <= hi)
			r[n++] = (struct iova_range){ lo, hi };
	}
	return iova_pick(r, n, io ? &io->extents : NULL, ZDK_BAD_IOVA, a->len, a->pgsz,
			 &a->iova_base);
}

static void arena_iova_assign(struct mem_arena *a)
{
	for (size_t i = 0; i < a->len / a->pgsz; i++)
		a->pg_iova[i] = a->iova_base + i * a->pgsz;
}

static int arena_map(struct mem_arena *a, struct iommu *io)
{
	char b[32];
	int rc;

	if (!a->iova_fixed) {
		rc = arena_pick(a, io);
		if (rc) {
			ZDK_ERR("the arena (%s) does not fit the IOMMU's IOVA aperture: ask for "
				"less with -m", size_str(a->len, b, sizeof(b)));
			return rc;
		}
	} else if (!iova_range_contains(io->ranges, io->nranges, a->iova_base, a->len)) {
		ZDK_ERR("the arena's IOVAs [0x%llx, +%s) were handed out before any device was "
			"open, and %s cannot map them there: open the device in zdk_eal_init() "
			"(-a BDF) so that the arena is placed for it",
			(unsigned long long)a->iova_base, size_str(a->len, b, sizeof(b)),
			io->ops->name);
		return -ERANGE;
	}
	/* RLIMIT_MEMLOCK first: a refusal halfway would say less. */
	rc = mem_pin_check(io, a->len, "the arena");
	if (rc)
		return rc;
	a->by_file = io->ops->map_file != NULL;
	for (unsigned i = 0; i < a->nsegs; i++) {
		struct mem_seg *s = &a->segs[i];
		uint64_t iova = a->iova_base + (uint64_t)(s->va - a->base);

		rc = -EOPNOTSUPP;
		if (a->by_file)
			rc = io->ops->map_file(io, s->fd, 0, iova, s->len);
		if (rc == -EOPNOTSUPP) {
			a->by_file = false;
			rc = io->ops->map(io, s->va, iova, s->len);
		}
		if (rc) {
			mem_pin_refused(io, s->len, "the arena", rc);
			ZDK_ERR("cannot map the arena of node %d for DMA: %s", s->node, strerror(-rc));
			for (unsigned j = 0; j < i; j++)
				io->ops->unmap(io, a->iova_base + (uint64_t)(a->segs[j].va - a->base),
					       a->segs[j].len);
			return rc;
		}
	}
	arena_iova_assign(a);
	return iommu_extent_add(io, a->iova_base, a->len);
}

/*
 * No-IOMMU through iommufd: the arena is mapped into the IOAS (which pins
 * it), and the kernel says where each page is. After the last device left
 * (the pins went with it) and a new one came, the pages must still be where
 * they were: buffers handed out keep their addresses.
 */
static int arena_pa_query(struct mem_arena *a, struct iommu *io)
{
	for (size_t i = 0; i < a->len / a->pgsz; i++) {
		uint64_t iova = a->iova_base + i * a->pgsz, pa, contig;
		int rc = io->ops->phys(io, iova, a->pgsz, &pa, &contig);

		if (rc)
			return rc;
		if (contig < a->pgsz || pa & (a->pgsz - 1)) {
			ZDK_ERR("no-IOMMU: hugepage %zu of the arena is not one physically "
				"contiguous, aligned page (0x%llx, %llu bytes): the kernel "
				"pinned it in pieces", i, (unsigned long long)pa,
				(unsigned long long)contig);
			return -EIO;
		}
		if (a->pa_known && a->pg_iova[i] != pa) {
			ZDK_ERR("no-IOMMU: hugepage %zu of the arena moved (0x%llx -> 0x%llx) while "
				"no device held it pinned: buffers handed out would point at the "
				"old place; restart the process", i,
				(unsigned long long)a->pg_iova[i], (unsigned long long)pa);
			return -EIO;
		}
		a->pg_iova[i] = pa;
	}
	a->pa_known = true;
	for (unsigned i = 0; i < a->nsegs; i++) {
		a->segs[i].heap.contig = noiommu_contig;
		a->segs[i].heap.contig_step = a->pgsz;
	}
	return 0;
}

static int arena_map(struct mem_arena *a, struct iommu *io);

/* No-IOMMU: the IOVA is the physical address, known only from the pages. */
static int arena_noiommu(struct mem_arena *a, struct iommu *io)
{
	int rc;

	if (a->pgsz < (2u << 20)) {
		ZDK_ERR("no-IOMMU mode cannot use 4 KiB pages (--no-huge): without an IOMMU the "
			"device gets physical addresses, and only hugepages keep a buffer "
			"physically contiguous and in place; drop --no-huge (or enable the IOMMU)");
		return -EINVAL;
	}
	if (a->iova_fixed && !a->pa_known) {
		ZDK_ERR("no-IOMMU mode came up after the arena's addresses were handed out: "
			"open the device in zdk_eal_init() (-a BDF), or pass --iommu=noiommu");
		return -EINVAL;
	}
	if (!io->ops->phys)
		return arena_phys(a);
	if (!a->ioas_mapped) {
		/* Any IOVA does: it only names the pinned pages. */
		rc = arena_map(a, io);
		if (rc)
			return rc;
		a->ioas_mapped = true;
	}
	return arena_pa_query(a, io);
}

int mem_dma_setup(struct iommu *io)
{
	struct mem_arena *a = mem_arena_g;
	int rc;

	if (!a || a->dma_mapped)
		return 0;
	if (io && io->ops->mode == ZDK_IOMMU_NOIOMMU) {
		/* Through iommufd, the addresses come with the first device. */
		if (io->ops->phys && !io->ready)
			return 0;
		rc = arena_noiommu(a, io);
		if (!rc)
			ZDK_WARN("no-IOMMU mode: devices can DMA anywhere in memory; IOVA = "
				 "physical address, %s", io->ops->phys ? "pinned through iommufd and "
				 "given by IOMMU_IOAS_NOIOMMU_GET_PA" : "read from /proc/self/pagemap");
	} else if (io && io->ready) {
		rc = arena_map(a, io);
		if (!rc)
			ZDK_INFO("arena: %zu MiB at IOVA 0x%llx mapped once through %s%s",
				 a->len >> 20, (unsigned long long)a->iova_base, io->ops->name,
				 a->by_file ? " with IOMMU_IOAS_MAP_FILE" : "");
	} else {
		/* Nothing can map yet (no VFIO, or type1 with no group): provisional
		 * IOVAs, which the mapping made at the first device keeps. */
		if (a->iova_fixed)
			return 0;
		rc = arena_pick(a, NULL);
		if (rc)
			return rc;
		arena_iova_assign(a);
		a->iova_fixed = true;
		xlate_publish(a);
		ZDK_INFO("arena: %zu MiB at IOVA 0x%llx, to be mapped when a device opens",
			 a->len >> 20, (unsigned long long)a->iova_base);
		return 0;
	}
	if (rc)
		return rc;
	a->dma_mapped = true;
	a->iova_fixed = true;
	xlate_publish(a);
	return 0;
}

void mem_dma_lost(struct iommu *io)
{
	struct mem_arena *a = mem_arena_g;

	if (!a || !a->dma_mapped)
		return;
	if (io->ops->mode == ZDK_IOMMU_NOIOMMU) {
		/* iommufd: the IOAS keeps the mapping; the next device pins it
		 * again and arena_pa_query() checks nothing moved. */
		if (io->ops->phys)
			a->dma_mapped = false;
		return;
	}
	iommu_extent_del(io, a->iova_base, a->len);
	a->dma_mapped = false; /* the IOVAs stay: iova_fixed */
}

void mem_dma_teardown(struct iommu *io)
{
	struct mem_arena *a = mem_arena_g;

	if (!a || (!a->dma_mapped && !a->ioas_mapped))
		return;
	if (io && (a->ioas_mapped || (io->ready && io->ops->mode != ZDK_IOMMU_NOIOMMU))) {
		for (unsigned i = 0; i < a->nsegs; i++)
			io->ops->unmap(io, a->iova_base + (uint64_t)(a->segs[i].va - a->base),
				       a->segs[i].len);
		iommu_extent_del(io, a->iova_base, a->len);
	}
	a->dma_mapped = false;
	a->ioas_mapped = false;
}
