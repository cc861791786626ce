#!/bin/sh
# SPDX-License-Identifier: MIT
# What loading the library costs in system calls: against the same
# program with an empty library preloaded, the library adds exactly the
# read of /proc/self/status (is a seccomp filter in force?), QUERY and
# the three registrations of its services; it opens no other file (no
# /proc/cpuinfo, no /sys CPU list: the emulation gathers its facts on
# first use), also where the kernel lacks a command the services do not
# register (MEMBARRIER_KERNEL_MASK=0x1ff: Linux before 6.3, without
# GET_REGISTRATIONS), and with MEMBARRIER_BACKEND=emulated (the
# emulation's registrations wait for first use, with its facts). With
# MEMBARRIER_REGISTER_AT_LOAD=0 the load makes no system call at all (all
# waits for the first call), which is also the control that the count
# sees the library's calls; a program that
# sets the emulation up (membarrier status) is seen opening its files. The
# loader maps the library as it maps the empty one (its .bss ends in the
# file's last page: no anonymous mapping more; control: MEMBARRIER_STATS,
# whose counters are mapped at load, one more). The preload shim adds
# only the loader's calls for one more object: its library is opened at
# once (no failed lookup; control: LD_LIBRARY_PATH=/nonexistent shows
# the loader's failed lookups), and nothing at load allocates (no brk,
# no getrandom of malloc's first use; control: the tool, which does).
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
base=$(calls "$EMPTY")
lib=$(calls "$LIB")
shim=$(calls "$SHIM")
off=$(calls "$LIB" MEMBARRIER_REGISTER_AT_LOAD=0)
# The files opened but the loader's.
opened() {
	printf '%s\n' "$1" | sed -n 's/^openat([^"]*"\([^"]*\)".*/\1/p' |
		grep -v -e '\.so' -e '^/etc/ld\.so\.cache$' | sort -u
}
opened=$(opened "$lib")
[ "$opened" = /proc/self/status ]
ok $? "the library opens /proc/self/status and nothing else (opened: $(echo $opened))"
opened=$(opened "$(calls "$LIB" MEMBARRIER_KERNEL_MASK=0x1ff)")
[ "$opened" = /proc/self/status ]
ok $? "the same on a kernel without GET_REGISTRATIONS (opened: $(echo $opened))"
opened=$(opened "$(calls "$LIB" MEMBARRIER_BACKEND=emulated)")
[ "$opened" = /proc/self/status ]
ok $? "the same with MEMBARRIER_BACKEND=emulated (opened: $(echo $opened))"
env MEMBARRIER_BACKEND=emulated strace -f -qq -o "$tmp/trace" "$TOOL" status >/dev/null 2>&1
opened=$(opened "$(sed 's/^[0-9]* *//' "$tmp/trace")")
[ "$opened" != /proc/self/status ] && [ -n "$opened" ]
ok $? "control: a program that sets the emulation up is seen (opened: $(echo $opened))"
[ "$(count "$lib" membarrier)" = 4 ]
ok $? "QUERY and three registrations ($(count "$lib" membarrier) membarrier calls)"
n_base=$(printf '%s\n' "$base" | wc -l)
n_lib=$(printf '%s\n' "$lib" | wc -l)
n_off=$(printf '%s\n' "$off" | wc -l)
diag "system calls: $n_base with an empty library, $n_lib with libmembarrier, $n_off without registration at load"
# openat, read, close of the status file; QUERY; 3 registrations; the
# loader's own calls for one more library are the same as for the empty one.
[ $((n_lib - n_base)) -le 7 ]
ok $? "at most 7 system calls more than an empty library ($((n_lib - n_base)))"
[ "$(count "$lib" mmap)" = "$(count "$base" mmap)" ]
ok $? "the loader maps it as the empty library ($(count "$lib" mmap) and $(count "$base" mmap) mmap calls)"
stats=$(calls "$LIB" MEMBARRIER_STATS="$tmp/stats")
[ "$(count "$stats" mmap)" = $(($(count "$base" mmap) + 1)) ]
ok $? "control: one mapping more is seen (MEMBARRIER_STATS maps its counters: $(count "$stats" mmap))"
[ "$n_off" = "$n_base" ] && [ -z "$(opened "$off")" ] && [ "$n_lib" -gt "$n_off" ]
ok $? "without registration at load, no system call at load: as many as an empty library ($n_off, $n_base), no file, $((n_lib - n_off)) fewer than by default"
printf '%s\n' "$lib" | grep -q -e 'rt_sigaction(SIGSYS' -e 'rt_sigprocmask'
[ $? = 1 ]
ok $? "no signal disposition or mask touched at load"

# The shim: one more object than the library alone (openat, read, fstat,
# four mmap, close, mprotect), nothing else.
n_shim=$(printf '%s\n' "$shim" | wc -l)
diag "system calls: $n_shim with the preload shim"
[ $((n_shim - n_lib)) -le 9 ]
ok $? "the shim: at most 9 system calls more than the library ($((n_shim - n_lib)))"
opened=$(opened "$shim")
[ "$opened" = /proc/self/status ]
ok $? "the shim opens /proc/self/status and nothing else (opened: $(echo $opened))"
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
[ "$(allocates "$shim")" = "$(allocates "$base")" ]
ok $? "nothing at the shim's load allocates ($(allocates "$shim") brk/getrandom calls, $(allocates "$base") with an empty library)"
env LD_PRELOAD="$SHIM" strace -f -qq -o "$tmp/trace" "$TOOL" status >/dev/null 2>&1
tool=$(sed 's/^[0-9]* *//' "$tmp/trace")
[ "$(allocates "$tool")" -gt "$(allocates "$base")" ]
ok $? "control: a program that allocates is seen ($(allocates "$tool") calls)"
done_testing
