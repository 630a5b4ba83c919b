/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sys.h"
#include "zdk_log.h"

int zdk_log_level = ZDK_LOG_NOTICE;
static zdk_log_sink_fn log_sink;
static void *log_sink_ctx;

void zdk_log_set_sink(zdk_log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

static const char *const level_names[] = {
	[ZDK_LOG_ERR] = "err",	   [ZDK_LOG_WARN] = "warn", [ZDK_LOG_NOTICE] = "notice",
	[ZDK_LOG_INFO] = "info", [ZDK_LOG_DEBUG] = "debug",
};

void zdk_log_set_level(int level)
{
	if (level < ZDK_LOG_ERR)
		level = ZDK_LOG_ERR;
	if (level > ZDK_LOG_DEBUG)
		level = ZDK_LOG_DEBUG;
	zdk_log_level = level;
}

int zdk_log_parse_level(const char *s)
{
	char *end;
	uint64_t v;

	for (int i = ZDK_LOG_ERR; i <= ZDK_LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (!isdigit((unsigned char)*s) || sys_strtou64(s, &end, 10, &v) || *end ||
	    v < ZDK_LOG_ERR || v > ZDK_LOG_DEBUG)
		return -EINVAL;
	return (int)v;
}

/* Callers log and then return a code they captured before: keep errno. */
void zdk_log_print(int level, const char *component, const char *fmt, ...)
{
	int saved = errno, n, head;
	char buf[1024];
	va_list ap;

	/* One write per message, so lines from several lcores do not mix. */
	head = snprintf(buf, sizeof(buf), "zdk: %s: %s", component,
			level == ZDK_LOG_ERR ? "error: " : level == ZDK_LOG_WARN ? "warning: " : "");
	va_start(ap, fmt);
	n = vsnprintf(buf + head, sizeof(buf) - head - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	n = head + ZDK_MIN(n, (int)sizeof(buf) - head - 2);
	while (n > head && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	if (log_sink) {
		log_sink(level, component, buf + head, log_sink_ctx);
	} else {
		buf[n] = '\n';
		fwrite(buf, 1, n + 1, stderr);
	}
out:
	errno = saved;
}
