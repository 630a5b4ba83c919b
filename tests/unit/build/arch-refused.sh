#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 9, defect 14: on anything but x86-64, zdk's TSC deadlines spun forever
# and its barriers were not device barriers. meson setup for another
# architecture must stop with a message that names it; and an installed
# header compiled for one must refuse too.
# Usage: arch-refused.sh SOURCE_ROOT
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A cross file naming aarch64, with the native compiler (it only has to pass
# meson's compile check; nothing is run).
cat > "$tmp/cross.ini" <<INI
[binaries]
c = 'cc'
[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'armv8'
endian = 'little'
INI
if meson setup --cross-file "$tmp/cross.ini" -Dtests=false "$tmp/b" "$src" >"$tmp/out" 2>&1; then
	echo "FAIL: meson setup for aarch64 succeeded"
	exit 1
fi
grep -q "zdk supports x86-64 only (this is aarch64)" "$tmp/out" || {
	echo "FAIL: meson setup failed, but not with the architecture message:"
	tail -n 5 "$tmp/out"
	exit 1
}
echo "ok: meson setup refuses aarch64 with a message naming it"

# The installed header: compiled as if for i386 (-m32 not needed: undefine).
printf '#include "zdk_common.h"\n' > "$tmp/h.c"
if cc -U__x86_64__ -fsyntax-only -I"$src/lib/env" "$tmp/h.c" 2>"$tmp/err"; then
	echo "FAIL: zdk_common.h compiled without __x86_64__"
	exit 1
fi
grep -q "zdk supports x86-64 only" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "ok: zdk_common.h refuses a non-x86-64 target"
