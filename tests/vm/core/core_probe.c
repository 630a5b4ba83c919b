// SPDX-License-Identifier: BSD-3-Clause
/*
 * core_probe - the core's proof against QEMU's devices through the real
 * kernel VFIO, under the backend given with --iommu:
 *  - every -a device opens through one IOAS/container; config space and
 *    BAR0 agree with sysfs; bus mastering, reset and MSI-X eventfds work;
 *  - the NVMe controller (driven by raw registers here, not the driver)
 *    DMAs an Identify into arena memory at the IOVA zdk_virt2iova() gave,
 *    across a hugepage boundary, and into external memory mapped with
 *    zdk_dma_map(); after zdk_dma_unmap() the same IOVA is no longer
 *    written (with an IOMMU). The data is checked, not only the status.
 * Usage: core_probe [zdk options] -- MODE NVME_BDF  (MODE: expected backend)
 *        core_probe [zdk options] -- numa BDF      (--numa guest placement)
 *        core_probe --rounds N [zdk options]       (init/cleanup N times)
 */
#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_iommu.h"
#include "zdk_mem.h"
#include "zdk_pci.h"

#define CHECK(c, ...)                                                                 \
	do {                                                                          \
		if (!(c)) {                                                           \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);           \
			printf(__VA_ARGS__);                                          \
			printf("\n");                                                 \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

/* NVMe base spec 2.0, 3.1.4: controller registers */
#define NVME_CAP 0x00
#define NVME_VS 0x08
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_SQ0TDBL 0x1000

struct nvme_raw {
	volatile uint8_t *bar;
	uint8_t *sq, *cq;
	uint16_t sq_tail, cq_head;
	int phase;
	unsigned dstrd;
	uint64_t timeout_ns;
};

static int wait_rdy(struct nvme_raw *n, uint32_t want)
{
	uint64_t end = zdk_time_ns() + n->timeout_ns;

	while ((zdk_mmio_read32(n->bar + NVME_CSTS) & 1) != want)
		if (zdk_time_ns() > end)
			return -ETIMEDOUT;
	return 0;
}

static void nvme_up(struct nvme_raw *n, struct zdk_pci_device *dev)
{
	uint64_t cap, sq_iova, cq_iova;
	void *bar;

	CHECK(zdk_pci_bar_map(dev, 0, &bar, NULL) == 0, "BAR0 map");
	n->bar = bar;
	cap = zdk_mmio_read64(n->bar + NVME_CAP);
	n->dstrd = (unsigned)(cap >> 32) & 0xf;
	n->timeout_ns = ((cap >> 24) & 0xff) * 500000000ULL + 1000000000ULL;
	printf("NVMe CAP 0x%016llx VS 0x%08x\n", (unsigned long long)cap,
	       zdk_mmio_read32(n->bar + NVME_VS));
	CHECK(zdk_mmio_read32(n->bar + NVME_VS) >= 0x00010200, "NVMe version");
	CHECK(zdk_pci_bus_master(dev, true) == 0, "bus master");
	zdk_mmio_write32(n->bar + NVME_CC, 0);
	CHECK(wait_rdy(n, 0) == 0, "controller disable");
	n->sq = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, &sq_iova);
	n->cq = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, &cq_iova);
	CHECK(n->sq && n->cq, "admin queue memory");
	zdk_mmio_write32(n->bar + NVME_AQA, (15u << 16) | 15u);
	zdk_mmio_write64(n->bar + NVME_ASQ, sq_iova);
	zdk_mmio_write64(n->bar + NVME_ACQ, cq_iova);
	/* CC: IOCQES 4 (16 B), IOSQES 6 (64 B), 4 KiB pages, NVM command set, EN */
	zdk_mmio_write32(n->bar + NVME_CC, (4u << 20) | (6u << 16) | 1u);
	CHECK(wait_rdy(n, 1) == 0, "controller enable");
	n->phase = 1;
}

/* Identify Controller into [prp1, prp2]; the completion status is returned. */
static int nvme_identify(struct nvme_raw *n, uint64_t prp1, uint64_t prp2)
{
	uint8_t *sqe = n->sq + 64 * n->sq_tail;
	volatile uint8_t *cqe = n->cq + 16 * n->cq_head;
	uint64_t end = zdk_time_ns() + 2000000000ULL;
	uint32_t dw3;

	memset(sqe, 0, 64);
	sqe[0] = 0x06;                                /* Identify */
	*(uint16_t *)(sqe + 2) = n->sq_tail;          /* command id */
	*(uint64_t *)(sqe + 24) = prp1;
	*(uint64_t *)(sqe + 32) = prp2;
	*(uint32_t *)(sqe + 40) = 1;                  /* CNS 1: the controller */
	n->sq_tail = (n->sq_tail + 1) % 16;
	zdk_io_wmb(); /* the SQ entry before the doorbell */
	zdk_mmio_write32(n->bar + NVME_SQ0TDBL, n->sq_tail);
	while (((dw3 = *(volatile uint32_t *)(cqe + 12)) >> 16 & 1) != (uint32_t)n->phase)
		if (zdk_time_ns() > end)
			return -ETIMEDOUT;
	zdk_io_rmb();
	n->cq_head = (n->cq_head + 1) % 16;
	if (!n->cq_head)
		n->phase ^= 1;
	zdk_mmio_write32(n->bar + NVME_SQ0TDBL + (4u << n->dstrd), n->cq_head);
	return (int)(dw3 >> 17);
}

