/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci.c - PCI functions opened through VFIO, whichever IOMMU backend runs:
 * region info, BAR mmap (sparse-mmap aware), config space, bus mastering,
 * function reset and interrupts routed to eventfds.
 */
#define ZDK_LOG_COMPONENT "pci"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iommu_private.h"
#include "pci_private.h"
#include "pci_sysfs.h"
#include "pci_event.h"
#include "uapi_compat.h"
#include "zdk_log.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MASTER 0x4

static struct zdk_pci_device *devices;
static uint64_t next_token = 2; /* 0 and 1 name the event thread's own fds */

struct zdk_pci_device *pci_dev_by_token(uint64_t token)
{
	for (struct zdk_pci_device *d = devices; d; d = d->next)
		if (((struct pci_priv *)d->priv)->token == token)
			return d;
	return NULL;
}

bool zdk_pci_device_removed(const struct zdk_pci_device *dev)
{
	return __atomic_load_n(&((const struct pci_priv *)dev->priv)->removed, __ATOMIC_ACQUIRE);
}

void zdk_pci_device_on_remove(struct zdk_pci_device *dev, void (*fn)(struct zdk_pci_device *dev))
{
	pci_lock();
	((struct pci_priv *)dev->priv)->on_remove = fn;
	pci_unlock();
}

struct zdk_pci_device *zdk_pci_device_next(struct zdk_pci_device *prev)
{
	return prev ? prev->next : devices;
}

struct zdk_pci_device *zdk_pci_device_find(const char *bdf)
{
	struct zdk_pci_addr a;

	if (zdk_pci_addr_parse(bdf, &a))
		return NULL;
	for (struct zdk_pci_device *d = devices; d; d = d->next)
		if (!zdk_pci_addr_cmp(&d->addr, &a))
			return d;
	return NULL;
}

/* The device must be bound to vfio-pci, in a viable group. */
static int check_bound(const char *bdf, const struct pci_sysfs_dev *sd)
{
	struct pci_sysfs_dev culprit;
	int rc;

	if (strcmp(sd->driver, "vfio-pci")) {
		if (sd->driver[0])
			ZDK_ERR("%s is bound to %s, not vfio-pci: run zdk-devbind --bind=vfio-pci %s",
				bdf, sd->driver, bdf);
		else
			ZDK_ERR("%s is bound to no driver: run zdk-devbind --bind=vfio-pci %s", bdf,
				bdf);
		return sd->driver[0] ? -EBUSY : -ENODEV;
	}
	if (sd->iommu_group < 0) {
		ZDK_ERR("%s has no IOMMU group: enable the IOMMU (intel_iommu=on) or VFIO's "
			"no-IOMMU mode", bdf);
		return -ENODEV;
	}
	rc = pci_sysfs_group_viable(NULL, sd->iommu_group, &culprit);
	if (rc == 0) {
		ZDK_ERR("%s: IOMMU group %d is not viable: %s in the same group is bound to %s; "
			"run zdk-devbind --bind=vfio-pci %s", bdf, sd->iommu_group, culprit.name,
			culprit.driver[0] ? culprit.driver : "a driver", culprit.name);
		return -EPERM;
	}
	return rc < 0 ? rc : 0;
}

static int regions_read(struct zdk_pci_device *dev)
{
	for (int i = 0; i < ZDK_PCI_BAR_COUNT; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = (uint32_t)i };
		int rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);

		if (rc)
			return rc;
		dev->bars[i].len = ri.size;
		dev->bars[i].offset = ri.offset;
		dev->bars[i].flags = ri.flags;
	}
	return 0;
}

/* Another process has the device: say which (its pid and name), not only
 * that the open failed, so that a second instance is not a riddle. */
static void busy_holder(const struct zdk_pci_device *dev)
{
	char why[160] = "";

	if (pci_sysfs_dev_in_use(NULL, &dev->addr, why, sizeof(why)) == 1)
		ZDK_ERR("%s is in use: %s; stop that process, or give each process its own "
			"devices (-a)", dev->name, why);
}

