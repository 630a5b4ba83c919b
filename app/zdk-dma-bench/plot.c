/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plot.c - draw the figures with gnuplot: a data file of blocks (one per
 * series, addressed by "index") and a script, both in a temporary
 * directory, then gnuplot run as a child and its SVG checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

extern char **environ;

struct plot {
	FILE *dat;
	FILE *gp;
	char dat_path[64];
	unsigned blocks; /* data blocks written so far */
};

static bool usable(const struct result *e, const char *test, const char *path)
{
	return e->st.n && !strcmp(e->test, test) && !strcmp(e->path, path);
}

static bool listed(const char **v, unsigned n, const char *s)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Distinct backends of @r, in order of appearance. */
static unsigned backends(const struct results *r, const char **v, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < r->n && n < max; i++)
		if (!listed(v, n, r->v[i].backend))
			v[n++] = r->v[i].backend;
	return n;
}

static void next_block(struct plot *p)
{
	if (p->blocks++)
		fprintf(p->dat, "\n\n");
}

/* An empty panel that says so (fixed ranges: nothing to autoscale). */
static void no_data(struct plot *p)
{
	fprintf(p->gp, "set label 99 'no data' at graph 0.5,0.5 center\n"
		       "plot [1:2][1:10] NaN notitle\n"
		       "unset label 99");
}

/*
 * One line per backend (and per backing when @by_backing) of @test via each
 * of @paths, against size (or threads): yerrorlines from p10 to p90.
 */
static void panel_lines(struct plot *p, const struct results *r, const char *test,
			const char *const *paths, unsigned npaths, bool by_backing,
			bool by_threads)
{
	const char *be[8], *mem[] = { "4K", "2M", "1G" };
	static const unsigned pt[] = { 6, 4, 8 }; /* circle, square, triangle */
	unsigned nb = backends(r, be, 8), b, m, i, k, nser = 0, style;

	for (b = 0; b < nb; b++)
		for (m = 0; m < (by_backing ? 3u : 1u); m++)
			for (k = 0; k < npaths; k++) {
				bool any = false;

				for (i = 0; i < r->n; i++) {
					const struct result *e = &r->v[i];

					if (!usable(e, test, paths[k]) || strcmp(e->backend, be[b]) ||
					    (by_backing && strcmp(e->backing, mem[m])))
						continue;
					if (!any)
						next_block(p);
					any = true;
					fprintf(p->dat, "%g %g %g %g\n",
						by_threads ? (double)e->threads : (double)e->size,
						e->st.median, e->st.p10, e->st.p90);
				}
				if (!any)
					continue;
				/* Colour: the backend; dashes and points: the backing or path. */
				style = by_backing ? m : k;
				fprintf(p->gp, "%s '%s' index %u using 1:2:3:4 with yerrorlines lc %u dt %u pt %u title '%s%s%s%s%s'",
					nser++ ? ", \\\n  " : "plot ", p->dat_path, p->blocks - 1,
					b + 1, style + 1, pt[style % 3], be[b],
					by_backing ? ", " : "", by_backing ? mem[m] : "",
					npaths > 1 ? " " : "", npaths > 1 ? paths[k] : "");
			}
	if (!nser)
		no_data(p);
	fprintf(p->gp, "\n");
}

struct category {
	const char *label;
	const char *test;
	const char *backing; /* NULL: any */
	const char *paths[3]; /* first one measured wins */
};

static const struct result *pick(const struct results *r, const char *backend,
				 const struct category *c)
{
	unsigned i, k;

	for (k = 0; k < 3 && c->paths[k]; k++)
		for (i = 0; i < r->n; i++) {
			const struct result *e = &r->v[i];

			if (usable(e, c->test, c->paths[k]) && !strcmp(e->backend, backend) &&
			    (!c->backing || !strcmp(e->backing, c->backing)))
				return e;
		}
	return NULL;
}

/* A clustered histogram: one cluster per category, one bar per backend. */
static void panel_bars(struct plot *p, const struct results *r, const struct category *cat,
		       unsigned ncat)
{
	const char *be[8];
	unsigned nb = backends(r, be, 8), b, c, found = 0, has[8] = { 0 }, nplot = 0;

	next_block(p);
	for (c = 0; c < ncat; c++) {
		fprintf(p->dat, "\"%s\"", cat[c].label);
		for (b = 0; b < nb; b++) {
			const struct result *e = pick(r, be[b], &cat[c]);

			if (e)
				fprintf(p->dat, " %g %g %g", e->st.median, e->st.p10, e->st.p90);
			else
				fprintf(p->dat, " ? ? ?");
			found += e != NULL;
			has[b] += e != NULL;
		}
		fprintf(p->dat, "\n");
	}
	/* A backend with no figure here gets no bar (and no legend entry). */
	for (b = 0; found && b < nb; b++)
		if (has[b])
			fprintf(p->gp, "%s '%s' index %u using %u:%u:%u:xtic(1) lc %u title '%s'",
				nplot++ ? ", \\\n  " : "plot ", p->dat_path, p->blocks - 1,
				2 + 3 * b, 3 + 3 * b, 4 + 3 * b, b + 1, be[b]);
	if (!found)
		no_data(p);
	fprintf(p->gp, "\n");
}

