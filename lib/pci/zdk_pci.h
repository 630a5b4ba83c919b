/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_pci.h - PCI functions opened through VFIO: BARs, config space, bus
 * mastering, reset, interrupts, and the driver registry.
 */
#ifndef ZDK_PCI_H
#define ZDK_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "dddd:bb:dd.f" plus NUL */
#define ZDK_PCI_ADDR_LEN 13
#define ZDK_PCI_BAR_COUNT 6

struct zdk_pci_addr {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t func;
};

/**
 * zdk_pci_addr_parse() - parse "dddd:bb:dd.f" or "bb:dd.f" (domain 0).
 * Return: 0, or -EINVAL.
 */
ZDK_EXPORT int zdk_pci_addr_parse(const char *s, struct zdk_pci_addr *addr);

/** zdk_pci_addr_format() - "dddd:bb:dd.f" into @buf (ZDK_PCI_ADDR_LEN). */
ZDK_EXPORT void zdk_pci_addr_format(const struct zdk_pci_addr *addr, char *buf, size_t len);

/** zdk_pci_addr_cmp() - order of two addresses, as strcmp(). */
ZDK_EXPORT int zdk_pci_addr_cmp(const struct zdk_pci_addr *a, const struct zdk_pci_addr *b);

struct zdk_pci_bar {
	void *va;      /* mmapped address, NULL until zdk_pci_bar_map() */
	size_t len;    /* region size */
	uint64_t offset; /* region offset in the VFIO device fd */
	uint32_t flags;  /* VFIO_REGION_INFO_FLAG_* */
};

struct zdk_pci_driver;

struct zdk_pci_device {
	struct zdk_pci_addr addr;
	char name[ZDK_PCI_ADDR_LEN]; /* the BDF as text */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsys_vendor_id;
	uint16_t subsys_device_id;
	uint32_t class_code;
	int numa_node;     /* -1 when the platform does not say */
	int iommu_group;   /* -1 when none */
	int fd;            /* VFIO device fd */
	struct zdk_pci_bar bars[ZDK_PCI_BAR_COUNT];
	const struct zdk_pci_driver *driver; /* set when probed */
	void *driver_data;                   /* the driver's per-device state */
	struct zdk_pci_device *next;         /* in the list of open devices */
	void *priv;                          /* backend-private state */
};

/**
 * zdk_pci_device_open() - open a function through the chosen IOMMU backend.
 * @bdf: "dddd:bb:dd.f" or "bb:dd.f".
 * @dev: set to the device.
 *
 * The device must be bound to vfio-pci. Return: 0, -ENODEV (not found, or
 * no IOMMU backend), -EBUSY (bound to another driver, or already open),
 * -EPERM (group not viable), -EACCES (device node permissions). Each logs
 * what is wrong and the command that fixes it.
 */
ZDK_EXPORT int zdk_pci_device_open(const char *bdf, struct zdk_pci_device **dev);

/** zdk_pci_device_close() - unmap BARs, free IRQs, close. NULL is ignored. */
ZDK_EXPORT void zdk_pci_device_close(struct zdk_pci_device *dev);

/** zdk_pci_device_find() - an open device by BDF, or NULL. */
ZDK_EXPORT struct zdk_pci_device *zdk_pci_device_find(const char *bdf);

/** zdk_pci_device_next() - iterate open devices: NULL starts. */
ZDK_EXPORT struct zdk_pci_device *zdk_pci_device_next(struct zdk_pci_device *prev);

/**
 * zdk_pci_bar_map() - mmap BAR @bar (sparse-mmap aware); idempotent.
 * @va: set to the mapping; @len: set to its length (may be NULL).
 *
 * Return: 0, -EINVAL (no such BAR, or an I/O-port BAR), -ENOTSUP (the
 * region cannot be mmapped), or the kernel's error.
 */
ZDK_EXPORT int zdk_pci_bar_map(struct zdk_pci_device *dev, int bar, void **va, size_t *len);

/** zdk_pci_cfg_read() - read config space. Return: 0 or negative errno. */
ZDK_EXPORT int zdk_pci_cfg_read(struct zdk_pci_device *dev, void *buf, size_t len, off_t off);

/** zdk_pci_cfg_write() - write config space. Return: 0 or negative errno. */
ZDK_EXPORT int zdk_pci_cfg_write(struct zdk_pci_device *dev, const void *buf, size_t len, off_t off);

/** zdk_pci_bus_master() - set or clear the command register's bus master bit. */
ZDK_EXPORT int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable);

/**
 * zdk_pci_reset() - reset the function: VFIO_DEVICE_RESET (FLR, PM or a bus
 * reset the function has to itself), or, for a function with none of those,
 * a PCI hot reset of its bus (VFIO_DEVICE_PCI_HOT_RESET), which resets every
 * function there and so needs them all open in this process.
 *
 * Return: 0; -EBUSY when the bus holds functions this process does not;
 * -ENOTTY when the function cannot be reset at all; another -errno.
 */
ZDK_EXPORT int zdk_pci_reset(struct zdk_pci_device *dev);

/*
 * Device events: the device's whole life. zdk watches every open device's
 * VFIO request interrupt; when the kernel wants the device back (hot-unplug,
 * or an unbind from vfio-pci), zdk stops it (its driver fails what was
 * outstanding), makes its BARs harmless memory, closes it so the kernel's
 * removal completes at once, and tells the callbacks. The callbacks run on
 * zdk's event thread; they may detach the device (zdk_nvme_ctrlr_detach,
 * zdk_eth_dev_close...) but must not block for long.
 */
