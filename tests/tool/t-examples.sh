#!/bin/sh
# SPDX-License-Identifier: MIT
# doc/examples: one small program per service; each builds (make), runs
# and checks its own result (its exit status). The rseq ones run again
# where rseq is not used (MEMBARRIER_RSEQ=fallback, as where it cannot be
# registered): the fallback must give the same sums.
. "$(dirname "$0")/../lib/lib.sh"

for src in "$(dirname "$0")"/../../doc/examples/*.c; do
	name=$(basename "$src" .c)
	out=$("$BUILD/examples/$name" 2>&1)
	status=$?
	diag "$name: $out"
	ok $status "doc/examples/$name.c runs"
done
for name in rseq rseq_cid; do
	out=$(MEMBARRIER_RSEQ=fallback "$BUILD/examples/$name" 2>&1)
	status=$?
	diag "$name, fallback: $out"
	[ $status = 0 ] && printf '%s\n' "$out" | grep -q 'fallback\|sched_getcpu'
	ok $? "doc/examples/$name.c runs on the rseq fallback"
done
done_testing
