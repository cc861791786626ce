#!/bin/sh
# SPDX-License-Identifier: MIT
# doc/examples: one small program per service; each builds (make) and runs.
. "$(dirname "$0")/../lib/lib.sh"

for src in "$(dirname "$0")"/../../doc/examples/*.c; do
	name=$(basename "$src" .c)
	out=$("$BUILD/examples/$name" 2>&1)
	status=$?
	diag "$name: $out"
	ok $status "doc/examples/$name.c runs"
done
done_testing
