/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * devbind.h - zdk-devbind as a function, so unit tests can run it over a
 * fake sysfs tree and read what it prints.
 */
#ifndef ZDK_DEVBIND_H
#define ZDK_DEVBIND_H

#include <stdbool.h>
#include <stdint.h>
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

struct pci_sysfs;
struct zdk_pci_addr;

/* What --grant was given (grant.c). */
struct grant_args {
	const char *user;                  /* --grant=USER: name, uid or uid:gid */
	const struct zdk_pci_addr *addrs;  /* the devices */
	int naddrs;
	bool persist;                      /* --persist: print the boot-time files only */
	uint64_t mem_mib;                  /* -m: arena per process (default 128) */
	unsigned procs;                    /* --procs: zdk processes at once (default 1) */
	const char *etc;                   /* limits.conf's root, NULL: /etc (tests) */
};

/*
 * devbind_grant() - give @g->user the devices' VFIO nodes, a hugepage
 * directory, and say the RLIMIT_MEMLOCK it needs; or, with @g->persist,
 * print the files that do so at every boot.
 * Return: DEVBIND_OK, DEVBIND_ERROR (something could not be granted),
 * DEVBIND_USAGE (no such user).
 */
int devbind_grant(const struct grant_args *g, const struct pci_sysfs *fs, FILE *out, FILE *err);

#endif /* ZDK_DEVBIND_H */
