#!/bin/sh
# SPDX-License-Identifier: MIT
# What loading the library costs in system calls: against the same
# program with an empty library preloaded, the library adds exactly the
# read of /proc/self/status (is a seccomp filter in force?), QUERY and
# the three registrations of its services; it opens no other file (no
# /proc/cpuinfo, no /sys CPU list: the emulation gathers its facts on
# first use), also where the kernel lacks a command the services do not
# register (MEMBARRIER_KERNEL_MASK=0x1ff: Linux before 6.3, without
# GET_REGISTRATIONS). The controls: with MEMBARRIER_REGISTER_AT_LOAD=0
# the three registrations disappear, so the count does see the library's
# calls; with MEMBARRIER_BACKEND=emulated the emulation, which serves the
# registrations then, is set up at load, and its files are seen.
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

base=$(calls "$EMPTY")
lib=$(calls "$LIB")
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
[ "$opened" != /proc/self/status ]
ok $? "control: the emulation set up at load is seen (opened: $(echo $opened))"
[ "$(count "$lib" membarrier)" = 4 ]
ok $? "QUERY and three registrations ($(count "$lib" membarrier) membarrier calls)"
n_base=$(printf '%s\n' "$base" | wc -l)
n_lib=$(printf '%s\n' "$lib" | wc -l)
n_off=$(printf '%s\n' "$off" | wc -l)
diag "system calls: $n_base with an empty library, $n_lib with libmembarrier, $n_off without registration at load"
# openat, read, close of the status file; QUERY; 3 registrations; the
# loader's own calls for one more library are the same as for the empty one.
[ $((n_lib - n_base)) -le 8 ]
ok $? "at most 8 system calls more than an empty library ($((n_lib - n_base)))"
[ $((n_lib - n_off)) = 3 ]
ok $? "control: without registration at load, 3 fewer ($((n_lib - n_off)))"
printf '%s\n' "$lib" | grep -q -e 'rt_sigaction(SIGSYS' -e 'rt_sigprocmask'
[ $? = 1 ]
ok $? "no signal disposition or mask touched at load"
done_testing
