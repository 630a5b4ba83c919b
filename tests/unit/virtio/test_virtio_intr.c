/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_virtio_intr.c - receive interrupts of drivers/net/virtio on the fake
 * device: the MSI-X vectors named before DRIVER_OK and read back, MSI-X
 * turned on at the first zdk_eth_rx_intr_fd(), VIRTQ_AVAIL_F_NO_INTERRUPT
 * cleared only while an rx queue is armed, the look at the used ring that
 * enable makes (0 / -EAGAIN), no interrupt while polling, teardown, tables
 * too small and vectors refused; then random interleavings of rx bursts,
 * tx, enable/disable, device adds and stop/start, with the invariants
 * checked after every step (seeded: zdk_prop.h).
 */
#include <CUnit/Basic.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "fake_virtio.h"
#include "test_env.h"
#include "zdk_prop.h"
#include "virtio_seam.h"

#define NB_MBUFS 1024
#define FRAME_LEN 64

struct port {
	struct fake_virtio *f;
	uint16_t id;
	struct zdk_mempool *mp;
};

/* A fake with an MSI-X table of @table entries, probed, one queue pair, started. */
static void port_up(struct port *p, uint16_t table, uint16_t nb_desc)
{
	struct vnet_dev *vd;

	p->f = fake_virtio_create(FAKE_F_DEFAULT, 256);
	p->f->msix_table = table;
	CU_ASSERT_FATAL(test_pci_driver->probe(&p->f->pdev) == 0);
	vd = p->f->pdev.driver_data;
	p->id = vd->eth->port_id;
	CU_ASSERT_FATAL(zdk_mbuf_pool_create("intr", NB_MBUFS, 0, ZDK_MBUF_DEFAULT_BUF_SIZE,
					     ZDK_SOCKET_ANY, &p->mp) == 0);
	CU_ASSERT_FATAL(zdk_eth_dev_configure(p->id, 1, 1, NULL) == 0);
	CU_ASSERT_FATAL(zdk_eth_rx_queue_setup(p->id, 0, nb_desc, ZDK_SOCKET_ANY, p->mp) == 0);
	CU_ASSERT_FATAL(zdk_eth_tx_queue_setup(p->id, 0, nb_desc, ZDK_SOCKET_ANY) == 0);
	CU_ASSERT_FATAL(zdk_eth_dev_start(p->id) == 0);
}

/* Close and remove: MSI-X off, every vector back to none, nothing leaked. */
static void port_down(struct port *p)
{
	CU_ASSERT(p->f->proto_errors == 0 && p->f->dma_faults == 0);
	CU_ASSERT(p->f->irq_unrouted == 0);
	CU_ASSERT(zdk_eth_dev_close(p->id) == 0);
	CU_ASSERT(p->f->nr_vectors == 0);
	CU_ASSERT(p->f->msix_config == FAKE_NO_VECTOR);
	for (unsigned q = 0; q < FAKE_NQ; q++)
		CU_ASSERT(p->f->vq[q].msix == FAKE_NO_VECTOR);
	CU_ASSERT(zdk_mempool_avail_count(p->mp) == NB_MBUFS);
	test_pci_driver->remove(&p->f->pdev);
	zdk_mbuf_pool_destroy(p->mp);
	fake_virtio_destroy(p->f);
	CU_ASSERT(test_dma_live() == 0);
}

static bool fd_ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void frame_fill(uint8_t *b, uint32_t seq)
{
	memset(b, 0xff, 6);
	memset(b + 6, 0x52, 6);
	b[12] = 0x88, b[13] = 0xb5;
	memcpy(b + 14, &seq, 4);
	for (unsigned i = 18; i < FRAME_LEN; i++)
		b[i] = (uint8_t)(seq * 13 + i);
}

/* The device receives frame @seq from the wire; false if no buffer is posted. */
static bool dev_push(struct port *p, uint32_t seq)
{
	uint8_t b[FRAME_LEN];

	frame_fill(b, seq);
	return fake_virtio_rx_push(p->f, b, sizeof(b)) == 0;
}

/* rx_burst up to @n; each frame must be the next of *@seq, intact. */
static uint16_t rx_check(struct port *p, uint16_t n, uint32_t *seq, bool *ok)
{
	struct zdk_mbuf *pkts[64];
	uint8_t want[FRAME_LEN];
	uint16_t r = zdk_eth_rx_burst(p->id, 0, pkts, ZDK_MIN(n, 64));

	for (uint16_t i = 0; i < r; i++) {
		frame_fill(want, (*seq)++);
		*ok &= pkts[i]->pkt_len == FRAME_LEN &&
		       memcmp(zdk_mbuf_mtod(pkts[i], const uint8_t *), want, FRAME_LEN) == 0;
	}
	zdk_mbuf_free_bulk(pkts, r);
	return r;
}

