/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-regwatch BDF STOPFILE - an observer from outside zdk: it maps the
 * controller's BAR0 through sysfs (resource0) and reads CC, CSTS, AQA, ASQ
 * and ACQ every millisecond until STOPFILE exists, then prints
 *
 *   regwatch: samples=N cc_en0=N csts_rdy0=N csts_cfs=N shst=N admin_changes=N
 *
 * A live handover must show no sample with CC.EN or CSTS.RDY 0 and the admin
 * queue registers never changed (no disable, no admin queue re-created).
 * Reads have no side effect on an NVMe controller; no libzdk.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint32_t rd(const volatile uint8_t *bar, unsigned off)
{
	return *(const volatile uint32_t *)(bar + off);
}

static uint64_t rd64(const volatile uint8_t *bar, unsigned off)
{
	return rd(bar, off) | (uint64_t)rd(bar, off + 4) << 32;
}

int main(int argc, char **argv)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	uint64_t n = 0, en0 = 0, rdy0 = 0, cfs = 0, shst = 0, changes = 0, asq0, acq0;
	uint32_t aqa0;
	char path[256];
	volatile uint8_t *bar;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BDF STOPFILE\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", argv[1]);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	bar = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		perror("mmap resource0");
		return 1;
	}
	aqa0 = rd(bar, 0x24);
	asq0 = rd64(bar, 0x28);
	acq0 = rd64(bar, 0x30);
	while (access(argv[2], F_OK) != 0) {
		uint32_t cc = rd(bar, 0x14), csts = rd(bar, 0x1c);

		n++;
		en0 += !(cc & 1);
		rdy0 += !(csts & 1);
		cfs += csts != UINT32_MAX && (csts & 2);
		shst += csts != UINT32_MAX && (csts & 0xc);
		changes += rd(bar, 0x24) != aqa0 || rd64(bar, 0x28) != asq0 || rd64(bar, 0x30) != acq0;
		nanosleep(&ms, NULL);
	}
	printf("regwatch: samples=%" PRIu64 " cc_en0=%" PRIu64 " csts_rdy0=%" PRIu64 " csts_cfs=%"
	       PRIu64 " shst=%" PRIu64 " admin_changes=%" PRIu64 " asq=0x%" PRIx64 "\n", n, en0,
	       rdy0, cfs, shst, changes, asq0);
	return 0;
}
