/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blob.c - the handover blob: a little-endian writer, a reader that never
 * reads past its end, and the container (header, section table, CRC-32C)
 * with its strict parse. No system calls: the fuzz target runs it as is.
 *
 * Header (40 bytes): magic "zdk-hndo", u16 major, u16 minor, u32 header
 * size, u32 total length, u32 CRC-32C of the whole blob with this field 0,
 * u32 mode, u32 fds sent with it, u32 sections, u32 flags (0). Then one
 * 32-byte entry per section: name[16] (NUL-terminated), u32 version, u32
 * flags, u32 offset, u32 length. doc/handover.md has the rest.
 */
#include <stdlib.h>
#include <string.h>

#define ZDK_LOG_COMPONENT "handover"
#include "handover.h"
#include "zdk_log.h"

static void hw_reserve(struct hwriter *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->err)
		return;
	if (n > HANDOVER_MAX_BLOB || w->len > HANDOVER_MAX_BLOB - n) {
		w->err = -E2BIG;
		return;
	}
	if (w->len + n <= w->cap)
		return;
	for (cap = w->cap ? w->cap : 4096; cap < w->len + n; cap *= 2)
		;
	p = realloc(w->buf, cap);
	if (!p) {
		w->err = -ENOMEM;
		return;
	}
	w->buf = p;
	w->cap = cap;
}

