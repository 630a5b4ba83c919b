/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_virtio.c - the device side of a virtio-net PCI function, in memory.
 * Section numbers are those of the virtio v1.1 specification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdk_common.h"
#include "fake_virtio.h"
#include "test_env.h"

/* BAR4 layout, as QEMU lays it out: one 4 KiB page per structure. */
#define COMMON_OFF 0x0000
#define COMMON_LEN 0x38
#define ISR_OFF 0x1000
#define DEVCFG_OFF 0x2000
#define DEVCFG_LEN 0x20
#define NOTIFY_OFF 0x3000
#define NOTIFY_LEN 0x1000
#define NOTIFY_MULT 4
#define BAR_LEN 0x4000

#define ST_DRIVER_OK 0x04
#define ST_FEATURES_OK 0x08

/* The rings as the spec draws them (§2.6.5, §2.6.6, §2.6.8). */
struct fdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define FDESC_NEXT 1
#define FDESC_WRITE 2

#define MAX_FAKES 8
static struct fake_virtio *fakes[MAX_FAKES];

struct fake_virtio *fake_virtio_of(struct zdk_pci_device *pdev)
{
	return (struct fake_virtio *)((char *)pdev - offsetof(struct fake_virtio, pdev));
}

/*
 * PCI config space: status with the capability list, an MSI-X capability
 * and a PCI-cfg-access virtio capability to skip, the four structures, then
 * a second common capability that must be ignored (§4.1.4.1: first wins).
 */
static uint8_t cap_put(uint8_t *cfg, uint8_t pos, uint8_t next, uint8_t type, uint8_t bar,
		       uint32_t off, uint32_t len, uint8_t cap_len)
{
	cfg[pos] = 0x09;
	cfg[pos + 1] = next;
	cfg[pos + 2] = cap_len;
	cfg[pos + 3] = type;
	cfg[pos + 4] = bar;
	memcpy(&cfg[pos + 8], &off, 4);
	memcpy(&cfg[pos + 12], &len, 4);
	return next;
}

static void cfg_build(struct fake_virtio *f)
{
	uint8_t *c = f->cfg;
	uint32_t mult = NOTIFY_MULT;

	memset(c, 0, sizeof(f->cfg));
	c[0x00] = 0xf4, c[0x01] = 0x1a, c[0x02] = 0x41, c[0x03] = 0x10;
	c[0x06] = 0x10; /* status: capabilities list */
	c[0x34] = 0x40;
	c[0x40] = 0x11, c[0x41] = 0x50; /* MSI-X, table size - 1 in bits 10:0 */
	c[0x42] = (uint8_t)((f->msix_table ? f->msix_table - 1 : 0) & 0xff);
	c[0x43] = (uint8_t)((f->msix_table ? f->msix_table - 1 : 0) >> 8 & 0x7);
	cap_put(c, 0x50, 0x64, 5, 0, 0, 0, 20);
	if (!f->modern) {
		c[0x51] = 0;
		return;
	}
	cap_put(c, 0x64, 0x74, 1, FAKE_BAR, COMMON_OFF, COMMON_LEN, 16);
	cap_put(c, 0x74, 0x88, 2, FAKE_BAR, NOTIFY_OFF, NOTIFY_LEN, 20);
	memcpy(&c[0x74 + 16], &mult, 4);
	cap_put(c, 0x88, 0x98, 3, FAKE_BAR, ISR_OFF, 4, 16);
	cap_put(c, 0x98, 0xa8, 4, FAKE_BAR, DEVCFG_OFF, DEVCFG_LEN, 16);
	cap_put(c, 0xa8, 0x00, 1, 2, 0, COMMON_LEN, 16);
}

void fake_virtio_set_modern(struct fake_virtio *f, bool modern)
{
	f->modern = modern;
	cfg_build(f);
}

static void device_reset(struct fake_virtio *f)
{
	f->status = 0;
	f->accepted = 0;
	f->dfselect = f->gfselect = 0;
	f->qselect = 0;
	f->promisc = true; /* QEMU's default rx mode */
	f->msix_config = FAKE_NO_VECTOR; /* as QEMU's reset leaves them */
	for (unsigned q = 0; q < FAKE_NQ; q++) {
		uint16_t max = f->vq[q].max_size, *held = f->vq[q].held;

		memset(&f->vq[q], 0, sizeof(f->vq[q]));
		f->vq[q].max_size = max;
		f->vq[q].held = held;
		f->vq[q].size = max;
		f->vq[q].msix = FAKE_NO_VECTOR;
	}
}