static void fill_ids(struct zdk_pci_device *dev, const struct pci_sysfs_dev *sd)
{
	dev->vendor_id = sd->vendor_id;
	dev->device_id = sd->device_id;
	dev->subsys_vendor_id = sd->subsys_vendor_id;
	dev->subsys_device_id = sd->subsys_device_id;
	dev->class_code = sd->class_code;
	dev->numa_node = sd->numa_node;
	dev->iommu_group = sd->iommu_group;
}

int zdk_pci_device_open(const char *bdf, struct zdk_pci_device **out)
{
	struct zdk_pci_device *dev, **pp;
	struct pci_sysfs_dev sd;
	struct pci_priv *p;
	int rc;

	dev = calloc(1, sizeof(*dev) + sizeof(*p));
	if (!dev)
		return -ENOMEM;
	p = (struct pci_priv *)(dev + 1);
	dev->priv = p;
	dev->fd = -1;
	if (zdk_pci_addr_parse(bdf, &dev->addr)) {
		ZDK_ERR("'%s' is not a PCI address; write it as 0000:01:00.0", bdf);
		rc = -EINVAL;
		goto err_free;
	}
	zdk_pci_addr_format(&dev->addr, dev->name, sizeof(dev->name));
	if (zdk_pci_device_find(dev->name)) {
		ZDK_ERR("%s is already open in this process", dev->name);
		rc = -EBUSY;
		goto err_free;
	}
	rc = pci_sysfs_dev_read(NULL, &dev->addr, &sd);
	if (rc) {
		ZDK_ERR("PCI device %s not found (zdk-devbind --status lists them)", dev->name);
		goto err_free;
	}
	rc = check_bound(dev->name, &sd);
	if (rc)
		goto err_free;
	fill_ids(dev, &sd);
	snprintf(p->cdev, sizeof(p->cdev), "%s", sd.vfio_cdev);
	p->info = (struct iommu_dev_info){
		.bdf = dev->name,
		.group = sd.iommu_group,
		.cdev = p->cdev[0] ? p->cdev : NULL,
	};
	rc = iommu_get(&p->info, &p->io);
	if (rc)
		goto err_free;
	rc = iommu_dev_attach(p->io, &p->info, &dev->fd);
	if (rc) {
		/* iommufd answers EINVAL, type1 EBUSY: ask who holds it either way */
		busy_holder(dev);
		goto err_free;
	}
	rc = regions_read(dev);
	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_GET_REGION_INFO failed: %s", dev->name, strerror(-rc));
		goto err_detach;
	}
	/* Keep open order (BDF order at init), so drivers probe, and ports
	 * number, in the order a user reads in zdk-devbind. */
	pci_lock();
	for (pp = &devices; *pp; pp = &(*pp)->next)
		;
	*pp = dev;
	p->token = next_token++;
	/* Without it the device still works; its removal just waits for us. */
	pci_event_watch_locked(dev, p->token);
	pci_unlock();
	ZDK_INFO("%s (%04x:%04x) open through %s, IOMMU group %d, NUMA node %d", dev->name,
		 dev->vendor_id, dev->device_id, p->io->ops->name, dev->iommu_group,
		 dev->numa_node);
	*out = dev;
	return 0;

err_detach:
	iommu_dev_detach(p->io, &p->info, dev->fd);
err_free:
	free(dev);
	return rc;
}

static void bar_unmap(struct zdk_pci_bar *bar)
{
	if (bar->va)
		munmap(bar->va, bar->len);
	bar->va = NULL;
}

void pci_dev_fd_close_locked(struct zdk_pci_device *dev, bool keep_irqs)
{
	struct pci_priv *p = dev->priv;

	/* Closing the device fd frees the vectors; with @keep_irqs their
	 * eventfds stay open (a poller may be asleep on one, or about to read
	 * it) until zdk_pci_device_close(). */
	if (!keep_irqs)
		zdk_pci_irq_disable(dev);
	if (dev->fd >= 0)
		iommu_dev_detach(p->io, &p->info, dev->fd);
	dev->fd = -1;
}

void pci_irq_wake_locked(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;
	uint64_t one = 1;

	for (unsigned i = 0; i < p->nirq; i++)
		sys_write(p->irq_efds[i], &one, sizeof(one));
}

