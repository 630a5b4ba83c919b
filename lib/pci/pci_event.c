/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_event.c - a device's whole life: the kernel asking for it back, and
 * devices that arrive later.
 *
 * Every open device gets VFIO's device request interrupt (the kernel wants
 * the device: hot-unplug, or an unbind from vfio-pci) and, where it has one,
 * the error interrupt (AER). One thread waits on them with epoll. On a
 * request it releases the device at once instead of letting the kernel's
 * removal block ("Relaying device request to user" every 10 s):
 *   1. every BAR mapping is replaced, at the same address, by anonymous
 *      memory reading all-ones, as a removed device reads: a poller's
 *      doorbell write or register read that races with this touches memory,
 *      never a vanished mapping (no SIGBUS), and nothing new reaches the
 *      device;
 *   2. the device fd is closed: vfio-pci stops the device (bus mastering
 *      off, reset) and the kernel's removal finishes; the eventfds of its
 *      interrupt vectors stay open until the device is closed;
 *   3. only now, when the device can no longer execute a command or DMA,
 *      the driver's hook stops the queues: the pollers fail what is still
 *      outstanding. Failing it earlier would be a lie: a command the device
 *      still held could run after one submitted later in its place. Each
 *      interrupt eventfd is then written once: a poller asleep on one wakes
 *      and finds its queues stopped;
 *   4. the application's callbacks hear ZDK_PCI_EVENT_REMOVE.
 * The struct zdk_pci_device stays until the application lets go of it.
 *
 * While a callback is registered, the thread also reads the kernel's
 * uevents and reports a function bound to vfio-pci as ZDK_PCI_EVENT_ADD,
 * so the application can attach it (hot-add).
 */
#define ZDK_LOG_COMPONENT "pci"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pci_event.h"
#include "sys.h"
#include "zdk_common.h"
#include "zdk_log.h"

#define MAX_CBS 16
#define WAKE_TOKEN 1ULL
#define UEVENT_TOKEN 2ULL

static struct {
	pthread_mutex_t lock; /* device list, watches, removal, callbacks */
	pthread_t thread;
	bool running;
	bool stop;
	int epfd, wake, uevent;
	struct { zdk_pci_event_cb fn; void *arg; } cbs[MAX_CBS];
	unsigned ncbs;
} ev = { .lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, .epfd = -1, .wake = -1, .uevent = -1 };

void pci_lock(void)
{
	pthread_mutex_lock(&ev.lock);
}

void pci_unlock(void)
{
	pthread_mutex_unlock(&ev.lock);
}

static void notify(const char *bdf, enum zdk_pci_event e)
{
	struct { zdk_pci_event_cb fn; void *arg; } cbs[MAX_CBS];
	unsigned n;

	pci_lock();
	n = ev.ncbs;
	memcpy(cbs, ev.cbs, n * sizeof(cbs[0]));
	pci_unlock();
	for (unsigned i = 0; i < n; i++)
		cbs[i].fn(bdf, e, cbs[i].arg);
}

/* Every mapped BAR becomes anonymous memory reading all-ones, in place. */
static void bars_neuter(struct zdk_pci_device *dev)
{
	for (int i = 0; i < ZDK_PCI_BAR_COUNT; i++) {
		struct zdk_pci_bar *bar = &dev->bars[i];
		void *va;

		if (!bar->va)
			continue;
		if (sys_mmap(bar->va, bar->len, PROT_READ | PROT_WRITE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &va)) {
			/* Cannot happen short of ENOMEM; the kernel then waits for us. */
			ZDK_ERR("%s: BAR%d could not be replaced: the device stays held", dev->name, i);
			continue;
		}
		memset(va, 0xff, bar->len);
	}
}

void pci_event_release_locked(struct zdk_pci_device *dev, const char *why)
{
	struct pci_priv *p = dev->priv;

	if (p->removed)
		return;
	__atomic_store_n(&p->removed, true, __ATOMIC_RELEASE);
	bars_neuter(dev);
	pci_event_unwatch_locked(dev);
	pci_dev_fd_close_locked(dev, true);
	if (p->on_remove)
		p->on_remove(dev);
	/* Pollers asleep on its interrupts wake, and find it failed. */
	pci_irq_wake_locked(dev);
	ZDK_NOTICE("%s: %s: its queues are stopped and the device is released", dev->name, why);
}