void hw_bytes(struct hwriter *w, const void *p, size_t n)
{
	hw_reserve(w, n);
	if (w->err || !n)
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void hw_le(struct hwriter *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	hw_bytes(w, b, n);
}

void hw_u8(struct hwriter *w, uint8_t v)
{
	hw_le(w, v, 1);
}

void hw_u16(struct hwriter *w, uint16_t v)
{
	hw_le(w, v, 2);
}

void hw_u32(struct hwriter *w, uint32_t v)
{
	hw_le(w, v, 4);
}

void hw_u64(struct hwriter *w, uint64_t v)
{
	hw_le(w, v, 8);
}

size_t hw_record_begin(struct hwriter *w)
{
	size_t at = w->len;

	hw_u32(w, 0);
	return at;
}

void hw_record_end(struct hwriter *w, size_t at)
{
	uint32_t size = (uint32_t)(w->len - at);

	if (w->err)
		return;
	for (unsigned i = 0; i < 4; i++)
		w->buf[at + i] = (uint8_t)(size >> (8 * i));
}

void hw_free(struct hwriter *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void hr_init(struct hreader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

void hr_bytes(struct hreader *r, void *out, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
}

static uint64_t hr_le(struct hreader *r, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	hr_bytes(r, b, n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint8_t hr_u8(struct hreader *r)
{
	return (uint8_t)hr_le(r, 1);
}

uint16_t hr_u16(struct hreader *r)
{
	return (uint16_t)hr_le(r, 2);
}

uint32_t hr_u32(struct hreader *r)
{
	return (uint32_t)hr_le(r, 4);
}

uint64_t hr_u64(struct hreader *r)
{
	return hr_le(r, 8);
}

bool hr_record(struct hreader *r, size_t min, struct hreader *rec)
{
	size_t start = r->pos;
	uint32_t size = hr_u32(r);

	if (r->bad || size < 4 || size < min || size - 4 > r->len - r->pos) {
		r->bad = true;
		hr_init(rec, NULL, 0);
		rec->bad = true;
		return false;
	}
	/* The record's reader starts after its size field. */
	hr_init(rec, r->p + start + 4, size - 4);
	r->pos = start + size;
	return true;
}

bool hr_count_ok(const struct hreader *r, uint64_t n, size_t item_min)
{
	return !r->bad && item_min && n <= (r->len - r->pos) / item_min;
}

/* CRC-32C, bit by bit with a 16-entry table: the blob is sent once per handover. */
uint32_t handover_crc32c(uint32_t crc, const void *p, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
		0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
		0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
	};
	const uint8_t *b = p;

	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return ~crc;
}

#define HDR_CRC_OFF 20

static int bad(const char *what)
{
	ZDK_ERR("handover blob refused: %s", what);
	return -EBADMSG;
}

static int parse_table(const uint8_t *b, size_t len, uint32_t hdr, struct handover_blob *out)
{
	struct hreader r;

	hr_init(&r, b + hdr, len - hdr);
	for (uint32_t i = 0; i < out->nsections; i++) {
		struct handover_section *s = &out->sect[i];
		uint32_t off, slen;

		hr_bytes(&r, s->name, HANDOVER_NAME_LEN);
		s->version = hr_u32(&r);
		s->flags = hr_u32(&r);
		off = hr_u32(&r);
		slen = hr_u32(&r);
		if (r.bad)
			return bad("the section table is truncated");
		if (!memchr(s->name, '\0', HANDOVER_NAME_LEN) || !s->name[0])
			return bad("a section name is empty or not terminated");
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(out->sect[j].name, s->name))
				return bad("a section name appears twice");
		if (s->flags & ~HANDOVER_SECT_REQUIRED)
			return bad("a section has unknown flags");
		/* Payloads follow the table, in order, without overlapping. */
		if (off < hdr + (size_t)out->nsections * HANDOVER_SECT_SIZE || off > len ||
		    slen > len - off)
			return bad("a section lies outside the blob");
		if (i && off < (size_t)(out->sect[i - 1].data - b) + out->sect[i - 1].len)
			return bad("sections overlap or are out of order");
		s->data = b + off;
		s->len = slen;
		s->used = false;
	}
	return 0;
}

int handover_blob_parse(const void *blob, size_t len, uint32_t nfds_received,
			struct handover_blob *out)
{
	const uint8_t *b = blob;
	struct hreader r;
	char magic[8];
	uint16_t major, minor;
	uint32_t hdr, total, crc, flags;
	uint8_t zero[4] = { 0 };

	memset(out, 0, sizeof(*out));
	hr_init(&r, blob, len);
	hr_bytes(&r, magic, sizeof(magic));
	major = hr_u16(&r);
	minor = hr_u16(&r);
	hdr = hr_u32(&r);
	total = hr_u32(&r);
	crc = hr_u32(&r);
	out->mode = hr_u32(&r);
	out->nfds = hr_u32(&r);
	out->nsections = hr_u32(&r);
	flags = hr_u32(&r);
	if (r.bad || memcmp(magic, HANDOVER_MAGIC, 8))
		return bad("not a zdk handover blob (magic)");
	if (major != HANDOVER_MAJOR) {
		ZDK_ERR("handover blob version %u.%u, this zdk reads %u.x: hand over between zdk "
			"versions of the same major blob version, or restart (a reset handover)",
			major, minor, HANDOVER_MAJOR);
		return -EPROTO;
	}
	/* A newer minor may have a longer header: its extra fields are skipped. */
	if (hdr < HANDOVER_HDR_SIZE || hdr > len)
		return bad("header size");
	if (total != len)
		return bad("length: truncated, or trailing bytes");
	if (flags)
		return bad("unknown header flags");
	if (out->mode != ZDK_HANDOVER_LIVE && out->mode != ZDK_HANDOVER_RESET)
		return bad("unknown mode");
	if (out->nfds != nfds_received || out->nfds > HANDOVER_MAX_FDS)
		return bad("the fds that came with it are not the ones it names");
	if (out->nsections > HANDOVER_MAX_SECTIONS ||
	    out->nsections > (len - hdr) / HANDOVER_SECT_SIZE)
		return bad("section count");
	crc = crc ^ handover_crc32c(handover_crc32c(handover_crc32c(0, b, HDR_CRC_OFF), zero, 4),
				    b + HDR_CRC_OFF + 4, len - HDR_CRC_OFF - 4);
	if (crc)
		return bad("CRC mismatch (corrupted)");
	return parse_table(b, len, hdr, out);
}

int handover_builder_section(struct handover_builder *b, const char *name, uint32_t version,
			     uint32_t flags, const void *data, size_t len)
{
	size_t nlen = strlen(name);

	if (nlen == 0 || nlen >= HANDOVER_NAME_LEN || b->nsections == HANDOVER_MAX_SECTIONS)
		return -EINVAL;
	for (unsigned i = 0; i < b->nsections; i++)
		if (!strcmp(b->sect[i].name, name))
			return -EEXIST;
	/* Each payload starts 8-byte aligned in the blob (the table's end is). */
	while (b->payload.len % 8)
		hw_u8(&b->payload, 0);
	memset(b->sect[b->nsections].name, 0, HANDOVER_NAME_LEN);
	memcpy(b->sect[b->nsections].name, name, nlen);
	b->sect[b->nsections].version = version;
	b->sect[b->nsections].flags = flags;
	b->sect[b->nsections].off = b->payload.len;
	b->sect[b->nsections].len = len;
	hw_bytes(&b->payload, data, len);
	if (b->payload.err)
		return b->payload.err;
	b->nsections++;
	return 0;
}

int handover_builder_fd(struct handover_builder *b, int fd)
{
	if (b->nfds == HANDOVER_MAX_FDS)
		return -ENOSPC;
	b->fds[b->nfds] = fd;
	return (int)b->nfds++;
}

int handover_blob_finish(struct handover_builder *b, uint32_t mode, struct hwriter *out)
{
	uint32_t table = HANDOVER_HDR_SIZE + b->nsections * HANDOVER_SECT_SIZE, crc;

	memset(out, 0, sizeof(*out));
	if (b->payload.err)
		return b->payload.err;
	hw_bytes(out, HANDOVER_MAGIC, 8);
	hw_u16(out, HANDOVER_MAJOR);
	hw_u16(out, HANDOVER_MINOR);
	hw_u32(out, HANDOVER_HDR_SIZE);
	hw_u32(out, (uint32_t)(table + b->payload.len));
	hw_u32(out, 0); /* the CRC, below */
	hw_u32(out, mode);
	hw_u32(out, b->nfds);
	hw_u32(out, b->nsections);
	hw_u32(out, 0);
	for (unsigned i = 0; i < b->nsections; i++) {
		hw_bytes(out, b->sect[i].name, HANDOVER_NAME_LEN);
		hw_u32(out, b->sect[i].version);
		hw_u32(out, b->sect[i].flags);
		hw_u32(out, (uint32_t)(table + b->sect[i].off));
		hw_u32(out, (uint32_t)b->sect[i].len);
	}
	hw_bytes(out, b->payload.buf, b->payload.len);
	if (out->err) {
		int rc = out->err;

		hw_free(out);
		return rc;
	}
	crc = handover_crc32c(0, out->buf, out->len);
	for (unsigned i = 0; i < 4; i++)
		out->buf[HDR_CRC_OFF + i] = (uint8_t)(crc >> (8 * i));
	return 0;
}

void handover_builder_free(struct handover_builder *b)
{
	hw_free(&b->payload);
	b->nsections = 0;
	b->nfds = 0;
}
