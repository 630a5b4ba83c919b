/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-pair.c - zdk-virtio-pair: traffic between two ports cabled to each
 * other, every frame checked.
 *
 *   zdk-virtio-pair [zdk options] -- [-n COUNT] [-s SIZE] [-u] [-R RXRING] [-T TXRING]
 *   zdk-virtio-pair [zdk options] -- -x DSTMAC [-p PPS] | -r [-i|-P] [-n COUNT] [-s SIZE]
 *
 * First the rx filter: frames to a foreign unicast MAC must not arrive while
 * the receiver is not promiscuous, and must once it is (the virtio control
 * queue at work). Then each port sends COUNT frames (-u: only the first
 * port) to the other's MAC: SIZE bytes (60..1514; 0 = sizes varying per
 * frame), a sequence number and a payload keyed to it. The receiver checks
 * order, length and every payload byte. Exit 0 only with zero loss, no
 * reordering or duplicates, intact payloads, and port counters that agree.
 *
 * The tx ring (64) is kept below the rx ring (256) so that the receiver does
 * not run out of buffers: when it does, QEMU's hub queues frames in two
 * places and, on the receiver's next kick, delivers the later one first
 * (net_hub_flush before the receiver's own queue), which shows up here as
 * swapped pairs. -R 32 reproduces that; the driver keeps order (see
 * tests/unit/virtio).
 *
 * With one port, whose peer is the Linux virtio_net driver (virtio-linux.sh):
 * -x sends COUNT frames to DSTMAC; -r prints "ready: mac ..." and checks
 * COUNT frames from the peer (other traffic is ignored; frames out of order
 * are counted, not failed: that sender keeps going while we are descheduled,
 * so our ring can fill). -p paces the sender at PPS frames a second. -i
 * makes the receiver sleep on its rx interrupt (zdk_eth_rx_intr_*) once no
 * frame came for QUIET_NS, as examples/l2fwd --interrupt does; it prints how
 * often it slept (virtio-intr.sh, with a sender in another process). -P
 * sets the interrupts up (MSI-X on) but keeps polling: none may fire.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_eth.h"
#include "zdk_idle.h"
#include "zdk_iommu.h"
#include "zdk_mbuf.h"

#define ETHERTYPE 0x88b5 /* local experimental */
#define MAGIC 0x7a646b21u
#define HDR_LEN 14
#define BURST 32
/* Fits one 2 MiB page: in no-IOMMU mode a pool must be physically contiguous. */
#define NB_MBUFS 896
#define MBUF_CACHE 64
#define IDLE_NS 3000000000ULL
#define MARKER_SEQ 0xfffff000u
#define QUIET_NS 50000ULL /* -i: sleep after this long without a frame */
#define SLEEP_MS 100

struct side {
	uint16_t port;
	struct zdk_ether_addr mac;
	struct zdk_mempool *mp;
	uint64_t sent, rcvd, expect, bytes_sent;
	uint64_t bad_len, corrupt, reorder, dup, foreign;
	uint32_t last_seq;
	uint8_t *seen;    /* one bit per sequence number */
	uint64_t nseen;   /* bits in seen */
};

static unsigned frame_size(unsigned size, uint64_t seq)
{
	return size ? size : 60 + (unsigned)(seq * 37 % (1514 - 60 + 1));
}

static void frame_build(uint8_t *b, unsigned len, const struct zdk_ether_addr *dst,
			const struct zdk_ether_addr *src, uint32_t seq)
{
	uint32_t magic = MAGIC;

	memcpy(b, dst->addr, 6);
	memcpy(b + 6, src->addr, 6);
	b[12] = ETHERTYPE >> 8;
	b[13] = ETHERTYPE & 0xff;
	memcpy(b + HDR_LEN, &magic, 4);
	memcpy(b + HDR_LEN + 4, &seq, 4);
	for (unsigned i = HDR_LEN + 8; i < len; i++)
		b[i] = (uint8_t)(seq + i * 13);
}

/* Send up to @n frames numbered from s->sent; return how many the port took. */
static unsigned send_burst(struct side *s, const struct zdk_ether_addr *dst, unsigned n,
			   unsigned size)
{
	struct zdk_mbuf *m[BURST];
	unsigned i, done;

	n = n < BURST ? n : BURST;
	if (n == 0 || zdk_mbuf_alloc_bulk(s->mp, m, n))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned len = frame_size(size, s->sent + i);
		uint8_t *b = zdk_mbuf_append(m[i], len);

		if (!b) { /* cannot happen: 1514 bytes fit the default data room */
			zdk_mbuf_free_bulk(m, n);
			return 0;
		}
		frame_build(b, len, dst, &s->mac, (uint32_t)(s->sent + i));
	}
	done = zdk_eth_tx_burst(s->port, 0, m, (uint16_t)n);
	for (i = done; i < n; i++)
		zdk_mbuf_free(m[i]);
	for (i = 0; i < done; i++)
		s->bytes_sent += frame_size(size, s->sent + i);
	s->sent += done;
	return done;
}