/* Vectors named before DRIVER_OK; MSI-X off and no interrupt while polled. */
static void test_vectors_at_start(void)
{
	struct port p;
	uint32_t seq = 0;
	bool ok = true;

	port_up(&p, 3, 64);
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == 1);
	CU_ASSERT(p.f->vq[FAKE_TXQ].msix == FAKE_NO_VECTOR);
	CU_ASSERT(p.f->vq[FAKE_CTRLQ].msix == FAKE_NO_VECTOR);
	CU_ASSERT(p.f->msix_config == FAKE_NO_VECTOR);
	CU_ASSERT(p.f->nr_vectors == 0 && p.f->irq_enables == 0);
	for (unsigned q = 0; q < FAKE_NQ; q++)
		CU_ASSERT(fake_virtio_no_interrupt(p.f, q));
	for (uint32_t i = 0; i < 40; i++)
		CU_ASSERT(dev_push(&p, i));
	CU_ASSERT(rx_check(&p, 64, &seq, &ok) == 40 && ok);
	CU_ASSERT(p.f->vq[FAKE_RXQ].interrupts == 0 && p.f->irq_unrouted == 0);
	port_down(&p);
}

/* enable: 0 when empty, -EAGAIN when a used entry waits; signals only while armed. */
static void test_enable_disable(void)
{
	struct port p;
	uint32_t seq = 0;
	bool ok = true;
	int fd;

	port_up(&p, 3, 64);
	fd = zdk_eth_rx_intr_fd(p.id, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(p.f->nr_vectors == 2 && p.f->irq_enables == 1);
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) == fd && p.f->irq_enables == 1); /* set up once */
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 1) == -EINVAL);
	/* MSI-X on, still polled: no interrupt. */
	CU_ASSERT(dev_push(&p, 0));
	CU_ASSERT(p.f->vq[FAKE_RXQ].interrupts == 0 && !fd_ready(fd));
	/* A frame is there: poll instead of sleeping. The interrupt stays armed. */
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == -EAGAIN);
	CU_ASSERT(!fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	CU_ASSERT(zdk_eth_rx_intr_disable(p.id, 0) == 0);
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	CU_ASSERT(rx_check(&p, 64, &seq, &ok) == 1);
	/* Empty: sleep; the next frame signals vector 1, once. */
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	CU_ASSERT(!fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_TXQ));
	CU_ASSERT(!fd_ready(fd));
	CU_ASSERT(dev_push(&p, 1));
	CU_ASSERT(p.f->vq[FAKE_RXQ].interrupts == 1 && fd_ready(fd));
	CU_ASSERT(zdk_eth_rx_intr_disable(p.id, 0) == 0);
	/* Disabled: frames raise nothing more. */
	CU_ASSERT(dev_push(&p, 2) && dev_push(&p, 3));
	CU_ASSERT(p.f->vq[FAKE_RXQ].interrupts == 1);
	CU_ASSERT(rx_check(&p, 64, &seq, &ok) == 3 && ok);
	/* The stale signal is drained by the next enable. */
	CU_ASSERT(fd_ready(fd));
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	CU_ASSERT(!fd_ready(fd));
	CU_ASSERT(zdk_eth_rx_intr_disable(p.id, 0) == 0);
	/* Polling traffic in bulk: none. */
	for (uint32_t i = 4; i < 200; i++) {
		CU_ASSERT(dev_push(&p, i));
		if (i % 16 == 0)
			rx_check(&p, 64, &seq, &ok);
	}
	while (rx_check(&p, 64, &seq, &ok))
		;
	CU_ASSERT(seq == 200 && ok);
	CU_ASSERT(p.f->vq[FAKE_RXQ].interrupts == 1);
	CU_ASSERT(p.f->vq[FAKE_TXQ].interrupts == 0 && p.f->irq_unrouted == 0);
	port_down(&p);
}

