#!/bin/sh
# SPDX-License-Identifier: MIT
# Under seccomp filters that block membarrier as real sandboxes do
# (ENOSYS, EPERM, SIGSYS), the library detects the blocked call and never
# crashes. By default the emulated backend then serves every command with
# the contract: the whole C test suite runs inside each filter; with
# MEMBARRIER_BACKEND=kernel every call fails as the kernel's does. An
# unmodified program calling syscall(SYS_membarrier) gets the contract
# through the preload shim.
. "$(dirname "$0")/../lib/lib.sh"
ITER=${LITMUS_ITERATIONS:-50000}

if ! "$TESTS/sandbox" --enosys -- true 2>/dev/null; then
	echo "1..0 # SKIP seccomp filters cannot be installed here"
	exit 0
fi
# What the emulation serves here without a filter: all of it must be served
# under each filter.
reach=$(MEMBARRIER_BACKEND=emulated "$TOOL" status 2>&1 |
	grep -Ec '^[A-Z_]+ +[0-9]+ +(yes|no) +emulated ')
for mode in enosys eperm trap; do
	case $mode in
	eperm) e=EPERM ;;
	*) e=ENOSYS ;;
	esac
	box="$TESTS/sandbox --$mode --"
	out=$($box "$TOOL" status 2>&1)
	ok $? "$mode: status runs under the filter"
	printf '%s\n' "$out" | grep -q "^kernel QUERY:   fails with $e"
	ok $? "$mode: the probe reports $e"
	printf '%s\n' "$out" | grep -q '^seccomp: *filter (Seccomp: 2'
	ok $? "$mode: status reports the filter"
	served=$(printf '%s\n' "$out" | grep -Ec '^[A-Z_]+ +[0-9]+ +(no|kills) +emulated ')
	[ "$served" -eq "$reach" ]
	ok $? "$mode: the emulated backend serves every command it can reach here ($served of $reach)"

	# The C suite inside the filter: all of it under ENOSYS; under the
	# other filters, which differ from it only in what the probe sees
	# (the backends then selected are the same), the contract and one
	# test per service. Under SIGSYS, those that also issue the raw
	# system call themselves would be killed by design. Never the
	# verifications that measure a backend (interruptions, instruction
	# counts: t-verify-emulated.sh runs them on the emulation), the
	# GLOBAL_EXPEDITED registry's own tests (they run on the emulation in
	# t-emulated.sh and pick their backend themselves), nor the parsers.
	for t in "$TESTS"/t-*; do
		name=$(basename "$t")
		case $mode:$name in
		trap:t-api|trap:t-load-registration|trap:t-differential) continue ;;
		*:t-interrupts|*:t-sync-core|*:t-parsers|*:t-global-*) continue ;;
		enosys:*) ;;
		*:t-api|*:t-conformance|*:t-load-registration|*:t-rcu|*:t-jit) ;;
		*:t-biased-lock|*:t-rseq-counter|*:t-stat|*:t-cxx) ;;
		*) continue ;;
		esac
		embed "$mode, auto: $name" $box "$t"
	done
	if [ "$(nproc)" -ge 2 ]; then
		litmus_run $box "$TOOL" litmus --iterations "$ITER"
		if [ -n "$blind" ]; then
			skip "$blind" "$mode, auto: litmus A and B"
		else
			[ $status -eq 0 ] || diag "$out"
			ok $status "$mode, auto: litmus A and B, $ITER iterations"
		fi
	fi
	CONFORMANCE_RUNNER=preload embed \
		"$mode: unmodified program (raw syscall) under membarrier run" \
		$box "$TESTS/t-conformance"
	CONFORMANCE_EXPECT_ERRNO=$e MEMBARRIER_BACKEND=kernel embed \
		"$mode, MEMBARRIER_BACKEND=kernel: every call fails with $e" \
		$box "$TESTS/t-conformance"
done
done_testing
