/* SPDX-License-Identifier: BSD-3-Clause */
/* test_mem.c - see test_mem.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_mem.h"
#include "zdk_eal.h"
#include "zdk_log.h"
#include "zdk_mem.h"

struct dma_block {
	void *va;
	size_t len;
	struct dma_block *next;
};

static struct dma_block *blocks;
static unsigned live;
static int fail_after = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned my_lcore;

int zdk_log_level = ZDK_LOG_WARN;

void zdk_log_print(int level, const char *component, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	fprintf(stderr, "%s: ", component);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

unsigned zdk_lcore_id(void)
{
	return my_lcore;
}

void test_lcore_set(unsigned lcore)
{
	my_lcore = lcore;
}

void test_dma_fail_after(int n)
{
	fail_after = n;
}

unsigned test_dma_live(void)
{
	return live;
}

void *zdk_dma_zalloc(size_t size, size_t align, int socket, uint64_t *iova)
{
	struct dma_block *b;
	void *va;

	(void)socket;
	if (align < 64)
		align = 64;
	pthread_mutex_lock(&lock);
	if (fail_after == 0) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	if (fail_after > 0)
		fail_after--;
	pthread_mutex_unlock(&lock);
	b = malloc(sizeof(*b));
	if (!b || posix_memalign(&va, align, size ? size : 1)) {
		free(b);
		return NULL;
	}
	memset(va, 0, size);
	b->va = va;
	b->len = size;
	pthread_mutex_lock(&lock);
	b->next = blocks;
	blocks = b;
	live++;
	pthread_mutex_unlock(&lock);
	if (iova)
		*iova = (uint64_t)(uintptr_t)va + TEST_IOVA_OFFSET;
	return va;
}

void zdk_dma_free(void *va)
{
	struct dma_block **p, *b;

	if (!va)
		return;
	pthread_mutex_lock(&lock);
	for (p = &blocks; *p && (*p)->va != va; p = &(*p)->next)
		;
	b = *p;
	if (b) {
		*p = b->next;
		live--;
	}
	pthread_mutex_unlock(&lock);
	if (!b) {
		fprintf(stderr, "zdk_dma_free(%p): not a DMA allocation\n", va);
		abort();
	}
	free(b);
	free(va);
}

void *test_iova_to_va(uint64_t iova, size_t len)
{
	uintptr_t va = (uintptr_t)(iova - TEST_IOVA_OFFSET);
	struct dma_block *b;
	void *ret = NULL;

	pthread_mutex_lock(&lock);
	for (b = blocks; b; b = b->next)
		if (va >= (uintptr_t)b->va && va + len <= (uintptr_t)b->va + b->len)
			ret = (void *)va;
	pthread_mutex_unlock(&lock);
	return ret;
}
