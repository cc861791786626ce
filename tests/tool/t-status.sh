#!/bin/sh
# SPDX-License-Identifier: MIT
# membarrier status: decodes QUERY, names backends, reports seccomp; bad
# input to the tool gets a clear error and exit status 2, never a crash.
. "$(dirname "$0")/../lib/lib.sh"

out=$("$TOOL" status)
ok $? "status exits 0"
diag "$out"
printf '%s\n' "$out" | grep -q '^QUERY (library): 0x'
ok $? "status prints the library's QUERY mask"
printf '%s\n' "$out" | grep -Eq '^PRIVATE_EXPEDITED +8 +(yes|no) +(kernel|emulated|none) '
ok $? "status names the backend of PRIVATE_EXPEDITED"
printf '%s\n' "$out" | grep -Eq '^seccomp: +(disabled|strict|filter) \(Seccomp: [0-9]'
ok $? "status reports the seccomp state"
printf '%s\n' "$out" | grep -q '^registrations:  none'
ok $? "a fresh process has no registrations"

"$TOOL" status extra >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "status with an argument: exit 2"
"$TOOL" no-such-command >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "unknown command: exit 2"
"$TOOL" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "no command: exit 2"
for bad in --iterations=-1 --iterations=x --iterations=0 --scenario=C --iterations \
	   --control-seconds=0 --control-seconds=86401; do
	"$TOOL" litmus $bad >/dev/null 2>&1
	[ $? -eq 2 ]
	ok $? "litmus $bad: exit 2"
done
err=$(MEMBARRIER_BACKEND=bogus "$TOOL" status 2>&1 >/dev/null)
printf '%s\n' "$err" | grep -q 'MEMBARRIER_BACKEND=bogus is not one of'
ok $? "a bad MEMBARRIER_BACKEND is reported"
done_testing