/* Identify Controller data: bytes 0-1 PCI vendor id, 4-23 serial number,
 * 24-63 model number (QEMU's default model, the serial the sandbox sets). */
static void check_identify(const uint8_t *buf, const char *where)
{
	CHECK(*(const uint16_t *)buf == 0x1b36, "%s: Identify VID 0x%04x", where,
	      *(const uint16_t *)buf);
	CHECK(!memcmp(buf + 4, "zdk-nvme0 ", 10), "%s: serial '%.20s'", where, buf + 4);
	CHECK(!memcmp(buf + 24, "QEMU NVMe Ctrl ", 15), "%s: model '%.40s'", where, buf + 24);
}

static void dma_checks(struct nvme_raw *n, bool iommu)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *big, *ext;
	uint64_t iova;
	size_t off;
	int st;

	/* Arena: 4 KiB straddling a hugepage boundary, PRP2 from zdk_virt2iova(). */
	big = zdk_dma_zalloc(6u << 20, 2u << 20, ZDK_SOCKET_ANY, NULL);
	CHECK(big, "6 MiB from the arena");
	off = (2u << 20) - 2048;
	st = nvme_identify(n, zdk_virt2iova(big + off), zdk_virt2iova(big + off + 2048));
	CHECK(st == 0, "Identify into the arena: status 0x%x", st);
	check_identify(big + off, "arena, across a hugepage boundary");
	zdk_dma_free(big);

	/* External memory registered with zdk_dma_map(). */
	ext = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
		   -1, 0);
	CHECK(ext != MAP_FAILED, "mmap");
	CHECK(zdk_dma_map(ext, pg, &iova) == 0, "zdk_dma_map");
	CHECK(zdk_virt2iova(ext + 100) == iova + 100, "virt2iova of external memory");
	st = nvme_identify(n, iova, 0);
	CHECK(st == 0, "Identify into external memory: status 0x%x", st);
	check_identify(ext, "external memory");
	CHECK(zdk_dma_unmap(ext, pg) == 0, "zdk_dma_unmap");
	CHECK(zdk_virt2iova(ext) == ZDK_BAD_IOVA, "unmapped memory has no IOVA");
	if (iommu) {
		/* The IOMMU must now block the device: the page stays untouched. */
		memset(ext, 0, pg);
		nvme_identify(n, iova, 0);
		for (long i = 0; i < pg; i++)
			CHECK(ext[i] == 0, "DMA reached unmapped memory at byte %ld", i);
		printf("ok: a DMA to an unmapped IOVA was blocked\n");
	}
	munmap(ext, 2 * pg);
	printf("ok: Identify landed in arena and zdk_dma_map() memory, data checked\n");
}

static void device_checks(void)
{
	struct zdk_pci_device *d;
	unsigned n = 0;

	for (d = zdk_pci_device_next(NULL); d; d = zdk_pci_device_next(d), n++) {
		uint16_t vid, cmd;
		void *bar, *again;
		int b = 0;

		CHECK(zdk_pci_cfg_read(d, &vid, 2, 0) == 0 && vid == d->vendor_id,
		      "%s config space vendor 0x%04x, sysfs 0x%04x", d->name, vid, d->vendor_id);
		while (b < ZDK_PCI_BAR_COUNT && !d->bars[b].len)
			b++; /* virtio modern: BAR0 is absent, registers sit in BAR4 */
		CHECK(b < ZDK_PCI_BAR_COUNT, "%s has no BAR", d->name);
		CHECK(zdk_pci_bar_map(d, b, &bar, NULL) == 0, "%s BAR%d", d->name, b);
		CHECK(zdk_pci_bar_map(d, b, &again, NULL) == 0 && again == bar, "%s BAR%d again",
		      d->name, b);
		CHECK(zdk_pci_bus_master(d, false) == 0, "%s bus master off", d->name);
		CHECK(zdk_pci_cfg_read(d, &cmd, 2, 4) == 0 && !(cmd & 4), "%s master bit", d->name);
		CHECK(zdk_pci_bar_map(d, 6, &bar, NULL) == -EINVAL, "%s BAR 6", d->name);
		printf("ok: %s %04x:%04x group %d node %d\n", d->name, d->vendor_id, d->device_id,
		       d->iommu_group, d->numa_node);
	}
	CHECK(n >= 1, "devices open");
}

