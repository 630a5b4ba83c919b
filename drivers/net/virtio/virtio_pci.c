/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_pci.c - the virtio 1.x modern PCI transport. Section numbers are
 * those of the virtio v1.1 specification.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#define ZDK_LOG_COMPONENT "virtio"
#include "zdk_log.h"
#include "virtio_pci.h"

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_MAX 48 /* a config space holds at most this many */

#define VIRTIO_RESET_TIMEOUT_NS 1000000000ULL

/* The first usable capability of each type, indexed by cfg_type (§4.1.4.1). */
struct caps {
	struct virtio_pci_cap cap[VIRTIO_PCI_CAP_DEVICE_CFG + 1];
	bool found[VIRTIO_PCI_CAP_DEVICE_CFG + 1];
	uint32_t notify_off_multiplier;
};

static int cap_read(struct virtio_pci *vp, uint8_t pos, struct caps *caps)
{
	struct virtio_pci_notify_cap ncap;
	int ret;

	ret = zdk_pci_cfg_read(vp->pdev, &ncap.cap, sizeof(ncap.cap), pos);
	if (ret < 0)
		return ret;
	/*
	 * §4.1.4.1: ignore reserved cfg_type and bar values, and use the
	 * first instance of each structure type.
	 */
	if (ncap.cap.cfg_type < VIRTIO_PCI_CAP_COMMON_CFG ||
	    ncap.cap.cfg_type > VIRTIO_PCI_CAP_DEVICE_CFG ||
	    ncap.cap.bar >= ZDK_PCI_BAR_COUNT || ncap.cap.cap_len < sizeof(ncap.cap) ||
	    caps->found[ncap.cap.cfg_type])
		return 0;
	if (ncap.cap.cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		if (ncap.cap.cap_len < sizeof(ncap))
			return 0;
		ret = zdk_pci_cfg_read(vp->pdev, &ncap, sizeof(ncap), pos);
		if (ret < 0)
			return ret;
		caps->notify_off_multiplier = ncap.notify_off_multiplier;
	}
	caps->cap[ncap.cap.cfg_type] = ncap.cap;
	caps->found[ncap.cap.cfg_type] = true;
	return 0;
}

/* Walk the PCI capability list for the virtio vendor capabilities (§4.1.4). */
static int caps_find(struct virtio_pci *vp, struct caps *caps)
{
	uint16_t status;
	uint8_t pos, hdr[2] = { 0 };
	int ret;

	ret = zdk_pci_cfg_read(vp->pdev, &status, sizeof(status), PCI_STATUS);
	if (ret < 0)
		return ret;
	if (!(status & PCI_STATUS_CAP_LIST))
		return -ENODEV;
	ret = zdk_pci_cfg_read(vp->pdev, &pos, 1, PCI_CAPABILITY_LIST);
	for (int n = 0; ret == 0 && pos >= 0x40 && n < PCI_CAP_MAX; n++) {
		pos &= 0xfc;
		ret = zdk_pci_cfg_read(vp->pdev, hdr, sizeof(hdr), pos);
		if (ret == 0 && hdr[0] == PCI_CAP_ID_VNDR)
			ret = cap_read(vp, pos, caps);
		pos = hdr[1];
	}
	return ret;
}

/* Map the BAR a capability points into and check the structure fits. */
static int cap_map(struct virtio_pci *vp, const struct virtio_pci_cap *cap, size_t min_len,
		   volatile uint8_t **va, size_t *len)
{
	void *bar;
	size_t bar_len;
	int ret;

	ret = zdk_pci_bar_map(vp->pdev, cap->bar, &bar, &bar_len);
	if (ret < 0) {
		ZDK_ERR("%s: cannot map BAR%u for virtio structure %u: %s", vp->pdev->name,
			cap->bar, cap->cfg_type, strerror(-ret));
		return ret;
	}
	if ((uint64_t)cap->offset + cap->length > bar_len || cap->length < min_len) {
		ZDK_ERR("%s: virtio structure %u (BAR%u+%#x, %u bytes) does not fit in the %zu-byte BAR",
			vp->pdev->name, cap->cfg_type, cap->bar, cap->offset, cap->length, bar_len);
		return -EINVAL;
	}
	*va = (volatile uint8_t *)bar + cap->offset;
	if (len)
		*len = cap->length;
	return 0;
}

