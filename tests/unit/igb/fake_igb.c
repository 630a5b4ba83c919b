/* SPDX-License-Identifier: BSD-3-Clause */
/* fake_igb.c - see fake_igb.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_igb.h"
#include "igb.h"
#include "test_mem.h"

#define MAX_FAKES 8
static struct fake_igb *fakes[MAX_FAKES];

static uint32_t *reg32(const struct fake_igb *f, uint32_t reg)
{
	return (uint32_t *)(f->bar + reg);
}

uint32_t fake_igb_reg(const struct fake_igb *f, uint32_t reg)
{
	return *(volatile uint32_t *)reg32(f, reg);
}

static void fake_reset(struct fake_igb *f)
{
	memset(f->bar, 0, IGB_BAR_LEN);
	f->eicr = f->eims = 0;
	*reg32(f, IGB_STATUS) = IGB_STATUS_FD;
	*reg32(f, IGB_RAL0) = f->mac[0] | f->mac[1] << 8 | f->mac[2] << 16 |
			      (uint32_t)f->mac[3] << 24;
	*reg32(f, IGB_RAH0) = f->mac[4] | f->mac[5] << 8 | IGB_RAH_AV;
}

struct fake_igb *fake_igb_create(const char *bdf, unsigned id)
{
	struct fake_igb *f = calloc(1, sizeof(*f));
	unsigned i;

	if (!f || posix_memalign((void **)&f->bar, 4096, IGB_BAR_LEN)) {
		free(f);
		return NULL;
	}
	memcpy(f->mac, (uint8_t[]){ 0x02, 0xfa, 0x4e, 0, 0, (uint8_t)id }, 6);
	f->msix_vectors = 10;
	fake_reset(f);
	zdk_pci_addr_parse(bdf, &f->pci.addr);
	snprintf(f->pci.name, sizeof(f->pci.name), "%s", bdf);
	f->pci.vendor_id = IGB_VENDOR_INTEL;
	f->pci.device_id = IGB_DEV_82576;
	f->pci.numa_node = 0;
	f->pci.bars[0].va = f->bar;
	f->pci.bars[0].len = IGB_BAR_LEN;
	for (i = 0; i < MAX_FAKES && fakes[i]; i++)
		;
	if (i < MAX_FAKES)
		fakes[i] = f;
	return f;
}

void fake_igb_destroy(struct fake_igb *f)
{
	for (unsigned i = 0; i < MAX_FAKES; i++)
		if (fakes[i] == f)
			fakes[i] = NULL;
	if (f)
		free(f->bar);
	free(f);
}

void fake_igb_set_sink(struct fake_igb *f, fake_igb_sink sink, void *arg)
{
	f->sink = sink;
	f->sink_arg = arg;
}

static struct fake_igb *fake_of(const struct igb_dev *igb)
{
	for (unsigned i = 0; i < MAX_FAKES; i++)
		if (fakes[i] && fakes[i]->bar == igb->bar)
			return fakes[i];
	fprintf(stderr, "fake_igb: register access to an unknown BAR\n");
	abort();
}

uint8_t fake_igb_stream_u8(struct fake_igb_stream *s)
{
	return s && s->pos < s->len ? s->data[s->pos++] : 0;
}

uint32_t fake_igb_stream_pick(struct fake_igb_stream *s, uint32_t lo, uint32_t hi)
{
	uint64_t span = (uint64_t)hi - lo + 1, v = 0;

	for (uint64_t r = 1; r < span; r <<= 8)
		v = v << 8 | fake_igb_stream_u8(s);
	return lo + (uint32_t)(v % span);
}

void fake_igb_hostile(struct fake_igb *f, struct fake_igb_stream *s)
{
	f->hostile = s;
}

/* The control-path seam of igb.h (IGB_FAKE_MMIO). */
uint32_t igb_fake_read(struct igb_dev *igb, uint32_t reg)
{
	struct fake_igb *f = fake_of(igb);
	uint32_t v;

	if (f->all_ones)
		return ~0u;

	switch (reg) {
	case IGB_GPRC: v = f->gprc; f->gprc = 0; return v;
	case IGB_GPTC: v = f->gptc; f->gptc = 0; return v;
	case IGB_MPC: v = f->mpc; f->mpc = 0; return v;
	case IGB_GORCL: return (uint32_t)f->gorc;
	case IGB_GORCH: v = (uint32_t)(f->gorc >> 32); f->gorc = 0; return v;
	case IGB_GOTCL: return (uint32_t)f->gotc;
	case IGB_GOTCH: v = (uint32_t)(f->gotc >> 32); f->gotc = 0; return v;
	case IGB_ICR:
		return 0;
	case IGB_EICR: v = f->eicr; f->eicr = 0; return v; /* clear on read */
	case IGB_EIMS: return f->eims;
	}
	for (unsigned q = 0; q < 16; q++) {
		if (reg == IGB_RQDPC(q)) {
			v = f->rqdpc[q];
			f->rqdpc[q] = 0;
			return v;
		}
	}
	return *(volatile uint32_t *)reg32(f, reg);
}

