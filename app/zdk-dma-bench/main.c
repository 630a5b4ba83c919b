/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk-dma-bench - what mapping memory for DMA costs through the type1
 * container (VFIO's own or iommufd's compat one) and through iommufd
 * (IOMMU_IOAS_MAP and IOMMU_IOAS_MAP_FILE), and without an IOMMU through
 * iommufd (pinning, IOMMU_IOAS_NOIOMMU_GET_PA) or the group (mlock and
 * /proc/self/pagemap): raw ioctls and zdk's API side by side in one run.
 *
 * One process measures one backend (zdk_eal_init() picks one per process).
 * --backend=all runs this program once per backend, each writing a CSV,
 * then merges them into one table and one plot.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdk_eal.h"
#include "zdk_iommu.h"
#include "zdk_mem.h"
#include "zdk_version.h"
#include "bench.h"
#include "iopages.h"

/* Each where the machine has it; the others are left out (EXIT_NO_BACKEND). */
static const char *const all_backends[] = { "type1", "iommufd", "noiommu-iommufd",
					    "noiommu-group" };

/*
 * Exit status when zdk_eal_init() answers -ENODEV: this machine lacks the
 * backend (or the device). --backend=all leaves such a backend out.
 */
#define EXIT_NO_BACKEND 3

static void usage(const char *prog)
{
	printf("usage: %s -a BDF [zdk options] -- [options]\n"
	       "Measure DMA map/unmap through type1 and iommufd, raw ioctls against zdk.\n\n"
	       "zdk options: -a BDF, the device to attach (bound to vfio-pci): mappings are\n"
	       "only real with a device in the container or IOAS. dma-bench sets -l, --iommu,\n"
	       "-m and --file-prefix itself for each backend; other zdk options go through.\n"
	       "Options:\n"
	       "  --backend=B         type1, iommufd, noiommu-iommufd, noiommu-group or all\n"
	       "                      (default: all that the machine has, one process each)\n"
	       "  --quick             smoke run: fewer sizes and repetitions (seconds)\n"
	       "  --tests=LIST        latency,arena,small,threads,io (default: all)\n"
	       "  --reps=N            timed repetitions per figure (default 5 quick, 11 full)\n"
	       "  --cpu=N             core to pin the measuring thread to (default: the last)\n"
	       "  --arena=MiB         zdk's hugepage arena (default 64)\n"
	       "  --csv=FILE          write every figure as CSV\n"
	       "  --plot=FILE.svg     draw the figures with gnuplot (FILE.png: a PNG)\n"
	       "  --no-table          do not print the table\n"
	       "  --load=FILE.csv     measure nothing: print and plot the figures of an\n"
	       "                      earlier --csv (repeat to merge runs)\n"
	       "  --iommu-pages       measure nothing: map zdk's arena through the backend and\n"
	       "                      count the IOMMU page table entries behind it, by size\n"
	       "                      (VT-d debugfs: CONFIG_INTEL_IOMMU_DEBUGFS)\n"
	       "  --type1-v1          the same for --arena MiB of 2 MiB pages in a type1 *v1*\n"
	       "                      container of the bench's own (zdk never asks for v1:\n"
	       "                      iommufd's compat container then maps 4 KiB pages)\n"
	       "  -h, --help          this text\n\n"
	       "Exit status: 0, 1 on failure, 3 when the backend (or device) is not there.\n"
	       "Figures are medians with the p10-p90 spread of the repetitions, after a\n"
	       "warm-up, on a pinned core. Paths: raw = the ioctl on zdk's own fd,\n"
	       "zdk = zdk_iommu_map*/unmap, dma = zdk_dma_map/unmap.\n", prog);
}

