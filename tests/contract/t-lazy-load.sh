#!/bin/sh
# SPDX-License-Identifier: MIT
# The contract when nothing happens at load (MEMBARRIER_REGISTER_AT_LOAD=0:
# no status read, no QUERY, no registration before the first call, which
# then initializes the library): conformance, the differential and the
# API on both backends. That the load makes no system call is
# t-load-cost.sh's; a program loaded so under each seccomp filter,
# t-load-seccomp.sh's.
. "$(dirname "$0")/../lib/lib.sh"
export MEMBARRIER_REGISTER_AT_LOAD=0

for b in auto emulated; do
	MEMBARRIER_BACKEND=$b embed "$b, nothing at load: conformance" "$TESTS/t-conformance"
	MEMBARRIER_BACKEND=$b DIFF_SEQUENCES=10 embed \
		"$b, nothing at load: differential" "$TESTS/t-differential"
	MEMBARRIER_BACKEND=$b embed "$b, nothing at load: API" "$TESTS/t-api"
done
done_testing