/* Send the message of every cause now set in EICR and EIMS (7.3.1.3). */
static void msix_raise(struct fake_igb *f, uint32_t causes)
{
	uint32_t eiac = fake_igb_reg(f, IGB_EIAC);
	uint64_t one = 1;

	if (!(fake_igb_reg(f, IGB_GPIE) & IGB_GPIE_MSIX_MODE))
		return;
	for (unsigned v = 0; v < 16; v++) {
		if (!(causes & f->eims & f->eicr & (1u << v)))
			continue;
		if (v < f->nr_vectors && write(f->irq_efd[v], &one, sizeof(one)) == sizeof(one))
			f->nr_irqs++;
		f->eicr &= ~(eiac & (1u << v));
	}
}

void igb_fake_write(struct igb_dev *igb, uint32_t reg, uint32_t val)
{
	struct fake_igb *f = fake_of(igb);

	switch (reg) {
	case IGB_EIMS:
		f->eims |= val;
		msix_raise(f, val);
		return;
	case IGB_EIMC:
		f->eims &= ~val;
		return;
	case IGB_EICR:
		f->eicr &= ~val; /* write 1 to clear */
		return;
	case IGB_EICS:
		f->eicr |= val;
		msix_raise(f, val);
		return;
	}

	if (reg == IGB_CTRL && (val & IGB_CTRL_RST)) {
		fake_reset(f); /* completes at once: RST reads back clear */
		return;
	}
	if (reg == IGB_MDIC) {
		/* As QEMU: link up once the PHY restarts auto-negotiation (if
		 * the MAC follows it: CTRL.SLU); MDIC completes at once. */
		uint32_t preg = (val >> IGB_MDIC_REG_SHIFT) & 0x1f;

		if ((val & IGB_MDIC_OP_WRITE) && preg == IGB_PHY_BMCR &&
		    (val & IGB_BMCR_ANRESTART) && (fake_igb_reg(f, IGB_CTRL) & IGB_CTRL_SLU))
			*reg32(f, IGB_STATUS) |= IGB_STATUS_LU | (2u << IGB_STATUS_SPEED_SHIFT);
		*reg32(f, IGB_MDIC) = val | IGB_MDIC_READY;
		return;
	}
	*(volatile uint32_t *)reg32(f, reg) = val;
}

static void *ring_va(struct fake_igb *f, uint32_t bal, uint32_t bah, uint32_t len)
{
	uint64_t iova = fake_igb_reg(f, bal) | (uint64_t)fake_igb_reg(f, bah) << 32;

	return test_iova_to_va(iova, len);
}

