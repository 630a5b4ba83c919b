/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eal.c - zdk_eal_init() and zdk_eal_cleanup(): options, lcores, the
 * hugepage arena, the IOMMU backend, the devices and their drivers, in that
 * order; cleanup undoes them in reverse.
 */
#define ZDK_LOG_COMPONENT "eal"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eal_handover.h"
#include "eal_private.h"
#include "env.h"
#include "iommu_private.h"
#include "mem_private.h"
#include "pci_private.h"
#include "pci_sysfs.h"
#include "zdk_log.h"
#include "zdk_version.h"

static struct {
	bool initialized;
	bool opening;   /* zdk_eal_init() is opening its devices */
} eal;

/*
 * A device attached after init (zdk_nvme_ctrlr_attach(), hot-add): the
 * first one brings the arena's mapping, and after type1 lost every mapping
 * with its last group, the next one brings them all back. During init the
 * arena is mapped once, after all devices have shaped the IOVA ranges.
 */
static int dma_on_attach(struct iommu *io)
{
	int rc;

	if (eal.opening)
		return 0;
	rc = mem_dma_setup(io);
	return rc ? rc : mem_ext_remap(io);
}

static void dma_on_lost(struct iommu *io)
{
	mem_dma_lost(io);
	mem_ext_lost(io);
}

static bool in_list(const struct zdk_pci_addr *a, const struct zdk_pci_addr *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!zdk_pci_addr_cmp(a, &list[i]))
			return true;
	return false;
}

static int addr_cmp(const void *a, const void *b)
{
	return zdk_pci_addr_cmp(a, b);
}

/* The devices to open, in BDF order: -a's (each must exist), or every
 * supported device bound to vfio-pci. */
static int devices_pick(const struct eal_conf *c, struct zdk_pci_addr *out, unsigned *n)
{
	struct pci_sysfs_dev *devs = NULL;
	int ndevs;

	*n = 0;
	if (c->nallow) {
		memcpy(out, c->allow, c->nallow * sizeof(*out));
		*n = c->nallow;
		qsort(out, *n, sizeof(*out), addr_cmp);
		return 0;
	}
	ndevs = pci_sysfs_scan(NULL, &devs);
	if (ndevs < 0)
		return ndevs == -ENOENT ? 0 : ndevs;
	for (int i = 0; i < ndevs && *n < EAL_MAX_DEVS; i++) {
		const struct pci_sysfs_dev *d = &devs[i];

		if (strcmp(d->driver, "vfio-pci") || in_list(&d->addr, c->block, c->nblock) ||
		    !zdk_pci_driver_match(d->vendor_id, d->device_id, d->class_code))
			continue;
		out[(*n)++] = d->addr;
	}
	free(devs);
	return 0;
}

static void mem_conf_fill(const struct eal_conf *c, struct mem_conf *mc)
{
	unsigned l;

	memset(mc, 0, sizeof(*mc));
	mc->page_size = c->huge_size;
	mc->no_huge = c->no_huge;
	mc->huge_dir = c->huge_dir[0] ? c->huge_dir : NULL;
	mc->prefix = c->file_prefix;
	mc->huge_fd_set = c->huge_fd >= 0;
	mc->huge_fd = c->huge_fd;
	if (c->huge_fd >= 0 && !c->mem_set) {
		/* The handed-over file says how large the arena is, on the main lcore's node. */
		int node = zdk_lcore_socket(zdk_lcore_main());

		mc->node_mem[node < MEM_MAX_NODES && node >= 0 ? node : 0] =
			c->huge_fd_size / (c->huge_size ? c->huge_size : 4096) *
			(c->huge_size ? c->huge_size : 4096);
		return;
	}
	if (c->mem_set) {
		for (int i = 0; i < EAL_MAX_NODES && i < MEM_MAX_NODES; i++)
			mc->node_mem[i] = c->node_mem_mb[i] << 20;
		return;
	}
	/* Default: some memory on every node that runs an lcore. */
	ZDK_LCORE_FOREACH(l) {
		int node = zdk_lcore_socket(l);

		if (node < MEM_MAX_NODES)
			mc->node_mem[node] = (size_t)EAL_DEFAULT_MEM_MB << 20;
	}
}

