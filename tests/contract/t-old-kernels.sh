#!/bin/sh
# SPDX-License-Identifier: MIT
# Every kernel the README names, simulated for real: the commands a
# release lacks fail with EINVAL and its QUERY omits them, and before 4.18
# there is no rseq system call (tests/lib/sandbox.c --kernel=V). The raw
# oracle sees the same simulated kernel, so conformance and differential
# compare against it; the library fills the gaps with the emulation.
# Also under taskset -c 0 (one CPU: the emulation's walk cannot reach the
# others), where QUERY's oracle is the contract's.
. "$(dirname "$0")/../lib/lib.sh"

if ! "$TESTS/sandbox" --kernel=6.3 -- true 2>/dev/null; then
	echo "1..0 # SKIP seccomp user notification unavailable here"
	exit 0
fi
for v in 4.3 4.14 4.16 4.18 5.10 6.3; do
	box="$TESTS/sandbox --kernel=$v --"
	embed "Linux $v: conformance" $box "$TESTS/t-conformance"
	DIFF_SEQUENCES=10 embed "Linux $v: differential" $box "$TESTS/t-differential"
	embed "Linux $v: API" $box "$TESTS/t-api"
done
if command -v taskset >/dev/null; then
	for b in auto emulated; do
		MEMBARRIER_BACKEND=$b embed "taskset -c 0, $b: conformance" \
			taskset -c 0 "$TESTS/t-conformance"
		MEMBARRIER_BACKEND=$b DIFF_SEQUENCES=10 embed \
			"taskset -c 0, $b: differential" taskset -c 0 "$TESTS/t-differential"
	done
else
	skip "no taskset" "taskset -c 0"
fi
done_testing
