/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme_pci.c - the PCI side: registry entry, probe/remove from
 * zdk_eal_init()/zdk_eal_cleanup(), attach by BDF, the list of controllers.
 */
#include <pthread.h>
#include <stdlib.h>

#define ZDK_LOG_COMPONENT "nvme"
#include "zdk_log.h"
#include "zdk_pci.h"
#include "nvme_internal.h"

/* Mass storage, Non-Volatile memory controller, NVM Express (PCI code and ID assignment). */
#define NVME_CLASS_CODE 0x010802

static struct zdk_nvme_ctrlr *ctrlr_list;
static pthread_mutex_t ctrlr_list_lock = PTHREAD_MUTEX_INITIALIZER;

void nvme_ctrlr_list_add(struct zdk_nvme_ctrlr *c)
{
	struct zdk_nvme_ctrlr **pp;

	pthread_mutex_lock(&ctrlr_list_lock);
	for (pp = &ctrlr_list; *pp; pp = &(*pp)->next)
		;
	c->next = NULL;
	*pp = c;
	pthread_mutex_unlock(&ctrlr_list_lock);
}

void nvme_ctrlr_list_del(struct zdk_nvme_ctrlr *c)
{
	pthread_mutex_lock(&ctrlr_list_lock);
	for (struct zdk_nvme_ctrlr **pp = &ctrlr_list; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&ctrlr_list_lock);
}

struct zdk_nvme_ctrlr *zdk_nvme_ctrlr_next(struct zdk_nvme_ctrlr *prev)
{
	struct zdk_nvme_ctrlr *c;

	pthread_mutex_lock(&ctrlr_list_lock);
	c = prev ? prev->next : ctrlr_list;
	pthread_mutex_unlock(&ctrlr_list_lock);
	return c;
}

/*
 * The kernel took the controller away (lib/pci's event thread, after the
 * device was stopped: nothing outstanding can still run): fail it, so that
 * each owner's next slow-path check (at most NVME_TICK_POLLS polls away)
 * completes its outstanding commands with ZDK_NVME_STATUS_REMOVED, and
 * nothing waits on it again. Atomics only: a reset on another thread may
 * hold the controller's lock.
 */
static void nvme_pci_removed(struct zdk_pci_device *dev)
{
	struct zdk_nvme_ctrlr *c = dev->driver_data;

	if (!c)
		return;
	__atomic_store_n(&c->removed, true, __ATOMIC_RELEASE);
	nvme_ctrlr_set_failed(c, true);
	ZDK_NOTICE("%s: controller removed: its outstanding commands complete with "
		   "ZDK_NVME_STATUS_REMOVED", c->name);
}

static int nvme_pci_probe(struct zdk_pci_device *dev)
{
	struct zdk_nvme_ctrlr *c;
	size_t len;
	void *bar;
	int rc;

	if (dev->class_code != NVME_CLASS_CODE) {
		ZDK_ERR("%s: class 0x%06x is not an NVMe controller", dev->name, dev->class_code);
		return -ENODEV;
	}
	rc = zdk_pci_bar_map(dev, 0, &bar, &len);
	if (rc) {
		ZDK_ERR("%s: mapping BAR0 failed (%d)", dev->name, rc);
		return rc;
	}
	rc = zdk_pci_bus_master(dev, true);
	if (rc) {
		ZDK_ERR("%s: enabling bus mastering failed (%d)", dev->name, rc);
		return rc;
	}
	rc = nvme_ctrlr_create(bar, len, dev->name, &c);
	if (rc)
		goto err_bus_master;
	c->pci = dev;
	c->refs = 1;
	dev->driver_data = c;
	nvme_ctrlr_list_add(c);
	zdk_pci_device_on_remove(dev, nvme_pci_removed);
	return 0;

err_bus_master:
	zdk_pci_bus_master(dev, false);
	return rc;
}

/*
 * MSI-X for interrupt-mode qpairs, enabled with the first of them: as many
 * vectors as the table has, up to one per I/O queue plus the admin queue's
 * vector 0 (which zdk never enables). Each qpair gets vector qid to itself:
 * a vector shared by two owners would let one drain the other's wake-up.
 */
int nvme_pci_irq_get_locked(struct zdk_nvme_ctrlr *c, uint16_t qid)
{
	int n, rc;

	if (!c->pci) {
		ZDK_ERR("%s: interrupts need the controller's PCI function (this one has none)",
			c->name);
		return -ENOTSUP;
	}
	if (!c->nr_vectors) {
		n = zdk_pci_irq_count(c->pci, ZDK_PCI_IRQ_MSIX);
		if (n <= 1) {
			ZDK_ERR("%s: no MSI-X vector for I/O queues (%d): it can only be polled; "
				"allocate the qpair without ZDK_NVME_QPAIR_F_INTR", c->name, n);
			return n < 0 ? n : -ENOTSUP;
		}
		n = ZDK_MIN(n, c->max_qid + 1);
		c->irq_efds = calloc((size_t)n, sizeof(*c->irq_efds));
		if (!c->irq_efds)
			return -ENOMEM;
		rc = zdk_pci_irq_enable(c->pci, ZDK_PCI_IRQ_MSIX, (unsigned)n, c->irq_efds);
		if (rc) {
			ZDK_ERR("%s: enabling %d MSI-X vectors failed (%d)", c->name, n, rc);
			free(c->irq_efds);
			c->irq_efds = NULL;
			return rc;
		}
		c->nr_vectors = (uint16_t)n;
		ZDK_INFO("%s: %d MSI-X vectors for interrupt-mode qpairs", c->name, n);
	}
	if (qid >= c->nr_vectors) {
		ZDK_ERR("%s: I/O queue %u has no MSI-X vector of its own (the device has %u): "
			"use fewer interrupt-mode qpairs", c->name, qid, c->nr_vectors);
		return -ENOSPC;
	}
	return c->irq_efds[qid];
}