/* The device descriptors handed over, for lib/iommu (which never closes them). */
static int handover_set(const struct eal_conf *c)
{
	char bdfs[EAL_MAX_DEVS][ZDK_PCI_ADDR_LEN];
	const char *names[EAL_MAX_DEVS];
	int fds[EAL_MAX_DEVS];

	for (unsigned i = 0; i < c->nvfio_fds; i++) {
		zdk_pci_addr_format(&c->vfio_fds[i].addr, bdfs[i], sizeof(bdfs[i]));
		names[i] = bdfs[i];
		fds[i] = c->vfio_fds[i].fd;
	}
	return iommu_handover_set(c->iommufd_fd, names, fds, c->nvfio_fds);
}

static int devices_open(const struct zdk_pci_addr *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct zdk_pci_device *dev;
		char bdf[ZDK_PCI_ADDR_LEN];
		int rc;

		zdk_pci_addr_format(&list[i], bdf, sizeof(bdf));
		rc = zdk_pci_device_open(bdf, &dev);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * No device at init: the backend is still chosen now, so that the arena's
 * IOVAs suit the devices attached later (physical addresses under no-IOMMU).
 * With "auto", a machine without a usable VFIO is memory only, and so is
 * --no-huge where only the no-IOMMU mode exists: a device attached later is
 * refused, never given 4 KiB pages it cannot safely use.
 */
static int backend_without_devices(const struct eal_conf *c)
{
	int rc = iommu_get(NULL, &(struct iommu *){ NULL });

	if (c->iommu != ZDK_EAL_IOMMU_AUTO)
		return rc;
	if (rc)
		ZDK_INFO("no IOMMU backend at init: memory only until a device is attached");
	else if (iommu_g->ops->mode == ZDK_IOMMU_NOIOMMU && c->no_huge) {
		ZDK_NOTICE("--no-huge: no-IOMMU mode is not started (it needs hugepages): "
			   "memory only");
		iommu_destroy(iommu_g);
		iommu_g = NULL;
	}
	return 0;
}

/*
 * Everything after the options: the same for argv and for a zdk_eal_conf.
 * With a handover (@h), a live one adopts the old process's arena, IOMMU
 * and devices instead of creating them, before the lcores map their stacks
 * where the arena must go; a reset one waits for the old process to close
 * its devices and then opens them as usual.
 */
static int eal_start(const struct eal_conf *c, struct zdk_handover *h)
{
	bool live = h && zdk_handover_mode(h) == ZDK_HANDOVER_LIVE;
	struct zdk_pci_addr devs[EAL_MAX_DEVS];
	struct eal_conf conf = *c;
	struct mem_conf mc;
	unsigned ndevs;
	int rc;

	if (eal.initialized) {
		ZDK_ERR("zdk_eal_init() called twice: call zdk_eal_cleanup() first");
		return -EALREADY;
	}
	if (conf.log_level)
		zdk_log_set_level(conf.log_level);
	/* Handed-over descriptors first: a wrong one fails before anything is held. */
	rc = eal_fds_check(&conf, NULL);
	if (rc)
		return rc;
	iommu_configure((enum iommu_request)conf.iommu, dma_on_attach, dma_on_lost);
	if (live) {
		rc = eal_takeover_live(&conf, h);
		if (rc)
			goto err_cleanup;
	}
	tsc_calibrate();

	rc = lcores_init(conf.lcore_set ? conf.lcores : NULL, conf.main_lcore);
	if (rc)
		goto err_cleanup;
	if (live) {
		eal.initialized = true;
		return 0;
	}
	if (h) {
		rc = eal_takeover_reset(&conf, h);
		if (rc)
			goto err_cleanup;
	}
	rc = devices_pick(&conf, devs, &ndevs);
	if (rc)
		goto err_cleanup;
	mem_conf_fill(&conf, &mc);
	rc = mem_init(&mc);
	if (rc)
		goto err_cleanup;
	/*
	 * Devices first (their reserved regions shape the IOVA space), then the
	 * arena is mapped once, then drivers touch the devices.
	 */
	rc = handover_set(&conf);
	if (rc)
		goto err_cleanup;
	eal.opening = true;
	rc = devices_open(devs, ndevs);
	eal.opening = false;
	if (rc)
		goto err_cleanup;
	if (!iommu_g) {
		rc = backend_without_devices(&conf);
		if (rc)
			goto err_cleanup;
	}
	rc = mem_dma_setup(iommu_g);
	if (rc)
		goto err_cleanup;
	if (!iommu_g)
		ZDK_INFO("no device and no IOMMU backend yet: memory only");
	if (!conf.no_probe) {
		rc = pci_probe_all();
		if (rc)
			goto err_cleanup;
	}
	eal.initialized = true;
	return 0;

err_cleanup:
	/* Whatever was taken over goes back untouched, not through the drivers' remove. */
	if (h)
		handover_abort_all(h);
	eal.initialized = true;
	zdk_eal_cleanup();
	return rc;
}

const char *zdk_version(void)
{
	return ZDK_VERSION;
}

static int eal_init_args(int argc, char **argv, struct zdk_handover *h)
{
	struct eal_conf conf;
	int consumed, rc;

	if (eal.initialized) {
		ZDK_ERR("zdk_eal_init() called twice: call zdk_eal_cleanup() first");
		return -EALREADY;
	}
	consumed = eal_parse_args(argc, argv, &conf);
	if (consumed < 0)
		return consumed;
	if (conf.help) {
		zdk_eal_usage(argv[0]);
		return -ECANCELED;
	}
	if (conf.version) {
		printf("%s (zdk %s)\n", argv[0], zdk_version());
		return -ECANCELED;
	}
	rc = eal_start(&conf, h);
	return rc ? rc : consumed;
}

int zdk_eal_init(int argc, char **argv)
{
	return eal_init_args(argc, argv, NULL);
}

int zdk_eal_init_takeover(int argc, char **argv, struct zdk_handover *h)
{
	if (!h) {
		ZDK_ERR("zdk_eal_init_takeover(): no handover: call zdk_handover_connect() first");
		return -EINVAL;
	}
	return eal_init_args(argc, argv, h);
}

int zdk_eal_init_conf(const struct zdk_eal_conf *pub)
{
	return zdk_eal_init_conf_fds(pub, NULL);
}

int zdk_eal_init_conf_fds(const struct zdk_eal_conf *pub, const struct zdk_eal_fd *fds)
{
	struct zdk_eal_conf known;
	struct eal_conf conf;
	int rc;

	if (!pub || pub->size < sizeof(pub->size) || pub->size > sizeof(known)) {
		ZDK_ERR("zdk_eal_init_conf(): conf.size is %zu, this zdk knows %zu bytes: fill "
			"the struct with zdk_eal_conf_init() first", pub ? pub->size : 0,
			sizeof(known));
		return -EINVAL;
	}
	/* An older caller's struct is shorter: what it does not have reads as 0. */
	memset(&known, 0, sizeof(known));
	memcpy(&known, pub, pub->size);
	rc = eal_conf_check(&known, fds, &conf);
	return rc ? rc : eal_start(&conf, NULL);
}

void zdk_eal_cleanup(void)
{
	if (!eal.initialized)
		return;
	/* Workers may still poll queues: let them finish before drivers go. */
	lcores_fini();
	if (iommu_g) {
		struct zdk_pci_device *d;

		for (d = zdk_pci_device_next(NULL); d; d = zdk_pci_device_next(d))
			if (d->driver && d->driver->remove) {
				d->driver->remove(d);
				d->driver = NULL;
			}
		/* Unmap while the container still has its groups (type1). */
		mem_ext_release(iommu_g);
		mem_dma_teardown(iommu_g);
	}
	pci_close_all();
	iommu_destroy(iommu_g);
	iommu_g = NULL;
	iommu_handover_clear();
	mem_fini();
	eal.initialized = false;
}