static int parse_tests(const char *s, unsigned *out)
{
	static const char *const names[] = { "latency", "arena", "small", "threads", "io", "all" };
	char *dup = strdup(s), *tok, *save = NULL;
	unsigned i, bits = 0;
	int ret = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ZDK_ARRAY_SIZE(names) && strcmp(tok, names[i]); i++)
			;
		if (i == ZDK_ARRAY_SIZE(names)) {
			fprintf(stderr, "dma-bench: unknown test '%s' (latency,arena,small,threads,io)\n", tok);
			ret = -EINVAL;
			continue;
		}
		bits |= i == ZDK_ARRAY_SIZE(names) - 1 ? T_ALL : 1u << i;
	}
	free(dup);
	*out = bits;
	return ret;
}

/* A whole decimal number in [@min, @max] for option @name. */
static int parse_uint(const char *name, const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "dma-bench: --%s=%s: want a number from %u to %u\n", name, s, min,
			max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

enum { O_BACKEND = 256, O_QUICK, O_TESTS, O_REPS, O_CPU, O_ARENA, O_CSV, O_PLOT, O_NOTABLE,
       O_LOAD, O_IOMMU_PAGES, O_TYPE1_V1 };

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "tests", required_argument, NULL, O_TESTS },
		{ "reps", required_argument, NULL, O_REPS },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "arena", required_argument, NULL, O_ARENA },
		{ "csv", required_argument, NULL, O_CSV },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "no-table", no_argument, NULL, O_NOTABLE },
		{ "load", required_argument, NULL, O_LOAD },
		{ "iommu-pages", no_argument, NULL, O_IOMMU_PAGES },
		{ "type1-v1", no_argument, NULL, O_TYPE1_V1 },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned v;
	int c;

	*o = (struct bench_opts){ .table = true, .backend = "all", .cpu = -1, .tests = T_ALL,
				  .arena_mib = 64 };
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case O_BACKEND: o->backend = optarg; break;
		case O_QUICK: o->quick = true; break;
		case O_TESTS:
			if (parse_tests(optarg, &o->tests))
				return -EINVAL;
			o->tests_arg = optarg;
			break;
		case O_REPS:
			if (parse_uint("reps", optarg, 1, 10000, &o->reps))
				return -EINVAL;
			break;
		case O_CPU:
			if (parse_uint("cpu", optarg, 0, CPU_SETSIZE - 1, &v))
				return -EINVAL;
			o->cpu = (int)v;
			break;
		case O_ARENA:
			if (parse_uint("arena", optarg, 2, 1u << 20, &o->arena_mib))
				return -EINVAL;
			break;
		case O_CSV: o->csv = optarg; break;
		case O_PLOT: o->plot = optarg; break;
		case O_NOTABLE: o->table = false; break;
		case O_LOAD:
			if (o->nload == ZDK_ARRAY_SIZE(o->load))
				return -EINVAL;
			o->load[o->nload++] = optarg;
			break;
		case O_IOMMU_PAGES: o->iommu_pages = true; break;
		case O_TYPE1_V1: o->type1_v1 = true; break;
		case 'h': usage(argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dma-bench: unexpected argument '%s' (zdk options go before --)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (strcmp(o->backend, "all") && strcmp(o->backend, "type1") &&
	    strcmp(o->backend, "iommufd") && strcmp(o->backend, "noiommu-iommufd") &&
	    strcmp(o->backend, "noiommu-group")) {
		fprintf(stderr, "dma-bench: --backend=%s: use type1, iommufd, noiommu-iommufd, "
			"noiommu-group or all\n", o->backend);
		return -EINVAL;
	}
	return 0;
}

/* The device among the zdk options: -a BDF, -aBDF, --allow BDF or --allow=BDF. */
static const char *zdk_opts_bdf(int argc, char **argv)
{
	const char *bdf = NULL;

	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-a") || !strcmp(argv[i], "--allow")) && i + 1 < argc)
			bdf = argv[++i];
		else if (!strncmp(argv[i], "--allow=", 8))
			bdf = argv[i] + 8;
		else if (!strncmp(argv[i], "-a", 2) && argv[i][2])
			bdf = argv[i] + 2;
	}
	return bdf;
}

