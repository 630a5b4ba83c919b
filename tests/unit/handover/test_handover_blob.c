// SPDX-License-Identifier: BSD-3-Clause
/*
 * The handover blob without processes: the container (header, section
 * table, CRC) and the eal section (arena, IOMMU, devices), written and
 * parsed back; every truncation and every flipped byte of a container
 * refused; each field of the header and the table, and each field of the
 * eal section, made wrong (with a valid CRC) and refused, by name; the
 * version rule (another major refused, a newer minor and longer records
 * read); the reader never reads past its end.
 */
#include "../zdk_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eal_handover.h"
#include "zdk_log.h"

static uint8_t app[300];

/* ZDK_FUZZ_SEEDS=DIR: write this state as a seed of tests/fuzz/corpus/handover-blob. */
static void fuzz_seed(const char *name, uint8_t mode, uint8_t nfds, const void *p, size_t len)
{
	const char *dir = getenv("ZDK_FUZZ_SEEDS");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fputc(mode, f);
	fputc(nfds, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

/* A container: "eal" (required), "app", "extra"; 5 fds. */
static struct hwriter container(void)
{
	struct handover_builder b;
	struct hwriter out;

	memset(&b, 0, sizeof(b));
	for (unsigned i = 0; i < sizeof(app); i++)
		app[i] = (uint8_t)(i * 7);
	CU_ASSERT_FATAL(handover_builder_section(&b, "eal", HANDOVER_VERSION(1, 0),
						 HANDOVER_SECT_REQUIRED, app, 17) == 0);
	CU_ASSERT_FATAL(handover_builder_section(&b, "app", HANDOVER_VERSION(1, 0), 0, app,
						 sizeof(app)) == 0);
	CU_ASSERT_FATAL(handover_builder_section(&b, "extra", HANDOVER_VERSION(1, 3), 0, NULL, 0) == 0);
	CU_ASSERT(handover_builder_section(&b, "app", 0, 0, NULL, 0) == -EEXIST);
	CU_ASSERT(handover_builder_section(&b, "a-name-too-long!", 0, 0, NULL, 0) == -EINVAL);
	for (int i = 0; i < 5; i++)
		CU_ASSERT(handover_builder_fd(&b, 100 + i) == i);
	CU_ASSERT_FATAL(handover_blob_finish(&b, ZDK_HANDOVER_LIVE, &out) == 0);
	handover_builder_free(&b);
	return out;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Make the CRC right again after an edit: the edit itself must be caught. */
static void fix_crc(uint8_t *b, size_t len)
{
	put32(b + 20, 0);
	put32(b + 20, handover_crc32c(0, b, len));
}

static void test_round_trip(void)
{
	struct hwriter w = container();
	struct handover_blob p;

	CU_ASSERT_EQUAL_FATAL(handover_blob_parse(w.buf, w.len, 5, &p), 0);
	fuzz_seed("container", 0, 5, w.buf, w.len);
	CU_ASSERT_EQUAL(p.mode, ZDK_HANDOVER_LIVE);
	CU_ASSERT_EQUAL(p.nfds, 5);
	CU_ASSERT_EQUAL(p.nsections, 3);
	CU_ASSERT_STRING_EQUAL(p.sect[0].name, "eal");
	CU_ASSERT_EQUAL(p.sect[0].flags, HANDOVER_SECT_REQUIRED);
	CU_ASSERT_EQUAL(p.sect[0].len, 17);
	CU_ASSERT_STRING_EQUAL(p.sect[1].name, "app");
	CU_ASSERT_EQUAL(p.sect[1].len, sizeof(app));
	CU_ASSERT(memcmp(p.sect[1].data, app, sizeof(app)) == 0);
	CU_ASSERT_EQUAL(p.sect[2].version, HANDOVER_VERSION(1, 3));
	CU_ASSERT_EQUAL(p.sect[2].len, 0);
	for (unsigned i = 0; i < p.nsections; i++)
		CU_ASSERT_EQUAL((p.sect[i].data - w.buf) % 8, 0);
	/* the fds that came are the ones it names */
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 4, &p), -EBADMSG);
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 6, &p), -EBADMSG);
	hw_free(&w);
}

static void test_truncated_flipped(void)
{
	struct hwriter w = container();
	uint8_t *b = malloc(w.len + 1);
	struct handover_blob p;

	zdk_log_set_level(0);
	for (size_t len = 0; len < w.len; len++)
		CU_ASSERT_EQUAL(handover_blob_parse(w.buf, len, 5, &p), -EBADMSG);
	memcpy(b, w.buf, w.len);
	b[w.len] = 0;
	CU_ASSERT_EQUAL(handover_blob_parse(b, w.len + 1, 5, &p), -EBADMSG);
	for (size_t i = 0; i < w.len; i++)
		for (unsigned x = 1; x < 256; x <<= 1) {
			memcpy(b, w.buf, w.len);
			b[i] ^= (uint8_t)x;
			CU_ASSERT_NOT_EQUAL_FATAL(handover_blob_parse(b, w.len, 5, &p), 0);
		}
	zdk_log_set_level(ZDK_LOG_WARN);
	free(b);
	hw_free(&w);
}

