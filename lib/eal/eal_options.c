/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eal_options.c - zdk_eal_init()'s options. They are DPDK's where they mean
 * the same thing, so that a DPDK user's muscle memory works.
 */
#define ZDK_LOG_COMPONENT "eal"
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eal_private.h"
#include "sys.h"
#include "zdk_log.h"

enum {
	OPT_IOMMU = 256,
	OPT_SOCKET_MEM,
	OPT_HUGE_DIR,
	OPT_HUGE_SIZE,
	OPT_NO_HUGE,
	OPT_FILE_PREFIX,
	OPT_LOG_LEVEL,
	OPT_NO_PROBE,
};

static const struct option long_opts[] = {
	{ "lcores", required_argument, NULL, 'l' },
	{ "allow", required_argument, NULL, 'a' },
	{ "block", required_argument, NULL, 'b' },
	{ "iommu", required_argument, NULL, OPT_IOMMU },
	{ "socket-mem", required_argument, NULL, OPT_SOCKET_MEM },
	{ "huge-dir", required_argument, NULL, OPT_HUGE_DIR },
	{ "huge-size", required_argument, NULL, OPT_HUGE_SIZE },
	{ "no-huge", no_argument, NULL, OPT_NO_HUGE },
	{ "file-prefix", required_argument, NULL, OPT_FILE_PREFIX },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "no-probe", no_argument, NULL, OPT_NO_PROBE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

void zdk_eal_usage(const char *prog)
{
	printf("Usage: %s [zdk options] [--] [application options]\n"
	       "zdk options:\n"
	       "  -l, --lcores LIST        CPUs to run on, e.g. 0-3,6; the first is the main lcore\n"
	       "  -a, --allow BDF          use this PCI device (repeatable); default: every\n"
	       "                           device bound to vfio-pci that a driver supports\n"
	       "  -b, --block BDF          skip this PCI device (repeatable)\n"
	       "      --no-probe           open the devices but attach no driver (for tools\n"
	       "                           that drive a device through zdk_pci.h themselves)\n"
	       "      --iommu MODE         auto (default), iommufd, type1 or noiommu (the no-IOMMU\n"
	       "                           cdev with iommufd where the kernel has it, else the\n"
	       "                           group; noiommu-iommufd / noiommu-group force one)\n"
	       "  -m, --socket-mem MB[,MB] hugepage memory per NUMA node, in MiB (default %d\n"
	       "                           on each node with an lcore)\n"
	       "      --huge-dir DIR       hugetlbfs mount to use (default: found by libhugetlbfs)\n"
	       "      --huge-size SIZE     hugepage size: 2M or 1G (default: the system default)\n"
	       "      --no-huge            4 KiB pages instead of hugepages (still DMA-mapped)\n"
	       "      --file-prefix NAME   prefix of the hugepage files (default: zdk); give each\n"
	       "                           process on a machine its own\n"
	       "      --log-level LEVEL    err, warn, notice (default), info or debug\n"
	       "  -v, --version            the zdk release, then exit\n"
	       "  -h, --help               this text\n",
	       prog, EAL_DEFAULT_MEM_MB);
}

int eal_parse_lcores(const char *s, unsigned char *set, unsigned *first)
{
	bool any = false;
	const char *p = s;
	char *end;

	memset(set, 0, ZDK_MAX_LCORE);
	while (*p) {
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		lo = strtoul(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			if (!isdigit((unsigned char)p[1]))
				return -EINVAL;
			hi = strtoul(p + 1, &end, 10);
			p = end;
		}
		if (lo > hi || hi >= ZDK_MAX_LCORE)
			return -ERANGE;
		if (!any)
			*first = (unsigned)lo;
		for (unsigned long c = lo; c <= hi; c++)
			set[c] = 1;
		any = true;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return any ? 0 : -EINVAL;
}

int eal_parse_size(const char *s, size_t *bytes)
{
	uint64_t v;
	unsigned shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	if (sys_strtou64(s, &end, 10, &v))
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'G':
		shift = 30;
		break;
	case 'M':
		shift = 20;
		break;
	case 'K':
		shift = 10;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || !v)
		return -EINVAL;
	if (v > (SIZE_MAX >> shift))
		return -ERANGE;
	v <<= shift;
	*bytes = (size_t)v;
	return 0;
}

int eal_parse_socket_mem(const char *s, size_t *mb, unsigned max)
{
	unsigned n = 0;
	const char *p = s;
	uint64_t v;
	char *end;

	memset(mb, 0, max * sizeof(*mb));
	while (*p) {
		if (n == max)
			return -ERANGE;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (sys_strtou64(p, &end, 10, &v) || v > EAL_MAX_NODE_MEM_MB)
			return -ERANGE;
		mb[n] = (size_t)v;
		n++;
		p = end;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++)
		if (mb[i])
			return 0;
	return -EINVAL;
}

/* ---- a zdk_eal_conf, from any caller, into the checked eal_conf ---- */

static int conf_devs(const char *const *in, struct zdk_pci_addr *out, unsigned *n,
		     const char *what)
{
	for (*n = 0; in && in[*n]; (*n)++) {
		if (*n == EAL_MAX_DEVS) {
			ZDK_ERR("%s: at most %d devices", what, EAL_MAX_DEVS);
			return -EINVAL;
		}
		if (zdk_pci_addr_parse(in[*n], &out[*n])) {
			ZDK_ERR("%s '%s': not a PCI address; write it as 0000:01:00.0 (zdk-devbind "
				"lists them)", what, in[*n]);
			return -EINVAL;
		}
	}
	return 0;
}

static int conf_mem(const struct zdk_eal_conf *pub, struct eal_conf *c)
{
	for (unsigned i = 0; i < EAL_MAX_NODES; i++) {
		if (pub->socket_mem_mb[i] > EAL_MAX_NODE_MEM_MB) {
			ZDK_ERR("-m/--socket-mem: %zu MiB on node %u is over 1 PiB (1073741824 MiB)",
				pub->socket_mem_mb[i], i);
			return -EINVAL;
		}
		c->node_mem_mb[i] = pub->socket_mem_mb[i];
		c->mem_set |= pub->socket_mem_mb[i] != 0;
	}
	return 0;
}

static int conf_strings(const struct zdk_eal_conf *pub, struct eal_conf *c)
{
	const char *prefix = pub->file_prefix ? pub->file_prefix : "zdk";

	if (pub->huge_dir && (!*pub->huge_dir || strlen(pub->huge_dir) >= sizeof(c->huge_dir))) {
		ZDK_ERR("--huge-dir: path empty or too long");
		return -EINVAL;
	}
	if (!*prefix || strlen(prefix) >= sizeof(c->file_prefix) || strchr(prefix, '/')) {
		ZDK_ERR("--file-prefix '%s': use a short name without '/'", prefix);
		return -EINVAL;
	}
	snprintf(c->huge_dir, sizeof(c->huge_dir), "%s", pub->huge_dir ? pub->huge_dir : "");
	snprintf(c->file_prefix, sizeof(c->file_prefix), "%s", prefix);
	return 0;
}

static int check_conflicts(const struct eal_conf *c);

int eal_conf_check(const struct zdk_eal_conf *pub, struct eal_conf *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if (pub->lcores) {
		rc = eal_parse_lcores(pub->lcores, c->lcores, &c->main_lcore);
		if (rc) {
			ZDK_ERR("-l/--lcores '%s': %s; write a list of CPUs like 0-3,6", pub->lcores,
				rc == -ERANGE ? "CPU number out of range" : "malformed");
			return -EINVAL;
		}
		c->lcore_set = true;
	}
	rc = conf_devs(pub->allow, c->allow, &c->nallow, "-a/--allow");
	if (!rc)
		rc = conf_devs(pub->block, c->block, &c->nblock, "-b/--block");
	if (!rc)
		rc = conf_mem(pub, c);
	if (!rc)
		rc = conf_strings(pub, c);
	if (rc)
		return rc;
	if ((unsigned)pub->iommu > ZDK_EAL_IOMMU_NOIOMMU_GROUP) {
		ZDK_ERR("--iommu: unknown backend %d; use auto, iommufd, type1, noiommu, "
			"noiommu-iommufd or noiommu-group",
			(int)pub->iommu);
		return -EINVAL;
	}
	if (pub->huge_size && pub->huge_size != (2UL << 20) && pub->huge_size != (1UL << 30)) {
		ZDK_ERR("--huge-size %zu: use 2M or 1G", pub->huge_size);
		return -EINVAL;
	}
	if (pub->log_level && (pub->log_level < ZDK_LOG_ERR || pub->log_level > ZDK_LOG_DEBUG)) {
		ZDK_ERR("--log-level %d: use err, warn, notice, info or debug", pub->log_level);
		return -EINVAL;
	}
	c->iommu = pub->iommu;
	c->huge_size = pub->huge_size;
	c->no_huge = pub->no_huge;
	c->no_probe = pub->no_probe;
	c->log_level = pub->log_level;
	return check_conflicts(c);
}

void zdk_eal_conf_init(struct zdk_eal_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->size = sizeof(*conf);
}

/* ---- argv into a zdk_eal_conf: only what is particular to text ---- */

static int add_dev(const char **list, unsigned *n, const char *opt, const char *arg)
{
	if (*n == EAL_MAX_DEVS) {
		ZDK_ERR("%s: at most %d devices", opt, EAL_MAX_DEVS);
		return -EINVAL;
	}
	list[(*n)++] = arg;
	return 0;
}

static int parse_iommu(const char *arg, enum zdk_eal_iommu *mode)
{
	static const char *const names[] = { "auto", "iommufd", "type1", "noiommu",
					     "noiommu-iommufd", "noiommu-group" };

	for (unsigned i = 0; i < ZDK_ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i])) {
			*mode = (enum zdk_eal_iommu)i;
			return 0;
		}
	ZDK_ERR("--iommu '%s': unknown backend; use auto, iommufd, type1, noiommu, "
		"noiommu-iommufd or noiommu-group", arg);
	return -EINVAL;
}

