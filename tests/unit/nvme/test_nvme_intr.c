/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_nvme_intr.c - interrupt-mode qpairs (ZDK_NVME_QPAIR_F_INTR) over the
 * fake controller, whose CQs created with IEN write their MSI-X vector's
 * eventfd (real eventfds) when it posts: vectors, Create I/O CQ fields,
 * arming (drain, CQ head acknowledgment, the look after arming), resets,
 * failures, and a property: whatever the interleaving, a completion posted
 * after an arming that said "sleep" is signalled (no lost wake-up), under a
 * controller that signals every entry (QEMU) and one that signals only when
 * the host acknowledged every entry before (edge).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../zdk_prop.h"
#include "../zdk_test.h"
#include "test_env.h"
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"

extern int test_msix_vectors;
extern int test_irq_enables;

static struct fake_nvme fake;
static struct zdk_nvme_ctrlr *ctrlr;
static void *buf;

static void attach(int vectors)
{
	fake_nvme_init(&fake);
	test_fake = &fake;
	test_msix_vectors = vectors;
	test_irq_enables = 0;
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_attach("0000:01:00.0", &ctrlr) == 0);
	buf = zdk_dma_zalloc(4096, 4096, ZDK_SOCKET_ANY, NULL);
	CU_ASSERT_FATAL(buf != NULL);
}

static void detach(void)
{
	zdk_dma_free(buf);
	zdk_nvme_ctrlr_detach(ctrlr);
	ctrlr = NULL;
	CU_ASSERT(fake.nr_vectors == 0); /* the vectors went with the controller */
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
	test_msix_vectors = 8;
}

static int alloc(uint64_t flags, struct zdk_nvme_qpair **qp)
{
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o), .entries = 256, .flags = flags };

	return zdk_nvme_qpair_alloc(ctrlr, &o, qp);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static unsigned ndone;

static void done_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	(void)arg;
	CU_ASSERT(!ZDK_NVME_CPL_IS_ERROR(cpl));
	ndone++;
}

static void any_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	(void)arg;
	(void)cpl;
	ndone++;
}

static void read_cb(struct zdk_nvme_qpair *qp, uint64_t lba, zdk_nvme_cb cb)
{
	const struct zdk_nvme_ns *ns = zdk_nvme_ns_get(ctrlr, 2);

	CU_ASSERT_FATAL(zdk_nvme_ns_read(ns, qp, buf, lba, 1, cb, NULL) == 0);
}

static void read1(struct zdk_nvme_qpair *qp, uint64_t lba)
{
	read_cb(qp, lba, done_cb);
}

