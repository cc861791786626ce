#!/bin/sh
# SPDX-License-Identifier: MIT
# What loading the library costs in system calls: against the same
# program with an empty library preloaded, by default the library adds
# none and opens no file (its first call decides the backends and
# registers), nor does the preload shim beyond the loader's calls for one
# more object. With MEMBARRIER_REGISTER_AT_LOAD=1, which makes that first
# call at load (also the control that the count sees the library's
# calls), it adds exactly the read of /proc/self/status (is a seccomp
# filter in force?), QUERY and the three registrations of its services;
# it opens no other file (no /proc/cpuinfo, no /sys CPU list: the
# emulation gathers its facts on first use), also where the kernel lacks
# a command the services do not register (MEMBARRIER_KERNEL_MASK=0x1ff:
# Linux before 6.3, without GET_REGISTRATIONS), and with
# MEMBARRIER_BACKEND=emulated (the emulation's registrations wait for
# first use, with its facts); a program that sets the emulation up
# (membarrier status) is seen opening its files. The loader maps the
# library as it maps the empty one (its .bss ends in the file's last
# page: no anonymous mapping more; control: MEMBARRIER_STATS, whose
# counters are mapped at load, one more). The shim's library is opened at
# once (no failed lookup; control: LD_LIBRARY_PATH=/nonexistent shows the
# loader's failed lookups), and nothing at load allocates (no brk, no
# getrandom of malloc's first use; control: the tool, which does).
# Counted by strace -f; skipped where strace is missing or cannot trace.
. "$(dirname "$0")/../lib/lib.sh"
MAIN=$BUILD/libexec/membarrier/startup-main
EMPTY=$BUILD/libexec/membarrier/libmembarrier-startup-empty.so
LIB=$BUILD/lib/libmembarrier.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "${SAN:-}" = 1 ] || [ "${TSAN:-}" = 1 ] || [ -n "${MEMBARRIER_TEST_QEMU:-}" ]; then
	echo "1..0 # SKIP counts system calls of the plain native build only"
	exit 0
fi
if ! command -v strace >/dev/null || ! strace -o /dev/null true 2>/dev/null; then
	echo "1..0 # SKIP strace is missing or cannot trace here"
	exit 0
fi

# The system calls of MAIN with LD_PRELOAD=$1, one name per line.
calls() {	# calls LIB [ENV...]
	lib=$1
	shift
	env "$@" LD_PRELOAD="$lib" strace -f -qq -o "$tmp/trace" "$MAIN" || return 1
	sed 's/^[0-9]* *//' "$tmp/trace"
}

count() {
	printf '%s\n' "$1" | grep -c "^$2("
}

SHIM=$BUILD/lib/libmembarrier/preload.so
AT_LOAD=MEMBARRIER_REGISTER_AT_LOAD=1
base=$(calls "$EMPTY")
lib=$(calls "$LIB")
shim=$(calls "$SHIM")
at=$(calls "$LIB" $AT_LOAD)
# The files opened but the loader's.
opened() {
	printf '%s\n' "$1" | sed -n 's/^openat([^"]*"\([^"]*\)".*/\1/p' |
		grep -v -e '\.so' -e '^/etc/ld\.so\.cache$' | sort -u
}
n_base=$(printf '%s\n' "$base" | wc -l)
n_lib=$(printf '%s\n' "$lib" | wc -l)
n_at=$(printf '%s\n' "$at" | wc -l)
diag "system calls: $n_base with an empty library, $n_lib with libmembarrier, $n_at with $AT_LOAD"
[ "$n_lib" = "$n_base" ] && [ -z "$(opened "$lib")" ]
ok $? "by default no system call at load: as many as an empty library ($n_lib, $n_base), no file"
[ "$(count "$lib" membarrier)" = 0 ]
ok $? "by default no membarrier call at load ($(count "$lib" membarrier))"

