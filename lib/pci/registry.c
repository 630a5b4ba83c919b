/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * registry.c - drivers declare the vendor/device IDs they take and register
 * from a constructor (ZDK_PCI_DRIVER_REGISTER); zdk_eal_init() probes.
 * Constructors run before main(), single-threaded: no lock is needed.
 */
#include <stdbool.h>
#include <stddef.h>

#include "zdk_pci.h"

static struct zdk_pci_driver *drivers;

void zdk_pci_driver_register(struct zdk_pci_driver *drv)
{
	struct zdk_pci_driver **pp;

	/* Keep registration order, so probing order does not depend on link order reversal. */
	for (pp = &drivers; *pp; pp = &(*pp)->next)
		if (*pp == drv)
			return;
	drv->next = NULL;
	*pp = drv;
}

const struct zdk_pci_driver *zdk_pci_driver_next(const struct zdk_pci_driver *prev)
{
	return prev ? prev->next : drivers;
}

static bool id_matches(const struct zdk_pci_id *id, uint16_t vendor, uint16_t device,
		       uint32_t class_code)
{
	return (id->vendor_id == ZDK_PCI_ANY_ID || id->vendor_id == vendor) &&
	       (id->device_id == ZDK_PCI_ANY_ID || id->device_id == device) &&
	       (class_code & id->class_mask) == (id->class_code & id->class_mask);
}

const struct zdk_pci_driver *zdk_pci_driver_match(uint16_t vendor, uint16_t device,
						  uint32_t class_code)
{
	for (const struct zdk_pci_driver *d = drivers; d; d = d->next)
		for (const struct zdk_pci_id *id = d->id_table; id && (id->vendor_id || id->class_mask);
		     id++)
			if (id_matches(id, vendor, device, class_code))
				return d;
	return NULL;
}
