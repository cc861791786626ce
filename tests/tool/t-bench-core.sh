#!/bin/sh
# SPDX-License-Identifier: MIT
# The dispatch costs nothing measurable: membarrier(PRIVATE_EXPEDITED)
# through the library against the raw system call, same run, at most 1.03.
# Up to three attempts, since a shared machine can stall any one run.
. "$(dirname "$0")/../lib/lib.sh"

if [ "$SAN" = 1 ]; then
	echo "1..0 # SKIP timings under sanitizers measure the sanitizer"
	exit 0
fi
if [ "$("$TOOL" status | awk '$1 == "PRIVATE_EXPEDITED" { print $4 }')" != kernel ]; then
	echo "1..0 # SKIP PRIVATE_EXPEDITED is not served by the kernel here"
	exit 0
fi
for attempt in 1 2 3; do
	line=$("$TOOL" bench core --rounds 21)
	diag "attempt $attempt: $line"
	[ "$(kv pass "$line")" = yes ] && break
done
ok $([ "$(kv pass "$line")" = yes ]; echo $?) "library/raw syscall ratio $(kv ratio "$line") <= $(kv limit "$line")"
done_testing