opened=$(opened "$at")
[ "$opened" = /proc/self/status ]
ok $? "$AT_LOAD: the library opens /proc/self/status and nothing else (opened: $(echo $opened))"
opened=$(opened "$(calls "$LIB" $AT_LOAD MEMBARRIER_KERNEL_MASK=0x1ff)")
[ "$opened" = /proc/self/status ]
ok $? "$AT_LOAD: the same on a kernel without GET_REGISTRATIONS (opened: $(echo $opened))"
opened=$(opened "$(calls "$LIB" $AT_LOAD MEMBARRIER_BACKEND=emulated)")
[ "$opened" = /proc/self/status ]
ok $? "$AT_LOAD: the same with MEMBARRIER_BACKEND=emulated (opened: $(echo $opened))"
env MEMBARRIER_BACKEND=emulated strace -f -qq -o "$tmp/trace" "$TOOL" status >/dev/null 2>&1
opened=$(opened "$(sed 's/^[0-9]* *//' "$tmp/trace")")
[ "$opened" != /proc/self/status ] && [ -n "$opened" ]
ok $? "control: a program that sets the emulation up is seen (opened: $(echo $opened))"
[ "$(count "$at" membarrier)" = 4 ]
ok $? "$AT_LOAD: QUERY and three registrations ($(count "$at" membarrier) membarrier calls)"
# openat, read, close of the status file; QUERY; 3 registrations; the
# loader's own calls for one more library are the same as for the empty one.
[ $((n_at - n_base)) -le 7 ] && [ "$n_at" -gt "$n_lib" ]
ok $? "$AT_LOAD: at most 7 system calls more than an empty library ($((n_at - n_base))), and the count sees them"
[ "$(count "$lib" mmap)" = "$(count "$base" mmap)" ] &&
	[ "$(count "$at" mmap)" = "$(count "$base" mmap)" ]
ok $? "the loader maps it as the empty library ($(count "$lib" mmap) and $(count "$base" mmap) mmap calls)"
stats=$(calls "$LIB" MEMBARRIER_STATS="$tmp/stats")
[ "$(count "$stats" mmap)" = $(($(count "$base" mmap) + 1)) ]
ok $? "control: one mapping more is seen (MEMBARRIER_STATS maps its counters: $(count "$stats" mmap))"
printf '%s\n' "$lib" "$at" | grep -q -e 'rt_sigaction(SIGSYS' -e 'rt_sigprocmask'
[ $? = 1 ]
ok $? "no signal disposition or mask touched at load"

# The shim: one more object than the library alone (openat, read, fstat,
# four mmap, close, mprotect), nothing else.
n_shim=$(printf '%s\n' "$shim" | wc -l)
diag "system calls: $n_shim with the preload shim"
[ $((n_shim - n_lib)) -le 9 ]
ok $? "the shim: at most 9 system calls more than the library ($((n_shim - n_lib)))"
[ -z "$(opened "$shim")" ] && [ "$(count "$shim" membarrier)" = 0 ]
ok $? "the shim opens no file and makes no membarrier call at load"
failed() {
	printf '%s\n' "$1" | grep -c '^openat(.*= -1 ENOENT'
}
[ "$(failed "$shim")" = 0 ]
ok $? "the shim's library is opened at once ($(failed "$shim") failed lookups)"
[ "$(failed "$(calls "$SHIM" LD_LIBRARY_PATH=/nonexistent)")" -gt 0 ]
ok $? "control: a search path that misses is seen"
allocates() {
	printf '%s\n' "$1" | grep -c -e '^brk(' -e '^getrandom('
}
[ "$(allocates "$shim")" = "$(allocates "$base")" ] &&
	[ "$(allocates "$(calls "$SHIM" $AT_LOAD)")" = "$(allocates "$base")" ]
ok $? "nothing at the shim's load allocates ($(allocates "$shim") brk/getrandom calls, $(allocates "$base") with an empty library; the same with $AT_LOAD)"
env LD_PRELOAD="$SHIM" strace -f -qq -o "$tmp/trace" "$TOOL" status >/dev/null 2>&1
tool=$(sed 's/^[0-9]* *//' "$tmp/trace")
[ "$(allocates "$tool")" -gt "$(allocates "$base")" ]
ok $? "control: a program that allocates is seen ($(allocates "$tool") calls)"
done_testing
