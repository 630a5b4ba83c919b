/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handover.h - what the layers that hand state over (eal for the arena, the
 * IOMMU and the devices; the NVMe driver) use of lib/handover: the blob's
 * writer and bounds-checked reader, sections, fds, and the provider hooks
 * zdk_handover_send() and zdk_handover_commit() run. Shared-internal, never
 * installed. The format is in doc/handover.md.
 */
#ifndef ZDK_HANDOVER_INTERNAL_H
#define ZDK_HANDOVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zdk_handover.h"

/* The container: "zdk-hndo", then the version. Major: incompatible; minor: additions. */
#define HANDOVER_MAGIC "zdk-hndo"
#define HANDOVER_MAJOR 1
#define HANDOVER_MINOR 0
#define HANDOVER_HDR_SIZE 40
#define HANDOVER_SECT_SIZE 32
#define HANDOVER_NAME_LEN 16
#define HANDOVER_MAX_SECTIONS 64
#define HANDOVER_MAX_FDS 128          /* SCM_RIGHTS carries at most 253 */
#define HANDOVER_MAX_BLOB (512u << 20) /* 256 MiB of application state and the rest */
#define HANDOVER_MAX_APP (256u << 20)
#define HANDOVER_NO_FD UINT32_MAX

/* A section's version: major << 16 | minor, with the container's rule. */
#define HANDOVER_VERSION(major, minor) ((uint32_t)(major) << 16 | (minor))
#define HANDOVER_SECT_REQUIRED 1u /* a new process that does not know it must refuse */

