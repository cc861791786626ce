#!/bin/sh
# SPDX-License-Identifier: MIT
# make install as a distribution does it, into a scratch prefix with a
# multiarch LIBDIR: the layout, file modes, no RPATH/RUNPATH, a versioned
# soname exporting only the prefixed API under LIBMEMBARRIER_0.1; the
# README's example builds through pkg-config and runs; the installed tool
# finds the shim where it was installed; every man page and link renders
# without a warning; make uninstall leaves no file behind.
. "$(dirname "$0")/../lib/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ma=$(${CC:-cc} -print-multiarch 2>/dev/null)
[ -n "$ma" ] || ma=$(${CC:-cc} -dumpmachine)
prefix=$tmp/usr
libdir=$prefix/lib/$ma
mandir=$prefix/share/man
dirs="PREFIX=$prefix LIBDIR=$libdir"

make -s -C "$top" BUILD="$BUILD" SAN="$SAN" $dirs install >"$tmp/log" 2>&1
status=$?
[ $status -eq 0 ] || diag "$(cat "$tmp/log")"
ok $status "make install $dirs"

for f in include/membarrier.h include/membarrier/arch.h \
	include/membarrier/arch/x86_64.h include/membarrier/arch/aarch64.h \
	lib/$ma/libmembarrier.so lib/$ma/libmembarrier.so.0 \
	lib/$ma/libmembarrier.a lib/$ma/pkgconfig/libmembarrier.pc \
	lib/$ma/libmembarrier/preload.so bin/membarrier \
	share/man/man1/membarrier.1 share/man/man3/libmembarrier.3 \
	share/man/man3/mbfence.3 share/man/man3/mbrcu.3 share/man/man3/mbjit.3 \
	share/man/man3/mbrseq.3 share/man/man3/mbbias.3 \
	share/man/man3/mbfence_heavy.3; do
	[ -e "$prefix/$f" ]
	ok $? "installed $f"
done
helper=libexec/membarrier/bench-rcu-liburcu
if [ -x "$BUILD/$helper" ]; then
	[ -x "$prefix/$helper" ]
	ok $? "installed $helper (built here)"
else
	[ ! -e "$prefix/$helper" ]
	ok $? "no $helper (not built here)"
fi

# Modes: programs 0755, everything else (shared objects included) 0644.
bad=$(find "$prefix" -type f ! -path "*/bin/*" ! -path "*/libexec/*" ! -perm 644)
bad="$bad$(find "$prefix" -type f \( -path "*/bin/*" -o -path "*/libexec/*" \) ! -perm 755)"
[ -z "$bad" ]
ok $? "modes 0644 for data and shared objects, 0755 for programs${bad:+ (wrong: $bad)}"

bad=
for f in $(find "$prefix" -type f); do
	head -c 4 "$f" | grep -q ELF || continue
	readelf -d "$f" 2>/dev/null | grep -Eq '\((RPATH|RUNPATH)\)' && bad="$bad ${f#$prefix/}"
done
[ -z "$bad" ]
ok $? "no RPATH or RUNPATH in installed files${bad:+ (in:$bad)}"

so=$libdir/libmembarrier.so
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libmembarrier.so.0 ]
ok $? "soname is libmembarrier.so.0 ($soname)"
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ { print $3 }' | grep -Ev '^(membarrier|mbfence_|mbrcu_|mbjit_|mbrseq_|mbbias_)')
[ -z "$bad" ]
ok $? "exports only the modules' prefixed symbols${bad:+ (also: $bad)}"
bad=$(nm -D --defined-only --with-symbol-versions "$so" | awk '$2 != "A" && $3 !~ /@@LIBMEMBARRIER_0\.1$/ { print $3 }')
[ -z "$bad" ]
ok $? "every exported symbol is versioned LIBMEMBARRIER_0.1${bad:+ (not: $bad)}"

pc=$libdir/pkgconfig/libmembarrier.pc
grep -q '^exec_prefix=' "$pc" && grep -q '^libdir=${exec_prefix}/' "$pc"
ok $? "libmembarrier.pc defines libdir from exec_prefix"
sed -n '/^```c$/,/^```$/p' "$top/README.md" | sed '1d;$d' >"$tmp/example.c"
flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs libmembarrier)
[ "$SAN" = 1 ] && san="-fsanitize=address,undefined"
${CC:-cc} $san -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" $flags 2>"$tmp/log"
status=$?
[ $status -eq 0 ] || diag "$(cat "$tmp/log")"
ok $status "the README example builds with pkg-config ($flags)"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/example")
status=$?
diag "$out"
# The status table: command, value, kernel, served by, mechanism.
if "$TOOL" status | awk '$1 == "PRIVATE_EXPEDITED" && $4 == "none" { f = 1 } END { exit !f }'; then
	skip "PRIVATE_EXPEDITED unavailable here" "the README example runs"
else
	ok $status "the README example runs"
fi

# The installed tool finds the shim at the path fixed at build time (not
# beside itself: LIBDIR is multiarch), and the shim loads.
out=$(LD_LIBRARY_PATH=$libdir "$prefix/bin/membarrier" run -- sh -c 'echo "$LD_PRELOAD"' 2>"$tmp/log")
status=$?
# LD_PRELOAD names the library, then the shim (run.c: fewer lookups).
[ $status -eq 0 ] && [ ! -s "$tmp/log" ] &&
	[ "$out" = "$libdir/libmembarrier.so.0:$libdir/libmembarrier/preload.so" ]
ok $? "installed membarrier run preloads $out"
[ -s "$tmp/log" ] && diag "$(cat "$tmp/log")"

# Man pages: judged by what man and groff say (their exit status ignores
# warnings and failed .so requests).
if command -v man >/dev/null && command -v groff >/dev/null; then
	for page in "$mandir"/man*/*; do
		rel=${page#$mandir/}
		msg=$(cd "$mandir" && { man --warnings -l "$rel" 2>&1 >/dev/null
			groff -ww -z -s -man "$rel" 2>&1; })
		[ -z "$msg" ]
		ok $? "man page $rel renders without a warning"
		[ -n "$msg" ] && diag "$msg"
	done
	out=$(man --warnings -M "$mandir" 3 mbfence_heavy 2>"$tmp/log")
	echo "$out" | grep -q 'mbfence_heavy' && [ ! -s "$tmp/log" ]
	ok $? "man 3 mbfence_heavy shows mbfence(3)"
	[ -s "$tmp/log" ] && diag "$(cat "$tmp/log")"
else
	skip "man or groff is not installed" "man pages render"
fi

make -s -C "$top" BUILD="$BUILD" SAN="$SAN" $dirs uninstall >"$tmp/log" 2>&1
status=$?
[ $status -eq 0 ] || diag "$(cat "$tmp/log")"
ok $status "make uninstall"
left=$(find "$prefix" ! -type d)
[ -z "$left" ]
ok $? "make uninstall leaves no file${left:+ (left: $left)}"
done_testing
