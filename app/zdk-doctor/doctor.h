/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor.h - zdk-doctor as a function, so unit tests can run it over a fake
 * sysfs/dev/proc tree and read its verdicts.
 */
#ifndef ZDK_DOCTOR_H
#define ZDK_DOCTOR_H

#include <stdio.h>

/* Exit codes. */
#define DOCTOR_OK 0     /* everything zdk needs is there */
#define DOCTOR_FAIL 1   /* at least one check failed */
#define DOCTOR_USAGE 2  /* bad options */

/**
 * doctor_main() - run every check and print one line per verdict, with a
 * one-line fix under each failure and warning.
 * @argc: as main()'s.
 * @argv: as main()'s.
 * @out: where the verdicts go.
 *
 * Return: DOCTOR_OK, DOCTOR_FAIL or DOCTOR_USAGE.
 */
int doctor_main(int argc, char **argv, FILE *out);

#endif /* ZDK_DOCTOR_H */
