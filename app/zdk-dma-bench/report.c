/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define CSV_HEADER "backend,test,backing,size,threads,path,unit,median,p10,p90,mad,n,note"

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int results_add(struct results *r, const struct result_key *k, const char *path,
		const struct stats *st, const char *note)
{
	struct result *e;
	char *c;

	if (r->n == r->cap) {
		unsigned cap = r->cap ? 2 * r->cap : 64;
		struct result *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	copy_str(e->backend, sizeof(e->backend), k->backend);
	copy_str(e->test, sizeof(e->test), k->test);
	copy_str(e->backing, sizeof(e->backing), k->backing ? k->backing : "-");
	e->size = k->size;
	e->threads = k->threads ? k->threads : 1;
	copy_str(e->path, sizeof(e->path), path);
	copy_str(e->unit, sizeof(e->unit), k->unit);
	if (st)
		e->st = *st;
	copy_str(e->note, sizeof(e->note), note);
	for (c = e->note; *c; c++)
		if (*c == ',' || *c == '\n')
			*c = ';';
	return 0;
}

void results_free(struct results *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static bool same_key(const struct result *a, const struct result *b)
{
	return !strcmp(a->backend, b->backend) && !strcmp(a->test, b->test) &&
	       !strcmp(a->backing, b->backing) && a->size == b->size &&
	       a->threads == b->threads && !strcmp(a->unit, b->unit);
}

const struct result *results_find(const struct results *r, const struct result_key *k,
				  const char *path)
{
	struct result want;
	unsigned i;

	memset(&want, 0, sizeof(want));
	copy_str(want.backend, sizeof(want.backend), k->backend);
	copy_str(want.test, sizeof(want.test), k->test);
	copy_str(want.backing, sizeof(want.backing), k->backing ? k->backing : "-");
	want.size = k->size;
	want.threads = k->threads ? k->threads : 1;
	copy_str(want.unit, sizeof(want.unit), k->unit);
	for (i = 0; i < r->n; i++)
		if (same_key(&r->v[i], &want) && !strcmp(r->v[i].path, path))
			return &r->v[i];
	return NULL;
}

int results_write_csv(const struct results *r, FILE *f)
{
	unsigned i;

	fprintf(f, "%s\n", CSV_HEADER);
	for (i = 0; i < r->n; i++) {
		const struct result *e = &r->v[i];

		fprintf(f, "%s,%s,%s,%" PRIu64 ",%u,%s,%s,%.6g,%.6g,%.6g,%.6g,%u,%s\n",
			e->backend, e->test, e->backing, e->size, e->threads, e->path,
			e->unit, e->st.median, e->st.p10, e->st.p90, e->st.mad, e->st.n,
			e->note);
	}
	return ferror(f) ? -EIO : 0;
}

/* Split @line in place at commas; the last field keeps the rest. */
static unsigned split_csv(char *line, char **fld, unsigned max)
{
	unsigned n = 0;
	char *p = line;

	while (n < max) {
		fld[n++] = p;
		if (n == max)
			break;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int parse_row(char *line, struct results *r)
{
	struct result_key k;
	struct stats st;
	char *fld[13], *end;

	line[strcspn(line, "\r\n")] = '\0';
	if (split_csv(line, fld, 13) != 13)
		return -EINVAL;
	k = (struct result_key){ .backend = fld[0], .test = fld[1], .backing = fld[2],
				 .unit = fld[6] };
	k.size = strtoull(fld[3], &end, 10);
	if (*end)
		return -EINVAL;
	k.threads = (unsigned)strtoul(fld[4], &end, 10);
	if (*end)
		return -EINVAL;
	st.median = strtod(fld[7], NULL);
	st.p10 = strtod(fld[8], NULL);
	st.p90 = strtod(fld[9], NULL);
	st.mad = strtod(fld[10], NULL);
	st.n = (unsigned)strtoul(fld[11], &end, 10);
	if (*end)
		return -EINVAL;
	return results_add(r, &k, fld[5], &st, fld[12]);
}

int results_read_csv(struct results *r, FILE *f)
{
	char line[512];
	int ret;

	if (!fgets(line, sizeof(line), f))
		return -EINVAL;
	if (strncmp(line, CSV_HEADER, strlen(CSV_HEADER)))
		return -EINVAL;
	while (fgets(line, sizeof(line), f)) {
		ret = parse_row(line, r);
		if (ret)
			return ret;
	}
	return ferror(f) ? -EIO : 0;
}

const char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char sfx[] = "KMGT";
	unsigned i;

	if (bytes == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (bytes % 1024) {
		snprintf(buf, len, "%" PRIu64, bytes);
		return buf;
	}
	bytes /= 1024;
	for (i = 0; i < 3 && bytes >= 1024 && bytes % 1024 == 0; i++)
		bytes /= 1024;
	snprintf(buf, len, "%" PRIu64 "%c", bytes, sfx[i]);
	return buf;
}

const char *fmt_num(double v, char *buf, size_t len)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(buf, len, "-");
	else if (a >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static bool unit_is_rate(const char *unit)
{
	return strchr(unit, '/') && strcmp(unit, "ns/io") && strcmp(unit, "us/io");
}

static void fmt_cell(const struct result *e, char *buf, size_t len)
{
	char m[24], lo[24], hi[24];

	if (!e)
		snprintf(buf, len, "-");
	else if (e->st.n == 0)
		snprintf(buf, len, "skipped");
	else if (e->st.n == 1)
		snprintf(buf, len, "%s", fmt_num(e->st.median, m, sizeof(m)));
	else
		snprintf(buf, len, "%s (%s-%s)", fmt_num(e->st.median, m, sizeof(m)),
			 fmt_num(e->st.p10, lo, sizeof(lo)), fmt_num(e->st.p90, hi, sizeof(hi)));
}

/* zdk's cost over the raw ioctl, in percent: positive means zdk is slower. */
static void fmt_overhead(const struct result *raw, const struct result *z, char *buf,
			 size_t len)
{
	double o;

	if (!raw || !z || !raw->st.n || !z->st.n || raw->st.median <= 0 || z->st.median <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (unit_is_rate(raw->unit))
		o = raw->st.median / z->st.median - 1;
	else
		o = z->st.median / raw->st.median - 1;
	snprintf(buf, len, "%+.1f%%", 100 * o);
}

static const struct result *sibling(const struct results *r, const struct result *e,
				    const char *path)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (same_key(&r->v[i], e) && !strcmp(r->v[i].path, path))
			return &r->v[i];
	return NULL;
}

/* Whether @e's row was already printed by an earlier figure of the same key. */
static bool row_printed(const struct results *r, unsigned idx)
{
	unsigned i;

	for (i = 0; i < idx; i++)
		if (same_key(&r->v[i], &r->v[idx]))
			return true;
	return false;
}

/* The same note for the same row through another path: say it once. */
static bool note_printed(const struct results *r, unsigned idx)
{
	unsigned i;

	for (i = 0; i < idx; i++)
		if (same_key(&r->v[i], &r->v[idx]) && !strcmp(r->v[i].note, r->v[idx].note))
			return true;
	return false;
}

void results_print_table(const struct results *r, FILE *f)
{
	char sz[16], c[3][48], o[2][16];
	const struct result *p[3];
	unsigned i, j, notes = 0;

	fprintf(f, "%-12s %-13s %-4s %-5s %-3s %-6s | %-22s | %-22s %-7s | %-22s %-7s\n",
		"backend", "test", "mem", "size", "thr", "unit", "raw ioctl",
		"zdk_iommu_*", "vs raw", "zdk_dma_*", "vs raw");
	for (i = 0; i < r->n; i++) {
		const struct result *e = &r->v[i];

		if (row_printed(r, i))
			continue;
		p[0] = sibling(r, e, "raw");
		p[1] = sibling(r, e, "zdk");
		p[2] = sibling(r, e, "dma");
		for (j = 0; j < 3; j++)
			fmt_cell(p[j], c[j], sizeof(c[j]));
		fmt_overhead(p[0], p[1], o[0], sizeof(o[0]));
		fmt_overhead(p[0], p[2], o[1], sizeof(o[1]));
		fprintf(f, "%-12s %-13s %-4s %-5s %-3u %-6s | %-22s | %-22s %-7s | %-22s %-7s\n",
			e->backend, e->test, e->backing, fmt_size(e->size, sz, sizeof(sz)),
			e->threads, e->unit, c[0], c[1], o[0], c[2], o[1]);
	}
	for (i = 0; i < r->n; i++) {
		const struct result *e = &r->v[i];

		if (!e->note[0] || note_printed(r, i))
			continue;
		if (!notes++)
			fprintf(f, "\nnotes:\n");
		fprintf(f, "  %s %s %s %s: %s\n", e->backend, e->test, e->backing,
			fmt_size(e->size, sz, sizeof(sz)), e->note);
	}
}
