/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * env.h - what the init orchestrator (lib/eal) asks of lib/env: start and
 * stop the lcores, calibrate the TSC. Shared-internal, never installed.
 */
#ifndef ZDK_ENV_H
#define ZDK_ENV_H

#include "zdk_lcore.h"

/*
 * lcores_init() - pin the calling thread as the main lcore and start a
 * pinned worker on every other CPU of @set (ZDK_MAX_LCORE entries, 1 =
 * enabled); @set NULL: every CPU the process may run on, the first main.
 * Return: 0 or -errno (the caller runs lcores_fini() either way).
 */
int lcores_init(const unsigned char *set, unsigned main_lcore);
void lcores_fini(void);

void tsc_calibrate(void);

#endif /* ZDK_ENV_H */
