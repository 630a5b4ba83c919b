#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# install-test.sh SOURCE_ROOT BUILD_DIR: libzdk as an outside program gets it.
#  1. meson install into a temporary prefix;
#  2. every installed header compiles alone, as C11 and as C++17, with
#     -Wall -Wextra -pedantic -Werror;
#  3. tests/install/outside.c builds with `pkg-config libzdk`, as C and as
#     C++, linked shared and static, and runs (memory only on this host);
#  4. libzdk.a defines no global symbol without the zdk_ prefix, and
#     libzdk.so exports exactly the symbols buildtools/libzdk.map lists;
#  5. the tools (zdk-devbind, zdk-doctor, zdk-launch, zdk-dma-bench) build against the
#     installed prefix, from their own sources and the shared-internal
#     helpers, without zdk's build tree.
# The prefix and the programs stay in BUILD_DIR/tests/install/out, where the
# vm test outside-linux.sh runs them against a real controller.
set -euo pipefail
src=$1 build=$2
tmp=$build/tests/install/out
rm -rf "$tmp"
mkdir -p "$tmp"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

meson install -C "$build" --destdir "$tmp/root" --no-rebuild >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$tmp/root" -name libzdk.pc)
[ -n "$pc" ] || { echo "FAIL: no libzdk.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
# pkg-config's prefix is the installed one: make it the temporary root's.
prefix=$(pkg-config --variable=prefix libzdk)
pkgc() { pkg-config --define-variable=prefix="$tmp/root$prefix" "$@"; }
cflags=$(pkgc --cflags libzdk)
libdir=$(pkgc --variable=libdir libzdk)
incdir=$(pkgc --variable=includedir libzdk)

# 2. Each header alone.
n=0 before=$fails
for h in "$incdir"/zdk/*.h; do
	n=$((n + 1))
	name=zdk/$(basename "$h")
	printf '#include <%s>\n' "$name" >"$tmp/h.c"
	gcc -std=c11 -Wall -Wextra -pedantic -Werror $cflags -fsyntax-only "$tmp/h.c" 2>"$tmp/err" ||
		{ fail "$name does not compile alone as C11:"; head -n 5 "$tmp/err"; }
	g++ -std=c++17 -Wall -Wextra -pedantic -Werror $cflags -fsyntax-only -x c++ "$tmp/h.c" \
		2>"$tmp/err" || { fail "$name does not compile alone as C++17:"; head -n 5 "$tmp/err"; }
done
[ "$n" -gt 0 ] || fail "no header installed under $incdir/zdk"
[ "$fails" -eq "$before" ] && ok "$n headers, each alone, as C11 and as C++17"

# 3. The outside program: C and C++, shared and static.
libs=$(pkgc --libs libzdk)
static_libs=$(pkgc --libs --static libzdk)
build_run() { # NAME COMPILER-AND-FLAGS...
	local name=$1
	shift
	"$@" -o "$tmp/$name" 2>"$tmp/err" || { fail "$name does not build:"; head -n 8 "$tmp/err"; return; }
	LD_LIBRARY_PATH=$libdir "$tmp/$name" --no-huge -m 16 --file-prefix "$name" >"$tmp/run" 2>&1 ||
		{ fail "$name does not run:"; tail -n 5 "$tmp/run"; return; }
	ok "$name: built and ran ($(stat -c %s "$tmp/$name") bytes)"
}
common=(-Wall -Wextra -Werror $cflags "$src/tests/install/outside.c")
build_run outside-c-shared gcc -std=c11 "${common[@]}" $libs
build_run outside-c-static gcc -std=c11 "${common[@]}" -Wl,-Bstatic -lzdk -Wl,-Bdynamic \
	-L"$libdir" ${static_libs//-lzdk/}
build_run outside-cxx-shared g++ -std=c++17 -x c++ "${common[@]}" -x none $libs
build_run outside-cxx-static g++ -std=c++17 -x c++ "${common[@]}" -x none -Wl,-Bstatic -lzdk \
	-Wl,-Bdynamic -L"$libdir" ${static_libs//-lzdk/}

# 4. The symbols.
bad=$(nm -g --defined-only "$libdir/libzdk.a" | awk 'NF == 3 && $3 !~ /^zdk_/ { print $3 }')
[ -z "$bad" ] || fail "libzdk.a has global symbols without the zdk_ prefix: $(echo $bad | head -c 300)"
nm -D --defined-only "$libdir/libzdk.so" | awk 'NF == 3 && $3 ~ /^zdk_/ { sub(/@.*/, "", $3); print $3 }' | sort \
	>"$tmp/exported"
sed -n 's/^[[:space:]]*\(zdk_[A-Za-z0-9_]*\);$/\1/p' "$src/buildtools/libzdk.map" | sort >"$tmp/listed"
if cmp -s "$tmp/exported" "$tmp/listed"; then
	ok "libzdk.so exports exactly the $(wc -l <"$tmp/listed") symbols of libzdk.map"
else
	fail "libzdk.so's exports differ from libzdk.map (< exported, > listed):"
	diff "$tmp/exported" "$tmp/listed" | head -n 20
fi
[ -z "$bad" ] && ok "libzdk.a: every global symbol is zdk_-prefixed"

# 5. The tools, from their sources and the shared-internal helpers only.
tool() { # NAME SOURCES...
	local name=$1
	shift
	gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror $cflags -I"$src/lib/pci" -I"$src/lib/iommu" -I"$src/lib/env" -I"$src/app/common" \
		"$@" $libs -lm -o "$tmp/$name" 2>"$tmp/err" ||
		{ fail "$name does not build against the installed prefix:"; head -n 8 "$tmp/err"; return; }
	ok "$name builds against the installed prefix"
}
helpers=("$src/lib/pci/pci_sysfs.c" "$src/lib/pci/host_probe.c" "$src/lib/env/sys.c"
	"$src/lib/env/rights.c" "$src/app/common/user.c")
tool zdk-devbind "$src"/app/zdk-devbind/*.c "${helpers[@]}"
tool zdk-doctor "$src"/app/zdk-doctor/*.c "${helpers[@]}"
tool zdk-launch "$src"/app/zdk-launch/*.c "${helpers[@]}"
tool zdk-dma-bench "$src"/app/zdk-dma-bench/*.c

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