void zdk_pci_device_close(struct zdk_pci_device *dev)
{
	struct zdk_pci_device **pp;
	struct pci_priv *p;

	if (!dev)
		return;
	p = dev->priv;
	pci_lock();
	p->on_remove = NULL; /* the driver is going: a removal now needs no hook */
	pci_unlock();
	if (dev->driver && dev->driver->remove)
		dev->driver->remove(dev);
	dev->driver = NULL;
	pci_lock();
	pci_event_unwatch_locked(dev);
	for (int i = 0; i < ZDK_PCI_BAR_COUNT; i++)
		bar_unmap(&dev->bars[i]);
	for (pp = &devices; *pp; pp = &(*pp)->next)
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	pci_dev_fd_close_locked(dev, false);
	pci_unlock();
	free(dev);
}

/* Map the sparse areas of a region that VFIO allows, leaving holes PROT_NONE. */
static int bar_map_sparse(struct zdk_pci_device *dev, struct zdk_pci_bar *bar,
			  struct vfio_region_info_cap_sparse_mmap *sp)
{
	void *base, *va;
	int rc = sys_mmap(NULL, bar->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &base);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < sp->nr_areas; i++) {
		struct vfio_region_sparse_mmap_area *a = &sp->areas[i];

		if (!a->size)
			continue;
		rc = sys_mmap((char *)base + a->offset, a->size, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_FIXED, dev->fd, (off_t)(bar->offset + a->offset), &va);
		if (rc) {
			munmap(base, bar->len);
			return rc;
		}
	}
	bar->va = base;
	return 0;
}

static struct vfio_region_info_cap_sparse_mmap *find_sparse(struct vfio_region_info *ri)
{
	uint32_t off = (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) ? ri->cap_offset : 0;

	while (off && off + sizeof(struct vfio_info_cap_header) <= ri->argsz) {
		struct vfio_info_cap_header *h = (void *)((char *)ri + off);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			return (void *)h;
		off = h->next;
	}
	return NULL;
}

static int bar_map_region(struct zdk_pci_device *dev, int idx, struct zdk_pci_bar *bar)
{
	struct vfio_region_info *ri;
	struct vfio_region_info_cap_sparse_mmap *sp;
	size_t sz = sizeof(*ri);
	void *va;
	int rc;

	/* Region info grows with its capability chain: ask twice. */
	for (;;) {
		ri = calloc(1, sz);
		if (!ri)
			return -ENOMEM;
		ri->argsz = (uint32_t)sz;
		ri->index = (uint32_t)idx;
		rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, ri);
		if (rc || ri->argsz <= sz)
			break;
		sz = ri->argsz;
		free(ri);
	}
	if (rc)
		goto out_free;
	sp = find_sparse(ri);
	if (sp) {
		rc = bar_map_sparse(dev, bar, sp);
	} else {
		rc = sys_mmap(NULL, bar->len, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd,
			      (off_t)bar->offset, &va);
		if (!rc)
			bar->va = va;
	}
out_free:
	free(ri);
	return rc;
}

int zdk_pci_bar_map(struct zdk_pci_device *dev, int idx, void **va, size_t *len)
{
	struct zdk_pci_bar *bar;
	int rc;

	if (idx < 0 || idx >= ZDK_PCI_BAR_COUNT || !dev->bars[idx].len) {
		ZDK_ERR("%s: BAR %d does not exist", dev->name, idx);
		return -EINVAL;
	}
	bar = &dev->bars[idx];
	if (!bar->va) {
		if (!(bar->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			ZDK_ERR("%s: BAR %d cannot be mmapped (an I/O-port BAR?)", dev->name, idx);
			return -ENOTSUP;
		}
		rc = bar_map_region(dev, idx, bar);
		if (rc) {
			ZDK_ERR("%s: cannot mmap BAR %d: %s", dev->name, idx, strerror(-rc));
			return rc;
		}
	}
	*va = bar->va;
	if (len)
		*len = bar->len;
	return 0;
}

static int cfg_offset(struct zdk_pci_device *dev, off_t *base)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	int rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);

	*base = (off_t)ri.offset;
	return rc;
}

