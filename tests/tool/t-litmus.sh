#!/bin/sh
# SPDX-License-Identifier: MIT
# The ordering table on this machine: scenarios A (store buffering) and B
# (R shape), each with its control. `membarrier litmus` exits non-zero on
# a forbidden outcome under membarrier() or a control that saw nothing.
#
# Sizing, by outcomes rather than rounds: the control runs until it has
# seen $K forbidden outcomes or $CAP rounds (--control-forbidden,
# --control-max), and membarrier() then runs at least as many rounds as
# the control took (and at least $ITER), so a fence no stronger than
# barrier() would be expected to show $K or more.
#
# Measured here (2 CPUs, load average 12-17), control rounds to $K
# forbidden outcomes, per run: A 1484-3627, B 3645-20862 (7 runs each,
# none failed). At a tenth of the worst run's rate (100 in 20862 rounds,
# 0.48%), $CAP rounds expect 96 forbidden outcomes. Some runs see far
# fewer (B at about 1 in 33,000 rounds in 7 of 250 quiet runs: see the
# tool's header), and one that sees none at the cap skips, naming it: a
# blind control proves nothing, it does not fail. 19-23 s in all here.
. "$(dirname "$0")/../lib/lib.sh"
ITER=${LITMUS_ITERATIONS:-50000}
K=100
CAP=200000
# qemu-user's control is blind (below): cap it at ITER, as before.
[ "${MEMBARRIER_TEST_QEMU:-0}" != 0 ] && CAP=$ITER

if [ "$(nproc)" -lt 2 ]; then
	echo "1..0 # SKIP the litmus tests need two CPUs"
	exit 0
fi
for s in A B; do
	litmus_run "$TOOL" litmus --iterations "$ITER" --control-forbidden $K \
		--control-max $CAP --scenario "$s"
	diag "$out"
	ctl=$(printf '%s\n' "$out" | grep 'caller=barrier target=barrier')
	mb=$(printf '%s\n' "$out" | grep 'caller=membarrier target=barrier')
	if [ -n "$blind" ]; then
		# qemu-riscv64 7.2: 0 reorderings in every control run measured;
		# natively, a run whose overlap window has closed (see the tool).
		skip "$blind" "litmus scenario $s: control reorders, membarrier() forbids"
		skip "$blind" "scenario $s control observed the forbidden outcome"
	else
		ok $status "litmus scenario $s: control reorders, membarrier() forbids"
		[ "$(kv forbidden "$ctl")" -gt 0 ] 2>/dev/null
		ok $? "scenario $s control observed the forbidden outcome ($(kv forbidden "$ctl") in $(kv iterations "$ctl") rounds)"
	fi
	n=$(kv iterations "$mb")
	[ "$(kv forbidden "$mb")" = 0 ] && [ "$n" -ge "$ITER" ] &&
		[ "$n" -ge "$(kv iterations "$ctl")" ]
	ok $? "scenario $s membarrier(): no forbidden outcome in $n rounds"
done
# A control held to one round (it sees nothing in about 19 runs of 20):
# the exit status is 4, inconclusive, exactly when a control saw nothing.
out=$("$TOOL" litmus --iterations 1 --control-max 1 --scenario A 2>&1)
status=$?
ctl=$(printf '%s\n' "$out" | grep 'caller=barrier target=barrier')
if [ "$(kv forbidden "$ctl")" = 0 ]; then want=4; else want=0; fi
[ $status -eq $want ]
ok $? "a control held to one round: exit status $status, $want expected ($(kv result "$ctl"))"
done_testing