struct fake_virtio *fake_virtio_create(uint64_t features, uint16_t qsize)
{
	struct fake_virtio *f = calloc(1, sizeof(*f));
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	unsigned i;

	f->bar_len = BAR_LEN;
	f->bar = aligned_alloc(4096, BAR_LEN);
	memset(f->bar, 0, BAR_LEN);
	f->modern = true;
	f->offered = features;
	f->msix_table = 3; /* QEMU's virtio-net-pci for one queue pair has 3 or more */
	for (i = 0; i < FAKE_NQ; i++) {
		f->vq[i].max_size = i == FAKE_CTRLQ ? 64 : qsize;
		f->vq[i].held = calloc(f->vq[i].max_size, sizeof(uint16_t));
	}
	device_reset(f);
	f->resets = 0;
	cfg_build(f);
	f->pdev.vendor_id = 0x1af4;
	f->pdev.device_id = 0x1041;
	f->pdev.numa_node = -1;
	for (i = 0; i < MAX_FAKES && fakes[i]; i++)
		;
	fakes[i] = f;
	snprintf(f->pdev.name, sizeof(f->pdev.name), "0000:0%u:00.0", i + 1);
	f->pdev.addr.bus = (uint8_t)(i + 1);
	fake_virtio_set_mac(f, mac);
	f->bar[DEVCFG_OFF + 5] = (uint8_t)(0x56 + i);
	fake_virtio_set_link(f, true);
	return f;
}

void fake_virtio_destroy(struct fake_virtio *f)
{
	for (unsigned i = 0; i < MAX_FAKES; i++)
		if (fakes[i] == f)
			fakes[i] = NULL;
	if (f) {
		for (unsigned v = 0; v < f->nr_vectors; v++)
			close(f->irq_efd[v]); /* the driver left MSI-X on: tests check it did not */
		free(f->bar);
		for (unsigned q = 0; q < FAKE_NQ; q++)
			free(f->vq[q].held);
	}
	free(f);
}

void fake_virtio_set_mac(struct fake_virtio *f, const uint8_t mac[6])
{
	memcpy(&f->bar[DEVCFG_OFF], mac, 6);
	f->generation++;
}

void fake_virtio_set_link(struct fake_virtio *f, bool up)
{
	f->bar[DEVCFG_OFF + 6] = up;
	f->generation++;
}

/*
 * The common configuration registers (§4.1.4.3), emulated.
 */
static unsigned field_width(unsigned off)
{
	if (off < 16 || off >= 32)
		return 4;
	if (off == 20 || off == 21)
		return 1;
	return 2;
}

static uint32_t *vq_addr_half(struct fake_vq *vq, unsigned off)
{
	uint64_t *a = off < 40 ? &vq->desc : off < 48 ? &vq->driver : &vq->device;

	return (uint32_t *)a + ((off & 4) ? 1 : 0);
}

static uint32_t common_read(struct fake_virtio *f, unsigned off)
{
	struct fake_vq *vq = f->qselect < FAKE_NQ ? &f->vq[f->qselect] : NULL;

	switch (off) {
	case 0: return f->dfselect;
	case 4: return f->dfselect < 2 ? (uint32_t)(f->offered >> (32 * f->dfselect)) : 0;
	case 8: return f->gfselect;
	case 12: return f->gfselect < 2 ? (uint32_t)(f->accepted >> (32 * f->gfselect)) : 0;
	case 16: return f->msix_config;
	case 18: return FAKE_NQ;
	case 20: return f->status;
	case 21: return f->generation;
	case 22: return f->qselect;
	case 24: return vq ? vq->size : 0;
	case 26: return vq ? vq->msix : 0xffff;
	case 28: return vq ? vq->enable : 0;
	case 30: return f->qselect; /* queue_notify_off = queue index */
	default: return vq && off >= 32 ? *vq_addr_half(vq, off) : 0;
	}
}

