#!/bin/sh
# SPDX-License-Identifier: MIT
# Linking or loading the library never harms the program, whatever a
# seccomp filter does with membarrier: kill the process, kill the thread,
# raise SIGSYS (with the program's own handler in place), TRACE without a
# tracer, an errno, or kill only the REGISTER_* commands (an argument
# filter). Each filter's control shows in the same run that the raw call
# really is killed (or trapped, or fails) under it, so that surviving is
# the library's doing. dlclose() is safe: a thread registered as an RCU
# reader exits after the library was dlclose()d; the control is the same
# library linked without -z nodelete, which must crash there.
#
# The host programs (tests/contract/load_host.c) link no libmembarrier:
# they are built here, with $CC.
. "$(dirname "$0")/../lib/lib.sh"
CC=${CC:-cc}
LIB=$(cd "$BUILD/lib" && pwd)/libmembarrier.so
SHIM=$(cd "$BUILD/lib" && pwd)/libmembarrier/preload.so
src=$(dirname "$0")

if [ "${SAN:-}" = 1 ] || [ "${TSAN:-}" = 1 ]; then
	echo "1..0 # SKIP the hosts dlopen() a sanitized library without its runtime"
	exit 0
fi
if [ -n "${MEMBARRIER_TEST_QEMU:-}" ]; then
	echo "1..0 # SKIP qemu-user runs no seccomp filter"
	exit 0
fi
if ! "$TESTS/sandbox" --enosys -- true 2>/dev/null; then
	echo "1..0 # SKIP seccomp filters cannot be installed here"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! $CC -O2 -o "$tmp/load_host" "$src/load_host.c" -lpthread -ldl 2>"$tmp/cc.err"; then
	echo "1..0 # SKIP $CC cannot build the host program: $(head -1 "$tmp/cc.err")"
	exit 0
fi
host=$tmp/load_host

# The raw call of cmd under the filter: 0 succeeds, 3 fails, >= 128 died.
raw() {	# raw MODE CMD
	"$TESTS/sandbox" --$1 -- "$host" raw "$2" >/dev/null 2>&1
	echo $?
}

for mode in kill-process kill-thread trap trace enosys eperm kill-register; do
	box="$TESTS/sandbox --$mode --"
	case $mode in
	kill-register)
		fatal=0x1fe
		[ "$(raw $mode 0)" = 0 ] && [ "$(raw $mode 16)" -ge 128 ]
		ok $? "$mode: control: raw QUERY passes, raw REGISTER_PRIVATE_EXPEDITED dies" ;;
	kill-*|trap)
		fatal=0x3ff
		[ "$(raw $mode 0)" -ge 128 ]
		ok $? "$mode: control: the raw QUERY dies" ;;
	*)
		fatal=0x0
		[ "$(raw $mode 0)" = 3 ]
		ok $? "$mode: control: the raw QUERY fails" ;;
	esac

	# A program linked with the library, in each selection mode.
	for env in "" MEMBARRIER_BACKEND=kernel MEMBARRIER_BACKEND=emulated \
		   MEMBARRIER_REGISTER_AT_LOAD=0 MEMBARRIER_REGISTER_AT_LOAD=1; do
		out=$($box env $env "$TOOL" status 2>&1)
		ok $? "$mode: a linked program runs${env:+ ($env)}"
	done
	if [ "$fatal" != 0x0 ]; then
		printf '%s\n' "$out" | grep -q '^seccomp kills:'
		ok $? "$mode: status says the kernel would kill"
	fi

	for env in "" MEMBARRIER_REGISTER_AT_LOAD=1; do
		$box env $env LD_PRELOAD="$SHIM" /bin/true
		ok $? "$mode: the shim preloaded into /bin/true${env:+ ($env)}"
	done

	for env in "" MEMBARRIER_REGISTER_AT_LOAD=1; do
		out=$($box env $env "$host" dlopen "$LIB" 2>&1)
		ok $? "$mode: dlopen() from a thread, then again; barriers served${env:+ ($env)}"
		[ "$(kv fatal "$out")" = "$fatal" ]
		ok $? "$mode: membarrier_kernel_fatal() = $fatal (got $(kv fatal "$out"))"
	done
done

# SIGSYS: the program's handler, installed before the load, sees every
# trap of its threads while the library loads; the control swaps the
# handler briefly as a SIGSYS-catching probe would, and loses traps.
# By default the library learns on its first call, else at load.
for env in "" MEMBARRIER_REGISTER_AT_LOAD=1; do
	out=$("$TESTS/sandbox" --trap -- env $env "$host" sigsys "$LIB" 2>&1)
	ok $? "trap: the program's handler keeps every trap${env:+ ($env)} ($out)"
done
"$TESTS/sandbox" --trap -- "$host" swap >/dev/null 2>&1
[ $? = 4 ]
ok $? "trap: control: swapping the handler loses traps, and the check sees it"

# dlclose(): the library stays; the control is one that does not.
out=$("$host" dlclose "$LIB" 2>&1)
ok $? "dlclose: an RCU reader's thread exits after dlclose()"
[ "$(kv loaded "$out")" = 1 ]
ok $? "dlclose: the library stays loaded (-z nodelete)"
objs=$(find "$BUILD/obj/src" -name '*.o' ! -path '*/preload/*')
if $CC -shared -o "$tmp/libmembarrier-deletable.so" $objs -lpthread 2>/dev/null; then
	"$host" dlclose "$tmp/libmembarrier-deletable.so" >/dev/null 2>&1
	[ $? -ge 128 ]
	ok $? "dlclose: control: without -z nodelete the exit crashes"
else
	skip "cannot relink the library's objects" "dlclose: control"
fi
done_testing
