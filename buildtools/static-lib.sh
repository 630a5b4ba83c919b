#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# static-lib.sh OUT.a IN.a...: libzdk.a, from its components' archives, as an
# application links it.
# - One relocatable object from every member (ld -r), so that linking any zdk
#   symbol pulls in every driver's registration constructor.
# - Every hidden symbol made local (objcopy --localize-hidden): only the ABI
#   that buildtools/libzdk.map lists stays global, so an application may
#   define its own mem_init or heap_alloc.
set -eu
out=$1
shift
tmp=$out.o
ld -r --whole-archive "$@" -o "$tmp"
objcopy --localize-hidden "$tmp"
rm -f "$out"
ar rcs "$out" "$tmp"
rm -f "$tmp"