static void status_write(struct fake_virtio *f, uint8_t v)
{
	if (v == 0) {
		device_reset(f);
		f->resets++;
		return;
	}
	/* Only a reset clears bits (§2.1.1). */
	if ((v & f->status) != f->status)
		f->proto_errors++;
	/* §2.2.1: refuse a subset with bits we did not offer, or when told to. */
	if ((v & ST_FEATURES_OK) && !(f->status & ST_FEATURES_OK) &&
	    (f->refuse_features || (f->accepted & ~f->offered)))
		v &= (uint8_t)~ST_FEATURES_OK;
	if ((v & ST_DRIVER_OK) && !(v & ST_FEATURES_OK))
		f->proto_errors++;
	f->status = v;
	f->status_seen |= v;
}

static void queue_enable(struct fake_virtio *f, struct fake_vq *vq)
{
	size_t n = vq->size;

	/* §2.6: alignments 16/2/4, each part inside DMA memory. */
	if (!test_dma_ptr(vq->desc, 16 * n) || !test_dma_ptr(vq->driver, 6 + 2 * n) ||
	    !test_dma_ptr(vq->device, 6 + 8 * n) || (vq->desc & 15) || (vq->driver & 1) ||
	    (vq->device & 3))
		f->dma_faults++;
	if (f->status & ST_DRIVER_OK)
		f->proto_errors++;
	vq->enable = 1;
}

/* §4.1.5.1.2: a vector beyond the table cannot be mapped: NO_VECTOR. */
static uint16_t vector_map(const struct fake_virtio *f, uint32_t v)
{
	return v < f->msix_table ? (uint16_t)v : FAKE_NO_VECTOR;
}

static void common_write(struct fake_virtio *f, unsigned off, uint32_t v)
{
	struct fake_vq *vq = f->qselect < FAKE_NQ ? &f->vq[f->qselect] : NULL;

	switch (off) {
	case 0: f->dfselect = v; return;
	case 8: f->gfselect = v; return;
	case 12:
		if (f->status & ST_FEATURES_OK || f->gfselect > 1)
			f->proto_errors++;
		else if (f->gfselect == 0)
			f->accepted = (f->accepted & ~0xffffffffULL) | v;
		else
			f->accepted = (f->accepted & 0xffffffffULL) | (uint64_t)v << 32;
		return;
	case 16: f->msix_config = vector_map(f, v); return;
	case 20: status_write(f, (uint8_t)v); return;
	case 22: f->qselect = (uint16_t)v; return;
	}
	if (!vq) {
		f->proto_errors++;
		return;
	}
	switch (off) {
	case 24:
		if (!v || v > vq->max_size || (v & (v - 1)))
			f->proto_errors++;
		vq->size = (uint16_t)v;
		return;
	case 26: vq->msix = vector_map(f, v); return;
	case 28:
		if (v != 1) /* §4.1.4.3.2: the driver MUST NOT write 0 */
			f->proto_errors++;
		else
			queue_enable(f, vq);
		return;
	case 30: f->proto_errors++; return; /* read-only */
	default:
		if (off >= 32 && off < COMMON_LEN)
			*vq_addr_half(vq, off) = v;
		else
			f->proto_errors++;
	}
}

/*
 * Device side of the split rings.
 */
static volatile uint16_t *avail_field(struct fake_virtio *f, unsigned q, unsigned i)
{
	struct fake_vq *vq = &f->vq[q];
	volatile uint16_t *a = test_dma_ptr(vq->driver, 6 + 2 * (size_t)vq->size);

	if (!a)
		f->dma_faults++;
	return a ? a + i : NULL;
}

unsigned fake_virtio_avail(struct fake_virtio *f, unsigned q)
{
	volatile uint16_t *idx = f->vq[q].enable ? avail_field(f, q, 1) : NULL;

	if (!idx || !(f->status & ST_DRIVER_OK))
		return 0;
	return (uint16_t)(*idx - f->vq[q].last_avail);
}

/* Take the next available head: its descriptor, copied. */
static uint16_t avail_pop(struct fake_virtio *f, unsigned q, struct fdesc *d)
{
	struct fake_vq *vq = &f->vq[q];
	uint16_t head;
	struct fdesc *table = test_dma_ptr(vq->desc, 16 * (size_t)vq->size);

	/* avail->idx was read before the ring entry (§2.6.6). */
	zdk_rmb();
	head = *avail_field(f, q, 2 + (vq->last_avail++ & (vq->size - 1)));
	if (head >= vq->size || !table) {
		f->proto_errors++;
		memset(d, 0, sizeof(*d));
		return 0;
	}
	*d = table[head];
	return head;
}