/**
 * virtio_pci_open() - locate and map the modern virtio structures of @pdev.
 *
 * Return: 0, -ENODEV (not a modern virtio device: no common/notify/ISR
 * capability), -EINVAL (a capability points outside its BAR), or an error
 * from config space access or BAR mapping.
 */
int virtio_pci_open(struct zdk_pci_device *pdev, struct virtio_pci *vp)
{
	struct caps caps = { 0 };
	volatile uint8_t *common;
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->pdev = pdev;
	ret = caps_find(vp, &caps);
	if (ret < 0 && ret != -ENODEV)
		return ret;
	if (ret == -ENODEV || !caps.found[VIRTIO_PCI_CAP_COMMON_CFG] ||
	    !caps.found[VIRTIO_PCI_CAP_NOTIFY_CFG] || !caps.found[VIRTIO_PCI_CAP_ISR_CFG]) {
		ZDK_ERR("%s: no virtio 1.x common/notify/ISR capabilities: not a modern virtio "
			"device (for QEMU use -device virtio-net-pci,disable-legacy=on)", pdev->name);
		return -ENODEV;
	}
	ret = cap_map(vp, &caps.cap[VIRTIO_PCI_CAP_COMMON_CFG],
		      sizeof(struct virtio_pci_common_cfg), &common, NULL);
	if (ret == 0)
		ret = cap_map(vp, &caps.cap[VIRTIO_PCI_CAP_NOTIFY_CFG], sizeof(uint16_t),
			      &vp->notify_base, &vp->notify_len);
	if (ret == 0)
		ret = cap_map(vp, &caps.cap[VIRTIO_PCI_CAP_ISR_CFG], 1, &vp->isr, NULL);
	if (ret == 0 && caps.found[VIRTIO_PCI_CAP_DEVICE_CFG])
		ret = cap_map(vp, &caps.cap[VIRTIO_PCI_CAP_DEVICE_CFG], 0, &vp->device_cfg,
			      &vp->device_cfg_len);
	if (ret < 0)
		return ret;
	vp->common = (volatile struct virtio_pci_common_cfg *)common;
	vp->notify_off_multiplier = caps.notify_off_multiplier;
	return 0;
}

uint8_t virtio_pci_status_get(struct virtio_pci *vp)
{
	return virtio_mmio_read8(&vp->common->device_status);
}

/* Status bits only accumulate during initialisation (§3.1.1). */
void virtio_pci_status_set(struct virtio_pci *vp, uint8_t bits)
{
	virtio_mmio_write8(&vp->common->device_status, virtio_pci_status_get(vp) | bits);
}

/**
 * virtio_pci_reset() - reset the device: stops its DMA, forgets features
 * and queues.
 *
 * Return: 0, or -ETIMEDOUT if the device never reads back status 0.
 */
int virtio_pci_reset(struct virtio_pci *vp)
{
	const struct timespec ms = { .tv_nsec = 1000000 };
	uint64_t deadline = zdk_time_ns() + VIRTIO_RESET_TIMEOUT_NS;

	if (zdk_pci_device_removed(vp->pdev))
		return 0; /* gone: it reads all-ones, and can DMA nowhere */
	/* §4.1.4.3.2: write 0, then wait until device_status reads 0. */
	virtio_mmio_write8(&vp->common->device_status, 0);
	while (virtio_pci_status_get(vp) != 0) {
		if (zdk_time_ns() > deadline) {
			ZDK_ERR("%s: device did not complete reset in 1 s", vp->pdev->name);
			return -ETIMEDOUT;
		}
		nanosleep(&ms, NULL);
	}
	return 0;
}