/*
 * As every zdk program: zdk options, "--", then dma-bench's. The zdk options
 * are kept for each backend's zdk_eal_init(); dma-bench reads only the device.
 */
static int parse_cmdline(int argc, char **argv, struct bench_opts *o)
{
	int dd = 1, ret;

	while (dd < argc && strcmp(argv[dd], "--"))
		dd++;
	if (dd < argc)
		argv[dd] = argv[0]; /* dma-bench's part starts with the program name */
	ret = parse_opts(dd < argc ? argc - dd : 1, argv + (dd < argc ? dd : argc - 1), o);
	if (ret)
		return ret;
	o->zdk_argv = argv + 1;
	o->zdk_argc = dd - 1;
	/* The parent starts no zdk: answer zdk's -h and -v here. */
	for (int i = 0; i < o->zdk_argc; i++) {
		if (!strcmp(o->zdk_argv[i], "-h") || !strcmp(o->zdk_argv[i], "--help")) {
			usage(argv[0]);
			exit(0);
		}
		if (!strcmp(o->zdk_argv[i], "-v") || !strcmp(o->zdk_argv[i], "--version")) {
			printf("%s (zdk %s)\n", argv[0], zdk_version());
			exit(0);
		}
	}
	o->bdf = zdk_opts_bdf(o->zdk_argc, o->zdk_argv);
	if (!o->bdf && !o->nload) {
		fprintf(stderr, "dma-bench: -a BDF is needed: mappings are only real with a device "
			"in the container or IOAS; bind one with zdk-devbind --bind=vfio-pci BDF\n");
		return -EINVAL;
	}
	return 0;
}

/* Write the table, CSV and plot of @res as the options ask. */
static int report(const struct bench_opts *o, const struct results *res)
{
	char title[160];
	struct utsname u;
	int ret = 0;
	FILE *f;

	if (o->table)
		results_print_table(res, stdout);
	if (o->csv) {
		f = fopen(o->csv, "w");
		if (!f || results_write_csv(res, f) || fclose(f)) {
			fprintf(stderr, "dma-bench: cannot write %s\n", o->csv);
			ret = -EIO;
		}
	}
	if (o->plot) {
		uname(&u);
		if (o->nload)
			snprintf(title, sizeof(title), "zdk-dma-bench, figures from %s", o->load[0]);
		else
			snprintf(title, sizeof(title), "zdk-dma-bench%s, Linux %s, %s",
				 o->quick ? " --quick" : "", u.release, o->bdf);
		ret = results_plot(res, o->plot, title);
		if (ret)
			fprintf(stderr, "dma-bench: gnuplot did not draw %s: %s\n", o->plot,
				ret == -EIO ? "it failed or wrote no SVG" : strerror(-ret));
		else
			fprintf(stderr, "dma-bench: plot written to %s\n", o->plot);
	}
	return ret;
}