/* Little-endian writer into a growing buffer; a failed allocation sticks in err. */
struct hwriter {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

void hw_bytes(struct hwriter *w, const void *p, size_t n);
void hw_u8(struct hwriter *w, uint8_t v);
void hw_u16(struct hwriter *w, uint16_t v);
void hw_u32(struct hwriter *w, uint32_t v);
void hw_u64(struct hwriter *w, uint64_t v);
/* A record: its u32 size (itself included) is written by hw_record_end(). */
size_t hw_record_begin(struct hwriter *w);
void hw_record_end(struct hwriter *w, size_t at);
void hw_free(struct hwriter *w);

/*
 * Bounds-checked reader: a read past the end yields zeroes and sets bad,
 * which the caller checks once, at the end of what it parses.
 */
struct hreader {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

void hr_init(struct hreader *r, const void *p, size_t len);
void hr_bytes(struct hreader *r, void *out, size_t n);
uint8_t hr_u8(struct hreader *r);
uint16_t hr_u16(struct hreader *r);
uint32_t hr_u32(struct hreader *r);
uint64_t hr_u64(struct hreader *r);
/*
 * The next record into *@rec: its size must be at least @min (what the
 * first version of the record holds) and fit what is left; fields a newer
 * writer appended are skipped. Return: false (and r->bad) otherwise.
 */
bool hr_record(struct hreader *r, size_t min, struct hreader *rec);
/* A count of items of at least @item_min bytes each that can still be in @r. */
bool hr_count_ok(const struct hreader *r, uint64_t n, size_t item_min);

/* CRC-32C (Castagnoli), as iSCSI and ext4 use it. */
uint32_t handover_crc32c(uint32_t crc, const void *p, size_t n);

/* A parsed container: the section table, pointing into the blob. */
struct handover_section {
	char name[HANDOVER_NAME_LEN];
	uint32_t version;
	uint32_t flags;
	const uint8_t *data;
	uint32_t len;
	bool used;
};

struct handover_blob {
	uint32_t mode;   /* enum zdk_handover_mode */
	uint32_t nfds;
	uint32_t nsections;
	struct handover_section sect[HANDOVER_MAX_SECTIONS];
};

/*
 * handover_blob_parse() - check and index a received blob: magic, major
 * version, header and section table within the blob, sections inside it
 * and not overlapping, names NUL-terminated and unique, the CRC, the mode,
 * @nfds_received against what the header says.
 * Return: 0, -EBADMSG (corrupted or truncated: the reason logged), -EPROTO
 * (another major version).
 */
int handover_blob_parse(const void *blob, size_t len, uint32_t nfds_received,
			struct handover_blob *out);

/*
 * Building a blob (old side): sections in order, then handover_blob_finish()
 * writes the header and the CRC. Used by zdk_handover_send() and the tests.
 */
struct handover_builder {
	struct hwriter payload;
	struct {
		char name[HANDOVER_NAME_LEN];
		uint32_t version, flags;
		size_t off, len;
	} sect[HANDOVER_MAX_SECTIONS];
	unsigned nsections;
	int fds[HANDOVER_MAX_FDS];
	unsigned nfds;
	int err;
};

int handover_builder_section(struct handover_builder *b, const char *name, uint32_t version,
			     uint32_t flags, const void *data, size_t len);
/* Return: the fd's index in the blob, or -ENOSPC. The fd stays the caller's. */
int handover_builder_fd(struct handover_builder *b, int fd);
int handover_blob_finish(struct handover_builder *b, uint32_t mode, struct hwriter *out);
void handover_builder_free(struct handover_builder *b);

/* What the providers see of a handover in progress. */
int handover_section_add(struct zdk_handover *h, const char *name, uint32_t version,
			 uint32_t flags, const void *data, size_t len);
int handover_fd_add(struct zdk_handover *h, int fd);
/* The section @name of a received blob (marked used), or NULL. */
const struct handover_section *handover_section_get(struct zdk_handover *h, const char *name);
/* The received fd @index: the caller owns it from now on. -EBADF if out of range or taken. */
int handover_fd_take(struct zdk_handover *h, uint32_t index);
uint32_t handover_timeout_ms(const struct zdk_handover *h);
/* How many fds came with the blob. */
uint32_t handover_nfds(const struct zdk_handover *h);
/* Whether a provider called @name is registered (a PCI driver that hands over). */
bool handover_provider_known(const char *name);

/*
 * A layer that hands state over. Export and import run in ascending
 * order, release, resume and abort in descending order (eal's arena, IOMMU
 * and devices: 10; drivers: 50).
 */
struct handover_provider {
	const char *name;
	int order;
	/* Old side. check: 0 when a live handover is possible, else 1 and why. */
	int (*check)(char *why, size_t len);
	/* Add sections and fds; nothing done yet may need undoing but by resume(). */
	int (*export)(struct zdk_handover *h, enum zdk_handover_mode mode);
	/* Live: the new process is ready: let go without touching the device. */
	void (*release)(void);
	/* Exported, but the new process did not take over: carry on. */
	void (*resume)(void);
	/* New side, live. import: rebuild from the sections, write no device. */
	int (*import)(struct zdk_handover *h);
	/* Before READY: 0, or why this process cannot take over (logged). */
	int (*ready)(void);
	/* GO came: the devices and the arena are this process's. */
	void (*commit)(void);
	/* GO did not come: drop what import built, write no device. */
	void (*abort)(void);
	struct handover_provider *next;
};

/* Drivers register from a constructor, as PCI drivers do. */
void handover_provider_register(struct handover_provider *p);

#define HANDOVER_PROVIDER_REGISTER(p)                                          \
	__attribute__((constructor)) static void handover_register_##p(void)   \
	{                                                                     \
		handover_provider_register(&(p));                             \
	}

/*
 * The new side, called by zdk_eal_init_takeover(): live, every provider's
 * import in order (on failure, those done are aborted); reset, READY and
 * the wait for GO.
 */
int handover_import_all(struct zdk_handover *h);
int handover_reset_wait_go(struct zdk_handover *h);
/* Abort every provider imported so far (a failed zdk_eal_init_takeover()). */
void handover_abort_all(struct zdk_handover *h);

#endif /* ZDK_HANDOVER_INTERNAL_H */