int zdk_pci_cfg_read(struct zdk_pci_device *dev, void *buf, size_t len, off_t off)
{
	off_t base;
	int rc = cfg_offset(dev, &base);

	if (rc)
		return rc;
	return sys_pread_all(dev->fd, buf, len, base + off);
}

int zdk_pci_cfg_write(struct zdk_pci_device *dev, const void *buf, size_t len, off_t off)
{
	off_t base;
	int rc = cfg_offset(dev, &base);

	if (rc)
		return rc;
	return sys_pwrite_all(dev->fd, buf, len, base + off);
}

int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable)
{
	uint16_t cmd;
	int rc = zdk_pci_cfg_read(dev, &cmd, sizeof(cmd), PCI_COMMAND);

	if (rc)
		return rc;
	cmd = enable ? (cmd | PCI_COMMAND_MASTER) : (cmd & ~PCI_COMMAND_MASTER);
	return zdk_pci_cfg_write(dev, &cmd, sizeof(cmd), PCI_COMMAND);
}

/* The functions a hot reset of @dev's bus would reset, as the kernel sees them. */
static int hot_reset_info(struct zdk_pci_device *dev, struct vfio_pci_hot_reset_info **out)
{
	struct vfio_pci_hot_reset_info *info;
	uint32_t count = 8;
	int rc;

	for (;;) {
		size_t sz = sizeof(*info) + count * sizeof(info->devices[0]);

		info = calloc(1, sz);
		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)sz;
		rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
		if (rc != -ENOSPC || info->count <= count || info->count > 256)
			break;
		count = info->count;
		free(info);
	}
	if (!rc && info->count > count)
		rc = -EIO; /* the kernel answered ENOSPC with a count we cannot hold */
	if (rc) {
		free(info);
		return rc;
	}
	*out = info;
	return 0;
}

static void dep_name(const struct vfio_pci_dependent_device *d, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", d->segment, d->bus, d->devfn >> 3, d->devfn & 7);
}

/*
 * A PCI hot (secondary bus) reset, for a function with no reset of its own.
 * It resets every function on the bus, so the caller must own them all:
 * through a cdev the kernel checks that against the iommufd (an empty group
 * list); through groups every affected group's fd is the proof.
 */
static int pci_hot_reset(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_hot_reset *req = NULL;
	char name[ZDK_PCI_ADDR_LEN], others[256] = "";
	uint32_t nfds = 0;
	int rc;

	rc = hot_reset_info(dev, &info);
	if (rc) {
		ZDK_ERR("%s: no function reset (no FLR or PM reset) and no bus reset either "
			"(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: %s)%s", dev->name, strerror(-rc),
			rc == -ENODEV ? ": the function sits on the root bus or shares its "
			"slot with a bridge; it cannot be reset" : "");
		return rc == -ENODEV ? -ENOTTY : rc;
	}
	req = calloc(1, sizeof(*req) + info->count * sizeof(req->group_fds[0]));
	if (!req) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < info->count; i++) {
		const struct vfio_pci_dependent_device *d = &info->devices[i];
		bool owned;

		if (info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
			owned = d->group_id != ZDK_VFIO_PCI_DEVID_NOT_OWNED; /* the devid */
		} else {
			int fd = p->io ? iommu_group_fd(p->io, (int)d->group_id) : -ENOENT;
			uint32_t k;

			owned = fd >= 0;
			for (k = 0; owned && k < nfds && req->group_fds[k] != fd; k++)
				;
			if (owned && k == nfds)
				req->group_fds[nfds++] = fd;
		}
		if (!owned) {
			dep_name(d, name, sizeof(name));
			snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s",
				 others[0] ? ", " : "", name);
		}
	}
	if (others[0] || ((info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) &&
			  !(info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED))) {
		ZDK_ERR("%s has no function reset, and a bus reset would also reset %s, which "
			"this process does not hold: bind %s to vfio-pci and open it here too "
			"(-a BDF), or leave the device unreset", dev->name,
			others[0] ? others : "functions it does not hold", others[0] ? others : "them");
		rc = -EBUSY;
		goto out;
	}
	req->argsz = (uint32_t)(sizeof(*req) + nfds * sizeof(req->group_fds[0]));
	req->count = nfds;
	rc = sys_ioctl(dev->fd, VFIO_DEVICE_PCI_HOT_RESET, req);
	if (rc)
		ZDK_ERR("%s: VFIO_DEVICE_PCI_HOT_RESET failed: %s", dev->name, strerror(-rc));
	else
		ZDK_INFO("%s: reset through its bus (a PCI hot reset of %u function%s): it has "
			 "no function reset", dev->name, info->count, info->count == 1 ? "" : "s");