/* §4.1.4.3: 64 feature bits, read 32 at a time through a select register. */
uint64_t virtio_pci_device_features(struct virtio_pci *vp)
{
	uint32_t lo, hi;

	virtio_mmio_write32(&vp->common->device_feature_select, 0);
	lo = virtio_mmio_read32(&vp->common->device_feature);
	virtio_mmio_write32(&vp->common->device_feature_select, 1);
	hi = virtio_mmio_read32(&vp->common->device_feature);
	return (uint64_t)hi << 32 | lo;
}

/**
 * virtio_pci_features_negotiate() - accept the features the device offers
 * among @wanted; fail unless all of @required are offered and accepted.
 *
 * Runs steps 4-6 of §3.1.1: write the subset, set FEATURES_OK, read the
 * status back. On failure the device is marked FAILED.
 * Return: 0, or -ENOTSUP (a required bit is missing, or the device cleared
 * FEATURES_OK because it cannot work with this subset).
 */
int virtio_pci_features_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
	uint64_t offered = virtio_pci_device_features(vp);
	uint64_t features = offered & (wanted | required);

	if (required & ~offered) {
		ZDK_ERR("%s: device lacks required feature bits %#llx (offers %#llx)",
			vp->pdev->name, (unsigned long long)(required & ~offered),
			(unsigned long long)offered);
		goto err_fail;
	}
	virtio_mmio_write32(&vp->common->driver_feature_select, 0);
	virtio_mmio_write32(&vp->common->driver_feature, (uint32_t)features);
	virtio_mmio_write32(&vp->common->driver_feature_select, 1);
	virtio_mmio_write32(&vp->common->driver_feature, (uint32_t)(features >> 32));
	virtio_pci_status_set(vp, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_pci_status_get(vp) & VIRTIO_STATUS_FEATURES_OK)) {
		ZDK_ERR("%s: device refused feature set %#llx (FEATURES_OK not kept)",
			vp->pdev->name, (unsigned long long)features);
		goto err_fail;
	}
	vp->features = features;
	ZDK_DEBUG("%s: features offered %#llx, negotiated %#llx", vp->pdev->name,
		  (unsigned long long)offered, (unsigned long long)features);
	return 0;

err_fail:
	virtio_pci_status_set(vp, VIRTIO_STATUS_FAILED);
	return -ENOTSUP;
}

int virtio_pci_num_queues(struct virtio_pci *vp)
{
	return virtio_mmio_read16(&vp->common->num_queues);
}

/* The maximum size of queue @index; 0 if the queue does not exist. */
int virtio_pci_queue_size(struct virtio_pci *vp, uint16_t index)
{
	virtio_mmio_write16(&vp->common->queue_select, index);
	return virtio_mmio_read16(&vp->common->queue_size);
}

static void write64(volatile uint32_t *lo, volatile uint32_t *hi, uint64_t v)
{
	/* §4.1.3.1: 64-bit fields may be written as two 32-bit halves. */
	virtio_mmio_write32(lo, (uint32_t)v);
	virtio_mmio_write32(hi, (uint32_t)(v >> 32));
}

/**
 * virtio_pci_queue_vector_set() - map queue @index's used buffer
 * notifications to MSI-X vector @vector (§4.1.5.1.2; VIRTIO_MSI_NO_VECTOR:
 * none). The vector number is only a name in the device's table: the
 * function's MSI-X may be enabled now or later, and a queue whose driver
 * keeps VIRTQ_AVAIL_F_NO_INTERRUPT set signals nothing either way.
 *
 * Return: the vector the device reads back, VIRTIO_MSI_NO_VECTOR if it
 * could not map @vector (a table too small, or out of resources).
 */
uint16_t virtio_pci_queue_vector_set(struct virtio_pci *vp, uint16_t index, uint16_t vector)
{
	volatile struct virtio_pci_common_cfg *c = vp->common;

	virtio_mmio_write16(&c->queue_select, index);
	virtio_mmio_write16(&c->queue_msix_vector, vector);
	return virtio_mmio_read16(&c->queue_msix_vector);
}