/* One edit at @off (a u32), the CRC fixed: the parse must give @want. */
static void edit32(size_t off, uint32_t v, int want)
{
	struct hwriter w = container();
	struct handover_blob p;

	put32(w.buf + off, v);
	fix_crc(w.buf, w.len);
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 5, &p), want);
	hw_free(&w);
}

#define SECT(i, field) (HANDOVER_HDR_SIZE + (i) * HANDOVER_SECT_SIZE + (field))

static void test_fields(void)
{
	struct hwriter w = container();
	struct handover_blob p;
	uint32_t table_end = HANDOVER_HDR_SIZE + 3 * HANDOVER_SECT_SIZE;

	edit32(8, 2 | 0 << 16, -EPROTO);          /* major 2 */
	edit32(8, 1 | 9u << 16, 0);               /* minor 9: read */
	edit32(12, HANDOVER_HDR_SIZE - 4, -EBADMSG); /* header size */
	edit32(16, (uint32_t)w.len + 8, -EBADMSG); /* total length */
	edit32(24, 3, -EBADMSG);                  /* mode */
	edit32(28, 6, -EBADMSG);                  /* fds */
	edit32(32, 1000, -EBADMSG);               /* sections */
	edit32(32, 2, 0);                         /* fewer sections: the rest is trailing payload */
	edit32(36, 1, -EBADMSG);                  /* header flags */
	edit32(SECT(1, 20), 1u << 5, -EBADMSG);   /* section flags */
	edit32(SECT(0, 24), table_end - 8, -EBADMSG); /* a payload inside the table */
	edit32(SECT(1, 24), table_end, -EBADMSG);  /* overlapping the first */
	edit32(SECT(2, 28), 4096, -EBADMSG);      /* past the end */
	/* a duplicate name, an empty one, an unterminated one */
	memcpy(w.buf + SECT(1, 0), "eal", 4);
	fix_crc(w.buf, w.len);
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 5, &p), -EBADMSG);
	memset(w.buf + SECT(1, 0), 0, 16);
	fix_crc(w.buf, w.len);
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 5, &p), -EBADMSG);
	memset(w.buf + SECT(1, 0), 'x', 16);
	fix_crc(w.buf, w.len);
	CU_ASSERT_EQUAL(handover_blob_parse(w.buf, w.len, 5, &p), -EBADMSG);
	hw_free(&w);
}

static void test_reader(void)
{
	uint8_t buf[64];
	struct hwriter w = { 0 };
	struct hreader r, rec;
	size_t at;

	/* A newer writer's record: two more fields than this reader knows. */
	at = hw_record_begin(&w);
	hw_u32(&w, 7);
	hw_u64(&w, 8);
	hw_u64(&w, 9);
	hw_record_end(&w, at);
	hw_u16(&w, 0xbeef);
	hr_init(&r, w.buf, w.len);
	CU_ASSERT(hr_record(&r, 8, &rec));
	CU_ASSERT_EQUAL(hr_u32(&rec), 7);
	CU_ASSERT_EQUAL(hr_u16(&r), 0xbeef); /* skipped what it did not know */
	CU_ASSERT(!r.bad);
	/* a record shorter than its first version, or longer than what is left */
	hr_init(&r, w.buf, w.len);
	CU_ASSERT(!hr_record(&r, 64, &rec) && r.bad && rec.bad);
	hr_init(&r, w.buf, 10);
	CU_ASSERT(!hr_record(&r, 4, &rec) && r.bad);
	/* reads past the end give zeroes and stick */
	hr_init(&r, buf, 3);
	CU_ASSERT_EQUAL(hr_u32(&r), 0);
	CU_ASSERT(r.bad);
	CU_ASSERT_EQUAL(hr_u8(&r), 0);
	CU_ASSERT(!hr_count_ok(&r, 1, 1));
	hr_init(&r, buf, 16);
	CU_ASSERT(hr_count_ok(&r, 4, 4) && !hr_count_ok(&r, 5, 4) && !hr_count_ok(&r, 1, 0));
	hw_free(&w);
}

/* A live state: two segments (a hugetlbfs file, a memfd), an IOMMU, two devices. */
static void live_state(struct eal_ho_state *st)
{
	memset(st, 0, sizeof(*st));
	st->mem = (struct mem_handover){
		.base = 0x7f0000000000ULL, .len = 64u << 20, .pgsz = 2u << 20,
		.iova_base = 1ULL << 32, .iova_fixed = true, .dma_mapped = true, .by_file = true,
		.nsegs = 2,
	};
	st->mem.segs[0] = (struct mem_handover_seg){
		.node = 0, .fd = 0, .off = 0, .len = 32u << 20,
		.heap = { .free_off = 4096, .free_bytes = 30u << 20, .nalloc = 3 },
	};
	strcpy(st->mem.segs[0].path, "/dev/hugepages/zdk-node0");
	st->mem.segs[1] = (struct mem_handover_seg){
		.node = 1, .fd = 1, .off = 32u << 20, .len = 32u << 20,
		.heap = { .free_off = UINT64_MAX, .free_bytes = 0, .nalloc = 1 },
	};
	st->iommu = 1;
	st->iommu_fd = 2;
	st->ioas_id = 7;
	st->ndevs = 2;
	strcpy(st->devs[0].bdf, "0000:01:00.0");
	st->devs[0].fd = 3;
	strcpy(st->devs[1].bdf, "0000:02:00.0");
	st->devs[1].fd = 4;
}

