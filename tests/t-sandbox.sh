#!/bin/sh
# SPDX-License-Identifier: MIT
# Under seccomp filters that block membarrier as real sandboxes do
# (ENOSYS, EPERM, SIGSYS), the library detects the blocked call, never
# crashes, and with MEMBARRIER_BACKEND=kernel fails every call as the
# kernel does; the conformance suite checks each answer.
. "$(dirname "$0")/lib.sh"

if ! "$TESTS/sandbox" --enosys -- true 2>/dev/null; then
	echo "1..0 # SKIP seccomp filters cannot be installed here"
	exit 0
fi
for mode in enosys eperm trap; do
	case $mode in
	eperm) e=EPERM ;;
	*) e=ENOSYS ;;
	esac
	out=$("$TESTS/sandbox" --$mode -- "$TOOL" status 2>&1)
	ok $? "$mode: status runs under the filter"
	printf '%s\n' "$out" | grep -q "^kernel QUERY:   fails with $e"
	ok $? "$mode: the probe reports $e"
	printf '%s\n' "$out" | grep -q '^seccomp: *filter (Seccomp: 2'
	ok $? "$mode: status reports the filter"

	out=$(MEMBARRIER_BACKEND=kernel "$TESTS/sandbox" --$mode -- \
		"$TESTS/t-conformance" 2>&1)
	status=$?
	[ $status -eq 0 ] || diag "$out"
	ok $status "$mode: conformance, MEMBARRIER_BACKEND=kernel: every call fails with $e"
	if [ $mode != trap ]; then
		out=$("$TESTS/sandbox" --$mode -- "$TESTS/t-api" 2>&1)
		status=$?
		[ $status -eq 0 ] || diag "$out"
		ok $status "$mode: API tests under the filter"
	fi
done
done_testing
