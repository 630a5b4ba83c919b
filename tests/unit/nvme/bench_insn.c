/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-nvme-bench-insn - the driver's instructions per I/O, counted by
 * callgrind on the fake controller (buildtools/bench-nvme runs it):
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_submit \
 *            --toggle-collect=bench_poll zdk-nvme-bench-insn QD IOS
 *
 * bench_submit() submits one 4 KiB read through the inline path,
 * bench_flush() rings the SQ doorbell for the batch (the driver's work
 * too: poll would ring it, one poll later), bench_poll() reaps completions
 * (the callback counts them); only those three are collected, so the total
 * Ir divided by IOS is submit + doorbell + complete. The fake controller
 * runs between them and is not counted.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_env.h"
#include "../../../drivers/nvme/nvme_ctrlr.c"
#include "../../../drivers/nvme/nvme_ns.c"
#include "../../../drivers/nvme/nvme_pci.c"
#include "../../../drivers/nvme/nvme_qpair.c"

static unsigned long completed;

static void count_cb(void *arg, const struct zdk_nvme_cpl *cpl)
{
	(void)arg;
	(void)cpl;
	completed++;
}

__attribute__((noinline)) int bench_submit(const struct zdk_nvme_ns *ns,
					   struct zdk_nvme_qpair *qp, void *buf, uint64_t lba);
__attribute__((noinline)) int bench_submit(const struct zdk_nvme_ns *ns,
					   struct zdk_nvme_qpair *qp, void *buf, uint64_t lba)
{
	return zdk_nvme_ns_read(ns, qp, buf, lba, 8, count_cb, NULL);
}

__attribute__((noinline)) void bench_flush(struct zdk_nvme_qpair *qp);
__attribute__((noinline)) void bench_flush(struct zdk_nvme_qpair *qp)
{
	zdk_nvme_qpair_flush(qp);
}

__attribute__((noinline)) uint32_t bench_poll(struct zdk_nvme_qpair *qp);
__attribute__((noinline)) uint32_t bench_poll(struct zdk_nvme_qpair *qp)
{
	return zdk_nvme_qpair_poll(qp, 0);
}

int main(int argc, char **argv)
{
	struct zdk_nvme_qpair_opts opts = { .size = sizeof(opts), .entries = 256, .batch = true };
	static struct fake_nvme fake;
	struct zdk_nvme_ctrlr *c;
	struct zdk_nvme_qpair *qp;
	const struct zdk_nvme_ns *ns;
	unsigned long qd, ios, submitted = 0;
	uint8_t *buf;

	if (argc < 3 || argc > 4 || (qd = strtoul(argv[1], NULL, 0)) == 0 || qd > 128 ||
	    (ios = strtoul(argv[2], NULL, 0)) == 0) {
		fprintf(stderr, "usage: %s QD IOS [shadow]\n", argv[0]);
		return 2;
	}
	fake_nvme_init(&fake);
	test_fake = &fake;
	if (nvme_ctrlr_create(fake.bar, sizeof(fake.bar), "fake", &c) ||
	    (argc == 4 && zdk_nvme_ctrlr_shadow_doorbell(c, true)) ||
	    zdk_nvme_qpair_alloc(c, &opts, &qp))
		return 1;
	ns = zdk_nvme_ns_get(c, 1);
	buf = zdk_dma_zalloc(qd * 4096, 4096, -1, NULL);
	while (completed < ios) {
		while (submitted - completed < qd && submitted < ios) {
			if (bench_submit(ns, qp, buf + (submitted % qd) * 4096, (submitted * 8) % 8192))
				return 1; /* cannot happen: 128 command ids, QD <= 128 */
			submitted++;
		}
		bench_flush(qp); /* rings the doorbell bench_poll would ring */
		fake_nvme_run(&fake);
		bench_poll(qp);
	}
	printf("%lu I/Os at QD %lu completed\n", completed, qd);
	zdk_dma_free(buf);
	zdk_nvme_qpair_free(qp);
	nvme_ctrlr_destroy(c);
	fake_nvme_fini(&fake);
	return 0;
}
