/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_seam.h - the driver's .c files compiled with their MMIO accessors
 * bound to the fake device (the seam in virtio_pci.h). Include once, in the
 * test or bench program.
 */
#ifndef VIRTIO_SEAM_H
#define VIRTIO_SEAM_H

#include "fake_virtio.h"

#define virtio_mmio_read8(a) ((uint8_t)fake_mmio_read((a), 1))
#define virtio_mmio_read16(a) ((uint16_t)fake_mmio_read((a), 2))
#define virtio_mmio_read32(a) fake_mmio_read((a), 4)
#define virtio_mmio_write8(a, v) fake_mmio_write((a), (v), 1)
#define virtio_mmio_write16(a, v) fake_mmio_write((a), (v), 2)
#define virtio_mmio_write32(a, v) fake_mmio_write((a), (v), 4)
#include "virtio_pci.c"
#include "virtqueue.c"
#include "virtio_net.c"
#include "virtio_intr.c"

#endif /* VIRTIO_SEAM_H */
