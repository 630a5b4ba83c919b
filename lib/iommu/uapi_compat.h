/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uapi_compat.h - the iommufd and VFIO cdev uapi that a Debian 12 host's
 * Linux 6.1 headers lack. Layouts are the kernel's (include/uapi/linux/
 * iommufd.h and vfio.h, Linux 7.3); each block is guarded by its ioctl
 * number, so newer system headers win. Whether the running kernel has an
 * ioctl is learnt at run time: ENOTTY (or EOPNOTSUPP) means it does not.
 */
#ifndef ZDK_UAPI_COMPAT_H
#define ZDK_UAPI_COMPAT_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>
#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

#ifndef IOMMU_DESTROY
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#endif

#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#endif

#ifndef IOMMU_IOAS_IOVA_RANGES
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, 0x84)
#endif

#ifndef IOMMU_IOAS_MAP
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#endif

#ifndef IOMMU_IOAS_UNMAP
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, 0x86)
#endif

/* Linux 6.13 */
#ifndef IOMMU_IOAS_MAP_FILE
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)
#endif

/* Linux 6.13: move the pinned-page accounting of every IOMMU_IOAS_MAP_FILE
 * mapping of the context to the calling process (EINVAL if any other
 * mapping exists). */
#ifndef IOMMU_IOAS_CHANGE_PROCESS
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, 0x92)
#endif

/* VFIO device cdev (Linux 6.6). The structures grew later (token_uuid_ptr,
 * pasid); callers pass argsz up to the fields they use, which every kernel
 * since 6.6 accepts. */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/* IOMMU hardware facts (Linux 6.7): the IOMMU behind a bound device. */
#ifndef IOMMU_GET_HW_INFO
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, 0x8a)
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};
#endif
#define ZDK_IOMMU_HW_INFO_TYPE_INTEL_VTD 1
#define ZDK_IOMMU_HW_INFO_TYPE_ARM_SMMUV3 2
#define ZDK_IOMMU_HW_INFO_TYPE_AMD 4
#define ZDK_IOMMU_HW_CAP_DIRTY_TRACKING (1u << 0)

/* No-IOMMU through iommufd (Linux 7.3): the physical address behind an IOVA
 * of an IOAS that a no-IOMMU device cdev is attached to. */
#ifndef IOMMU_IOAS_NOIOMMU_GET_PA
struct iommu_ioas_noiommu_get_pa {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 out_phys;
};
#define IOMMU_IOAS_NOIOMMU_GET_PA _IO(IOMMUFD_TYPE, 0x95)
#endif

/* PCI hot reset through a device cdev (Linux 6.6): ownership by iommufd. */
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0)
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
#endif
/* With FLAG_DEV_ID, vfio_pci_dependent_device.group_id is a devid (a union
 * in newer headers): this value there means "not owned by this iommufd". */
#define ZDK_VFIO_PCI_DEVID_NOT_OWNED 0xffffffffu

/* argsz values that every kernel since the ioctl appeared accepts */
#define ZDK_VFIO_BIND_IOMMUFD_ARGSZ 16
#define ZDK_VFIO_ATTACH_PT_ARGSZ 12

/* iommufd options (Linux 6.2): RLIMIT_MODE says who pins are charged to. */
#ifndef IOMMU_OPTION
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION_RLIMIT_MODE 0
#define IOMMU_OPTION_OP_SET 0
#define IOMMU_OPTION_OP_GET 1
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, 0x87)
#endif

#endif /* ZDK_UAPI_COMPAT_H */