bool fake_virtio_no_interrupt(struct fake_virtio *f, unsigned q)
{
	volatile uint16_t *flags = f->vq[q].enable ? avail_field(f, q, 0) : NULL;

	return !flags || (*flags & 1);
}

/*
 * A used buffer notification after a used->idx store (§2.6.7.2 without
 * VIRTIO_F_EVENT_IDX): unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT,
 * on the queue's MSI-X vector (§4.1.5.1.2: none without one).
 */
static void used_notify(struct fake_virtio *f, unsigned q)
{
	struct fake_vq *vq = &f->vq[q];
	uint64_t one = 1;

	/* The used->idx store before the flags load: the driver does the reverse. */
	zdk_mb();
	if (!(f->status & ST_DRIVER_OK) || fake_virtio_no_interrupt(f, q) ||
	    vq->msix == FAKE_NO_VECTOR)
		return;
	if (vq->msix >= f->nr_vectors) {
		f->irq_unrouted++;
		return;
	}
	vq->interrupts++;
	if (write(f->irq_efd[vq->msix], &one, sizeof(one)) != sizeof(one))
		f->proto_errors++;
}

static void used_push(struct fake_virtio *f, unsigned q, uint16_t id, uint32_t len)
{
	struct fake_vq *vq = &f->vq[q];
	volatile uint8_t *used = test_dma_ptr(vq->device, 6 + 8 * (size_t)vq->size);
	volatile uint32_t *e;

	if (!used) {
		f->dma_faults++;
		return;
	}
	e = (volatile uint32_t *)(used + 4 + 8 * (vq->used_idx & (vq->size - 1)));
	e[0] = id;
	e[1] = len;
	/* The entry before the idx that publishes it (§2.6.8). */
	zdk_wmb();
	*(volatile uint16_t *)(used + 2) = ++vq->used_idx;
	used_notify(f, q);
}

void fake_virtio_set_no_notify(struct fake_virtio *f, unsigned q, bool on)
{
	volatile uint16_t *flags = test_dma_ptr(f->vq[q].device, 2);

	if (flags)
		*flags = on ? 1 : 0;
	else
		f->dma_faults++;
}

int fake_virtio_hold(struct fake_virtio *f, unsigned q)
{
	struct fake_vq *vq = &f->vq[q];
	struct fdesc d;

	if (!fake_virtio_avail(f, q) || vq->nheld >= vq->max_size)
		return -1;
	vq->held[vq->nheld++] = avail_pop(f, q, &d);
	return 0;
}

/* Take held buffer @k off the list: the head it had. */
static uint16_t unhold(struct fake_vq *vq, unsigned k)
{
	uint16_t head = vq->held[k];

	memmove(&vq->held[k], &vq->held[k + 1], (vq->nheld - k - 1) * sizeof(*vq->held));
	vq->nheld--;
	return head;
}

/*
 * Gather the device-readable chain at @head into @buf (§2.6.5.1: any
 * framing); its length, or -1 for a chain that loops, leaves the ring or
 * DMA memory, has a device-writable part, or overflows @cap.
 */
static long chain_read(struct fake_virtio *f, unsigned q, uint16_t head, uint8_t *buf, size_t cap)
{
	struct fake_vq *vq = &f->vq[q];
	struct fdesc *t = test_dma_ptr(vq->desc, 16 * (size_t)vq->size);
	size_t len = 0;
	uint16_t id = head;

	for (unsigned n = 0; t && id < vq->size && n < vq->size; n++) {
		struct fdesc d = t[id];
		const uint8_t *p = test_dma_ptr(d.addr, d.len);

		if (!p)
			f->dma_faults++;
		if (!p || (d.flags & FDESC_WRITE) || len + d.len > cap)
			return -1;
		memcpy(buf + len, p, d.len);
		len += d.len;
		if (!(d.flags & FDESC_NEXT))
			return (long)len;
		id = d.next;
	}
	return -1;
}