static int parse_one(int opt, const char *arg, struct eal_args *a)
{
	struct zdk_eal_conf *c = &a->conf;
	int rc;

	switch (opt) {
	case 'l':
		c->lcores = arg;
		return 0;
	case 'a':
		return add_dev(a->allow, &a->nallow, "--allow", arg);
	case 'b':
		return add_dev(a->block, &a->nblock, "--block", arg);
	case OPT_IOMMU:
		return parse_iommu(arg, &c->iommu);
	case 'm':
	case OPT_SOCKET_MEM:
		rc = eal_parse_socket_mem(arg, c->socket_mem_mb, EAL_MAX_NODES);
		if (rc)
			ZDK_ERR("--socket-mem '%s': %s; write MiB per NUMA node, like 512 or 512,512",
				arg, rc == -ERANGE ? "more than 8 nodes, or over 1073741824 MiB (1 PiB) "
				"on one" : "malformed");
		return rc ? -EINVAL : 0;
	case OPT_HUGE_DIR:
		c->huge_dir = arg;
		return 0;
	case OPT_HUGE_SIZE:
		if (eal_parse_size(arg, &c->huge_size) ||
		    (c->huge_size != (2UL << 20) && c->huge_size != (1UL << 30))) {
			ZDK_ERR("--huge-size '%s': use 2M or 1G", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_NO_HUGE:
		c->no_huge = true;
		return 0;
	case OPT_FILE_PREFIX:
		c->file_prefix = arg;
		return 0;
	case OPT_LOG_LEVEL:
		rc = zdk_log_parse_level(arg);
		if (rc < 0) {
			ZDK_ERR("--log-level '%s': use err, warn, notice, info or debug", arg);
			return -EINVAL;
		}
		c->log_level = rc;
		return 0;
	case OPT_NO_PROBE:
		c->no_probe = true;
		return 0;
	case 'h':
		a->help = true;
		return 0;
	case 'v':
		a->version = true;
		return 0;
	}
	return -EINVAL;
}

static int check_conflicts(const struct eal_conf *c)
{
	if (c->nallow && c->nblock) {
		ZDK_ERR("--allow and --block cannot be used together: list the devices to use "
			"with --allow only");
		return -EINVAL;
	}
	if (c->no_huge && (c->huge_dir[0] || c->huge_size)) {
		ZDK_ERR("--no-huge conflicts with --%s: drop one", c->huge_dir[0] ? "huge-dir"
									       : "huge-size");
		return -EINVAL;
	}
	if (c->no_huge && c->iommu >= ZDK_EAL_IOMMU_NOIOMMU) {
		ZDK_ERR("--no-huge cannot work with --iommu=noiommu: without an IOMMU a buffer "
			"must be physically contiguous, which only hugepages give");
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nallow; i++)
		for (unsigned j = 0; j < i; j++)
			if (!zdk_pci_addr_cmp(&c->allow[i], &c->allow[j])) {
				char b[ZDK_PCI_ADDR_LEN];

				zdk_pci_addr_format(&c->allow[i], b, sizeof(b));
				ZDK_ERR("--allow %s is given twice", b);
				return -EINVAL;
			}
	return 0;
}

int eal_parse_argv(int argc, char **argv, struct eal_args *a)
{
	int opt, rc, consumed;

	memset(a, 0, sizeof(*a));
	zdk_eal_conf_init(&a->conf);
	a->conf.allow = a->allow;
	a->conf.block = a->block;
	opterr = 0;
	optind = 0; /* glibc: restart scanning, even after an earlier parse */
	while ((opt = getopt_long(argc, argv, "+:l:a:b:m:hv", long_opts, NULL)) != -1) {
		rc = -EINVAL;
		if (opt == '?')
			ZDK_ERR("unknown option '%s' (zdk options come first; end them with --; "
				"-h lists them)", argv[optind - 1]);
		else if (opt == ':')
			ZDK_ERR("option '%s' needs a value", argv[optind - 1]);
		else
			rc = parse_one(opt, optarg, a);
		if (rc) {
			opterr = 1;
			return rc;
		}
	}
	/*
	 * As DPDK: the program name moves to the last consumed slot, so the
	 * application parses (argc - ret, argv + ret) with argv[0] intact.
	 */
	consumed = optind - 1;
	if (consumed > 0)
		argv[consumed] = argv[0];
	optind = 1; /* leave getopt ready for the application, */
	opterr = 1; /* which names the options it does not know */
	return consumed;
}

int eal_parse_args(int argc, char **argv, struct eal_conf *c)
{
	struct eal_args a;
	int consumed = eal_parse_argv(argc, argv, &a), rc;

	if (consumed < 0)
		return consumed;
	rc = eal_conf_check(&a.conf, c);
	c->help = a.help;
	c->version = a.version;
	return rc ? rc : consumed;
}