out:
	free(req);
	free(info);
	return rc;
}

int zdk_pci_reset(struct zdk_pci_device *dev)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	int rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &di);

	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_GET_INFO failed: %s", dev->name, strerror(-rc));
		return rc;
	}
	if (!(di.flags & VFIO_DEVICE_FLAGS_RESET))
		return pci_hot_reset(dev);
	rc = sys_ioctl(dev->fd, VFIO_DEVICE_RESET, NULL);
	if (rc)
		ZDK_ERR("%s: VFIO_DEVICE_RESET failed: %s", dev->name, strerror(-rc));
	return rc;
}

int zdk_pci_irq_count(struct zdk_pci_device *dev, enum zdk_pci_irq_type type)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = (uint32_t)type };
	int rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info);

	if (rc)
		return rc;
	return (int)ZDK_MIN(info.count, (uint32_t)INT32_MAX);
}

int zdk_pci_irq_enable(struct zdk_pci_device *dev, enum zdk_pci_irq_type type, unsigned count,
		       int *efds)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = (uint32_t)type };
	struct pci_priv *p = dev->priv;
	struct vfio_irq_set *set;
	size_t sz = sizeof(*set) + count * sizeof(int32_t);
	int rc;

	if (p->nirq)
		zdk_pci_irq_disable(dev);
	rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info);
	if (rc)
		return rc;
	if (!count || count > info.count) {
		ZDK_ERR("%s: %u interrupt vectors asked for, the device has %u of this type",
			dev->name, count, info.count);
		return -EINVAL;
	}
	set = calloc(1, sz);
	p->irq_efds = calloc(count, sizeof(int));
	if (!set || !p->irq_efds) {
		free(set);
		free(p->irq_efds);
		p->irq_efds = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < count; i++) {
		efds[i] = sys_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efds[i] < 0) {
			rc = efds[i];
			while (i--)
				close(efds[i]);
			goto out_free;
		}
		((int32_t *)set->data)[i] = efds[i];
	}
	set->argsz = (uint32_t)sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = (uint32_t)type;
	set->count = count;
	rc = sys_ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set);
	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_SET_IRQS failed: %s", dev->name, strerror(-rc));
		for (unsigned i = 0; i < count; i++)
			close(efds[i]);
		goto out_free;
	}
	memcpy(p->irq_efds, efds, count * sizeof(int));
	p->nirq = count;
	p->irq_type = type;
out_free:
	if (rc) {
		free(p->irq_efds);
		p->irq_efds = NULL;
	}
	free(set);
	return rc;
}

void zdk_pci_irq_disable(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = (uint32_t)p->irq_type,
	};

	if (!p->nirq)
		return;
	if (dev->fd >= 0) /* a removed device's fd is gone, and its vectors with it */
		sys_ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, &set);
	for (unsigned i = 0; i < p->nirq; i++)
		close(p->irq_efds[i]);
	free(p->irq_efds);
	p->irq_efds = NULL;
	p->nirq = 0;
}

int pci_probe_all(void)
{
	for (struct zdk_pci_device *d = devices; d; d = d->next) {
		const struct zdk_pci_driver *drv;
		int rc;

		if (d->driver)
			continue;
		drv = zdk_pci_driver_match(d->vendor_id, d->device_id, d->class_code);
		if (!drv) {
			ZDK_INFO("%s (%04x:%04x): no zdk driver; left open for direct use", d->name,
				 d->vendor_id, d->device_id);
			continue;
		}
		rc = drv->probe(d);
		if (rc == -ENOTSUP) {
			/* a family the driver knows but does not drive: it said so */
			continue;
		}
		if (rc) {
			ZDK_ERR("%s: the %s driver failed to probe it: %s", d->name, drv->name,
				strerror(-rc));
			return rc;
		}
		d->driver = drv;
		ZDK_INFO("%s: probed by %s", d->name, drv->name);
	}
	return 0;
}

