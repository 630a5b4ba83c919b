#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# registry_static.sh SHARED_BIN STATIC_BIN: both must list the same drivers.
shared=$("$1") || exit 1
static=$("$2") || exit 1
echo "shared: $(echo $shared)"
echo "static: $(echo $static)"
if [ -z "$shared" ]; then
	echo "SKIP: no driver is built yet"
	exit 77
fi
[ "$shared" = "$static" ] || { echo "FAIL: the static binary lost drivers"; exit 1; }
echo "ok: $(echo "$static" | wc -l) drivers registered in the static binary"
