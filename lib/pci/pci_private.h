/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_PCI_PRIVATE_H
#define ZDK_PCI_PRIVATE_H

#include "zdk_pci.h"

/* Probe every open device that a registered driver supports. */
int pci_probe_all(void);
/* Close every open device (a driver still attached is removed first). */
void pci_close_all(void);

/*
 * Live handover: adopt the VFIO cdev @fd of @bdf that another process handed
 * over (bound to the adopted iommufd: nothing opened, reset or written; the
 * fd is the device's on success), or let go of a device handed over.
 */
int pci_device_adopt(const char *bdf, int fd, struct zdk_pci_device **dev);
void pci_device_release(struct zdk_pci_device *dev);
/* Once the takeover is committed: watch the device's request and error events. */
void pci_device_watch(struct zdk_pci_device *dev);

#endif
