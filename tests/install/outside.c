// SPDX-License-Identifier: BSD-3-Clause
/*
 * An outside program, built from the installed zdk with pkg-config only (in C
 * and, as outside.cc, in C++), that includes every public header.
 *
 *   outside [zdk options]                      init and cleanup, memory only
 *   outside [zdk options] -- BDF read LBA N    N 4 KiB blocks of nsid 1 to stdout
 *   outside [zdk options] -- BDF write LBA N   N 4 KiB blocks from stdin
 *
 * The controller is attached after zdk_eal_init() (pass no -a for it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zdk/zdk_common.h>
#include <zdk/zdk_eal.h>
#include <zdk/zdk_eth.h>
#include <zdk/zdk_eth_driver.h>
#include <zdk/zdk_iommu.h>
#include <zdk/zdk_lcore.h>
#include <zdk/zdk_log.h>
#include <zdk/zdk_mbuf.h>
#include <zdk/zdk_mem.h>
#include <zdk/zdk_mempool.h>
#include <zdk/zdk_nvme.h>
#include <zdk/zdk_nvme_spec.h>
#include <zdk/zdk_pci.h>
#include <zdk/zdk_ring.h>
#include <zdk/zdk_version.h>

static int blocks(const char *bdf, int write, unsigned long lba, unsigned long n)
{
	struct zdk_nvme_ctrlr *c;
	const struct zdk_nvme_ns *ns;
	struct zdk_nvme_qpair *qp;
	char *buf;
	int rc = zdk_nvme_ctrlr_attach(bdf, &c);

	if (rc)
		return rc;
	ns = zdk_nvme_ns_get(c, 1);
	if (!ns || zdk_nvme_qpair_alloc(c, NULL, &qp)) {
		zdk_nvme_ctrlr_detach(c);
		return -1;
	}
	buf = (char *)zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, NULL);
	for (unsigned long i = 0; rc == 0 && i < n; i++) {
		uint64_t slba = ((lba + i) * 4096) >> ns->lba_shift;
		uint32_t nlb = 4096 >> ns->lba_shift;

		if (write && fread(buf, 1, 4096, stdin) != 4096)
			rc = -1;
		if (rc == 0)
			rc = zdk_nvme_ns_rw_sync(ns, qp, write, buf, slba, nlb);
		if (rc == 0 && !write && fwrite(buf, 1, 4096, stdout) != 4096)
			rc = -1;
	}
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	zdk_nvme_ctrlr_detach(c);
	return rc;
}

int main(int argc, char **argv)
{
	int ret = zdk_eal_init(argc, argv), rc = 0;

	if (ret < 0)
		return 1;
	argc -= ret;
	argv += ret;
	if (argc == 5)
		rc = blocks(argv[1], strcmp(argv[2], "write") == 0, strtoul(argv[3], NULL, 0),
			    strtoul(argv[4], NULL, 0));
	else if (argc != 1)
		rc = -1;
	zdk_eal_cleanup();
	if (rc)
		fprintf(stderr, "outside: failed: %d\n", rc);
	return rc ? 1 : 0;
}
