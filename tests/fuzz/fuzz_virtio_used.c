// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_virtio_used.c - drivers/net/virtio against a device whose used rings
 * (rx, tx, control) and the order of everything else come from the input.
 *
 * The first byte picks the device's queue size and the two ring sizes
 * (powers of two, 32..256); the rest drives tests/unit/virtio/vnet_model.c
 * with the hostile device: bursts, buffers taken and returned in any order,
 * used entries with any id and length, used->idx anywhere, control commands
 * answered late or never, stop/start. Any broken invariant (an mbuf lost,
 * freed or handed out twice, a length beyond its buffer; while the device
 * is honest, a frame lost, duplicated or changed) abort()s with the step.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vnet_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vnet_model_src src = { .data = data + 1, .len = size ? size - 1 : 0 };
	struct vnet_model_conf conf = { .steps = 512, .hostile = true };
	unsigned q, rx, tx;
	char why[512];

	if (size < 2)
		return 0;
	q = data[0] & 3;         /* device queues 32 << q */
	rx = (data[0] >> 2) & 3; /* rings at most that */
	tx = (data[0] >> 4) & 3;
	conf.qmax = (uint16_t)(32u << q);
	conf.rx_desc = (uint16_t)(32u << (rx > q ? q : rx));
	conf.tx_desc = (uint16_t)(32u << (tx > q ? q : tx));
	if (vnet_model_run(&conf, &src, why, sizeof(why))) {
		fprintf(stderr, "fuzz-virtio-used: rx %u tx %u device %u: %s\n", conf.rx_desc,
			conf.tx_desc, conf.qmax, why);
		abort();
	}
	return 0;
}