/* Run this program for one backend, its figures into @csv. */
static int run_child(const struct bench_opts *o, char *prog, const char *backend, const char *csv)
{
	char **cargv = calloc((size_t)o->zdk_argc + 16, sizeof(char *));
	char bopt[32], copt[96], topt[96], ropt[32], popt[32], aopt[32];
	int i, n = 0, status;
	pid_t pid;

	if (!cargv)
		return -ENOMEM;
	snprintf(bopt, sizeof(bopt), "--backend=%s", backend);
	snprintf(copt, sizeof(copt), "--csv=%s", csv);
	snprintf(topt, sizeof(topt), "--tests=%s", o->tests_arg ? o->tests_arg : "all");
	snprintf(ropt, sizeof(ropt), "--reps=%u", o->reps);
	snprintf(popt, sizeof(popt), "--cpu=%d", o->cpu);
	snprintf(aopt, sizeof(aopt), "--arena=%u", o->arena_mib);
	cargv[n++] = prog;
	for (i = 0; i < o->zdk_argc; i++)
		cargv[n++] = o->zdk_argv[i];
	cargv[n++] = "--";
	cargv[n++] = bopt;
	cargv[n++] = copt;
	cargv[n++] = topt;
	cargv[n++] = aopt;
	if (o->reps)
		cargv[n++] = ropt;
	if (o->cpu >= 0)
		cargv[n++] = popt;
	cargv[n++] = "--no-table";
	if (o->quick)
		cargv[n++] = "--quick";
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", cargv);
		/* Replaced on disk while we ran? Try the name we were started by. */
		execvp(prog, cargv);
		fprintf(stderr, "dma-bench: cannot run %s for backend %s: %s\n", prog, backend,
			strerror(errno));
		_exit(127);
	}
	free(cargv);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NO_BACKEND)
		return -ENODEV;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int run_all(const struct bench_opts *o, char *prog)
{
	char dir[] = "/tmp/zdk-dma-bench.XXXXXX", csv[64];
	struct results res = { 0 };
	unsigned i, failed = 0;
	int ret;

	if (!mkdtemp(dir))
		return -errno;
	for (i = 0; i < ZDK_ARRAY_SIZE(all_backends); i++) {
		FILE *f;

		snprintf(csv, sizeof(csv), "%s/%s.csv", dir, all_backends[i]);
		fprintf(stderr, "dma-bench: === backend %s ===\n", all_backends[i]);
		ret = run_child(o, prog, all_backends[i], csv);
		f = ret ? NULL : fopen(csv, "r");
		if (ret == -ENODEV) {
			/* Not a failure: say so and compare what the machine has. */
			fprintf(stderr, "dma-bench: backend %s is not available here: left out\n",
				all_backends[i]);
		} else if (ret || !f || results_read_csv(&res, f)) {
			fprintf(stderr, "dma-bench: backend %s produced no figures\n", all_backends[i]);
			failed++;
		}
		if (f)
			fclose(f);
		unlink(csv);
	}
	rmdir(dir);
	if (res.n) {
		ret = report(o, &res);
	} else {
		fprintf(stderr, "dma-bench: no backend could be measured on this machine\n");
		ret = -EIO;
	}
	results_free(&res);
	return failed ? -EIO : ret;
}

/*
 * The EAL command line for one backend: our device, a small arena, and the
 * measuring core as the main lcore (zdk pins main() there).
 */
static int eal_start(const struct bench_opts *o, int cpu, char *prog)
{
	char iommu[32], mem[16], lcore[16], *eargv[64];
	int n = 0, i, ret;

	snprintf(iommu, sizeof(iommu), "--iommu=%s", o->backend);
	snprintf(mem, sizeof(mem), "%u", o->arena_mib);
	snprintf(lcore, sizeof(lcore), "%d", cpu);
	eargv[n++] = prog;
	/* The caller's zdk options, then ours, which win where both are given. */
	for (i = 0; i < o->zdk_argc && n < 55; i++)
		eargv[n++] = o->zdk_argv[i];
	eargv[n++] = "-l";
	eargv[n++] = lcore;
	eargv[n++] = iommu;
	eargv[n++] = "-m";
	eargv[n++] = mem;
	eargv[n++] = "--file-prefix=zdk-dma-bench";
	eargv[n] = NULL;
	ret = zdk_eal_init(n, eargv);
	if (ret >= 0)
		return 0;
	fprintf(stderr, "dma-bench: zdk_eal_init(--iommu=%s -a %s) failed: %s\n", o->backend,
		o->bdf, strerror(-ret));
	/* -ENODEV (no such backend or device here; zdk said which) is kept. */
	return ret;
}