/* A reset (stop) drops the vectors; start names them again; close tears down. */
static void test_stop_start_teardown(void)
{
	struct port p;
	uint32_t seq = 0;
	bool ok = true;
	int fd;

	port_up(&p, 4, 64);
	fd = zdk_eth_rx_intr_fd(p.id, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	CU_ASSERT(zdk_eth_dev_stop(p.id) == 0);
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == FAKE_NO_VECTOR);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == -EINVAL); /* stopped */
	CU_ASSERT(zdk_eth_dev_start(p.id) == 0);
	/* Polled again after a start; MSI-X stayed on and the fd is the same. */
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == 1 && p.f->nr_vectors == 2);
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) == fd && p.f->irq_enables == 1);
	CU_ASSERT(dev_push(&p, 0) && p.f->vq[FAKE_RXQ].interrupts == 0);
	CU_ASSERT(rx_check(&p, 64, &seq, &ok) == 1 && ok);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	CU_ASSERT(dev_push(&p, 1) && p.f->vq[FAKE_RXQ].interrupts == 1 && fd_ready(fd));
	CU_ASSERT(rx_check(&p, 64, &seq, &ok) == 1 && ok);
	/* Reconfiguring tears MSI-X down; the next fd sets it up again. */
	CU_ASSERT(zdk_eth_dev_stop(p.id) == 0);
	CU_ASSERT(zdk_eth_dev_configure(p.id, 1, 1, NULL) == 0);
	CU_ASSERT(p.f->nr_vectors == 0);
	CU_ASSERT(zdk_eth_rx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY, p.mp) == 0);
	CU_ASSERT(zdk_eth_tx_queue_setup(p.id, 0, 64, ZDK_SOCKET_ANY) == 0);
	CU_ASSERT(zdk_eth_dev_start(p.id) == 0);
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) >= 0 && p.f->irq_enables == 2);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	/* Close with the queue armed: MSI-X off, vectors none (port_down checks). */
	port_down(&p);
}

/* Closing a started port whose device is still live writes the vectors back. */
static void test_teardown_live(void)
{
	struct port p;
	struct vnet_dev *vd;

	port_up(&p, 3, 64);
	vd = p.f->pdev.driver_data;
	CU_ASSERT_FATAL(zdk_eth_rx_intr_fd(p.id, 0) >= 0);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == 0);
	/* The driver's teardown alone, device running: what close does past the reset. */
	vnet_intr_teardown(vd);
	CU_ASSERT(p.f->nr_vectors == 0);
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == FAKE_NO_VECTOR && p.f->msix_config == FAKE_NO_VECTOR);
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	CU_ASSERT(dev_push(&p, 0) && p.f->vq[FAKE_RXQ].interrupts == 0);
	port_down(&p);
}

/* Tables too small, none at all, a vector the device refuses: refused cleanly. */
static void test_table_too_small(void)
{
	struct port p;
	uint32_t seq = 0;
	bool ok = true;

	port_up(&p, 1, 64); /* room for config's vector only */
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == FAKE_NO_VECTOR); /* not even named */
	test_errs = 0;
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) == -ENOSPC);
	CU_ASSERT(test_errs == 1 && strstr(test_last_err, "MSI-X vectors") != NULL &&
		  strstr(test_last_err, "vectors=2") != NULL);
	CU_ASSERT(zdk_eth_rx_intr_enable(p.id, 0) == -ENOSPC);
	CU_ASSERT(p.f->nr_vectors == 0 && p.f->irq_enables == 0);
	CU_ASSERT(fake_virtio_no_interrupt(p.f, FAKE_RXQ));
	/* The port still polls. */
	CU_ASSERT(dev_push(&p, 0) && rx_check(&p, 8, &seq, &ok) == 1 && ok);
	port_down(&p);

	port_up(&p, 0, 64);
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) == -ENOTSUP);
	CU_ASSERT(strstr(test_last_err, "no MSI-X") != NULL);
	port_down(&p);

	/* The table shrank after probe: the device reads back NO_VECTOR at start. */
	port_up(&p, 3, 64);
	CU_ASSERT(zdk_eth_dev_stop(p.id) == 0);
	p.f->msix_table = 1;
	CU_ASSERT(zdk_eth_dev_start(p.id) == 0);
	CU_ASSERT(p.f->vq[FAKE_RXQ].msix == FAKE_NO_VECTOR);
	CU_ASSERT(zdk_eth_rx_intr_fd(p.id, 0) == -ENOSPC);
	CU_ASSERT(strstr(test_last_err, "refused") != NULL);
	CU_ASSERT(p.f->nr_vectors == 0);
	port_down(&p);
}

/*
 * Random interleavings. The model: armed (enable called, no disable or
 * restart since), the frames the device added and the driver took. After
 * every step: the rx queue asks for interrupts exactly while armed, tx and
 * control never; every frame added while armed was signalled, and no
 * other; enable answered -EAGAIN exactly when a frame was waiting; frames
 * arrive once, in order, intact; no interrupt went unrouted.
 */
struct model {
	struct port p;
	int fd;
	bool armed;
	uint32_t pushed, taken;   /* frame sequence numbers */
	unsigned irqs;            /* interrupts expected on the rx queue */
	bool ok;
};

