#!/bin/sh
# SPDX-License-Identifier: MIT
# The preload shim reaches the library's own membarrier(), even in a
# program that defines a global membarrier() of its own (a wrapper around
# syscall(SYS_membarrier, ...), tests/contract/load_wrapper.c): resolved
# by name, the shim would call the wrapper again, without end, wherever
# the program exports it (-rdynamic, as interpreters link). Under the
# ENOSYS filter the library's emulation answers; the control is the same
# program without the shim, whose calls fail as the filter says.
. "$(dirname "$0")/../lib/lib.sh"
CC=${CC:-cc}
SHIM=$(cd "$BUILD/lib" && pwd)/libmembarrier/preload.so

if [ "${SAN:-}" = 1 ] || [ "${TSAN:-}" = 1 ]; then
	echo "1..0 # SKIP the program is built without the sanitizer's runtime"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! $CC -O2 -rdynamic -o "$tmp/wrapper" "$(dirname "$0")/load_wrapper.c" 2>"$tmp/cc.err"; then
	echo "1..0 # SKIP $CC cannot build the program: $(head -1 "$tmp/cc.err")"
	exit 0
fi

out=$(env LD_PRELOAD="$SHIM" "$tmp/wrapper" 2>&1)
ok $? "a program with its own membarrier() runs under the shim"
q=$(kv query "$out")
[ "${q:-0}" -gt 0 ] && [ "$(kv register "$out")" = 0 ] && [ "$(kv barrier "$out")" = 0 ]
ok $? "its QUERY, registration and barrier succeed ($out)"

if [ -n "${MEMBARRIER_TEST_QEMU:-}" ] ||
   ! "$TESTS/sandbox" --enosys -- true 2>/dev/null; then
	skip "seccomp filters cannot be installed here" "under ENOSYS: the library answers"
	skip "seccomp filters cannot be installed here" "under ENOSYS: control"
else
	out=$("$TESTS/sandbox" --enosys -- env LD_PRELOAD="$SHIM" "$tmp/wrapper" 2>&1)
	q=$(kv query "$out")
	[ "${q:-0}" -gt 0 ] && [ "$(kv barrier "$out")" = 0 ]
	ok $? "under ENOSYS: the library's emulation answers ($out)"
	out=$("$TESTS/sandbox" --enosys -- "$tmp/wrapper" 2>&1)
	[ "$(kv query "$out")" = -1 ] && [ "$(kv errno "$out")" = 38 ]
	ok $? "under ENOSYS: control: without the shim QUERY fails ($out)"
fi
done_testing