/* Hostile transmit: a byte per descriptor. Return: 1 to stop here. */
static int tx_lie(struct fake_igb *f, union igb_tx_desc *ring, uint32_t n, union igb_tx_desc *d)
{
	uint8_t b = fake_igb_stream_u8(f->hostile);

	if (b < 0xd0)
		return 0;
	f->lies++;
	switch (b & 3) {
	case 0: /* DD on any descriptor: not given, not RS, or stale */
		ring[fake_igb_stream_pick(f->hostile, 0, n - 1)].read.olinfo_status |= IGB_TXD_STAT_DD;
		return 0;
	case 1: /* a completion that never comes */
		d->read.cmd_type_len &= ~IGB_TXD_CMD_RS;
		return 0;
	case 2: /* DD before the frame is sent */
		d->read.olinfo_status |= IGB_TXD_STAT_DD;
		return 0;
	default: /* stop early */
		return 1;
	}
}

static unsigned tx_queue_run(struct fake_igb *f, unsigned q, unsigned max)
{
	uint32_t len = fake_igb_reg(f, IGB_TDLEN(q)), n = len / 16;
	uint32_t head = fake_igb_reg(f, IGB_TDH(q)), tail = fake_igb_reg(f, IGB_TDT(q));
	union igb_tx_desc *ring = ring_va(f, IGB_TDBAL(q), IGB_TDBAH(q), len);
	unsigned sent = 0, done = 0;

	if (!ring || tail >= n || head >= n)
		return 0;
	while (head != tail && done++ < max) {
		union igb_tx_desc *d = &ring[head];
		uint32_t cmd, flen;
		const uint8_t *buf;

		if (f->hostile && tx_lie(f, ring, n, d))
			break;
		cmd = d->read.cmd_type_len;
		flen = cmd & 0xffff;
		buf = test_iova_to_va(d->read.buffer_addr, flen);
		if (!(cmd & IGB_TXD_CMD_DEXT) || (cmd & (0xfu << 20)) != IGB_TXD_DTYP_DATA ||
		    !(cmd & IGB_TXD_CMD_EOP) || !buf || flen == 0) {
			f->bad_desc++;
		} else {
			if (f->sink)
				f->sink(f->sink_arg, q, buf, flen);
			f->gptc++;
			f->gotc += flen + 4;
			sent++;
		}
		if (cmd & IGB_TXD_CMD_RS)
			d->read.olinfo_status |= IGB_TXD_STAT_DD;
		head = (head + 1) % n;
	}
	*reg32(f, IGB_TDH(q)) = head;
	return sent;
}

static bool tx_enabled(struct fake_igb *f, unsigned q)
{
	return (fake_igb_reg(f, IGB_TCTL) & IGB_TCTL_EN) &&
	       (fake_igb_reg(f, IGB_TXDCTL(q)) & IGB_TXDCTL_ENABLE);
}

unsigned fake_igb_tx_run(struct fake_igb *f)
{
	unsigned q, sent = 0;

	for (q = 0; q < 16; q++)
		if (tx_enabled(f, q))
			sent += tx_queue_run(f, q, ~0u);
	return sent;
}

unsigned fake_igb_tx_run_queue(struct fake_igb *f, unsigned q, unsigned max)
{
	return tx_enabled(f, q) ? tx_queue_run(f, q, max) : 0;
}

uint32_t fake_igb_rss_hash(const uint8_t *frame, unsigned len)
{
	uint32_t h = 2166136261u;

	/* FNV-1a over the IPv4 source and destination addresses. */
	for (unsigned i = 26; i < 34 && i < len; i++)
		h = (h ^ frame[i]) * 16777619u;
	return h;
}

static int rx_filter(struct fake_igb *f, const uint8_t *frame)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t rctl = fake_igb_reg(f, IGB_RCTL);

	if (!memcmp(frame, bcast, 6))
		return rctl & IGB_RCTL_BAM ? 0 : -EPERM;
	if (frame[0] & 1)
		return rctl & IGB_RCTL_MPE ? 0 : -EPERM;
	if (!memcmp(frame, f->mac, 6) || (rctl & IGB_RCTL_UPE))
		return 0;
	return -EPERM;
}