/**
 * virtio_pci_msix_config_set() - map configuration change notifications to
 * MSI-X vector @vector (§4.1.5.1.2), as virtio_pci_queue_vector_set().
 * Return: the vector the device reads back.
 */
uint16_t virtio_pci_msix_config_set(struct virtio_pci *vp, uint16_t vector)
{
	virtio_mmio_write16(&vp->common->msix_config, vector);
	return virtio_mmio_read16(&vp->common->msix_config);
}

/**
 * virtio_pci_queue_enable() - program queue @q->index and enable it
 * (§4.1.5.1.3); sets @q->notify to its doorbell and @q->msix_vector to the
 * vector the device accepted (VIRTIO_MSI_NO_VECTOR if it refused it: the
 * queue still works, polled).
 *
 * Return: 0, or -EINVAL if the device's notify offset lies outside the
 * notify structure.
 */
int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtio_pci_queue_info *q)
{
	volatile struct virtio_pci_common_cfg *c = vp->common;
	uint64_t off;

	virtio_mmio_write16(&c->queue_select, q->index);
	virtio_mmio_write16(&c->queue_size, q->size);
	write64(&c->queue_desc_lo, &c->queue_desc_hi, q->desc_iova);
	write64(&c->queue_driver_lo, &c->queue_driver_hi, q->driver_iova);
	write64(&c->queue_device_lo, &c->queue_device_hi, q->device_iova);
	/* Before queue_enable, and so before DRIVER_OK (§4.1.5.1.3 step 3). */
	q->msix_vector = virtio_pci_queue_vector_set(vp, q->index, q->msix_vector);
	/* §4.1.4.4: doorbell = notify base + queue_notify_off * multiplier. */
	off = (uint64_t)virtio_mmio_read16(&c->queue_notify_off) * vp->notify_off_multiplier;
	if (off + sizeof(uint16_t) > vp->notify_len) {
		ZDK_ERR("%s: queue %u notify offset %#llx is outside the %zu-byte notify area",
			vp->pdev->name, q->index, (unsigned long long)off, vp->notify_len);
		return -EINVAL;
	}
	q->notify = (volatile uint16_t *)(vp->notify_base + off);
	virtio_mmio_write16(&c->queue_enable, 1);
	return 0;
}

static void cfg_copy(struct virtio_pci *vp, size_t off, void *buf, size_t len)
{
	volatile uint8_t *p = vp->device_cfg + off;

	/* §4.1.3.1: access each field with its own width, aligned. */
	if (len == 2 && !(off & 1)) {
		uint16_t v = virtio_mmio_read16(p);
		memcpy(buf, &v, 2);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v = virtio_mmio_read32(p);
		memcpy(buf, &v, 4);
	} else {
		for (size_t i = 0; i < len; i++)
			((uint8_t *)buf)[i] = virtio_mmio_read8(p + i);
	}
}

/**
 * virtio_pci_device_cfg_read() - a consistent read of a device-specific
 * configuration field.
 *
 * Return: 0, or -ENOENT if the device has no such field.
 */
int virtio_pci_device_cfg_read(struct virtio_pci *vp, size_t off, void *buf, size_t len)
{
	uint8_t gen;

	if (!vp->device_cfg || off + len > vp->device_cfg_len)
		return -ENOENT;
	/* §2.4.1: retry until config_generation is the same before and after. */
	do {
		gen = virtio_mmio_read8(&vp->common->config_generation);
		cfg_copy(vp, off, buf, len);
	} while (gen != virtio_mmio_read8(&vp->common->config_generation));
	return 0;
}

/* Reset the device so it stops DMA; the PCI device itself stays open. */
void virtio_pci_close(struct virtio_pci *vp)
{
	if (!vp || !vp->common)
		return;
	virtio_pci_reset(vp);
	vp->common = NULL;
}
