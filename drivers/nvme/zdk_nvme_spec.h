/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_nvme_spec.h - NVMe data structures and constants used by the driver
 * and its callers (NVM Express Base Specification 2.0, NVM Command Set 1.0).
 * Little-endian host assumed, as everywhere in zdk.
 */
#ifndef ZDK_NVME_SPEC_H
#define ZDK_NVME_SPEC_H

#include <stdint.h>
#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Controller registers (base spec 3.1.3, figure 35). */
#define ZDK_NVME_REG_CAP 0x00   /* 64-bit capabilities */
#define ZDK_NVME_REG_VS 0x08    /* version */
#define ZDK_NVME_REG_INTMS 0x0c /* interrupt mask set */
#define ZDK_NVME_REG_CC 0x14    /* controller configuration */
#define ZDK_NVME_REG_CSTS 0x1c  /* controller status */
#define ZDK_NVME_REG_AQA 0x24   /* admin queue attributes */
#define ZDK_NVME_REG_ASQ 0x28   /* admin SQ base (64-bit) */
#define ZDK_NVME_REG_ACQ 0x30   /* admin CQ base (64-bit) */
#define ZDK_NVME_REG_DBS 0x1000 /* first doorbell */

/* CAP fields (3.1.3.1). */
#define ZDK_NVME_CAP_MQES(cap) ((uint32_t)((cap) & 0xffff))
#define ZDK_NVME_CAP_CQR(cap) ((uint32_t)((cap) >> 16) & 1)
#define ZDK_NVME_CAP_TO(cap) ((uint32_t)((cap) >> 24) & 0xff)
#define ZDK_NVME_CAP_DSTRD(cap) ((uint32_t)((cap) >> 32) & 0xf)
#define ZDK_NVME_CAP_CSS(cap) ((uint32_t)((cap) >> 37) & 0xff)
#define ZDK_NVME_CAP_MPSMIN(cap) ((uint32_t)((cap) >> 48) & 0xf)
#define ZDK_NVME_CAP_MPSMAX(cap) ((uint32_t)((cap) >> 52) & 0xf)

/* CC fields (3.1.3.5). */
#define ZDK_NVME_CC_EN (1u << 0)
#define ZDK_NVME_CC_CSS_NVM (0u << 4)
#define ZDK_NVME_CC_MPS(shift) ((uint32_t)((shift) - 12) << 7)
#define ZDK_NVME_CC_SHN_NORMAL (1u << 14)
#define ZDK_NVME_CC_SHN_MASK (3u << 14)
#define ZDK_NVME_CC_IOSQES(l2) ((uint32_t)(l2) << 16)
#define ZDK_NVME_CC_IOCQES(l2) ((uint32_t)(l2) << 20)

/* CSTS fields (3.1.3.6). */
#define ZDK_NVME_CSTS_RDY (1u << 0)
#define ZDK_NVME_CSTS_CFS (1u << 1)
#define ZDK_NVME_CSTS_SHST_MASK (3u << 2)
#define ZDK_NVME_CSTS_SHST_DONE (2u << 2)

/* Admin opcodes (5, figure 138). */
enum {
	ZDK_NVME_ADM_DELETE_SQ = 0x00,
	ZDK_NVME_ADM_CREATE_SQ = 0x01,
	ZDK_NVME_ADM_GET_LOG_PAGE = 0x02,
	ZDK_NVME_ADM_DELETE_CQ = 0x04,
	ZDK_NVME_ADM_CREATE_CQ = 0x05,
	ZDK_NVME_ADM_IDENTIFY = 0x06,
	ZDK_NVME_ADM_ABORT = 0x08,
	ZDK_NVME_ADM_SET_FEATURES = 0x09,
	ZDK_NVME_ADM_GET_FEATURES = 0x0a,
	ZDK_NVME_ADM_DBBUF_CONFIG = 0x7c, /* Doorbell Buffer Config */
};

/* Create I/O Completion Queue, command dword 11 (5.4): IV in bits 31:16. */
#define ZDK_NVME_CQ_PC (1u << 0)  /* physically contiguous */
#define ZDK_NVME_CQ_IEN (1u << 1) /* interrupts enabled */

/* NVM command set opcodes (NVM command set spec 3, figure 17). */
enum {
	ZDK_NVME_OPC_FLUSH = 0x00,
	ZDK_NVME_OPC_WRITE = 0x01,
	ZDK_NVME_OPC_READ = 0x02,
	ZDK_NVME_OPC_WRITE_ZEROES = 0x08,
	ZDK_NVME_OPC_DSM = 0x09,
};

/* Identify CNS values (5.17, figure 273). */
#define ZDK_NVME_CNS_NS 0x00
#define ZDK_NVME_CNS_CTRLR 0x01
#define ZDK_NVME_CNS_ACTIVE_NS 0x02
/* Set Features: Number of Queues (5.27.1.5). */
#define ZDK_NVME_FEAT_NUM_QUEUES 0x07

