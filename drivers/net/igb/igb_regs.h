/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * igb_regs.h - the Intel 82576 registers and descriptors zdk's igb driver
 * uses, from the 82576 GbE Controller Datasheet (chapter 8, "Programming
 * Interface"; chapter 7 for the descriptor formats). QEMU's `-device igb`
 * emulates this programming model.
 */
#ifndef IGB_REGS_H
#define IGB_REGS_H

#include <stdint.h>

#define IGB_VENDOR_INTEL 0x8086
/* The 82576 family: one programming model, four media (datasheet 1.1). */
#define IGB_DEV_82576 0x10c9             /* copper */
#define IGB_DEV_82576_FIBER 0x10e6
#define IGB_DEV_82576_SERDES 0x10e7
#define IGB_DEV_82576_QUAD_COPPER 0x10e8
#define IGB_DEV_82576_QUAD_COPPER_ET2 0x1526
#define IGB_DEV_82576_NS 0x150a
#define IGB_DEV_82576_NS_SERDES 0x1518
#define IGB_DEV_82576_SERDES_QUAD 0x150d

/* General (8.2) */
#define IGB_CTRL 0x00000
#define IGB_CTRL_FD (1u << 0)     /* full duplex */
#define IGB_CTRL_SLU (1u << 6)    /* set link up */
#define IGB_CTRL_RST (1u << 26)   /* device reset, self-clearing */
#define IGB_STATUS 0x00008
#define IGB_STATUS_FD (1u << 0)
#define IGB_STATUS_LU (1u << 1)   /* link up */
#define IGB_STATUS_SPEED_SHIFT 6  /* 00 10M, 01 100M, 1x 1000M */
#define IGB_MDIC 0x00020          /* PHY access (8.2.4) */
#define IGB_MDIC_REG_SHIFT 16
#define IGB_MDIC_PHY_SHIFT 21
#define IGB_MDIC_OP_WRITE (1u << 26)
#define IGB_MDIC_READY (1u << 28)
#define IGB_MDIC_ERROR (1u << 30)
#define IGB_PHY_ADDR 1            /* the internal copper PHY */
#define IGB_PHY_BMCR 0            /* PHY control (IEEE 802.3 clause 22) */
#define IGB_BMCR_SPEED1000 (1u << 6)
#define IGB_BMCR_FD (1u << 8)
#define IGB_BMCR_ANRESTART (1u << 9)
#define IGB_BMCR_AUTOEN (1u << 12)
#define IGB_CTRL_EXT 0x00018
#define IGB_CTRL_EXT_DRV_LOAD (1u << 28) /* driver loaded (firmware hint) */
#define IGB_CTRL_EXT_LINK_MODE_MASK (3u << 22) /* 00 copper; else SerDes, SGMII, KX */
#define IGB_PCS_LCTL 0x04208      /* PCS link control (SerDes media) */
#define IGB_PCS_LCTL_AN_ENABLE (1u << 16)
#define IGB_PCS_LCTL_AN_RESTART (1u << 17)

/* Interrupts (8.8): masked, but for the rx queues of a port whose poller
 * sleeps (MSI-X, one vector per rx queue: 7.3). */
#define IGB_ICR 0x01500
#define IGB_IMC 0x0150c
#define IGB_GPIE 0x01514
#define IGB_GPIE_NSICR (1u << 0)      /* non-selective interrupt clear on read */
#define IGB_GPIE_MSIX_MODE (1u << 4)  /* EICR bits are MSI-X vectors */
#define IGB_GPIE_PBA (1u << 31)       /* PBA support (MSI-X mode) */
#define IGB_EICS 0x01520
#define IGB_EIMS 0x01524
#define IGB_EIMC 0x01528
#define IGB_EIAC 0x0152c              /* EICR bits cleared once their MSI-X is sent */
#define IGB_EICR 0x01580
#define IGB_EITR(n) (0x01680 + 4 * (n)) /* interrupt throttling, 0: none */
/* IVAR0[n] (8.8.15): byte 0 the vector of rx queue n, byte 1 of tx queue n
 * (bytes 2 and 3: queues n + 8), each with its valid bit. */
#define IGB_IVAR0(n) (0x01700 + 4 * (n))
#define IGB_IVAR_VALID 0x80u
#define IGB_IVAR_MISC 0x01740

/* Receive (8.10) */
#define IGB_RCTL 0x00100
#define IGB_RCTL_EN (1u << 1)
#define IGB_RCTL_UPE (1u << 3)    /* unicast promiscuous */
#define IGB_RCTL_MPE (1u << 4)    /* multicast promiscuous */
#define IGB_RCTL_BAM (1u << 15)   /* accept broadcast */
#define IGB_RCTL_SECRC (1u << 26) /* strip the Ethernet CRC */
#define IGB_RXCSUM 0x05000
#define IGB_RXCSUM_PCSD (1u << 13) /* descriptor carries the RSS hash */
#define IGB_MRQC 0x05818
#define IGB_MRQC_RSS 0x2           /* multiple receive queues by RSS */
#define IGB_MRQC_TCPIPV4 (1u << 16)
#define IGB_MRQC_IPV4 (1u << 17)
#define IGB_MRQC_IPV6 (1u << 20)
#define IGB_MRQC_TCPIPV6 (1u << 21)
#define IGB_MRQC_UDPIPV4 (1u << 22)
#define IGB_MRQC_UDPIPV6 (1u << 23)
#define IGB_RETA(n) (0x05c00 + 4 * (n)) /* 32 registers x 4 one-byte entries */
#define IGB_RETA_REGS 32
#define IGB_RSSRK(n) (0x05c80 + 4 * (n)) /* 10 registers: the 40-byte key */
#define IGB_RAL0 0x05400
#define IGB_RAH0 0x05404
#define IGB_RAH_AV (1u << 31)

/* Per-queue receive registers, queue n of 16 (8.10). */
#define IGB_RDBAL(n) (0x0c000 + 0x40 * (n))
#define IGB_RDBAH(n) (0x0c004 + 0x40 * (n))
#define IGB_RDLEN(n) (0x0c008 + 0x40 * (n))
#define IGB_SRRCTL(n) (0x0c00c + 0x40 * (n))
#define IGB_SRRCTL_BSIZEPKT_SHIFT 10        /* packet buffer size in 1 KiB */
#define IGB_SRRCTL_DESCTYPE_ADV_ONEBUF (1u << 25)
#define IGB_SRRCTL_DROP_EN (1u << 31)       /* drop when this queue has no buffers */
#define IGB_RDH(n) (0x0c010 + 0x40 * (n))
#define IGB_RDT(n) (0x0c018 + 0x40 * (n))
#define IGB_RXDCTL(n) (0x0c028 + 0x40 * (n))
#define IGB_RXDCTL_ENABLE (1u << 25)
#define IGB_RQDPC(n) (0x0c030 + 0x40 * (n)) /* queue drop count, clear on read */

/* Transmit (8.12) */
#define IGB_TCTL 0x00400
#define IGB_TCTL_EN (1u << 1)
#define IGB_TCTL_PSP (1u << 3)    /* pad short packets */
#define IGB_TCTL_CT_SHIFT 4
#define IGB_TCTL_COLD_SHIFT 12
#define IGB_TDBAL(n) (0x0e000 + 0x40 * (n))
#define IGB_TDBAH(n) (0x0e004 + 0x40 * (n))
#define IGB_TDLEN(n) (0x0e008 + 0x40 * (n))
#define IGB_TDH(n) (0x0e010 + 0x40 * (n))
#define IGB_TDT(n) (0x0e018 + 0x40 * (n))
#define IGB_TXDCTL(n) (0x0e028 + 0x40 * (n))
#define IGB_TXDCTL_ENABLE (1u << 25)
#define IGB_TDWBAL(n) (0x0e038 + 0x40 * (n))
#define IGB_TDWBAH(n) (0x0e03c + 0x40 * (n))

/* Statistics (8.19): clear on read; 64-bit octet counters read low then high. */
#define IGB_CRCERRS 0x04000
#define IGB_RXERRC 0x0400c
#define IGB_MPC 0x04010   /* missed: no room in the receive FIFO */
#define IGB_RLEC 0x04040  /* length errors */
#define IGB_GPRC 0x04074  /* good packets received */
#define IGB_GPTC 0x04080  /* good packets transmitted */
#define IGB_GORCL 0x04088
#define IGB_GORCH 0x0408c
#define IGB_GOTCL 0x04090
#define IGB_GOTCH 0x04094
#define IGB_RNBC 0x040a0  /* receive no buffers */

#define IGB_MAX_QUEUES 16
#define IGB_BAR_LEN 0x20000

/* Advanced receive descriptor (7.1.5): read format, then write-back. */
union igb_rx_desc {
	struct {
		uint64_t pkt_addr; /* buffer IOVA */
		uint64_t hdr_addr; /* header buffer (no split: 0); bit 0 is DD on write-back */
	} read;
	struct {
		uint16_t pkt_info;  /* RSS type [3:0], packet type */
		uint16_t hdr_info;
		uint32_t rss_hash;  /* with RXCSUM.PCSD */
		uint32_t status_error;
		uint16_t length;
		uint16_t vlan;
	} wb;
	uint64_t q[2];
};
#define IGB_RXD_STAT_DD (1u << 0)
#define IGB_RXD_STAT_EOP (1u << 1)
/* Extended errors (7.1.5, write-back format): RXE sums up the frame errors
 * (CRC, symbol, sequence, length, carrier extension), whose own bits are CE,
 * SE, SEQ and CXE. IPE and L4E (bits 30, 29) are checksum results, meaningful
 * only with the RXCSUM offloads, which zdk does not enable: not frame errors. */
#define IGB_RXD_ERR_FRAME 0x97000000u

/* Advanced transmit data descriptor (7.2.2.3). */
union igb_tx_desc {
	struct {
		uint64_t buffer_addr;
		uint32_t cmd_type_len; /* length [15:0], DTYP [23:20], DCMD [31:24] */
		uint32_t olinfo_status; /* PAYLEN [31:14]; DD (bit 0) on write-back */
	} read;
	uint64_t q[2];
};
#define IGB_TXD_DTYP_DATA (3u << 20)
#define IGB_TXD_CMD_EOP (1u << 24)
#define IGB_TXD_CMD_IFCS (1u << 25)
#define IGB_TXD_CMD_RS (1u << 27)
#define IGB_TXD_CMD_DEXT (1u << 29)
#define IGB_TXD_PAYLEN_SHIFT 14
#define IGB_TXD_STAT_DD (1u << 0)

#endif /* IGB_REGS_H */
