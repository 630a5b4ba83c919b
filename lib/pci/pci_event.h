/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_event.h - private to lib/pci: the open device's state, and the device
 * event thread (pci_event.c) that pci.c hands devices to.
 */
#ifndef ZDK_PCI_EVENT_H
#define ZDK_PCI_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu_private.h"
#include "zdk_pci.h"

struct pci_priv {
	struct iommu_dev_info info;
	char cdev[32];
	struct iommu *io;
	int *irq_efds; /* the eventfds of zdk_pci_irq_enable() */
	unsigned nirq;
	int irq_type;
	int req_efd, err_efd; /* VFIO's device request and error interrupts */
	uint64_t token;       /* names the device to the event thread */
	bool removed;         /* the kernel took it back (atomic) */
	void (*on_remove)(struct zdk_pci_device *dev); /* the driver's hook */
};

/* The lock over the device list, removal and the event callbacks (recursive). */
void pci_lock(void);
void pci_unlock(void);

/* pci.c: the open device with @token, or NULL (under the lock). */
struct zdk_pci_device *pci_dev_by_token(uint64_t token);
/*
 * pci.c: close the VFIO device fd and leave the IOMMU (under the lock). With
 * @keep_irqs (a removal) the interrupt eventfds stay open until
 * zdk_pci_device_close().
 */
void pci_dev_fd_close_locked(struct zdk_pci_device *dev, bool keep_irqs);
/* pci.c: write each interrupt eventfd once, to wake whoever sleeps on it. */
void pci_irq_wake_locked(struct zdk_pci_device *dev);

/* Watch @dev's request and error interrupts; start the thread if needed. */
int pci_event_watch_locked(struct zdk_pci_device *dev, uint64_t token);
void pci_event_unwatch_locked(struct zdk_pci_device *dev);
/* Stop the device and let the kernel have it: see pci_event.c. */
void pci_event_release_locked(struct zdk_pci_device *dev, const char *why);
/* Stop the thread (zdk_eal_cleanup). */
void pci_event_fini(void);

#endif /* ZDK_PCI_EVENT_H */