int fake_virtio_tx_complete(struct fake_virtio *f, unsigned k, void *buf, size_t cap)
{
	static const uint8_t zero[FAKE_HDR_LEN];
	static uint8_t pkt[FAKE_HDR_LEN + 65536];
	struct fake_vq *vq = &f->vq[FAKE_TXQ];
	uint16_t head;
	long len;

	if (k >= vq->nheld)
		return -1;
	head = unhold(vq, k);
	len = chain_read(f, FAKE_TXQ, head, pkt, sizeof(pkt));
	/* §5.1.6.2: a header with no offloads, then a frame. */
	if (len <= FAKE_HDR_LEN || memcmp(pkt, zero, FAKE_HDR_LEN) ||
	    (size_t)len - FAKE_HDR_LEN > cap) {
		f->proto_errors++;
		used_push(f, FAKE_TXQ, head, 0);
		return -1;
	}
	memcpy(buf, pkt + FAKE_HDR_LEN, (size_t)len - FAKE_HDR_LEN);
	used_push(f, FAKE_TXQ, head, 0);
	return (int)(len - FAKE_HDR_LEN);
}

int fake_virtio_tx_pop(struct fake_virtio *f, void *buf, size_t cap)
{
	int len;

	if (fake_virtio_hold(f, FAKE_TXQ))
		return -1;
	len = fake_virtio_tx_complete(f, f->vq[FAKE_TXQ].nheld - 1, buf, cap);
	return len < 0 ? 0 : len;
}

int fake_virtio_rx_complete(struct fake_virtio *f, unsigned k, const void *frame, size_t len)
{
	struct fake_vq *vq = &f->vq[FAKE_RXQ];
	struct fdesc *t = test_dma_ptr(vq->desc, 16 * (size_t)vq->size);
	struct fdesc d = { 0 };
	uint16_t id;
	uint8_t *p;

	if (k >= vq->nheld)
		return -1;
	id = unhold(vq, k);
	if (t && id < vq->size)
		d = t[id];
	p = test_dma_ptr(d.addr, d.len);
	if (!p)
		f->dma_faults++;
	if (!(d.flags & FDESC_WRITE) || (d.flags & FDESC_NEXT) || d.len < FAKE_HDR_LEN + len) {
		f->proto_errors++;
		p = NULL;
	}
	if (p) {
		/* §5.1.6.4: header with num_buffers = 1, then the frame. */
		memset(p, 0, FAKE_HDR_LEN);
		p[10] = 1;
		memcpy(p + FAKE_HDR_LEN, frame, len);
	}
	used_push(f, FAKE_RXQ, id, p ? (uint32_t)(FAKE_HDR_LEN + len) : 0);
	return 0;
}

int fake_virtio_rx_push(struct fake_virtio *f, const void *frame, size_t len)
{
	if (fake_virtio_hold(f, FAKE_RXQ))
		return -1;
	return fake_virtio_rx_complete(f, f->vq[FAKE_RXQ].nheld - 1, frame, len);
}

void fake_virtio_used_put(struct fake_virtio *f, unsigned q, uint32_t id, uint32_t len)
{
	struct fake_vq *vq = &f->vq[q];
	volatile uint8_t *used = test_dma_ptr(vq->device, 6 + 8 * (size_t)vq->size);
	volatile uint32_t *e;

	if (!used) {
		f->dma_faults++;
		return;
	}
	/* Like used_push(), with all 32 bits of id the device's to choose. */
	e = (volatile uint32_t *)(used + 4 + 8 * (vq->used_idx & (vq->size - 1)));
	e[0] = id;
	e[1] = len;
	zdk_wmb();
	*(volatile uint16_t *)(used + 2) = ++vq->used_idx;
	used_notify(f, q);
}

void fake_virtio_used_idx_set(struct fake_virtio *f, unsigned q, uint16_t idx)
{
	volatile uint8_t *used = test_dma_ptr(f->vq[q].device, 6 + 8 * (size_t)f->vq[q].size);

	if (!used) {
		f->dma_faults++;
		return;
	}
	f->vq[q].used_idx = idx;
	*(volatile uint16_t *)(used + 2) = idx;
}

int fake_virtio_rx_push_len(struct fake_virtio *f, uint32_t len)
{
	struct fdesc d;

	if (!fake_virtio_avail(f, FAKE_RXQ))
		return -1;
	used_push(f, FAKE_RXQ, avail_pop(f, FAKE_RXQ, &d), len);
	return 0;
}

unsigned fake_virtio_wire(struct fake_virtio *from, struct fake_virtio *to, unsigned max)
{
	static uint8_t frame[65536];
	unsigned n = 0;
	int len;

	while (n < max && fake_virtio_avail(to, FAKE_RXQ) &&
	       (len = fake_virtio_tx_pop(from, frame, sizeof(frame))) >= 0) {
		fake_virtio_rx_push(to, frame, (size_t)len);
		n++;
	}
	return n;
}