static const struct category arena_cats[] = {
	{ "4K first", "arena-first", "4K", { "raw" } },
	{ "4K again", "arena-again", "4K", { "raw" } },
	{ "2M first", "arena-first", "2M", { "raw" } },
	{ "2M again", "arena-again", "2M", { "raw" } },
	{ "1G first", "arena-first", "1G", { "raw" } },
	{ "1G again", "arena-again", "1G", { "raw" } },
};

static const struct category io_cats[] = {
	{ "map once", "io-once", NULL, { "zdk" } },
	{ "map per I/O", "io-per-io", NULL, { "dma", "zdk", "raw" } },
	{ "cache, hits", "io-cache-hot", NULL, { "dma", "zdk", "raw" } },
	{ "cache, 2x set", "io-cache-cold", NULL, { "dma", "zdk", "raw" } },
};

static const struct category small_cats[] = {
	{ "4K maps", "small-maps", NULL, { "raw" } },
	{ "4K unmaps", "small-unmaps", NULL, { "raw" } },
};

static void write_script(struct plot *p, const struct results *r, const char *svg,
			 const char *title)
{
	static const char *const raw[] = { "raw" }, *const raw_dma[] = { "raw", "dma" };
	FILE *g = p->gp;

	size_t n = strlen(svg);

	if (n > 4 && !strcmp(svg + n - 4, ".png"))
		fprintf(g, "set terminal pngcairo size 1200,1350 enhanced font 'sans,10'\n");
	else
		fprintf(g, "set terminal svg size 1200,1350 dynamic enhanced font 'sans,11'\n");
	fprintf(g, "set output '%s'\n"
		   "set datafile missing '?'\n"
		   "set grid ytics\n"
		   "set key top left font ',9'\n"
		   "set multiplot layout 3,2 title '%s'\n", svg, title);
	fprintf(g, "set logscale xy 2\nset logscale y 10\nset format y '%%g'\n"
		   "set xtics ('4K' 4096, '64K' 65536, '2M' 2097152, '64M' 67108864, '1G' 1073741824)\n"
		   "set xrange [2048:2147483648]\n");
	fprintf(g, "set title 'map latency, raw ioctl (median, p10-p90)'\nset ylabel 'us'\n");
	panel_lines(p, r, "map", raw, 1, true, false);
	fprintf(g, "set title 'unmap latency, raw ioctl'\n");
	panel_lines(p, r, "unmap", raw, 1, true, false);
	fprintf(g, "unset logscale\nunset xrange\nset xtics autofreq\nset logscale y 10\n"
		   "set style data histograms\n"
		   "set style histogram errorbars gap 1 lw 1\n"
		   "set style fill solid 0.5 border -1\nset xtics rotate by -20\n");
	fprintf(g, "set title 'mapping a whole buffer, fresh then resident, raw ioctl'\n"
		   "set ylabel 'GiB/s'\n");
	panel_bars(p, r, arena_cats, sizeof(arena_cats) / sizeof(arena_cats[0]));
	fprintf(g, "set title 'cost per I/O, 4K-128K buffers (zdk API)'\nset ylabel 'ns per I/O'\n");
	panel_bars(p, r, io_cats, sizeof(io_cats) / sizeof(io_cats[0]));
	fprintf(g, "unset logscale\nset yrange [0:*]\nset key top right\n"
		   "set title 'many small mappings, raw ioctl'\nset ylabel 'per second'\n");
	panel_bars(p, r, small_cats, sizeof(small_cats) / sizeof(small_cats[0]));
	fprintf(g, "set style data lines\nset xtics 1 norotate\nset autoscale x\n"
		   "set offsets 0.5, 0.5, 0, 0\n"
		   "set title '4K map+unmap pairs, threads at once: raw ioctl, zdk\\_dma\\_map'\n"
		   "set xlabel 'threads'\nset ylabel 'pairs per second, all threads'\n");
	panel_lines(p, r, "threads", raw_dma, 2, false, true);
	fprintf(g, "unset multiplot\nset output\n");
}

static int run_gnuplot(const char *script, const char *svg)
{
	char *argv[] = { "gnuplot", (char *)script, NULL };
	posix_spawn_file_actions_t fa;
	struct stat sb;
	int ret, status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	/* gnuplot chats on stdout for some terminals; keep ours clean. */
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	ret = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	if (stat(svg, &sb) || sb.st_size < 100)
		return -EIO;
	return 0;
}

int results_plot(const struct results *r, const char *svg, const char *title)
{
	char dir[] = "/tmp/zdk-dma-bench.XXXXXX", gp_path[64];
	struct plot p = { 0 };
	int ret;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(p.dat_path, sizeof(p.dat_path), "%s/data", dir);
	snprintf(gp_path, sizeof(gp_path), "%s/plot.gp", dir);
	p.dat = fopen(p.dat_path, "w");
	p.gp = fopen(gp_path, "w");
	if (!p.dat || !p.gp) {
		ret = -errno;
		goto out_close;
	}
	write_script(&p, r, svg, title);
	ret = fflush(p.dat) || fflush(p.gp) ? -EIO : 0;
	if (!ret)
		ret = run_gnuplot(gp_path, svg);
out_close:
	if (p.dat)
		fclose(p.dat);
	if (p.gp)
		fclose(p.gp);
	unlink(p.dat_path);
	unlink(gp_path);
	rmdir(dir);
	return ret;
}
