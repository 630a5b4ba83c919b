/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_PCI_PRIVATE_H
#define ZDK_PCI_PRIVATE_H

#include "zdk_pci.h"

/* Probe every open device that a registered driver supports. */
int pci_probe_all(void);
/* Close every open device (a driver still attached is removed first). */
void pci_close_all(void);

#endif