static void irq_and_reset(struct zdk_pci_device *nvme)
{
	int efd[2];

	CHECK(zdk_pci_irq_enable(nvme, ZDK_PCI_IRQ_MSIX, 2, efd) == 0, "MSI-X eventfds");
	CHECK(efd[0] >= 0 && efd[1] >= 0 && efd[0] != efd[1], "two eventfds");
	CHECK(zdk_pci_irq_enable(nvme, ZDK_PCI_IRQ_MSIX, 100000, efd) == -EINVAL, "too many");
	zdk_pci_irq_disable(nvme);
	CHECK(zdk_pci_reset(nvme) == 0, "function reset");
	printf("ok: MSI-X eventfds and function reset\n");
}

/* --numa guest: each node's arena on its node, lcore and device nodes right. */
static void numa_checks(const char *bdf)
{
	struct zdk_pci_device *d = zdk_pci_device_find(bdf);

	for (int node = 0; node < 2; node++) {
		char *p = zdk_dma_zalloc(1 << 20, 0, node, NULL);
		int where = -1;

		CHECK(p, "memory on node %d", node);
		CHECK(get_mempolicy(&where, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR) == 0,
		      "get_mempolicy");
		CHECK(where == node, "zdk_dma_zalloc(socket %d) memory is on node %d", node, where);
		zdk_dma_free(p);
	}
	CHECK(zdk_lcore_socket(0) == 0 && zdk_lcore_socket(1) == 1, "lcore sockets %d %d",
	      zdk_lcore_socket(0), zdk_lcore_socket(1));
	CHECK(d && d->numa_node == 1, "%s on node %d", bdf, d ? d->numa_node : -2);
	printf("ok: arena pages on their nodes, lcore 1 on node 1, %s on node 1\n", bdf);
}

static int rounds(int n, int argc, char **argv)
{
	uint64_t t_init = 0;

	/* argv[2..] are zdk options: hand them over behind the program name */
	argv[2] = argv[0];
	argc -= 2;
	argv += 2;
	for (int i = 0; i < n; i++) {
		char *args[64];
		uint64_t t0;
		int rc;

		/* init moves argv[0] forward, as DPDK does: a fresh copy each round */
		CHECK(argc < 64, "too many arguments");
		memcpy(args, argv, (size_t)argc * sizeof(*args));
		args[argc] = NULL;
		t0 = zdk_time_ns();
		rc = zdk_eal_init(argc, args);
		t_init += zdk_time_ns() - t0;
		CHECK(rc >= 0, "init round %d: %d", i, rc);
		CHECK(zdk_dma_zalloc(1 << 20, 0, ZDK_SOCKET_ANY, NULL), "alloc round %d", i);
		zdk_eal_cleanup();
	}
	printf("ok: %d init/cleanup rounds, zdk_eal_init() %.1f ms on average\n", n,
	       t_init / 1e6 / n);
	return 0;
}

int main(int argc, char **argv)
{
	struct zdk_pci_device *nvme;
	struct nvme_raw n = { 0 };
	const char *mode;
	int rc;

	if (argc > 2 && !strcmp(argv[1], "--rounds"))
		return rounds(atoi(argv[2]), argc, argv);
	rc = zdk_eal_init(argc, argv);
	CHECK(rc >= 0, "zdk_eal_init: %d", rc);
	argc -= rc;
	argv += rc;
	CHECK(argc == 3, "usage: core_probe [zdk options] -- MODE NVME_BDF");
	mode = argv[1];
	if (!strcmp(mode, "numa")) {
		numa_checks(argv[2]);
		zdk_eal_cleanup();
		return 0;
	}
	CHECK(!strcmp(zdk_iommu_mode_name(zdk_iommu_mode()), mode), "backend %s, expected %s",
	      zdk_iommu_mode_name(zdk_iommu_mode()), mode);
	nvme = zdk_pci_device_find(argv[2]);
	CHECK(nvme, "%s open", argv[2]);
	device_checks();
	nvme_up(&n, nvme);
	dma_checks(&n, zdk_iommu_mode() != ZDK_IOMMU_NOIOMMU);
	irq_and_reset(nvme);
	zdk_eal_cleanup();
	printf("ok: core under %s%s\n", mode, zdk_iommu_has_map_file() ? " (MAP_FILE)" : "");
	return 0;
}