/* PSDT in CDW0 bits 15:14 (4.2, figure 87): SGL with MPTR to a buffer. */
#define ZDK_NVME_FLAG_PSDT_SGL (1u << 6)

/* SGL descriptor (4.1.2, figure 117); type in the upper nibble of the last byte. */
struct zdk_nvme_sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t rsvd[3];
	uint8_t type;
};
#define ZDK_NVME_SGL_DATA_BLOCK 0x00
#define ZDK_NVME_SGL_LAST_SEGMENT 0x30

/* Submission queue entry (4.2, figure 88), 64 bytes. */
struct zdk_nvme_sqe {
	uint8_t opc;
	uint8_t flags; /* FUSE 1:0, PSDT 7:6 */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	union {
		__extension__ struct {
			uint64_t prp1;
			uint64_t prp2;
		};
		struct zdk_nvme_sgl_desc sgl1;
	};
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

/* Completion queue entry (4.6, figure 92), 16 bytes. */
struct zdk_nvme_cpl {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* P 0, SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15 */
};

#define ZDK_NVME_STATUS_SC(s) (((s) >> 1) & 0xff)
#define ZDK_NVME_STATUS_SCT(s) (((s) >> 9) & 0x7)
/* Status without the phase bit: 0 is success. */
#define ZDK_NVME_CPL_STATUS(cpl) ((uint16_t)((cpl)->status & 0xfffe))
#define ZDK_NVME_CPL_IS_ERROR(cpl) (ZDK_NVME_CPL_STATUS(cpl) != 0)
/* Builds a status word from SCT and SC (phase bit clear). */
#define ZDK_NVME_STATUS(sct, sc) ((uint16_t)(((sct) << 9) | ((sc) << 1)))

/* Generic command status values the driver itself reports (figure 94). */
#define ZDK_NVME_SC_DATA_XFER_ERROR 0x04
#define ZDK_NVME_SC_INTERNAL_ERROR 0x06
#define ZDK_NVME_SC_ABORT_REQUESTED 0x07
#define ZDK_NVME_SC_ABORT_SQ_DELETION 0x08

/* Dataset Management range (NVM command set 3.2.1, figure 39). */
struct zdk_nvme_dsm_range {
	uint32_t attributes;
	uint32_t nlb;
	uint64_t slba;
};

/* Identify Controller data (5.17.2.1, figure 275), the fields zdk uses. */
struct zdk_nvme_id_ctrlr {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /* 77: log2 of max transfer in CAP.MPSMIN units, 0 = none */
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r; /* 84: RTD3 resume latency, microseconds */
	uint32_t rtd3e; /* 88: RTD3 entry latency (shutdown), microseconds, 0 = not reported */
	uint8_t rsvd92[164];
	uint16_t oacs; /* 256 */
	uint8_t acl;
	uint8_t aerl;
	uint8_t rsvd260[252];
	uint8_t sqes; /* 512 */
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;   /* 516: highest namespace id */
	uint16_t oncs; /* 520: bit 2 DSM, bit 3 Write Zeroes */
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t nvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint16_t rsvd534;
	uint32_t sgls; /* 536: bits 1:0 SGL support */
	uint8_t rsvd540[3556];
};
ZDK_STATIC_ASSERT(sizeof(struct zdk_nvme_id_ctrlr) == 4096, "Identify Controller is 4 KiB");
ZDK_STATIC_ASSERT(__builtin_offsetof(struct zdk_nvme_id_ctrlr, sgls) == 536, "SGLS at 536");
ZDK_STATIC_ASSERT(__builtin_offsetof(struct zdk_nvme_id_ctrlr, rtd3e) == 88, "RTD3E at 88");

#define ZDK_NVME_ONCS_DSM (1u << 2)
#define ZDK_NVME_ONCS_WRITE_ZEROES (1u << 3)
#define ZDK_NVME_OACS_DBBUF (1u << 8) /* Doorbell Buffer Config supported */

/* Identify Namespace data (NVM command set 4.1.5.1, figure 97), the fields zdk uses. */
struct zdk_nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* 0-based */
	uint8_t flbas; /* bits 3:0 format index (6:5 its upper bits) */
	uint8_t mc;
	uint8_t rsvd28[100];
	uint32_t lbaf[64]; /* 128: MS 15:0, LBADS 23:16, RP 25:24 */
	uint8_t rsvd384[3712];
};
ZDK_STATIC_ASSERT(sizeof(struct zdk_nvme_id_ns) == 4096, "Identify Namespace is 4 KiB");

#ifdef __cplusplus
}
#endif

#endif /* ZDK_NVME_SPEC_H */
