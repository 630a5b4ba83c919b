/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zdk_log.h - one log macro with a per-file component and a run-time level.
 *
 * A file sets its component before including this header:
 *	#define ZDK_LOG_COMPONENT "nvme"
 * and logs with ZDK_ERR/ZDK_WARN/ZDK_NOTICE/ZDK_INFO/ZDK_DEBUG. Libraries log a
 * failure once, where it is detected, and return the code.
 */
#ifndef ZDK_LOG_H
#define ZDK_LOG_H

#include "zdk_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zdk_log_level {
	ZDK_LOG_ERR = 1,
	ZDK_LOG_WARN,
	ZDK_LOG_NOTICE,
	ZDK_LOG_INFO,
	ZDK_LOG_DEBUG,
};

/* The current level; messages above it are dropped before formatting. */
ZDK_EXPORT extern int zdk_log_level;

/**
 * zdk_log_set_level() - set the run-time log level.
 * @level: one of enum zdk_log_level.
 */
ZDK_EXPORT void zdk_log_set_level(int level);

/**
 * zdk_log_parse_level() - a level from its name or number.
 * @s: "err", "warn", "notice", "info", "debug", or 1..5.
 *
 * Return: the level, or -EINVAL.
 */
ZDK_EXPORT int zdk_log_parse_level(const char *s);

/**
 * zdk_log_sink_fn - where an embedding program wants zdk's messages.
 * @level: an enum zdk_log_level.
 * @component: the part of zdk that speaks ("eal", "nvme", ...).
 * @msg: the message, one line without its newline.
 * @ctx: as given to zdk_log_set_sink().
 *
 * Called once per message, from whichever thread logs, with errno preserved
 * around the call.
 */
typedef void (*zdk_log_sink_fn)(int level, const char *component, const char *msg, void *ctx);

/**
 * zdk_log_set_sink() - send messages to @sink instead of stderr; NULL
 * restores stderr. Set it before zdk_eal_init() (or while no thread logs).
 */
ZDK_EXPORT void zdk_log_set_sink(zdk_log_sink_fn sink, void *ctx);

/**
 * zdk_log_print() - format one message and hand it to the sink (stderr by
 * default); use the macros. errno is left as it was.
 */
ZDK_EXPORT void zdk_log_print(int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef ZDK_LOG_COMPONENT
#define ZDK_LOG_COMPONENT "zdk"
#endif

#define ZDK_LOG(level, ...)                                                   \
	do {                                                                  \
		if (zdk_unlikely((level) <= zdk_log_level))                   \
			zdk_log_print((level), ZDK_LOG_COMPONENT, __VA_ARGS__); \
	} while (0)

#define ZDK_ERR(...) ZDK_LOG(ZDK_LOG_ERR, __VA_ARGS__)
#define ZDK_WARN(...) ZDK_LOG(ZDK_LOG_WARN, __VA_ARGS__)
#define ZDK_NOTICE(...) ZDK_LOG(ZDK_LOG_NOTICE, __VA_ARGS__)
#define ZDK_INFO(...) ZDK_LOG(ZDK_LOG_INFO, __VA_ARGS__)
#define ZDK_DEBUG(...) ZDK_LOG(ZDK_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* ZDK_LOG_H */