static unsigned rx_queue_pick(struct fake_igb *f, const uint8_t *frame, unsigned len,
			      uint32_t *hash)
{
	uint32_t reta;

	*hash = 0;
	if ((fake_igb_reg(f, IGB_MRQC) & 3) != IGB_MRQC_RSS ||
	    !(fake_igb_reg(f, IGB_RXCSUM) & IGB_RXCSUM_PCSD) || len < 34 ||
	    frame[12] != 0x08 || frame[13] != 0x00 ||
	    !(fake_igb_reg(f, IGB_MRQC) & IGB_MRQC_IPV4))
		return 0;
	*hash = fake_igb_rss_hash(frame, len);
	reta = fake_igb_reg(f, IGB_RETA((*hash & 127) / 4));
	return (reta >> (8 * (*hash & 3))) & 0xf;
}

/* Hostile receive: a byte per write-back says which lie, if any. */
static void rx_lie(struct fake_igb *f, union igb_rx_desc *ring, uint32_t n, uint32_t bufsize,
		   uint32_t *wb_len, uint32_t *status)
{
	struct fake_igb_stream *s = f->hostile;
	uint8_t b = fake_igb_stream_u8(s);
	union igb_rx_desc *stray;

	if (b < 0xc0)
		return;
	f->lies++;
	switch (b & 7) {
	case 0:
		*wb_len = 0;
		break;
	case 1: /* beyond the buffer */
		*wb_len = fake_igb_stream_pick(s, bufsize + 1, 0xffff);
		break;
	case 2: /* anything, > 16 bits included (the field keeps 16) */
		*wb_len = fake_igb_stream_pick(s, 0, 0xfffff);
		break;
	case 3:
		*status &= ~IGB_RXD_STAT_EOP;
		break;
	case 4: /* error bits */
		*status |= (uint32_t)fake_igb_stream_u8(s) << 24;
		break;
	case 5: /* any status at all */
		*status = fake_igb_stream_pick(s, 0, 0xffffffffu);
		break;
	default: /* a stray write-back on any descriptor, given or not */
		stray = &ring[fake_igb_stream_pick(s, 0, n - 1)];
		stray->wb.length = (uint16_t)fake_igb_stream_pick(s, 0, 0xffff);
		__atomic_store_n(&stray->wb.status_error,
				 IGB_RXD_STAT_DD | (fake_igb_stream_u8(s) & 1 ? IGB_RXD_STAT_EOP : 0),
				 __ATOMIC_RELEASE);
		break;
	}
}

int fake_igb_rx_inject(struct fake_igb *f, const uint8_t *frame, unsigned len)
{
	return fake_igb_rx_inject_wb(f, frame, len, len, IGB_RXD_STAT_DD | IGB_RXD_STAT_EOP);
}

