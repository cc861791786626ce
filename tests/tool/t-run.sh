#!/bin/sh
# SPDX-License-Identifier: MIT
# membarrier run: --help, -h and --version answer without running a
# program; what the shim cannot reach (a static program, a setuid one, a
# script whose interpreter is static) is refused with a message and exit
# 126, never run without the library; a shim path LD_PRELOAD cannot carry
# (a space or a colon) is refused too. The controls: the same run of a
# dynamic program does get the shim (LD_PRELOAD names it), and the exit
# status of a program run is its own.
. "$(dirname "$0")/../lib/lib.sh"
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for opt in --help -h; do
	out=$("$TOOL" run $opt 2>&1)
	ok $? "run $opt: exit 0"
	printf '%s\n' "$out" | grep -q '^usage: membarrier run'
	ok $? "run $opt: prints the usage"
done
out=$("$TOOL" run --version 2>&1)
printf '%s\n' "$out" | grep -q '^membarrier run (libmembarrier [0-9]'
ok $? "run --version: prints the version ($out)"
"$TOOL" run --bogus >/dev/null 2>&1
[ $? = 2 ]
ok $? "run --bogus: usage error, exit 2"

out=$("$TOOL" run -- sh -c 'echo "$LD_PRELOAD"; exit 7')
[ $? = 7 ]
ok $? "control: a program's exit status is its own"
case $out in */libmembarrier/preload.so*) r=0 ;; *) r=1 ;; esac
ok $r "control: a dynamic program gets the shim in LD_PRELOAD"

if printf 'int main(void) { return 0; }\n' > "$tmp/s.c" &&
   $CC -static -o "$tmp/static" "$tmp/s.c" 2>/dev/null; then
	out=$("$TOOL" run "$tmp/static" 2>&1)
	[ $? = 126 ]
	ok $? "a static program is refused, exit 126"
	printf '%s\n' "$out" | grep -q 'statically linked'
	ok $? "the message says why ($out)"
	printf '#!%s\n' "$tmp/static" > "$tmp/script"
	chmod +x "$tmp/script"
	"$TOOL" run "$tmp/script" >/dev/null 2>&1
	[ $? = 126 ]
	ok $? "a script whose interpreter is static is refused"
else
	skip "$CC cannot link statically (no libc.a)" "a static program is refused"
fi

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp /bin/true "$tmp/suid"
	chown nobody "$tmp/suid" && chmod u+s "$tmp/suid"
	out=$("$TOOL" run "$tmp/suid" 2>&1)
	st=$?
	case ,$(findmnt -no OPTIONS -T "$tmp" 2>/dev/null), in
	*,nosuid,*) nosuid=1 ;;
	*) nosuid=0 ;;
	esac
	if [ $nosuid = 0 ]; then
		[ $st = 126 ]
		ok $? "a setuid program of another user is refused, exit 126"
		printf '%s\n' "$out" | grep -q 'setuid'
		ok $? "the message says why"
	else
		skip "$tmp is mounted nosuid" "a setuid program is refused"
	fi
else
	skip "needs root and user nobody" "a setuid program is refused"
fi

# A copy of the tree under a path with a space: refused, not split.
mkdir -p "$tmp/with space/bin" "$tmp/with space/lib/libmembarrier"
cp "$TOOL" "$tmp/with space/bin/"
cp -P "$BUILD"/lib/libmembarrier.so* "$tmp/with space/lib/"
cp "$BUILD/lib/libmembarrier/preload.so" "$tmp/with space/lib/libmembarrier/"
out=$("$tmp/with space/bin/membarrier" run true 2>&1)
[ $? = 2 ]
ok $? "a shim path with a space is refused, exit 2"
printf '%s\n' "$out" | grep -q 'space or a colon'
ok $? "the message says why"
done_testing
