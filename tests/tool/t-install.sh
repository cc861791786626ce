#!/bin/sh
# SPDX-License-Identifier: MIT
# make install into a scratch prefix; the README's example builds against
# the installed headers and library through pkg-config, and runs. The
# soname is versioned and the library exports only the prefixed API.
. "$(dirname "$0")/../lib/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/opt/mb

make -s -C "$top" BUILD="$BUILD" SAN="$SAN" DESTDIR="$dest" PREFIX=$prefix install >"$dest/log" 2>&1
status=$?
[ $status -eq 0 ] || diag "$(cat "$dest/log")"
ok $status "make install DESTDIR=... PREFIX=$prefix"
for f in include/membarrier.h include/membarrier/arch.h \
	include/membarrier/arch/x86_64.h include/membarrier/arch/aarch64.h \
	lib/libmembarrier.so lib/libmembarrier.so.0 lib/libmembarrier.a \
	lib/pkgconfig/libmembarrier.pc bin/membarrier \
	lib/libmembarrier-preload.so share/man/man1/membarrier.1 \
	share/man/man3/libmembarrier.3 share/man/man3/mbfence.3 \
	share/man/man3/mbrcu.3 share/man/man3/mbjit.3 share/man/man3/mbrseq.3 \
	share/man/man3/mbbias.3; do
	[ -e "$dest$prefix/$f" ]
	ok $? "installed $f"
done
soname=$(readelf -d "$dest$prefix/lib/libmembarrier.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libmembarrier.so.0 ]
ok $? "soname is libmembarrier.so.0 ($soname)"
bad=$(nm -D --defined-only "$dest$prefix/lib/libmembarrier.so" | awk '$2 ~ /[TDBR]/ { print $3 }' | grep -Ev '^(membarrier|mbfence_|mbrcu_|mbjit_|mbrseq_|mbbias_)')
[ -z "$bad" ]
ok $? "exports only the modules' prefixed symbols${bad:+ (also: $bad)}"

sed -n '/^```c$/,/^```$/p' "$top/README.md" | sed '1d;$d' >"$dest/example.c"
pcdir="$dest$prefix/lib/pkgconfig"
flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs libmembarrier)
[ "$SAN" = 1 ] && san="-fsanitize=address,undefined"
${CC:-cc} $san -Wall -Wextra -Werror -o "$dest/example" "$dest/example.c" $flags 2>"$dest/log"
status=$?
[ $status -eq 0 ] || diag "$(cat "$dest/log")"
ok $status "the README example builds with pkg-config ($flags)"
out=$(LD_LIBRARY_PATH="$dest$prefix/lib" "$dest/example")
status=$?
diag "$out"
if "$TOOL" status | grep -q '^PRIVATE_EXPEDITED .* none$'; then
	skip "PRIVATE_EXPEDITED unavailable here" "the README example runs"
else
	ok $status "the README example runs"
fi
if command -v man >/dev/null; then
	for page in "$dest$prefix"/share/man/man*/*; do
		man -l "$page" 2>&1 >/dev/null | grep -q . && diag "$(man -l "$page" 2>&1 >/dev/null)"
		man -l "$page" >/dev/null 2>&1
		ok $? "man page $(basename "$page") renders"
	done
else
	skip "man is not installed" "man pages render"
fi
done_testing