/* Check one received frame against what the peer must have sent. */
static void frame_check(struct side *s, const struct zdk_mbuf *m, unsigned size)
{
	const uint8_t *b = zdk_mbuf_mtod(m, const uint8_t *);
	uint32_t magic, seq;
	unsigned len;

	if (m->data_len < HDR_LEN + 8 || b[12] != ETHERTYPE >> 8 || b[13] != (ETHERTYPE & 0xff) ||
	    (memcpy(&magic, b + HDR_LEN, 4), magic != MAGIC)) {
		s->foreign++;
		return;
	}
	memcpy(&seq, b + HDR_LEN + 4, 4);
	s->last_seq = seq;
	if (seq < s->nseen) {
		if (s->seen[seq / 8] & (1u << (seq % 8))) {
			s->dup++;
			return;
		}
		s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	}
	s->rcvd++;
	if (seq != (uint32_t)s->expect) {
		/* The filter probe (nseen 0) mixes sequences on purpose. */
		if (s->reorder++ < 5 && s->nseen)
			printf("port %u: frame %u arrived when %llu was due\n", s->port, seq,
			       (unsigned long long)s->expect);
	}
	if (seq >= s->expect)
		s->expect = (uint64_t)seq + 1;
	len = frame_size(size, seq);
	if (m->data_len != len) {
		s->bad_len++;
		return;
	}
	for (unsigned i = HDR_LEN + 8; i < len; i++) {
		if (b[i] != (uint8_t)(seq + i * 13)) {
			s->corrupt++;
			return;
		}
	}
}

static unsigned recv_burst(struct side *s, unsigned size)
{
	struct zdk_mbuf *m[BURST];
	uint16_t n = zdk_eth_rx_burst(s->port, 0, m, BURST);

	for (uint16_t i = 0; i < n; i++)
		frame_check(s, m[i], size);
	if (n)
		zdk_mbuf_free_bulk(m, n);
	return n;
}

static uint16_t rx_ring = 256, tx_ring = 64;

static int port_setup(struct side *s, uint16_t port)
{
	char name[32];
	struct zdk_eth_link link;
	int ret;

	s->port = port;
	snprintf(name, sizeof(name), "pair%u", port);
	ret = zdk_mbuf_pool_create(name, NB_MBUFS, MBUF_CACHE, ZDK_MBUF_DEFAULT_BUF_SIZE,
				   ZDK_SOCKET_ANY, &s->mp);
	if (!ret)
		ret = zdk_eth_dev_configure(port, 1, 1, NULL);
	if (!ret)
		ret = zdk_eth_rx_queue_setup(port, 0, rx_ring, ZDK_SOCKET_ANY, s->mp);
	if (!ret)
		ret = zdk_eth_tx_queue_setup(port, 0, tx_ring, ZDK_SOCKET_ANY);
	if (!ret)
		ret = zdk_eth_dev_start(port);
	if (!ret)
		ret = zdk_eth_macaddr_get(port, &s->mac);
	if (!ret)
		ret = zdk_eth_link_wait(port, 3000, &link);
	if (ret)
		fprintf(stderr, "port %u: setup failed: %s\n", port, strerror(-ret));
	return ret;
}

