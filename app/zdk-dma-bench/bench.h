/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h - what the measurements of zdk-dma-bench share: options, the
 * three paths a mapping can take (raw ioctl, zdk_iommu_*, zdk_dma_*),
 * memfd-backed buffers of each page size, and a cheap clock.
 */
#ifndef DMA_BENCH_H
#define DMA_BENCH_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdk_common.h"
#include "raw.h"
#include "report.h"

#define KiB (1024UL)
#define MiB (1024UL * KiB)
#define GiB (1024UL * MiB)

enum bench_test {
	T_LATENCY = 1 << 0,
	T_ARENA = 1 << 1,
	T_SMALL = 1 << 2,
	T_THREADS = 1 << 3,
	T_IO = 1 << 4,
	T_ALL = (1 << 5) - 1,
};

struct bench_opts {
	bool quick;
	bool table;       /* print the table (off in per-backend children) */
	const char *backend; /* "type1", "iommufd" or "all" */
	const char *bdf;
	const char *csv;
	const char *plot;
	int cpu;          /* core to pin the measuring thread to, -1: the last */
	unsigned tests;   /* enum bench_test bits */
	const char *tests_arg; /* as given, for the per-backend children */
	unsigned reps;    /* 0: the default for quick or full */
	unsigned arena_mib; /* zdk's arena (-m) */
	const char *load[8]; /* --load: CSV files to report instead of measuring */
	unsigned nload;
	char **zdk_argv;  /* the zdk options before "--", for every backend's run */
	int zdk_argc;
	bool iommu_pages; /* --iommu-pages: count the IOMMU entries behind the arena */
	bool type1_v1;    /* --type1-v1: the same for a raw type1 v1 container */
};

/* How a mapping is made; "file" variants go through a file descriptor. */
enum bench_path {
	P_RAW,  /* the ioctl on zdk's fd */
	P_ZDK,  /* zdk_iommu_map / zdk_iommu_map_file / zdk_iommu_unmap */
	P_DMA,  /* zdk_dma_map / zdk_dma_unmap: zdk picks the IOVA, keeps books */
	P_NPATHS,
};

extern const char *const bench_path_name[P_NPATHS];

enum backing { B_4K, B_2M, B_1G, B_NBACKINGS };

extern const char *const backing_name[B_NBACKINGS];
extern const size_t backing_pgsize[B_NBACKINGS];

/* A memfd of one page size, mapped shared. */
struct buf {
	void *va;
	size_t len;
	int fd;
	enum backing b;
};

struct bench {
	const struct bench_opts *o;
	struct results *res;
	struct raw_iommu raw;
	const char *backend;   /* "type1", "type1-compat", "iommufd", "noiommu-iommufd"... */
	bool map_file;         /* the kernel has IOMMU_IOAS_MAP_FILE */
	unsigned paths;        /* bit per enum bench_path that means something here */
	unsigned reps;
	unsigned warmup;
	cpu_set_t cpus;        /* the CPUs we may run on, before pinning */
	double tsc_per_us;
};

/* A mapping target: @file selects IOMMU_IOAS_MAP_FILE (iommufd only). */
struct map_req {
	const struct buf *buf;
	size_t off;            /* into the buffer */
	size_t len;
	uint64_t iova;         /* for P_RAW and P_ZDK; P_DMA sets it */
	bool file;
};

int path_map(enum bench_path p, const struct bench *b, struct map_req *m);
int path_unmap(enum bench_path p, const struct bench *b, const struct map_req *m);
/* The backend label of a figure: "iommufd-file" for file variants. */
const char *variant_name(const struct bench *b, bool file);

/*
 * buf_alloc() - a memfd of @len bytes in pages of @bk, mmapped shared and,
 * with @populate, faulted in. Return: 0, -ENOMEM when the pages are not
 * there (hugepages exhausted), or another negative errno.
 */
int buf_alloc(struct buf *buf, enum backing bk, size_t len, bool populate);
void buf_free(struct buf *buf);

/* A window of IOVA space for the bench's own fixed-IOVA maps. */
int iova_window(size_t len, size_t align, uint64_t *iova);

static inline double bench_now_us(const struct bench *b)
{
	return (double)zdk_rdtsc() / b->tsc_per_us;
}

/*
 * bench_record() - stats of @n samples (sorted in place) as one figure.
 * @n == 0 records a skipped figure with @note.
 */
int bench_record(struct bench *b, const struct result_key *k, enum bench_path p,
		 double *v, unsigned n, const char *note);

/* Pin the calling thread to one CPU. Return 0 or -errno. */
int bench_pin(int cpu);
/* The @i-th CPU of @set (wrapping), for spreading threads. */
int bench_cpu_nth(const cpu_set_t *set, unsigned i);

void bench_latency(struct bench *b);
void bench_arena(struct bench *b);
void bench_small(struct bench *b);
void bench_threads(struct bench *b);
void bench_io(struct bench *b);

#endif /* DMA_BENCH_H */