static void step(struct zdk_prop *p, struct model *m)
{
	struct fake_virtio *f = m->p.f;
	unsigned op = (unsigned)zdk_prop_pick(p, 0, 9);

	if (op <= 2) { /* the device adds frames */
		unsigned n = (unsigned)zdk_prop_pick(p, 1, 40);

		for (unsigned i = 0; i < n && dev_push(&m->p, m->pushed); i++) {
			m->pushed++;
			m->irqs += m->armed;
		}
	} else if (op <= 4) { /* a burst */
		rx_check(&m->p, (uint16_t)zdk_prop_pick(p, 1, 64), &m->taken, &m->ok);
	} else if (op <= 6) { /* the poller goes to sleep */
		int rc = zdk_eth_rx_intr_enable(m->p.id, 0);

		m->ok &= rc == (m->pushed != m->taken ? -EAGAIN : 0) && !fd_ready(m->fd);
		m->armed = true;
	} else if (op == 7) { /* it wakes */
		m->ok &= zdk_eth_rx_intr_disable(m->p.id, 0) == 0;
		m->armed = false;
	} else if (op == 8) { /* some tx, taken by the device at once */
		struct zdk_mbuf *pkts[8];
		uint8_t buf[2048];
		uint16_t n = (uint16_t)zdk_prop_pick(p, 1, 8), sent;

		for (uint16_t i = 0; i < n; i++) {
			uint8_t *b;

			pkts[i] = zdk_mbuf_alloc(m->p.mp);
			ZDK_PROP_CHECK(p, pkts[i] != NULL);
			b = zdk_mbuf_append(pkts[i], FRAME_LEN);
			if (b)
				frame_fill(b, 0);
			m->ok &= b != NULL;
		}
		sent = zdk_eth_tx_burst(m->p.id, 0, pkts, n);
		zdk_mbuf_free_bulk(pkts + sent, (unsigned)(n - sent));
		while (fake_virtio_tx_pop(f, buf, sizeof(buf)) >= 0)
			;
	} else if (zdk_prop_chance(p, 1, 4)) { /* stop, start: the reset drops what waits */
		m->ok &= zdk_eth_dev_stop(m->p.id) == 0 && zdk_eth_dev_start(m->p.id) == 0;
		m->taken = m->pushed;
		m->armed = false;
		m->irqs = 0; /* the fake's counters went with the reset */
		m->ok &= zdk_eth_rx_intr_fd(m->p.id, 0) == m->fd;
	}
	ZDK_PROP_CHECK(p, m->ok);
	ZDK_PROP_CHECK(p, fake_virtio_no_interrupt(f, FAKE_RXQ) == !m->armed);
	ZDK_PROP_CHECK(p, fake_virtio_no_interrupt(f, FAKE_TXQ));
	ZDK_PROP_CHECK(p, fake_virtio_no_interrupt(f, FAKE_CTRLQ));
	ZDK_PROP_CHECK(p, f->vq[FAKE_RXQ].interrupts == m->irqs);
	ZDK_PROP_CHECK(p, f->vq[FAKE_TXQ].interrupts == 0 && f->vq[FAKE_CTRLQ].interrupts == 0);
	ZDK_PROP_CHECK(p, f->irq_unrouted == 0 && f->proto_errors == 0 && f->dma_faults == 0);
	ZDK_PROP_CHECK(p, f->vq[FAKE_RXQ].msix == 1 && f->nr_vectors == 2);
}

static void test_interleavings(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "virtio-intr-interleavings");
	for (unsigned c = 0; c < zdk_prop_cases(24); c++) {
		struct model m = { .ok = true };
		uint16_t nb_desc = (uint16_t)(32u << zdk_prop_pick(&p, 0, 3));

		port_up(&m.p, (uint16_t)zdk_prop_pick(&p, 2, FAKE_MAX_VECTORS), nb_desc);
		m.fd = zdk_eth_rx_intr_fd(m.p.id, 0);
		ZDK_PROP_CHECK(&p, m.fd >= 0);
		p.step = c;
		for (unsigned s = 0; s < 300; s++)
			step(&p, &m);
		while (rx_check(&m.p, 64, &m.taken, &m.ok))
			;
		ZDK_PROP_CHECK(&p, m.ok && m.taken == m.pushed);
		port_down(&m.p);
	}
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "vectors at start, polled", test_vectors_at_start },
		{ "enable, disable, -EAGAIN", test_enable_disable },
		{ "stop, start, reconfigure, close", test_stop_start_teardown },
		{ "teardown of a live device", test_teardown_live },
		{ "MSI-X table too small or absent", test_table_too_small },
		{ "random interleavings", test_interleavings },
	};
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("virtio-intr", NULL, NULL);
	for (size_t i = 0; i < ZDK_ARRAY_SIZE(tests); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