static int bench_setup(struct bench *b, const struct bench_opts *o, const cpu_set_t *cpus,
		       int cpu, struct results *res)
{
	enum zdk_iommu_mode want = !strcmp(o->backend, "type1")		? ZDK_IOMMU_TYPE1
				   : !strncmp(o->backend, "noiommu", 7) ? ZDK_IOMMU_NOIOMMU
									: ZDK_IOMMU_IOMMUFD;
	int ret;

	memset(b, 0, sizeof(*b));
	b->o = o;
	b->res = res;
	/* iommufd's compat container is measured as a form of its own */
	b->backend = strcmp(zdk_iommu_form(), "type1 (served by iommufd)") ? o->backend
									  : "type1-compat";
	b->reps = o->reps ? o->reps : o->quick ? 5 : 11;
	b->warmup = o->quick ? 1 : 2;
	b->cpus = *cpus;
	if (zdk_iommu_mode() != want) {
		fprintf(stderr, "dma-bench: zdk runs on %s, not %s\n",
			zdk_iommu_mode_name(zdk_iommu_mode()), o->backend);
		return -EINVAL;
	}
	ret = raw_iommu_find(&b->raw, want);
	if (ret) {
		fprintf(stderr, "dma-bench: cannot find zdk's %s fd for the raw ioctls\n", o->backend);
		return ret;
	}
	b->map_file = b->raw.iommufd && zdk_iommu_has_map_file();
	/* The no-IOMMU group maps nothing: only zdk_dma_map() (lock the pages,
	 * read their addresses from /proc/self/pagemap) has a cost to measure. */
	b->paths = b->raw.iommufd || want == ZDK_IOMMU_TYPE1 ? (1u << P_NPATHS) - 1 : 1u << P_DMA;
	ret = bench_pin(cpu);
	if (ret) {
		fprintf(stderr, "dma-bench: cannot pin to CPU %d: %s\n", cpu, strerror(-ret));
		return ret;
	}
	b->tsc_per_us = (double)zdk_tsc_hz() / 1e6;
	fprintf(stderr, "dma-bench: %s on %s, pinned to CPU %d, %u reps after %u warm-up, MAP_FILE %s\n",
		o->backend, o->bdf, cpu, b->reps, b->warmup, b->map_file ? "yes" : "no");
	return 0;
}

static const struct {
	unsigned bit;
	const char *name;
	void (*fn)(struct bench *b);
} sections[] = {
	{ T_LATENCY, "latency", bench_latency },
	{ T_ARENA, "arena", bench_arena },
	{ T_SMALL, "small maps", bench_small },
	{ T_THREADS, "threads", bench_threads },
	{ T_IO, "I/O strategies", bench_io },
};