static void test_vectors_and_create(void)
{
	struct zdk_nvme_qpair *polled, *a, *b, *c;
	struct zdk_nvme_qpair_opts old = { .size = 24, .flags = ZDK_NVME_QPAIR_F_INTR };

	attach(3); /* vector 0 (admin) and two for I/O queues */
	CU_ASSERT(alloc(1u << 5, &a) == -EINVAL);
	CU_ASSERT_FATAL(alloc(0, &polled) == 0);
	CU_ASSERT(test_irq_enables == 0); /* no vector for polled qpairs */
	CU_ASSERT(zdk_nvme_qpair_intr_fd(polled) == -ENOTSUP);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(polled) == -ENOTSUP);
	zdk_nvme_qpair_intr_disable(polled);
	CU_ASSERT(!fake.cq[1].ien);
	/* A caller built before the flags existed (24 bytes) gets a polled
	 * qpair, whatever lies past its struct. */
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &old, &a) == 0);
	CU_ASSERT(zdk_nvme_qpair_intr_fd(a) == -ENOTSUP);
	zdk_nvme_qpair_free(a);
	CU_ASSERT_FATAL(alloc(ZDK_NVME_QPAIR_F_INTR, &a) == 0);
	CU_ASSERT(test_irq_enables == 1 && fake.nr_vectors == 3);
	CU_ASSERT(nvme_qpair(a)->qid == 2);
	CU_ASSERT(fake.cq[2].ien && fake.cq[2].iv == 2);
	CU_ASSERT(zdk_nvme_qpair_intr_fd(a) == fake.irq_efd[2]);
	/* qid 3 has no vector of its own: refused, not shared */
	CU_ASSERT(alloc(ZDK_NVME_QPAIR_F_INTR, &b) == -ENOSPC);
	CU_ASSERT(!fake.cq[3].valid);
	zdk_nvme_qpair_free(polled);
	CU_ASSERT_FATAL(alloc(ZDK_NVME_QPAIR_F_INTR, &b) == 0);
	CU_ASSERT(nvme_qpair(b)->qid == 1 && fake.cq[1].ien && fake.cq[1].iv == 1);
	CU_ASSERT(test_irq_enables == 1); /* MSI-X is enabled once */
	CU_ASSERT(zdk_nvme_qpair_intr_fd(a) != zdk_nvme_qpair_intr_fd(b));
	CU_ASSERT_FATAL(alloc(0, &c) == 0); /* polled ones need no vector */
	zdk_nvme_qpair_free(a);
	zdk_nvme_qpair_free(b);
	zdk_nvme_qpair_free(c);
	detach();

	/* No MSI-X at all, or only vector 0: polled only, said so. */
	attach(0);
	CU_ASSERT(alloc(ZDK_NVME_QPAIR_F_INTR, &a) == -ENOTSUP);
	CU_ASSERT_FATAL(alloc(0, &a) == 0);
	zdk_nvme_qpair_free(a);
	detach();
	attach(1);
	CU_ASSERT(alloc(ZDK_NVME_QPAIR_F_INTR, &a) == -ENOTSUP);
	detach();
}

/* A controller without its PCI function (brought up on a bare BAR). */
static void test_no_pci(void)
{
	struct zdk_nvme_ctrlr *c;
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o), .flags = ZDK_NVME_QPAIR_F_INTR };
	struct zdk_nvme_qpair *qp;

	fake_nvme_init(&fake);
	test_fake = &fake;
	CU_ASSERT_FATAL(nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "bare", &c) == 0);
	CU_ASSERT(zdk_nvme_qpair_alloc(c, &o, &qp) == -ENOTSUP);
	nvme_ctrlr_destroy(c);
	fake_nvme_fini(&fake);
	CU_ASSERT(test_dma_live == 0);
}

static void test_arm_sleep_wake(void)
{
	struct zdk_nvme_qpair *qp;
	int fd;

	attach(8);
	CU_ASSERT_FATAL(alloc(ZDK_NVME_QPAIR_F_INTR, &qp) == 0);
	fd = zdk_nvme_qpair_intr_fd(qp);
	/* idle: armed, nothing signalled */
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	fake_nvme_run(&fake);
	CU_ASSERT(!readable(fd));
	/* a completion while asleep wakes the owner */
	ndone = 0;
	read1(qp, 0);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0); /* submitted, not completed yet */
	fake_nvme_run(&fake);
	CU_ASSERT(readable(fd));
	zdk_nvme_qpair_intr_disable(qp);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1 && ndone == 1);
	/* arming drains what was signalled for completions already polled */
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	CU_ASSERT(!readable(fd));
	/* a completion posted before the arming: arming says poll, not sleep */
	read1(qp, 1);
	fake_nvme_run(&fake);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == -EAGAIN);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1 && ndone == 2);
	/* while polling, completions signal the eventfd, unread: no system call */
	for (int i = 0; i < 20; i++) {
		read1(qp, (uint64_t)i);
		fake_nvme_run(&fake);
		CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1);
	}
	CU_ASSERT(readable(fd));
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0 && !readable(fd));
	zdk_nvme_qpair_free(qp);
	detach();
}

/*
 * A controller that signals only when the host acknowledged every entry
 * before the new one: arming must ring the CQ head doorbell that the poll
 * leaves lazy, or the owner sleeps through the next completion.
 */
