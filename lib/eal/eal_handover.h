/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eal_handover.h - the init orchestrator's part of a live handover: the
 * "eal" section (handover_state.c) and the takeover start (handover.c).
 * Private to lib/eal, and to the tests and the fuzz target.
 */
#ifndef ZDK_EAL_HANDOVER_H
#define ZDK_EAL_HANDOVER_H

#include "handover.h"
#include "mem_private.h"
#include "zdk_pci.h"

#define EAL_HO_SECTION "eal"
#define EAL_HO_VERSION HANDOVER_VERSION(1, 0)
#define EAL_HO_MAX_DEVS 64

/*
 * The eal section. In the blob every fd is an index into the fds the blob
 * came with (HANDOVER_NO_FD: none, -1 here); the new process turns them
 * into the fds themselves.
 */
struct eal_ho_state {
	struct mem_handover mem;
	uint32_t iommu;            /* 1: an iommufd and its IOAS */
	int iommu_fd;
	uint32_t ioas_id;
	unsigned ndevs;
	struct {
		char bdf[16];
		int fd;            /* -1 in a reset handover */
	} devs[EAL_HO_MAX_DEVS];
};

int eal_ho_write(struct hwriter *w, const struct eal_ho_state *st);
/*
 * eal_ho_parse() - the section, every field checked: a live one needs the
 * arena (segments tiling it, page-aligned, in user space), fd indexes below
 * @nfds each used once, an IOMMU only with the arena mapped by file, device
 * addresses that parse, each once. Return: 0 or -EBADMSG (logged).
 */
int eal_ho_parse(const void *p, size_t len, uint32_t nfds, bool live, struct eal_ho_state *st);

struct eal_conf;
/* zdk_eal_init_takeover(): before the lcores, live: adopt everything. */
int eal_takeover_live(const struct eal_conf *c, struct zdk_handover *h);
/* Reset: wait until the old process closed its devices; they are -a's. */
int eal_takeover_reset(struct eal_conf *c, struct zdk_handover *h);

#endif /* ZDK_EAL_HANDOVER_H */
