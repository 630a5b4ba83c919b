/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zdk_log.h"

int zdk_log_level = ZDK_LOG_NOTICE;

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
	long v;

	for (int i = ZDK_LOG_ERR; i <= ZDK_LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < ZDK_LOG_ERR || v > ZDK_LOG_DEBUG)
		return -EINVAL;
	return (int)v;
}

void zdk_log_print(int level, const char *component, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	/* One write per message, so lines from several lcores do not mix. */
	n = snprintf(buf, sizeof(buf), "zdk: %s: %s%s", component,
		     level == ZDK_LOG_ERR ? "error: " : level == ZDK_LOG_WARN ? "warning: " : "", "");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (buf[n - 1] != '\n')
		buf[n++] = '\n';
	buf[n] = '\0';
	fputs(buf, stderr);
}
