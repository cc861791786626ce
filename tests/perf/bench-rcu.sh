#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-perf: bench rcu, short: one line per implementation, no
# reader ever sees a poisoned value, and the targets against liburcu-memb
# in the same run (its reads and its writes at 1/1 and 6/2; inside a
# seccomp filter that blocks membarrier, 20 times its reads), reported;
# a target fails only when missed by more than 2x (PERF_FACTOR), so that
# noise on a shared machine never fails it. One run per target.
. "$(dirname "$0")/../lib/lib.sh"

perf_setup
secs=0.5

# bench R W [sandbox mode]: the run's output in $out, its status in $st.
bench() {
	if [ -n "$3" ]; then
		out=$("$TESTS/sandbox" --"$3" -- "$TOOL" bench rcu --readers "$1" \
			--writers "$2" --seconds $secs 2>&1)
	else
		out=$("$TOOL" bench rcu --readers "$1" --writers "$2" --seconds $secs 2>&1)
	fi
	st=$?
}

bench 1 1
ok $st "bench rcu runs (status $st)"
[ "$(printf '%s\n' "$out" | grep -c '^impl=mbrcu.* errors=')" -eq 0 ]
ok $? "no reader saw a poisoned value"
printf '%s\n' "$out" | grep -q '^impl=mbrcu readers=1 writers=1 seconds=0.5 reads=[0-9]* writes=[0-9]* default=1$'
ok $? "the default flavor's line, ending in default=1"
printf '%s\n' "$out" | grep -q '^impl=mbrcu-fence readers=1 writers=1 seconds=0.5 reads=[0-9]* writes=[0-9]*$'
ok $? "the fence-in-reader baseline's line"
if printf '%s\n' "$out" | grep -q '^note: liburcu rows skipped'; then
	diag "$out"
	skip "liburcu is not available" "liburcu rows and targets"
	done_testing
	exit
fi
n=$(printf '%s\n' "$out" | grep -c '^impl=liburcu-\(memb\|mb\|signal\|qsbr\) ')
[ "$n" -eq 4 ]
ok $? "liburcu's memb, mb, signal and qsbr rows ($n)"

# within MEASURED WANTED: MEASURED >= WANTED / factor
within() {
	awk -v m="$1" -v w="$2" -v f="$factor" 'BEGIN { exit !(m != "" && m * f >= w) }'
}

target() {	# target R W [sandbox mode]
	bench "$@"
	line=$(printf '%s\n' "$out" | grep '^bench=rcu')
	diag "$line"
	reads=$(kv reads_vs_liburcu_memb "$line")
	writes=$(kv writes_vs_liburcu_memb "$line")
	if [ -n "$3" ]; then
		within "$reads" 20
	else
		within "$reads" 1 && within "$writes" 1
	fi
	ok $? "${3:+$3 sandbox: }$1 reader(s), $2 writer(s): reads x$reads, writes x$writes of liburcu-memb, within ${factor}x of the target ($(kv target "$line"): $(kv pass "$line"))"
}

target 1 1
target 6 2
if "$TESTS/sandbox" --enosys -- true 2>/dev/null; then
	target 6 2 enosys
else
	skip "seccomp filters cannot be installed here" "sandbox: 6 readers, 2 writers"
fi
done_testing
