/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_pci.h - the virtio 1.x modern PCI transport (virtio v1.1 §4.1):
 * the vendor capabilities that locate the common, notify, ISR and device
 * configuration structures in the BARs, the device status handshake (§2.1,
 * §3.1), 64-bit feature negotiation (§2.2) and virtqueue configuration
 * (§4.1.5.1.3). Private to drivers/net/virtio.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "zdk_common.h"
#include "zdk_pci.h"

/*
 * MMIO accessors. A unit test may define these before including the .c
 * files to play the device behind the registers (the only test seam).
 */
#ifndef virtio_mmio_read8
#define virtio_mmio_read8 zdk_mmio_read8
#define virtio_mmio_read16 zdk_mmio_read16
#define virtio_mmio_read32 zdk_mmio_read32
#define virtio_mmio_write8 zdk_mmio_write8
#define virtio_mmio_write16 zdk_mmio_write16
#define virtio_mmio_write32 zdk_mmio_write32
#endif

#define VIRTIO_PCI_VENDOR_ID 0x1af4
#define VIRTIO_PCI_MODERN_ID_BASE 0x1040 /* + device type (§4.1.2) */
#define VIRTIO_PCI_TRANSITIONAL_ID_NET 0x1000 /* §4.1.2.3 */

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Reserved (transport) feature bits (§6). */
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_BIT(b) (1ULL << (b))

/* PCI capability of vendor type 0x09 describing one structure (§4.1.4). */
#define PCI_CAP_ID_VNDR 0x09
enum virtio_pci_cap_type {
	VIRTIO_PCI_CAP_COMMON_CFG = 1,
	VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
	VIRTIO_PCI_CAP_ISR_CFG = 3,
	VIRTIO_PCI_CAP_DEVICE_CFG = 4,
	VIRTIO_PCI_CAP_PCI_CFG = 5,
};

struct virtio_pci_cap {
	uint8_t cap_vndr;  /* PCI_CAP_ID_VNDR */
	uint8_t cap_next;
	uint8_t cap_len;
	uint8_t cfg_type;  /* enum virtio_pci_cap_type */
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset;   /* in the BAR */
	uint32_t length;
} __zdk_packed;

/* The notify capability appends the multiplier (§4.1.4.4). */
struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
} __zdk_packed;

/* Common configuration structure (§4.1.4.3), little-endian. */
struct virtio_pci_common_cfg {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t msix_config;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint32_t queue_desc_lo, queue_desc_hi;
	uint32_t queue_driver_lo, queue_driver_hi;
	uint32_t queue_device_lo, queue_device_hi;
};

/*
 * §4.1.5.1.2: msix_config and queue_msix_vector name the MSI-X table entry
 * an event is signalled on; the device reads back VIRTIO_MSI_NO_VECTOR when
 * it cannot map the one written (or there is none).
 */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* One opened modern virtio PCI function. */
struct virtio_pci {
	struct zdk_pci_device *pdev;
	volatile struct virtio_pci_common_cfg *common;
	volatile uint8_t *notify_base;
	size_t notify_len;
	uint32_t notify_off_multiplier;
	volatile uint8_t *isr;
	volatile uint8_t *device_cfg;
	size_t device_cfg_len;
	uint64_t features; /* negotiated */
};

/* What virtio_pci_queue_enable() programs for one queue, and its doorbell. */
struct virtio_pci_queue_info {
	uint16_t index;
	uint16_t size;                /* entries, a power of two */
	uint64_t desc_iova, driver_iova, device_iova;
	uint16_t msix_vector;         /* in: asked for; out: what the device took */
	volatile uint16_t *notify;    /* set by virtio_pci_queue_enable() */
};

/* The transport; each function is documented where it is defined. */
int virtio_pci_open(struct zdk_pci_device *pdev, struct virtio_pci *vp);
int virtio_pci_reset(struct virtio_pci *vp);
void virtio_pci_status_set(struct virtio_pci *vp, uint8_t bits);
uint8_t virtio_pci_status_get(struct virtio_pci *vp);
uint64_t virtio_pci_device_features(struct virtio_pci *vp);
int virtio_pci_features_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required);
int virtio_pci_num_queues(struct virtio_pci *vp);
int virtio_pci_queue_size(struct virtio_pci *vp, uint16_t index);
int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtio_pci_queue_info *q);
uint16_t virtio_pci_queue_vector_set(struct virtio_pci *vp, uint16_t index, uint16_t vector);
uint16_t virtio_pci_msix_config_set(struct virtio_pci *vp, uint16_t vector);
int virtio_pci_device_cfg_read(struct virtio_pci *vp, size_t off, void *buf, size_t len);
void virtio_pci_close(struct virtio_pci *vp);

static inline bool virtio_pci_has(const struct virtio_pci *vp, unsigned bit)
{
	return vp->features & VIRTIO_F_BIT(bit);
}

#endif /* VIRTIO_PCI_H */
