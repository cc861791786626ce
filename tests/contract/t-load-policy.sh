#!/bin/sh
# SPDX-License-Identifier: MIT
# The contract in the two modes besides the default (which every other
# test runs: the first call decides the backends, and registers the
# services if no thread was created yet): MEMBARRIER_REGISTER_AT_LOAD=1,
# that first call made at load, before main(); and
# MEMBARRIER_REGISTER_AT_LOAD=0, no registration before a service needs
# its command. Conformance, the differential and the API on both
# backends. What each mode registers, and when, is
# t-load-registration's; what the load costs in system calls,
# t-load-cost.sh's; a program loaded so under each seccomp filter,
# t-load-seccomp.sh's.
. "$(dirname "$0")/../lib/lib.sh"

for policy in 1 0; do
	export MEMBARRIER_REGISTER_AT_LOAD=$policy
	for b in auto emulated; do
		m="$b, MEMBARRIER_REGISTER_AT_LOAD=$policy"
		MEMBARRIER_BACKEND=$b embed "$m: conformance" "$TESTS/t-conformance"
		MEMBARRIER_BACKEND=$b DIFF_SEQUENCES=10 embed \
			"$m: differential" "$TESTS/t-differential"
		MEMBARRIER_BACKEND=$b embed "$m: API" "$TESTS/t-api"
	done
done
done_testing
