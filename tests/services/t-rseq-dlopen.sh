#!/bin/sh
# SPDX-License-Identifier: MIT
# dlopen() of libmembarrier needs no static TLS: the shared object has no
# DF_STATIC_TLS, and it loads, and its rseq and RCU TLS work, in a process
# whose static TLS surplus is used up by modules with initial-exec TLS.
# Control, in the same conditions: a module with 8 bytes of initial-exec
# TLS fails to load there (what the library did when it had any), and
# loads in a process with the surplus intact.
. "$(dirname "$0")/../lib/lib.sh"

LIB=$(cd "$BUILD/lib" && pwd)/libmembarrier.so
if [ "${SAN:-}" = 1 ] || [ "${TSAN:-}" = 1 ]; then
	skip "a sanitizer build cannot be dlopen()ed by a host without its runtime" "dlopen without static TLS"
	done_testing
	exit
fi
if [ -n "${MEMBARRIER_TEST_QEMU:-}" ]; then
	skip "under qemu-user" "dlopen without static TLS"
	done_testing
	exit
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$(dirname "$0")
cc=${CC:-cc}
if ! $cc -o "$tmp/host" "$src/dlopen-host.c" -ldl -lpthread 2>"$tmp/log" ||
   ! $cc -shared -fPIC -DIE_BYTES=256 -o "$tmp/ie256.so" "$src/ie-tls-module.c" 2>>"$tmp/log" ||
   ! $cc -shared -fPIC -DIE_BYTES=8 -o "$tmp/ie8.so" "$src/ie-tls-module.c" 2>>"$tmp/log"; then
	diag "$(cat "$tmp/log")"
	ok 1 "build the dlopen host and the initial-exec TLS modules"
	done_testing
	exit
fi

# readelf -d: no STATIC_TLS among the dynamic section's flags.
if command -v readelf >/dev/null; then
	flags=$(readelf -d "$LIB" | grep -i flags)
	diag "dynamic flags: ${flags:-none}"
	printf '%s\n' "$flags" | grep -q STATIC_TLS
	ok $((! $?)) "libmembarrier.so carries no DF_STATIC_TLS"
else
	skip "no readelf" "libmembarrier.so carries no DF_STATIC_TLS"
fi

# Fillers: distinct files, so that each is a module of its own; 256-byte
# ones until the surplus (1664 bytes in glibc 2.36) has less than 256
# left, then 8-byte ones until it has less than 8.
fill=
for i in $(seq 1 24); do
	cp "$tmp/ie256.so" "$tmp/f256-$i.so"
	fill="$fill fill:$tmp/f256-$i.so"
done
for i in $(seq 1 40); do
	cp "$tmp/ie8.so" "$tmp/f8-$i.so"
	fill="$fill fill:$tmp/f8-$i.so"
done
cp "$tmp/ie8.so" "$tmp/control.so"

# shellcheck disable=SC2086
out=$("$tmp/host" $fill "try:$tmp/control.so" "lib:$LIB" 2>&1)
diag "$out"
printf '%s\n' "$out" | grep -q "control.so fail: .*static TLS"
ok $? "control: with the surplus used up, a module with initial-exec TLS fails to load (static TLS)"
printf '%s\n' "$out" | grep -q "^lib ok rseq_init=[-0-9]* registrar=[a-z]* rcu_register=0$"
ok $? "libmembarrier loads there, a new thread registers an RCU reader and initializes rseq"

out=$("$tmp/host" "try:$tmp/control.so" 2>&1)
printf '%s\n' "$out" | grep -q "control.so ok"
ok $? "control: the same module loads while the surplus is intact"

done_testing