/*
 * Send @n frames to a foreign MAC, then a marker to the receiver's own MAC;
 * once the marker is in (order is kept), return how many foreign ones came.
 */
static long filter_probe(struct side *tx, struct side *rx, unsigned n)
{
	static const struct zdk_ether_addr foreign = { { 0x02, 0, 0, 0x5a, 0x5a, 0x01 } };
	uint64_t start = rx->rcvd, deadline;

	tx->sent = 0;
	while (tx->sent < n)
		send_burst(tx, &foreign, (unsigned)(n - tx->sent), 60);
	tx->sent = MARKER_SEQ;
	while (send_burst(tx, &rx->mac, 1, 60) == 0)
		;
	deadline = zdk_time_ns() + IDLE_NS;
	while (rx->last_seq != MARKER_SEQ && zdk_time_ns() < deadline)
		recv_burst(rx, 60);
	if (rx->last_seq != MARKER_SEQ) {
		fprintf(stderr, "filter: the marker frame never arrived\n");
		return -1;
	}
	rx->last_seq = 0;
	/* Foreign-MAC frames pass the receiver's frame check too: count them. */
	return (long)(rx->rcvd - start - 1);
}

static int filter_check(struct side *a, struct side *b)
{
	long off, on;
	int ret;

	off = filter_probe(a, b, 64);
	ret = zdk_eth_promiscuous_enable(b->port);
	if (ret) {
		fprintf(stderr, "port %u: promiscuous mode: %s\n", b->port, strerror(-ret));
		return 1;
	}
	on = filter_probe(a, b, 64);
	zdk_eth_promiscuous_disable(b->port);
	printf("rx filter: %ld of 64 frames to a foreign MAC arrived with promiscuous off, "
	       "%ld of 64 with it on\n", off, on);
	return off == 0 && on == 64 ? 0 : 1;
}

static int report(const char *dir, struct side *tx, struct side *rx, double secs)
{
	struct zdk_eth_stats st, sr;
	uint64_t lost = tx->sent - rx->rcvd;
	int bad;

	zdk_eth_stats_get(tx->port, &st);
	zdk_eth_stats_get(rx->port, &sr);
	printf("%s: sent %llu, received %llu, lost %llu, duplicates %llu, out of order %llu, "
	       "bad length %llu, corrupt %llu, foreign %llu; %.0f pps\n", dir,
	       (unsigned long long)tx->sent, (unsigned long long)rx->rcvd,
	       (unsigned long long)lost, (unsigned long long)rx->dup,
	       (unsigned long long)rx->reorder, (unsigned long long)rx->bad_len,
	       (unsigned long long)rx->corrupt, (unsigned long long)rx->foreign,
	       (double)rx->rcvd / secs);
	printf("%s: port counters: tx %llu packets %llu bytes, rx %llu packets %llu bytes\n", dir,
	       (unsigned long long)st.opackets, (unsigned long long)st.obytes,
	       (unsigned long long)sr.ipackets, (unsigned long long)sr.ibytes);
	bad = lost || rx->dup || rx->reorder || rx->bad_len || rx->corrupt || rx->foreign ||
	      st.opackets != tx->sent || st.obytes != tx->bytes_sent || sr.ipackets != rx->rcvd ||
	      sr.ibytes != tx->bytes_sent;
	return bad;
}

static bool intr_mode, intr_setup_only;
static uint64_t pace_pps;

/* -p: one frame each 1/PPS s, from @t0 on. */
static void send_paced(struct side *s, const struct zdk_ether_addr *dst, uint64_t count,
		       unsigned size)
{
	uint64_t t0 = zdk_time_ns();

	while (s->sent < count) {
		uint64_t due = t0 + s->sent * 1000000000ULL / pace_pps, now = zdk_time_ns();

		if (now < due) {
			struct timespec ts = { .tv_nsec = (long)(due - now) };

			nanosleep(&ts, NULL);
		}
		send_burst(s, dst, 1, size);
	}
}