static void test_arm_acknowledges(void)
{
	struct zdk_nvme_qpair *qp;
	int fd;

	attach(8);
	fake.irq_edge = true;
	CU_ASSERT_FATAL(alloc(ZDK_NVME_QPAIR_F_INTR, &qp) == 0);
	fd = zdk_nvme_qpair_intr_fd(qp);
	ndone = 0;
	read1(qp, 3);
	fake_nvme_run(&fake);
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1);
	CU_ASSERT(qp->cq_rung != qp->cq_head); /* the head doorbell is lazy */
	read1(qp, 4);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	CU_ASSERT(qp->cq_rung == qp->cq_head);
	fake_nvme_run(&fake);
	CU_ASSERT(readable(fd));
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1 && ndone == 2);
	zdk_nvme_qpair_free(qp);
	detach();
}

/* Batch mode: commands queued and not yet rung are sent before sleeping. */
static void test_arm_flushes_batch(void)
{
	struct zdk_nvme_qpair_opts o = { .size = sizeof(o), .batch = true,
					 .flags = ZDK_NVME_QPAIR_F_INTR };
	struct zdk_nvme_qpair *qp;

	attach(8);
	CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &o, &qp) == 0);
	ndone = 0;
	read1(qp, 5);
	CU_ASSERT(qp->sq_rung != qp->sq_tail);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	CU_ASSERT(qp->sq_rung == qp->sq_tail);
	fake_nvme_run(&fake);
	CU_ASSERT(readable(zdk_nvme_qpair_intr_fd(qp)));
	CU_ASSERT(zdk_nvme_qpair_poll(qp, 0) == 1 && ndone == 1);
	zdk_nvme_qpair_free(qp);
	detach();
}

/* A reset recreates the CQ with its vector; a long sleep runs the tick. */
static void test_reset_tick_failed(void)
{
	struct zdk_nvme_qpair *qp;
	int fd;

	attach(8);
	CU_ASSERT_FATAL(alloc(ZDK_NVME_QPAIR_F_INTR, &qp) == 0);
	fd = zdk_nvme_qpair_intr_fd(qp);
	ndone = 0;
	read1(qp, 6);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0); /* the owner sleeps... */
	CU_ASSERT_FATAL(zdk_nvme_ctrlr_reset(ctrlr) == 0); /* ...another thread resets */
	CU_ASSERT(!fake.cq[1].valid);
	/* the reset wakes the sleeper, whose arming now says poll: it reconnects */
	CU_ASSERT(readable(fd));
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == -EAGAIN);
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(fake.cq[1].valid && fake.cq[1].ien && fake.cq[1].iv == 1);
	CU_ASSERT(zdk_nvme_qpair_intr_fd(qp) == fd);
	for (int i = 0; i < 100 && !ndone; i++) {
		fake_nvme_run(&fake);
		zdk_nvme_qpair_poll(qp, 0);
	}
	CU_ASSERT(ndone == 1); /* resubmitted after the reset, completed */
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	read1(qp, 7);
	fake_nvme_run(&fake);
	CU_ASSERT(readable(fd));
	zdk_nvme_qpair_poll(qp, 0);

	/* Asleep past NVME_INTR_TICK_MS: arming asks for a poll, which ticks. */
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	test_tsc += (NVME_INTR_TICK_MS + 1) * 1000000ULL;
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == -EAGAIN);
	CU_ASSERT(qp->tick == 1);
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);

	/* A failed controller: poll while commands are outstanding, then sleep. */
	read_cb(qp, 8, any_cb);
	nvme_ctrlr_set_failed(ctrlr, true);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == -EAGAIN);
	__atomic_store_n(&qp->tick, 1, __ATOMIC_RELAXED);
	zdk_nvme_qpair_poll(qp, 0);
	CU_ASSERT(zdk_nvme_qpair_outstanding(qp) == 0);
	CU_ASSERT(zdk_nvme_qpair_intr_enable(qp) == 0);
	nvme_ctrlr_set_failed(ctrlr, false);
	zdk_nvme_qpair_free(qp);
	detach();
}

/*
 * The property: random submissions, controller runs, polls with budgets and
 * armings, on one or two interrupt qpairs. Whenever an arming said 0 (sleep)
 * and the controller then posts to that qpair's CQ, its eventfd is readable.
 */