/* The control queue (§5.1.6.5): header, one data byte, ack; run at once. */
static void ctrl_process(struct fake_virtio *f, unsigned keep)
{
	while (fake_virtio_avail(f, FAKE_CTRLQ) > keep) {
		struct fake_vq *vq = &f->vq[FAKE_CTRLQ];
		struct fdesc *t = test_dma_ptr(vq->desc, 16 * (size_t)vq->size);
		struct fdesc d0, d1, d2;
		uint8_t *hdr, *data, *ack;
		uint16_t id = avail_pop(f, FAKE_CTRLQ, &d0);

		if (!t || !(d0.flags & FDESC_NEXT) || d0.next >= vq->size)
			goto bad;
		d1 = t[d0.next];
		if (!(d1.flags & FDESC_NEXT) || d1.next >= vq->size)
			goto bad;
		d2 = t[d1.next];
		hdr = test_dma_ptr(d0.addr, 2);
		data = test_dma_ptr(d1.addr, 1);
		ack = test_dma_ptr(d2.addr, 1);
		if (!hdr || !data || !ack || !(d2.flags & FDESC_WRITE) ||
		    (d0.flags & FDESC_WRITE) || (d1.flags & FDESC_WRITE))
			goto bad;
		f->ctrl_cmds++;
		if (hdr[0] == 0 && hdr[1] == 0 && !f->reject_ctrl) { /* VIRTIO_NET_CTRL_RX_PROMISC */
			f->promisc = data[0];
			*ack = 0;
		} else {
			*ack = 1;
		}
		used_push(f, FAKE_CTRLQ, id, 1);
		continue;
bad:
		f->proto_errors++;
		used_push(f, FAKE_CTRLQ, id, 0);
	}
}

static void notify_write(struct fake_virtio *f, unsigned off, uint32_t v, unsigned size)
{
	unsigned q = off / NOTIFY_MULT;

	/* §4.1.5.2: a 16-bit write of the queue index at its own address. */
	if (size != 2 || off % NOTIFY_MULT || q >= FAKE_NQ || v != q || !f->vq[q].enable) {
		f->proto_errors++;
		return;
	}
	if (!(f->status & ST_DRIVER_OK))
		f->early_notifies++;
	f->vq[q].notifies++;
	if (q == FAKE_CTRLQ)
		ctrl_process(f, f->ctrl_hold);
}

void fake_virtio_ctrl_answer(struct fake_virtio *f)
{
	ctrl_process(f, 0);
}

/*
 * MMIO dispatch: find the fake whose BAR holds @addr.
 */
static struct fake_virtio *fake_at(const volatile void *addr, unsigned *off)
{
	for (unsigned i = 0; i < MAX_FAKES; i++) {
		struct fake_virtio *f = fakes[i];

		if (f && (uintptr_t)addr >= (uintptr_t)f->bar &&
		    (uintptr_t)addr < (uintptr_t)f->bar + f->bar_len) {
			*off = (unsigned)((uintptr_t)addr - (uintptr_t)f->bar);
			return f;
		}
	}
	abort(); /* the driver touched MMIO outside every BAR: a test bug */
}

uint32_t fake_mmio_read(const volatile void *addr, unsigned size)
{
	unsigned off;
	struct fake_virtio *f = fake_at(addr, &off);
	uint32_t v = 0;

	if (off < COMMON_LEN) {
		if (size != field_width(off))
			f->proto_errors++;
		return common_read(f, off);
	}
	if (off >= DEVCFG_OFF && off + size <= DEVCFG_OFF + DEVCFG_LEN) {
		f->cfg_reads++;
		if (f->bump_generation) {
			f->bump_generation = false;
			f->generation++;
		}
		memcpy(&v, (const void *)(f->bar + off), size);
		return v;
	}
	if (off == ISR_OFF && size == 1)
		return 0;
	f->proto_errors++;
	return 0;
}

void fake_mmio_write(volatile void *addr, uint32_t v, unsigned size)
{
	unsigned off;
	struct fake_virtio *f = fake_at(addr, &off);

	if (off < COMMON_LEN) {
		if (size != field_width(off))
			f->proto_errors++;
		common_write(f, off, v);
	} else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_LEN) {
		notify_write(f, off - NOTIFY_OFF, v, size);
	} else {
		f->proto_errors++;
	}
}