/*
 * -i: a quiet spell is over: arm the queue and sleep until it signals (or
 * SLEEP_MS), unless a frame is already waiting. Return whether it slept.
 */
static bool intr_sleep(struct side *s, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc = zdk_eth_rx_intr_enable(s->port, 0);

	if (rc == 0)
		poll(&pfd, 1, SLEEP_MS);
	zdk_eth_rx_intr_disable(s->port, 0);
	return rc == 0;
}

/* One port, the peer being another driver: send to @dst, or receive. */
static int run_single(const struct zdk_ether_addr *dst, uint64_t count, unsigned size)
{
	struct side s = { 0 };
	uint64_t idle, wait = 30 * IDLE_NS, sleeps = 0;
	struct zdk_idle quiet;
	int fd = -1, bad = port_setup(&s, 0);

	zdk_idle_init(&quiet, QUIET_NS, 8);
	if (!bad && (intr_mode || intr_setup_only)) {
		fd = zdk_eth_rx_intr_fd(s.port, 0);
		if (fd < 0) {
			fprintf(stderr, "port %u: no receive interrupts: %s\n", s.port, strerror(-fd));
			bad = 1;
		}
	}
	if (!bad && dst) {
		if (pace_pps)
			send_paced(&s, dst, count, size);
		while (s.sent < count)
			send_burst(&s, dst, (unsigned)(count - s.sent), size);
		/* Closing resets the device: give it time to send the ring out. */
		sleep(1);
		printf("sent %llu frames\n", (unsigned long long)s.sent);
	} else if (!bad) {
		s.nseen = count;
		s.seen = calloc(count / 8 + 1, 1);
		printf("ready: mac %02x:%02x:%02x:%02x:%02x:%02x\n", s.mac.addr[0], s.mac.addr[1],
		       s.mac.addr[2], s.mac.addr[3], s.mac.addr[4], s.mac.addr[5]);
		fflush(stdout);
		idle = zdk_time_ns();
		while (s.seen && s.rcvd < count) {
			if (recv_burst(&s, size)) {
				idle = zdk_time_ns();
				wait = IDLE_NS;
				zdk_idle_busy(&quiet);
			} else if (zdk_time_ns() - idle > wait) {
				break;
			} else if (intr_mode && zdk_idle_quiet(&quiet, zdk_time_ns())) {
				sleeps += intr_sleep(&s, fd);
				zdk_idle_woken(&quiet);
			}
		}
		if (intr_mode)
			printf("receiver slept %llu times\n", (unsigned long long)sleeps);
		printf("received %llu of %llu, duplicates %llu, out of order %llu, bad length %llu, "
		       "corrupt %llu, other %llu\n", (unsigned long long)s.rcvd,
		       (unsigned long long)count, (unsigned long long)s.dup,
		       (unsigned long long)s.reorder, (unsigned long long)s.bad_len,
		       (unsigned long long)s.corrupt, (unsigned long long)s.foreign);
		/* Another driver's sender does not stop when we are descheduled:
		 * our ring can fill and QEMU's hub then reorders (see above). */
		bad = s.rcvd != count || s.dup || s.bad_len || s.corrupt;
	}
	zdk_eth_dev_close(s.port);
	zdk_mbuf_pool_destroy(s.mp);
	free(s.seen);
	return bad;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [zdk options] -- [-n COUNT] [-s SIZE (60..1514, 0 = mixed)] "
		"[-u (one way)] [-R RXRING] [-T TXRING] [-x DSTMAC (send only) [-p PPS] | "
		"-r (receive only) [-i (sleep on interrupts) | -P (set them up, poll)]]\n",
		prog);
}