int fake_igb_rx_inject_wb(struct fake_igb *f, const uint8_t *frame, unsigned len,
			  uint32_t wb_len, uint32_t status)
{
	uint32_t hash, rlen, n, head, tail, bufsize;
	union igb_rx_desc *ring, *d;
	unsigned q;
	uint8_t *buf;
	int ret;

	if (!(fake_igb_reg(f, IGB_RCTL) & IGB_RCTL_EN))
		return -EIO;
	ret = rx_filter(f, frame);
	if (ret)
		return ret;
	q = rx_queue_pick(f, frame, len, &hash);
	rlen = fake_igb_reg(f, IGB_RDLEN(q));
	n = rlen / 16;
	head = fake_igb_reg(f, IGB_RDH(q));
	tail = fake_igb_reg(f, IGB_RDT(q));
	ring = ring_va(f, IGB_RDBAL(q), IGB_RDBAH(q), rlen);
	if (!(fake_igb_reg(f, IGB_RXDCTL(q)) & IGB_RXDCTL_ENABLE) || !ring || tail >= n)
		return -EIO;
	if (head == tail) {
		f->rqdpc[q]++;
		return -ENOBUFS;
	}
	d = &ring[head];
	bufsize = (fake_igb_reg(f, IGB_SRRCTL(q)) & 0x7f) * 1024;
	/* A descriptor showing DD got a stray write-back: its buffer may be
	 * the application's now. A hostile device skips it; only a hostile
	 * device writes stray write-backs. */
	if (d->wb.status_error & IGB_RXD_STAT_DD) {
		*reg32(f, IGB_RDH(q)) = (head + 1) % n;
		return -EIO;
	}
	buf = test_iova_to_va(d->read.pkt_addr, bufsize);
	if (!buf || len > bufsize)
		return -EIO;
	memcpy(buf, frame, len);
	if (f->hostile)
		rx_lie(f, ring, n, bufsize, &wb_len, &status);
	/* Write-back: everything but the status first, then DD (as QEMU does). */
	memset(d, 0, sizeof(*d));
	d->wb.length = (uint16_t)wb_len;
	d->wb.rss_hash = hash;
	__atomic_store_n(&d->wb.status_error, status, __ATOMIC_RELEASE);
	*reg32(f, IGB_RDH(q)) = (head + 1) % n;
	f->gprc++;
	f->gorc += len + 4;
	if (q < 8 && (fake_igb_reg(f, IGB_IVAR0(q)) & IGB_IVAR_VALID)) {
		uint32_t cause = 1u << (fake_igb_reg(f, IGB_IVAR0(q)) & 0x1f);

		f->eicr |= cause;
		msix_raise(f, cause);
	}
	return (int)q;
}

/* PCI layer stubs: the BAR is the fake's memory, the registry keeps the
 * driver for the test to probe by hand. */
static struct zdk_pci_driver *registered;

void zdk_pci_driver_register(struct zdk_pci_driver *drv)
{
	registered = drv;
}

const struct zdk_pci_driver *fake_igb_driver(void)
{
	return registered;
}

int zdk_pci_bar_map(struct zdk_pci_device *dev, int bar, void **va, size_t *len)
{
	if (bar != 0 || !dev->bars[0].va)
		return -EINVAL;
	*va = dev->bars[0].va;
	if (len)
		*len = dev->bars[0].len;
	return 0;
}

/* lib/pci's removal, as the event thread drives it: tests call the hook. */
void (*fake_pci_on_remove)(struct zdk_pci_device *dev);
bool fake_pci_gone;

void zdk_pci_device_on_remove(struct zdk_pci_device *dev, void (*fn)(struct zdk_pci_device *dev))
{
	(void)dev;
	fake_pci_on_remove = fn;
}

bool zdk_pci_device_removed(const struct zdk_pci_device *dev)
{
	(void)dev;
	return fake_pci_gone;
}

int zdk_pci_bus_master(struct zdk_pci_device *dev, bool enable)
{
	(void)dev;
	(void)enable;
	return 0;
}

/* MSI-X through "VFIO": real eventfds the fake writes (msix_raise). */
int zdk_pci_irq_count(struct zdk_pci_device *dev, enum zdk_pci_irq_type type)
{
	struct fake_igb *f = (struct fake_igb *)dev; /* pci is its first member */

	return type == ZDK_PCI_IRQ_MSIX ? (int)f->msix_vectors : 0;
}

int zdk_pci_irq_enable(struct zdk_pci_device *dev, enum zdk_pci_irq_type type, unsigned count,
		       int *efds)
{
	struct fake_igb *f = (struct fake_igb *)dev;

	if (type != ZDK_PCI_IRQ_MSIX || !count || count > f->msix_vectors || count > 16)
		return -EINVAL;
	if (f->nr_vectors)
		zdk_pci_irq_disable(dev);
	for (unsigned i = 0; i < count; i++) {
		efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efds[i] < 0)
			abort();
		f->irq_efd[i] = efds[i];
	}
	f->nr_vectors = count;
	return 0;
}

void zdk_pci_irq_disable(struct zdk_pci_device *dev)
{
	struct fake_igb *f = (struct fake_igb *)dev;

	for (unsigned i = 0; i < f->nr_vectors; i++)
		close(f->irq_efd[i]);
	f->nr_vectors = 0;
}