static int run_one(const struct bench_opts *o, char *prog)
{
	struct results res = { 0 };
	struct bench b;
	cpu_set_t cpus;
	unsigned i;
	int ret, cpu;

	/* The CPUs we may use, before zdk pins this thread to its main lcore. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		return -errno;
	cpu = o->cpu >= 0 ? o->cpu : bench_cpu_nth(&cpus, (unsigned)CPU_COUNT(&cpus) - 1);
	ret = eal_start(o, cpu, prog);
	if (ret)
		return ret;
	ret = bench_setup(&b, o, &cpus, cpu, &res);
	if (ret)
		goto out_cleanup;
	for (i = 0; i < ZDK_ARRAY_SIZE(sections); i++) {
		double t0;

		if (!(o->tests & sections[i].bit))
			continue;
		if (!(b.paths & (1u << P_RAW)) && sections[i].bit != T_LATENCY &&
		    sections[i].bit != T_ARENA) {
			fprintf(stderr, "dma-bench: %s: %s left out: it compares paths, and only "
				"zdk_dma_map() means something here\n", b.backend, sections[i].name);
			continue;
		}
		t0 = bench_now_us(&b);
		sections[i].fn(&b);
		fprintf(stderr, "dma-bench: %s: %s took %.1f s\n", b.backend, sections[i].name,
			(bench_now_us(&b) - t0) / 1e6);
	}
	ret = res.n ? report(o, &res) : -EIO;
out_cleanup:
	results_free(&res);
	zdk_eal_cleanup();
	return ret;
}

/*
 * --iommu-pages: the arena, mapped by zdk through one backend, and what the
 * IOMMU made of it. One line, "iommu-pages: FORM arena N MiB of S pages:
 * 4K=a 2M=b 1G=c", that tests and doc/dma-bench.md read.
 */
static int run_iommu_pages(const struct bench_opts *o, char *prog)
{
	const struct zdk_mem_xlate *x = &zdk_mem_xlate;
	struct iopages p;
	char counts[64];
	cpu_set_t cpus;
	int ret, cpu;

	if (!strcmp(o->backend, "all")) {
		fprintf(stderr, "dma-bench: --iommu-pages measures one backend: add --backend=type1 "
			"or --backend=iommufd\n");
		return -EINVAL;
	}
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		return -errno;
	cpu = o->cpu >= 0 ? o->cpu : bench_cpu_nth(&cpus, (unsigned)CPU_COUNT(&cpus) - 1);
	ret = eal_start(o, cpu, prog);
	if (ret)
		return ret;
	ret = iopages_read(o->bdf, x->pg_iova[0], x->len, &p);
	if (!ret) {
		iopages_format(&p, counts, sizeof(counts));
		printf("iommu-pages: %s arena %zu MiB of %zu KiB pages at IOVA 0x%llx: %s\n",
		       zdk_iommu_form(), (size_t)(x->len >> 20), ((size_t)1 << x->pg_shift) >> 10,
		       (unsigned long long)x->pg_iova[0], counts);
		if (p.bytes < x->len) {
			fprintf(stderr, "dma-bench: the IOMMU holds %llu of the arena's %zu bytes\n",
				(unsigned long long)p.bytes, (size_t)x->len);
			ret = -EIO;
		}
	}
	zdk_eal_cleanup();
	return ret;
}

static int run_type1_v1(const struct bench_opts *o)
{
	struct iopages p;
	char counts[64];
	int compat = 0, ret;

	ret = iopages_type1_v1(o->bdf, (uint64_t)o->arena_mib << 20, &p, &compat);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr, "dma-bench: --type1-v1: the container has no VFIO_TYPE1_IOMMU\n");
		return -ENODEV;
	}
	if (ret)
		return ret;
	iopages_format(&p, counts, sizeof(counts));
	printf("iommu-pages: type1 v1%s %u MiB of 2048 KiB pages at IOVA 0x100000000: %s\n",
	       compat ? " (served by iommufd)" : "", o->arena_mib, counts);
	return 0;
}

/* Figures from earlier runs' CSV files, merged. */
static int run_load(const struct bench_opts *o)
{
	struct results res = { 0 };
	unsigned i;
	int ret = 0;

	for (i = 0; i < o->nload && !ret; i++) {
		FILE *f = fopen(o->load[i], "r");

		ret = f ? results_read_csv(&res, f) : -errno;
		if (ret)
			fprintf(stderr, "dma-bench: cannot read %s: %s\n", o->load[i],
				ret == -EINVAL ? "not a zdk-dma-bench CSV" : strerror(-ret));
		if (f)
			fclose(f);
	}
	if (!ret)
		ret = report(o, &res);
	results_free(&res);
	return ret;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	int ret;

	if (parse_cmdline(argc, argv, &o)) {
		fprintf(stderr, "try %s -- --help\n", argv[0]);
		return 2;
	}
	if (o.type1_v1)
		ret = run_type1_v1(&o);
	else if (o.iommu_pages)
		ret = run_iommu_pages(&o, argv[0]);
	else if (o.nload)
		ret = run_load(&o);
	else if (!strcmp(o.backend, "all"))
		ret = run_all(&o, argv[0]);
	else
		ret = run_one(&o, argv[0]);
	if (ret == -ENODEV)
		return EXIT_NO_BACKEND;
	return ret ? 1 : 0;
}