int main(int argc, char **argv)
{
	struct side s[2] = { 0 };
	uint64_t count = 1000000, t0, idle;
	unsigned size = 64;
	bool bidir = true, rx_only = false;
	struct zdk_ether_addr dst, *tx_only = NULL;
	int ret, opt, bad;
	double secs;

	ret = zdk_eal_init(argc, argv);
	if (ret < 0)
		return ret == -ECANCELED ? 0 : 1;
	argc -= ret;
	argv += ret;
	while ((opt = getopt(argc, argv, "n:s:uR:T:x:riPp:")) != -1) {
		switch (opt) {
		case 'x':
			tx_only = &dst;
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst.addr[0], &dst.addr[1],
				   &dst.addr[2], &dst.addr[3], &dst.addr[4], &dst.addr[5]) != 6) {
				usage(argv[0]);
				zdk_eal_cleanup();
				return 2;
			}
			break;
		case 'r': rx_only = true; break;
		case 'i': intr_mode = true; break;
		case 'P': intr_setup_only = true; break;
		case 'p': pace_pps = strtoull(optarg, NULL, 0); break;
		case 'R': rx_ring = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'T': tx_ring = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 's': size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'u': bidir = false; break;
		default: usage(argv[0]); zdk_eal_cleanup(); return 2;
		}
	}
	if ((size && (size < 60 || size > 1514)) ||
	    zdk_eth_port_count() != (tx_only || rx_only ? 1 : 2) || ((intr_mode || intr_setup_only) && !rx_only) ||
	    (pace_pps && !tx_only)) {
		fprintf(stderr, "need %d port(s) (have %u) and SIZE 0 or 60..1514; -i goes with -r, "
			"-p with -x\n", tx_only || rx_only ? 1 : 2, zdk_eth_port_count());
		zdk_eal_cleanup();
		return 2;
	}
	if (tx_only || rx_only) {
		bad = run_single(tx_only, count, size);
		zdk_eal_cleanup();
		printf("%s\n", bad ? "FAIL" : "PASS");
		return bad ? 1 : 0;
	}
	printf("iommu %s, %llu frames of %s bytes, %s\n", zdk_iommu_mode_name(zdk_iommu_mode()),
	       (unsigned long long)count, size ? "fixed" : "60..1514", bidir ? "both ways" : "one way");
	bad = port_setup(&s[0], 0) || port_setup(&s[1], 1);
	if (!bad)
		bad = filter_check(&s[0], &s[1]);
	for (int i = 0; i < 2 && !bad; i++) {
		s[i].sent = s[i].rcvd = s[i].expect = s[i].bytes_sent = 0;
		s[i].reorder = s[i].bad_len = s[i].corrupt = s[i].foreign = s[i].dup = 0;
		s[i].nseen = count;
		s[i].seen = calloc(count / 8 + 1, 1);
		bad |= !s[i].seen;
		zdk_eth_stats_reset(s[i].port);
	}
	t0 = zdk_time_ns();
	idle = t0;
	while (!bad && (s[1].rcvd < count || (bidir && s[0].rcvd < count))) {
		unsigned moved = 0;

		moved += send_burst(&s[0], &s[1].mac, (unsigned)(count - s[0].sent), size);
		if (bidir)
			moved += send_burst(&s[1], &s[0].mac, (unsigned)(count - s[1].sent), size);
		moved += recv_burst(&s[1], size) + recv_burst(&s[0], size);
		if (moved)
			idle = zdk_time_ns();
		else if (zdk_time_ns() - idle > IDLE_NS)
			break; /* nothing moved for 3 s: the rest is lost */
	}
	secs = (double)(zdk_time_ns() - t0) / 1e9;
	if (!bad) {
		bad |= report("port 0 -> 1", &s[0], &s[1], secs);
		if (bidir)
			bad |= report("port 1 -> 0", &s[1], &s[0], secs);
	}
	for (int i = 0; i < 2; i++)
		zdk_eth_dev_close(s[i].port);
	for (int i = 0; i < 2; i++) {
		zdk_mbuf_pool_destroy(s[i].mp);
		free(s[i].seen);
	}
	zdk_eal_cleanup();
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad ? 1 : 0;
}
