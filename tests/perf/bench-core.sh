#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-perf: the dispatch's cost. membarrier(PRIVATE_EXPEDITED)
# through the library against the raw system call, same run: the bench's
# own target is 1.03 (reported); this fails only on a regression beyond
# 2x (PERF_FACTOR), so that noise on a shared machine never fails it.
. "$(dirname "$0")/../lib/lib.sh"

perf_setup kernel
line=$("$TOOL" bench core --rounds 21)
diag "$line"
ratio=$(kv ratio "$line")
awk -v r="$ratio" -v f="$factor" 'BEGIN { exit !(r != "" && r <= f) }'
ok $? "library/raw syscall ratio $ratio <= $factor (target $(kv limit "$line"): $(kv pass "$line"))"
done_testing