void pci_close_all(void)
{
	while (devices)
		zdk_pci_device_close(devices);
	pci_event_fini();
}

/*
 * Live handover, new side: @fd is the VFIO cdev of @bdf that the old process
 * handed over, bound and attached to the adopted iommufd. Nothing is opened,
 * bound, reset or written: regions are read and BARs mapped from @fd.
 */
int pci_device_adopt(const char *bdf, int fd, struct zdk_pci_device **out)
{
	struct zdk_pci_device *dev, **pp;
	struct pci_sysfs_dev sd;
	struct stat want, got;
	char path[PATH_MAX];
	struct pci_priv *p;
	int rc;

	dev = calloc(1, sizeof(*dev) + sizeof(*p));
	if (!dev)
		return -ENOMEM;
	p = (struct pci_priv *)(dev + 1);
	dev->priv = p;
	dev->fd = -1;
	rc = -EINVAL;
	if (zdk_pci_addr_parse(bdf, &dev->addr))
		goto err_free;
	zdk_pci_addr_format(&dev->addr, dev->name, sizeof(dev->name));
	rc = -EBUSY;
	if (zdk_pci_device_find(dev->name) || !iommu_g)
		goto err_free;
	rc = pci_sysfs_dev_read(NULL, &dev->addr, &sd);
	if (rc) {
		ZDK_ERR("handed-over PCI device %s not found", dev->name);
		goto err_free;
	}
	fill_ids(dev, &sd);
	snprintf(p->cdev, sizeof(p->cdev), "%s", sd.vfio_cdev);
	/* The fd must be this device's cdev, not any VFIO device. */
	snprintf(path, sizeof(path), "%s/vfio/devices/%s", iommu_env.dev_root, p->cdev);
	if (!p->cdev[0] || stat(path, &want) || fstat(fd, &got) || want.st_rdev != got.st_rdev) {
		ZDK_ERR("the fd handed over for %s is not its VFIO cdev %s", dev->name, path);
		rc = -EBADF;
		goto err_free;
	}
	p->info = (struct iommu_dev_info){ .bdf = dev->name, .group = sd.iommu_group, .cdev = p->cdev };
	p->io = iommu_g;
	p->req_efd = p->err_efd = -1; /* watched from pci_device_watch(), once it is ours */
	dev->fd = fd;
	rc = regions_read(dev);
	if (rc) {
		ZDK_ERR("%s: VFIO_DEVICE_GET_REGION_INFO on the handed-over fd failed: %s", dev->name,
			strerror(-rc));
		goto err_free;
	}
	p->io->ndevs++;
	pci_lock();
	for (pp = &devices; *pp; pp = &(*pp)->next)
		;
	*pp = dev;
	p->token = next_token++;
	pci_unlock();
	ZDK_INFO("%s (%04x:%04x) taken over through %s", dev->name, dev->vendor_id,
		 dev->device_id, p->io->ops->name);
	*out = dev;
	return 0;

err_free:
	free(dev);
	return rc;
}

/*
 * Live handover, old side: the device is the new process's. Interrupts are
 * not handed over: their eventfds are closed here without disabling the
 * vectors through the (shared) device fd; closing the device later only
 * drops this process's reference.
 */
void pci_device_release(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;

	pci_lock();
	p->on_remove = NULL;
	/* The request and error eventfds are closed, the triggers left alone:
	 * the new process has set its own. */
	pci_event_unwatch_locked(dev);
	for (unsigned i = 0; i < p->nirq; i++)
		close(p->irq_efds[i]);
	free(p->irq_efds);
	p->irq_efds = NULL;
	p->nirq = 0;
	dev->driver = NULL;
	dev->driver_data = NULL;
	pci_unlock();
}

/* Live handover, new side, once the device is this process's: its removal events. */
void pci_device_watch(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;

	pci_lock();
	if (p->req_efd < 0)
		pci_event_watch_locked(dev, p->token);
	pci_unlock();
}