static void irq_release(struct zdk_nvme_ctrlr *c, struct zdk_pci_device *dev)
{
	if (c->nr_vectors)
		zdk_pci_irq_disable(dev);
	free(c->irq_efds);
	c->irq_efds = NULL;
	c->nr_vectors = 0;
}

static void nvme_pci_remove(struct zdk_pci_device *dev)
{
	struct zdk_nvme_ctrlr *c = dev->driver_data;

	if (!c)
		return;
	nvme_ctrlr_list_del(c);
	/* The vectors go first: the controller's shutdown needs none. */
	irq_release(c, dev);
	nvme_ctrlr_destroy(c);
	zdk_pci_bus_master(dev, false);
	dev->driver_data = NULL;
}

/* Every NVMe controller, by class code (NVMe base spec 3.1.3.x, CC): a real
 * drive of any vendor is probed as QEMU's is. */
static const struct zdk_pci_id nvme_pci_ids[] = {
	ZDK_PCI_CLASS(0x010802), /* mass storage, non-volatile memory, NVM Express */
	{ 0 },
};

static struct zdk_pci_driver nvme_pci_driver = {
	.name = "nvme",
	.id_table = nvme_pci_ids,
	.probe = nvme_pci_probe,
	.remove = nvme_pci_remove,
};
ZDK_PCI_DRIVER_REGISTER(nvme_pci_driver)

/*
 * One lifetime rule, however a controller came up: zdk_eal_init()'s probe
 * holds one reference and each zdk_nvme_ctrlr_attach() one more; detach
 * drops one, and the last one out shuts the controller down (CC.SHN), frees
 * it and closes the device. zdk_eal_cleanup() removes whatever is left the
 * same way, since an attached controller is a probed device like the rest.
 */
int zdk_nvme_ctrlr_attach(const char *bdf, struct zdk_nvme_ctrlr **ctrlr)
{
	struct zdk_pci_device *dev = zdk_pci_device_find(bdf);
	bool opened = false;
	int rc;

	if (dev && dev->driver == &nvme_pci_driver && dev->driver_data) {
		*ctrlr = dev->driver_data;
		(*ctrlr)->refs++;
		return 0;
	}
	if (dev && dev->driver) {
		ZDK_ERR("%s: already driven by %s", bdf, dev->driver->name);
		return -EBUSY;
	}
	if (!dev) {
		rc = zdk_pci_device_open(bdf, &dev);
		if (rc)
			return rc;
		opened = true;
	}
	rc = nvme_pci_probe(dev);
	if (rc)
		goto err_close;
	dev->driver = &nvme_pci_driver;
	*ctrlr = dev->driver_data;
	return 0;

err_close:
	if (opened)
		zdk_pci_device_close(dev);
	return rc;
}

void nvme_ctrlr_inert_put(struct zdk_nvme_ctrlr *c)
{
	if (c->refs)
		c->refs--;
	if (c->refs || c->qpairs)
		return;
	free(c->admin.qp.free_cids);
	free(c->admin.qp.reqs);
	free(c->admin.inherited);
	free(c->ns);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void nvme_pci_bind(struct zdk_pci_device *dev, struct zdk_nvme_ctrlr *c)
{
	c->pci = dev;
	c->refs = 1;
	dev->driver = &nvme_pci_driver;
	dev->driver_data = c;
	nvme_ctrlr_list_add(c);
	zdk_pci_device_on_remove(dev, nvme_pci_removed);
}

void nvme_pci_unbind(struct zdk_nvme_ctrlr *c)
{
	nvme_ctrlr_list_del(c);
	if (c->pci && c->pci->driver_data == c) {
		zdk_pci_device_on_remove(c->pci, NULL);
		c->pci->driver = NULL;
		c->pci->driver_data = NULL;
	}
	c->pci = NULL;
}

void zdk_nvme_ctrlr_detach(struct zdk_nvme_ctrlr *c)
{
	struct zdk_pci_device *dev;

	if (c && c->handed_over) {
		nvme_ctrlr_inert_put(c);
		return;
	}
	if (!c || --c->refs)
		return;
	dev = c->pci;
	nvme_pci_remove(dev);
	dev->driver = NULL;
	zdk_pci_device_close(dev);
}
