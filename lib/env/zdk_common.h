/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_common.h - small helpers every zdk header and driver uses: branch
 * hints, cache-line alignment, memory and I/O barriers, MMIO accessors.
 */
#ifndef ZDK_COMMON_H
#define ZDK_COMMON_H

/* The barriers and the TSC clock below are x86-64's (meson setup says so too). */
#if !defined(__x86_64__)
#error "zdk supports x86-64 only: its barriers and TSC clock have no other port yet"
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZDK_EXPORT __attribute__((visibility("default")))

/* A compile-time check that C and C++ both accept in a header. */
#ifdef __cplusplus
#define ZDK_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define ZDK_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define zdk_likely(x) __builtin_expect(!!(x), 1)
#define zdk_unlikely(x) __builtin_expect(!!(x), 0)

#define ZDK_CACHE_LINE 64
#define __zdk_cache_aligned __attribute__((aligned(ZDK_CACHE_LINE)))
#define __zdk_packed __attribute__((packed))

#define ZDK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ZDK_ALIGN_UP(v, a) ((((v) + (a) - 1) / (a)) * (a))
#define ZDK_ALIGN_DOWN(v, a) (((v) / (a)) * (a))
#define ZDK_IS_POW2(v) ((v) != 0 && (((v) & ((v) - 1)) == 0))
#define ZDK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ZDK_MAX(a, b) ((a) > (b) ? (a) : (b))

/**
 * zdk_percentile_rank() - where the @p-th percentile of @n samples lies, by
 * the nearest-rank definition: the 1-based rank ceil(@p / 100 x @n), at
 * least 1, so that at least @p percent of the samples are at or below it. A
 * sorted array's percentile is at index rank - 1; a histogram's is the first
 * bucket whose running count reaches the rank. nvme-perf, pktgen and
 * zdk-dma-bench all report percentiles this way. Return: 0 when @n is 0.
 */
static inline uint64_t zdk_percentile_rank(uint64_t n, double p)
{
	double r = p / 100.0 * (double)n;
	uint64_t k = (uint64_t)r;

	if (n == 0)
		return 0;
	if (p <= 0)
		return 1;
	if (p >= 100)
		return n;
	/* ceil, without counting a rounding error just above an integer */
	if (r - (double)k > 1e-9 * (double)n)
		k++;
	return k < 1 ? 1 : k > n ? n : k;
}

/*
 * Options structs that cross the ABI start with their size, as the caller
 * was compiled: a library copies what the caller has (zeroes the rest, which
 * means "default") and refuses a size of 0 (never set) or one larger than it
 * knows (a newer header). Return: 0 or -EINVAL.
 */
static inline int zdk_opts_copy(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	if (src_size < sizeof(size_t) || src_size > dst_size)
		return -EINVAL;
	__builtin_memset(dst, 0, dst_size);
	__builtin_memcpy(dst, src, src_size);
	return 0;
}

/* Socket (NUMA node) wildcard for allocations. */
#define ZDK_SOCKET_ANY (-1)
/* Returned by address translation for memory zdk does not know. */
#define ZDK_BAD_IOVA UINT64_MAX

/*
 * Barriers. On x86 stores are not reordered with other stores and loads are
 * not reordered with other loads, so the smp and DMA variants are compiler
 * barriers; the full barrier orders a store before a later load.
 */
#define zdk_compiler_barrier() __asm__ volatile("" ::: "memory")
#define zdk_mb() __asm__ volatile("mfence" ::: "memory")
#define zdk_wmb() zdk_compiler_barrier()
#define zdk_rmb() zdk_compiler_barrier()
/* Order normal-memory stores (descriptors) before an MMIO doorbell store. */
#define zdk_io_wmb() zdk_wmb()
/* Order a DMA-written status read before reading the rest of the entry. */
#define zdk_io_rmb() zdk_rmb()

static inline void zdk_pause(void)
{
	__builtin_ia32_pause();
}

static inline uint32_t zdk_mmio_read32(const volatile void *addr)
{
	return *(const volatile uint32_t *)addr;
}

static inline void zdk_mmio_write32(volatile void *addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint64_t zdk_mmio_read64(const volatile void *addr)
{
	return *(const volatile uint64_t *)addr;
}

static inline void zdk_mmio_write64(volatile void *addr, uint64_t v)
{
	*(volatile uint64_t *)addr = v;
}

static inline uint16_t zdk_mmio_read16(const volatile void *addr)
{
	return *(const volatile uint16_t *)addr;
}

static inline void zdk_mmio_write16(volatile void *addr, uint16_t v)
{
	*(volatile uint16_t *)addr = v;
}

static inline uint8_t zdk_mmio_read8(const volatile void *addr)
{
	return *(const volatile uint8_t *)addr;
}

static inline void zdk_mmio_write8(volatile void *addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

/* Time-stamp counter and its rate, for timeouts and latency. */
static inline uint64_t zdk_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

/**
 * zdk_tsc_hz() - time-stamp counter ticks per second, measured at init.
 */
ZDK_EXPORT uint64_t zdk_tsc_hz(void);

/**
 * zdk_time_ns() - monotonic time in nanoseconds (a vDSO call, no syscall).
 */
ZDK_EXPORT uint64_t zdk_time_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* ZDK_COMMON_H */