static void on_request(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;
	char bdf[ZDK_PCI_ADDR_LEN];
	uint64_t t0 = zdk_time_ns(), cnt;

	if (sys_read(p->req_efd, &cnt, sizeof(cnt)) < 0)
		return;
	snprintf(bdf, sizeof(bdf), "%s", dev->name);
	pci_event_release_locked(dev, "the kernel asked for the device back (hot-unplug or "
				 "unbind from vfio-pci)");
	ZDK_INFO("%s: released %llu us after the kernel's request reached zdk", bdf,
		 (unsigned long long)((zdk_time_ns() - t0) / 1000));
	pci_unlock();
	notify(bdf, ZDK_PCI_EVENT_REMOVE);
	pci_lock();
}

static void on_error(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;
	char bdf[ZDK_PCI_ADDR_LEN];
	uint64_t cnt;

	if (sys_read(p->err_efd, &cnt, sizeof(cnt)) < 0)
		return;
	snprintf(bdf, sizeof(bdf), "%s", dev->name);
	ZDK_ERR("%s: the device signalled an uncorrectable error (AER): reset it", bdf);
	pci_unlock();
	notify(bdf, ZDK_PCI_EVENT_ERROR);
	pci_lock();
}

/* A kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0...". A function bound to
 * vfio-pci is one zdk can open now. */
static void on_uevent(void)
{
	char buf[4096], *action = NULL, *driver = NULL, *slot = NULL, *subsys = NULL;
	ssize_t n = sys_recv(ev.uevent, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *s = buf; s < buf + n; s += strlen(s) + 1) {
		if (!strncmp(s, "ACTION=", 7))
			action = s + 7;
		else if (!strncmp(s, "DRIVER=", 7))
			driver = s + 7;
		else if (!strncmp(s, "PCI_SLOT_NAME=", 14))
			slot = s + 14;
		else if (!strncmp(s, "SUBSYSTEM=", 10))
			subsys = s + 10;
	}
	if (action && driver && slot && subsys && !strcmp(subsys, "pci") &&
	    !strcmp(action, "bind") && !strcmp(driver, "vfio-pci")) {
		ZDK_INFO("%s: bound to vfio-pci: it can be attached", slot);
		notify(slot, ZDK_PCI_EVENT_ADD);
	}
}

static void *event_thread(void *unused)
{
	struct epoll_event evs[8];

	for (;;) {
		int n = sys_epoll_wait(ev.epfd, evs, ZDK_ARRAY_SIZE(evs), -1);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			ZDK_ERR("device events: epoll_wait failed: %s; device removal is no longer "
				"watched", strerror(-n));
			return NULL;
		}
		pci_lock();
		for (int i = 0; i < n && !ev.stop; i++) {
			uint64_t tok = evs[i].data.u64, cnt;
			struct zdk_pci_device *dev;

			if (tok == WAKE_TOKEN) {
				sys_read(ev.wake, &cnt, sizeof(cnt));
			} else if (tok == UEVENT_TOKEN) {
				pci_unlock();
				on_uevent();
				pci_lock();
			} else if ((dev = pci_dev_by_token(tok >> 1))) {
				if (tok & 1)
					on_error(dev);
				else
					on_request(dev);
			}
		}
		if (ev.stop) {
			pci_unlock();
			return NULL;
		}
		pci_unlock();
	}
}

static int thread_start_locked(void)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };
	int rc;

	if (ev.running)
		return 0;
	ev.epfd = sys_epoll_create();
	if (ev.epfd < 0)
		return ev.epfd;
	ev.wake = sys_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev.wake < 0) {
		rc = ev.wake;
		goto err_close_ep;
	}
	rc = sys_epoll_ctl(ev.epfd, EPOLL_CTL_ADD, ev.wake, &e);
	if (rc)
		goto err_close_wake;
	ev.stop = false;
	rc = -pthread_create(&ev.thread, NULL, event_thread, NULL);
	if (rc)
		goto err_close_wake;
	ev.running = true;
	return 0;

err_close_wake:
	close(ev.wake);
	ev.wake = -1;
err_close_ep:
	close(ev.epfd);
	ev.epfd = -1;
	return rc;
}

void pci_event_fini(void)
{
	uint64_t one = 1;
	bool self;

	pci_lock();
	if (!ev.running) {
		pci_unlock();
		return;
	}
	ev.stop = true;
	sys_write(ev.wake, &one, sizeof(one));
	self = pthread_equal(pthread_self(), ev.thread);
	pci_unlock();
	/* From a callback, the thread is ourselves: it ends when we return. */
	if (self)
		pthread_detach(ev.thread);
	else
		pthread_join(ev.thread, NULL);
	pci_lock();
	ev.running = false;
	if (ev.uevent >= 0)
		close(ev.uevent);
	ev.uevent = -1;
	close(ev.wake);
	close(ev.epfd);
	ev.wake = ev.epfd = -1;
	ev.ncbs = 0;
	pci_unlock();
}

