/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor_private.h - what doctor.c (the machine's checks) and nonroot.c
 * (a user's, --user) share: the run's state and the way verdicts are said.
 */
#ifndef ZDK_DOCTOR_PRIVATE_H
#define ZDK_DOCTOR_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pci_sysfs.h"

#define MAX_NODES 64

struct doctor {
	struct pci_sysfs fs;
	FILE *out;
	int fails;
	int warns;
	struct zdk_pci_addr *addrs; /* -a, NULL: every function on vfio-pci */
	int naddrs;
	uint64_t mem_mib[MAX_NODES]; /* -m, per node */
	int nmem;
	bool json;  /* --json: one object, the verdicts in an array */
	int nchecks; /* verdicts written (JSON: an object is open after the first) */
	const char *user;  /* --user: check what this user can do too */
	unsigned procs;    /* --procs: the user's zdk processes at once */
	const char *etc;   /* hidden --etc-root: limits.conf's root, for tests */
	int user_ready;    /* --user: 1 granted, 2 handed over (bits); -1 no such user */
	char user_name[64];
	unsigned user_uid;
};

enum verdict { OK, WARN, FAIL };

/* One line [ OK ]/[WARN]/[FAIL] (or one JSON object); fix() adds its fix. */
__attribute__((format(printf, 3, 4)))
void verdict(struct doctor *dr, enum verdict v, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
void fix(struct doctor *dr, const char *fmt, ...);

/* @root (or @dflt) "/" @rel into @buf. */
const char *path_in(const char *root, const char *dflt, const char *rel, char *buf, size_t len);

/*
 * check_user() - --user: whether dr->user can run zdk without root, each way
 * (doc/nonroot.md): with granted access (its nodes, a hugepage directory,
 * its memlock limit), and with descriptors zdk-launch hands over. What one
 * way lacks is a warning when the other is ready, a failure when neither is.
 */
void check_user(struct doctor *dr);

#endif /* ZDK_DOCTOR_PRIVATE_H */