static void test_prop_no_lost_wakeup(void)
{
	struct zdk_prop p;

	zdk_prop_begin(&p, "nvme-intr-wakeup");
	for (p.step = 0; p.step < zdk_prop_cases(40); p.step++) {
		struct zdk_nvme_qpair *qp[2];
		const struct zdk_nvme_ns *ns;
		unsigned nq = (unsigned)zdk_prop_pick(&p, 1, 2);
		bool asleep[2] = { false, false };

		attach(8);
		fake.irq_edge = zdk_prop_chance(&p, 1, 2);
		fake.reverse = zdk_prop_chance(&p, 1, 3);
		ns = zdk_nvme_ns_get(ctrlr, 1);
		for (unsigned i = 0; i < nq; i++) {
			struct zdk_nvme_qpair_opts o = {
				.size = sizeof(o), .batch = zdk_prop_chance(&p, 1, 2),
				.entries = 1u << zdk_prop_pick(&p, 1, 6), .flags = ZDK_NVME_QPAIR_F_INTR,
			};

			CU_ASSERT_FATAL(zdk_nvme_qpair_alloc(ctrlr, &o, &qp[i]) == 0);
		}
		ndone = 0;
		for (unsigned step = 0; step < 400; step++) {
			unsigned i = (unsigned)zdk_prop_pick(&p, 0, nq - 1);
			uint64_t before[2] = { fake.cq[nvme_qpair(qp[0])->qid].tail,
					       nq > 1 ? fake.cq[nvme_qpair(qp[1])->qid].tail : 0 };

			switch (zdk_prop_pick(&p, 0, 3)) {
			case 0: /* submit a few */
				for (uint64_t n = zdk_prop_pick(&p, 1, 4); n; n--)
					if (zdk_nvme_ns_read(ns, qp[i], buf, zdk_prop_pick(&p, 0, 1000), 1,
							     any_cb, NULL))
						break;
				asleep[i] = false;
				break;
			case 1: /* the controller runs */
				fake_nvme_run(&fake);
				for (unsigned k = 0; k < nq; k++) {
					uint16_t qid = nvme_qpair(qp[k])->qid;

					if (asleep[k] && fake.cq[qid].tail != before[k])
						ZDK_PROP_CHECK(&p, readable(zdk_nvme_qpair_intr_fd(qp[k])));
				}
				break;
			case 2: /* poll */
				zdk_nvme_qpair_intr_disable(qp[i]);
				asleep[i] = false;
				zdk_nvme_qpair_poll(qp[i], (uint32_t)zdk_prop_pick(&p, 0, 4));
				break;
			default: { /* arm: 0 means the owner sleeps until the eventfd */
				int rc = zdk_nvme_qpair_intr_enable(qp[i]);

				ZDK_PROP_CHECK(&p, rc == 0 || rc == -EAGAIN);
				asleep[i] = rc == 0;
				if (rc == 0)
					ZDK_PROP_CHECK(&p, !readable(zdk_nvme_qpair_intr_fd(qp[i])));
				break;
			}
			}
		}
		for (unsigned i = 0; i < nq; i++) {
			for (int k = 0; k < 1000 && zdk_nvme_qpair_outstanding(qp[i]); k++) {
				fake_nvme_run(&fake);
				zdk_nvme_qpair_poll(qp[i], 0);
			}
			ZDK_PROP_CHECK(&p, zdk_nvme_qpair_outstanding(qp[i]) == 0);
			zdk_nvme_qpair_free(qp[i]);
		}
		detach();
	}
}

static const struct zdk_test tests[] = {
	{ "vectors, Create I/O CQ IEN/IV, old callers", test_vectors_and_create },
	{ "no PCI function: -ENOTSUP", test_no_pci },
	{ "arm, sleep, wake, drain", test_arm_sleep_wake },
	{ "arming acknowledges the CQ (edge controller)", test_arm_acknowledges },
	{ "arming rings a batch", test_arm_flushes_batch },
	{ "reset, tick while asleep, failed controller", test_reset_tick_failed },
	{ "property: no lost wake-up", test_prop_no_lost_wakeup },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("nvme-intr", NULL, NULL, tests);
}