/* One eventfd on IRQ index @index of @dev, or -errno (-ENOTSUP: none). */
static int irq_efd(struct zdk_pci_device *dev, uint32_t index)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
	/* struct vfio_irq_set with one eventfd as its data */
	uint32_t req[sizeof(struct vfio_irq_set) / 4 + 1] = { 0 };
	struct vfio_irq_set *set = (struct vfio_irq_set *)req;
	int rc = sys_ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info), fd;

	if (rc)
		return rc;
	if (info.count < 1)
		return -ENOTSUP;
	fd = sys_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return fd;
	set->argsz = sizeof(req);
	set->index = index;
	set->count = 1;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	memcpy(set->data, &fd, sizeof(fd));
	rc = sys_ioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int pci_event_watch_locked(struct zdk_pci_device *dev, uint64_t token)
{
	struct pci_priv *p = dev->priv;
	struct epoll_event e = { .events = EPOLLIN };
	int rc;

	p->req_efd = p->err_efd = -1;
	rc = thread_start_locked();
	if (rc)
		return rc;
	p->req_efd = irq_efd(dev, VFIO_PCI_REQ_IRQ_INDEX);
	if (p->req_efd < 0) {
		rc = p->req_efd;
		ZDK_WARN("%s: no device request interrupt (%s): a hot-unplug or unbind will wait "
			 "until the device is closed", dev->name, strerror(-rc));
		return rc;
	}
	e.data.u64 = token << 1;
	rc = sys_epoll_ctl(ev.epfd, EPOLL_CTL_ADD, p->req_efd, &e);
	if (rc) {
		close(p->req_efd);
		p->req_efd = -1;
		return rc;
	}
	p->err_efd = irq_efd(dev, VFIO_PCI_ERR_IRQ_INDEX); /* only with AER */
	e.data.u64 = token << 1 | 1;
	if (p->err_efd >= 0 && sys_epoll_ctl(ev.epfd, EPOLL_CTL_ADD, p->err_efd, &e)) {
		close(p->err_efd);
		p->err_efd = -1;
	}
	return 0;
}

void pci_event_unwatch_locked(struct zdk_pci_device *dev)
{
	struct pci_priv *p = dev->priv;

	/* Closing an fd takes it out of the epoll set. */
	if (p->req_efd >= 0)
		close(p->req_efd);
	if (p->err_efd >= 0)
		close(p->err_efd);
	p->req_efd = p->err_efd = -1;
}

static int uevent_open_locked(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = UEVENT_TOKEN };
	int fd, rc;

	fd = sys_socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return fd;
	rc = sys_bind(fd, &sa, sizeof(sa));
	if (!rc)
		rc = sys_epoll_ctl(ev.epfd, EPOLL_CTL_ADD, fd, &e);
	if (rc) {
		close(fd);
		return rc;
	}
	ev.uevent = fd;
	return 0;
}

int zdk_pci_event_register(zdk_pci_event_cb cb, void *arg)
{
	int rc = 0;

	if (!cb)
		return -EINVAL;
	pci_lock();
	if (ev.ncbs == MAX_CBS) {
		ZDK_ERR("zdk_pci_event_register: at most %d callbacks", MAX_CBS);
		rc = -ENOSPC;
		goto out;
	}
	rc = thread_start_locked();
	if (!rc && ev.uevent < 0) {
		rc = uevent_open_locked();
		if (rc) {
			/* Removal still works; only arrivals go unheard. */
			ZDK_WARN("device events: no kernel uevents (%s): devices bound to vfio-pci "
				 "later are not announced", strerror(-rc));
			rc = 0;
		}
	}
	if (!rc) {
		ev.cbs[ev.ncbs].fn = cb;
		ev.cbs[ev.ncbs].arg = arg;
		ev.ncbs++;
	}
out:
	pci_unlock();
	return rc;
}

void zdk_pci_event_unregister(zdk_pci_event_cb cb, void *arg)
{
	pci_lock();
	for (unsigned i = 0; i < ev.ncbs; i++)
		if (ev.cbs[i].fn == cb && ev.cbs[i].arg == arg) {
			memmove(&ev.cbs[i], &ev.cbs[i + 1], (ev.ncbs - i - 1) * sizeof(ev.cbs[0]));
			ev.ncbs--;
			break;
		}
	pci_unlock();
}
