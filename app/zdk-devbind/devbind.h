/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * devbind.h - zdk-devbind as a function, so unit tests can run it over a
 * fake sysfs tree and read what it prints.
 */
#ifndef ZDK_DEVBIND_H
#define ZDK_DEVBIND_H

#include <stdio.h>

/* Exit codes. */
#define DEVBIND_OK 0
#define DEVBIND_ERROR 1
#define DEVBIND_USAGE 2

/**
 * devbind_main() - run zdk-devbind.
 * @argc: as main()'s.
 * @argv: as main()'s.
 * @out: where the status and results go.
 * @err: where errors go.
 *
 * Return: DEVBIND_OK, DEVBIND_ERROR (some device could not be handled),
 * DEVBIND_USAGE (bad options).
 */
int devbind_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* ZDK_DEVBIND_H */