static int write_parse(const struct eal_ho_state *st, bool live, uint32_t nfds,
		       struct eal_ho_state *out)
{
	struct hwriter w = { 0 };
	int rc;

	CU_ASSERT_FATAL(eal_ho_write(&w, st) == 0);
	rc = eal_ho_parse(w.buf, w.len, nfds, live, out);
	if (rc == 0)
		fuzz_seed(live ? "eal-live" : "eal-reset", live ? 1 : 2, (uint8_t)nfds, w.buf, w.len);
	hw_free(&w);
	return rc;
}

static void test_eal_round_trip(void)
{
	struct eal_ho_state st, got;

	live_state(&st);
	CU_ASSERT_EQUAL_FATAL(write_parse(&st, true, 5, &got), 0);
	CU_ASSERT(memcmp(&st.mem, &got.mem, sizeof(st.mem)) == 0);
	CU_ASSERT(got.iommu == 1 && got.iommu_fd == 2 && got.ioas_id == 7 && got.ndevs == 2);
	CU_ASSERT_STRING_EQUAL(got.devs[1].bdf, "0000:02:00.0");
	CU_ASSERT_EQUAL(got.devs[1].fd, 4);
	/* A reset handover: the devices' names only. */
	memset(&st, 0, sizeof(st));
	st.ndevs = 1;
	strcpy(st.devs[0].bdf, "0000:01:00.0");
	st.devs[0].fd = -1;
	CU_ASSERT_EQUAL(write_parse(&st, false, 0, &got), 0);
	CU_ASSERT_EQUAL(got.devs[0].fd, -1);
	CU_ASSERT_EQUAL(write_parse(&st, true, 0, &got), -EBADMSG); /* live needs an arena */
	/* A truncated section. */
	{
		struct hwriter w = { 0 };

		live_state(&st);
		CU_ASSERT_FATAL(eal_ho_write(&w, &st) == 0);
		zdk_log_set_level(0);
		for (size_t len = 0; len < w.len; len++)
			CU_ASSERT_EQUAL(eal_ho_parse(w.buf, len, 5, true, &got), -EBADMSG);
		zdk_log_set_level(ZDK_LOG_WARN);
		hw_free(&w);
	}
}

/* Each lie about the arena, the IOMMU or the devices, refused. */
static void test_eal_lies(void)
{
	struct eal_ho_state st, got;

#define LIE(stmt)                                                          \
	do {                                                               \
		live_state(&st);                                           \
		stmt;                                                      \
		CU_ASSERT_EQUAL(write_parse(&st, true, 5, &got), -EBADMSG); \
	} while (0)
	LIE(st.mem.pgsz = 3000);
	LIE(st.mem.pgsz = 2ULL << 30);
	LIE(st.mem.base += 4096);
	LIE(st.mem.base = 0);
	LIE(st.mem.base = 1ULL << 47);
	LIE(st.mem.len += 2u << 20);
	LIE(st.mem.nsegs = 0);
	LIE(st.mem.nsegs = 9);
	LIE(st.mem.segs[1].off += 2u << 20);
	LIE(st.mem.segs[1].len = 0);
	LIE(st.mem.segs[1].len = 4096);
	LIE(st.mem.segs[1].node = 0);
	LIE(st.mem.segs[1].node = 8);
	LIE(st.mem.segs[1].fd = 5);
	LIE(st.mem.segs[1].fd = 0);
	LIE(st.devs[0].fd = 1);
	LIE(st.iommu_fd = 4);
	LIE(st.mem.segs[0].heap.free_off = 32u << 20);
	LIE(st.mem.segs[0].heap.free_bytes = (32u << 20) + 1);
	LIE(st.mem.segs[0].heap.nalloc = 1u << 30);
	LIE(st.mem.iova_base = 4096);
	LIE(st.mem.iova_base = UINT64_MAX - 4096 * 2 + 1);
	LIE(st.mem.iova_fixed = false);
	LIE(st.mem.by_file = false);
	LIE(st.iommu = 0);
	LIE(st.iommu = 2);
	LIE(strcpy(st.devs[1].bdf, "0000:01:00.0"));
	LIE(strcpy(st.devs[1].bdf, "zz:00.0"));
#undef LIE
}

static const struct zdk_test tests[] = {
	{ "container round trip", test_round_trip },
	{ "container truncated or flipped", test_truncated_flipped },
	{ "container fields", test_fields },
	{ "reader and records", test_reader },
	{ "eal section round trip", test_eal_round_trip },
	{ "eal section lies", test_eal_lies },
	{ NULL, NULL },
};

int main(void)
{
	zdk_log_set_level(ZDK_LOG_WARN);
	return zdk_test_run("handover-blob", NULL, NULL, tests);
}
