#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# errno-rule.sh SOURCE_ROOT: in libzdk (lib/, drivers/) only the system call
# wrappers (lib/env/sys.c) read errno, and the logger, which preserves it.
# Anywhere else a log call between the failure and the read could change the
# code a function returns (issue 10). Comments and #include lines aside.
set -eu
cd "$1"
bad=$(grep -rnw errno lib drivers --include='*.c' --include='*.h' |
	grep -v -e '^lib/env/sys\.c:' -e '^lib/env/log\.c:' -e '#include <errno.h>' |
	grep -v -E '^[^:]+:[0-9]+:\s*(/?\*|//)' | grep -v -E '/\*.*errno.*\*/' || true)
if [ -n "$bad" ]; then
	echo "FAIL: errno read outside lib/env/sys.c (use a sys_* wrapper that returns -errno):"
	echo "$bad"
	exit 1
fi
echo "ok: only lib/env/sys.c (and the logger, which keeps it) read errno"