enum zdk_pci_event {
	ZDK_PCI_EVENT_REMOVE = 1, /* the kernel took the device back; it is stopped and closed */
	ZDK_PCI_EVENT_ADD,        /* a function was bound to vfio-pci: it can be opened now */
	ZDK_PCI_EVENT_ERROR,      /* the device reported an uncorrectable error (AER) */
};

typedef void (*zdk_pci_event_cb)(const char *bdf, enum zdk_pci_event event, void *arg);

/**
 * zdk_pci_event_register() - call @cb for every device event, from zdk's
 * event thread, until zdk_pci_event_unregister() or zdk_eal_cleanup().
 * Registering also starts listening for arrivals (ZDK_PCI_EVENT_ADD).
 * Return: 0, -EINVAL, -ENOSPC (16 callbacks at most) or -errno.
 */
ZDK_EXPORT int zdk_pci_event_register(zdk_pci_event_cb cb, void *arg);
ZDK_EXPORT void zdk_pci_event_unregister(zdk_pci_event_cb cb, void *arg);

/** zdk_pci_device_removed() - the kernel has taken @dev back (see above). */
ZDK_EXPORT bool zdk_pci_device_removed(const struct zdk_pci_device *dev);

/**
 * zdk_pci_device_on_remove() - for drivers: @fn runs on the event thread when
 * @dev is taken away, once the device can no longer execute anything (its
 * BARs replaced by memory, its fd closed) and before the application hears.
 * It must only mark the driver's queues stopped (atomics), never wait.
 */
ZDK_EXPORT void zdk_pci_device_on_remove(struct zdk_pci_device *dev,
					 void (*fn)(struct zdk_pci_device *dev));

enum zdk_pci_irq_type {
	ZDK_PCI_IRQ_INTX = 0, /* VFIO_PCI_INTX_IRQ_INDEX */
	ZDK_PCI_IRQ_MSI = 1,
	ZDK_PCI_IRQ_MSIX = 2,
};

/**
 * zdk_pci_irq_enable() - route @count vectors of @type to new eventfds.
 * @efds: array of @count, filled with the eventfds (owned by the device).
 *
 * Polling is the default; interrupts are for waking idle pollers.
 * Return: 0, -EINVAL (more vectors than the device has), or kernel error.
 */
ZDK_EXPORT int zdk_pci_irq_enable(struct zdk_pci_device *dev, enum zdk_pci_irq_type type,
				  unsigned count, int *efds);

/**
 * zdk_pci_irq_count() - how many vectors of @type the device offers through
 * VFIO (for MSI-X, its table size), so that a driver can ask for what exists.
 * Return: the count (0: none of that type), or the kernel's -errno.
 */
ZDK_EXPORT int zdk_pci_irq_count(struct zdk_pci_device *dev, enum zdk_pci_irq_type type);

/** zdk_pci_irq_disable() - tear down the vectors and close their eventfds. */
ZDK_EXPORT void zdk_pci_irq_disable(struct zdk_pci_device *dev);

/*
 * The driver registry. A function matches an id entry when its vendor and
 * device IDs match (ZDK_PCI_ANY_ID matches any) and its class code, masked
 * by class_mask, equals the entry's (mask 0: any class). NVMe is matched by
 * class, as the kernel and SPDK do: ZDK_PCI_CLASS(0x010802).
 */
struct zdk_pci_id {
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code; /* base class << 16 | subclass << 8 | programming interface */
	uint32_t class_mask;
};
#define ZDK_PCI_ANY_ID 0xffff
#define ZDK_PCI_DEVICE(vendor, device) { (vendor), (device), 0, 0 }
#define ZDK_PCI_CLASS(class_code) { ZDK_PCI_ANY_ID, ZDK_PCI_ANY_ID, (class_code), 0xffffff }

struct zdk_pci_driver {
	const char *name;
	const struct zdk_pci_id *id_table; /* ends with an all-zero entry */
	int (*probe)(struct zdk_pci_device *dev);
	void (*remove)(struct zdk_pci_device *dev);
	struct zdk_pci_driver *next;
};

/** zdk_pci_driver_register() - add a driver (use ZDK_PCI_DRIVER_REGISTER). */
ZDK_EXPORT void zdk_pci_driver_register(struct zdk_pci_driver *drv);

/** zdk_pci_driver_next() - iterate the registry: NULL starts. */
ZDK_EXPORT const struct zdk_pci_driver *zdk_pci_driver_next(const struct zdk_pci_driver *prev);

/**
 * zdk_pci_driver_match() - the first registered driver whose id table
 * matches @vendor, @device and @class_code, or NULL.
 */
ZDK_EXPORT const struct zdk_pci_driver *zdk_pci_driver_match(uint16_t vendor, uint16_t device,
							      uint32_t class_code);

#define ZDK_PCI_DRIVER_REGISTER(drv)                                        \
	__attribute__((constructor)) static void zdk_pci_register_##drv(void) \
	{                                                                   \
		zdk_pci_driver_register(&(drv));                            \
	}

#ifdef __cplusplus
}
#endif

#endif /* ZDK_PCI_H */
