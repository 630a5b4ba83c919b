// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_eal_options.c - zdk_eal_init()'s option parser on arbitrary argv.
 *
 * The input is split at NUL bytes into at most 32 arguments after "prog".
 * Checked: no crash or sanitizer report; a successful parse consumed a
 * count within argv, put argv[0] at argv[ret], and left a configuration
 * whose sizes cannot overflow when turned into bytes, and whose handed-over
 * device descriptors each belong to an allowed device.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/eal/eal_options.c"
#include "fuzz_check.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parser's messages are not the point here, and printing them is most
 * of the time an input takes. */
static void quiet(int level, const char *component, const char *msg, void *ctx)
{
	(void)level, (void)component, (void)msg, (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct eal_conf conf;
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2], *p;
	int argc = 1, ret;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "prog";
	for (p = buf; argc <= MAX_ARGS && p <= buf + size; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	zdk_log_set_sink(quiet, NULL);
	ret = eal_parse_args(argc, argv, &conf);
	if (ret >= 0) {
		check(ret < argc && strcmp(argv[ret], "prog") == 0);
		for (unsigned i = 0; i < EAL_MAX_NODES; i++)
			check(conf.node_mem_mb[i] <= EAL_MAX_NODE_MEM_MB);
		check(conf.nallow <= EAL_MAX_DEVS && conf.nblock <= EAL_MAX_DEVS &&
		      conf.main_lcore < ZDK_MAX_LCORE);
		/* Handed-over descriptors: -1 or a number; each device also allowed. */
		check(conf.iommufd_fd >= -1 && conf.huge_fd >= -1 && conf.nvfio_fds <= conf.nallow);
		for (unsigned i = 0; i < conf.nvfio_fds; i++) {
			bool listed = false;

			for (unsigned j = 0; j < conf.nallow; j++)
				listed |= !zdk_pci_addr_cmp(&conf.allow[j], &conf.vfio_fds[i].addr);
			check(listed && conf.vfio_fds[i].fd >= 0);
		}
	}
	free(buf);
	return 0;
}
