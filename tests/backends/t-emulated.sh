#!/bin/sh
# SPDX-License-Identifier: MIT
# The core suites against the emulated backend, in both of its plain-
# barrier mechanisms (TLB shootdown where sound, CPU walk), and
# through the preload shim: conformance and differential against the
# running kernel, litmus for every command (the control must reorder,
# membarrier() must not), rseq aborts, the hazards, two processes.
. "$(dirname "$0")/../lib/lib.sh"
ITER=${LITMUS_ITERATIONS:-100000}

litmus() {	# litmus LABEL ARGS...
	label=$1
	shift
	litmus_run "$TOOL" litmus "$@"
	if [ -n "$blind" ]; then
		skip "$blind" "$label: litmus $*"
		return
	fi
	[ $status -eq 0 ] || diag "$out"
	ok $status "$label: litmus $* ($(printf '%s\n' "$out" | grep -c 'result=ok') cells ok)"
}

for tlb in 1 0; do
	export MEMBARRIER_BACKEND=emulated MEMBARRIER_EMUL_TLB=$tlb
	cfg="emulated, TLB shootdown $( [ $tlb = 1 ] && echo on || echo off)"
	embed "$cfg: conformance" "$TESTS/t-conformance"
	DIFF_SEQUENCES=15 embed "$cfg: differential" "$TESTS/t-differential"
	embed "$cfg: API" "$TESTS/t-api"
	embed "$cfg: rseq" "$TESTS/t-rseq-abort"
	embed "$cfg: hazards" "$TESTS/t-emul-hazards"
	if [ "$(nproc)" -ge 2 ]; then
		# The walk's caller waits for each CPU (up to a slice under load),
		# and GLOBAL_EXPEDITED crosses processes: fewer iterations there.
		# Each control runs until it has seen the reordering (the tool's
		# default), and membarrier() then at least as many rounds.
		litmus "$cfg" --iterations $( [ $tlb = 1 ] && echo "$ITER" || echo $((ITER / 20)) )
		litmus "$cfg" --cmd sync-core --iterations $((ITER / 20))
		litmus "$cfg" --cmd rseq --iterations $((ITER / 20))
		litmus "$cfg" --cmd global-expedited --iterations $((ITER / 50))
	else
		skip "one CPU" "$cfg: litmus"
	fi
done
unset MEMBARRIER_EMUL_TLB
if [ "$(nproc)" -ge 2 ]; then
	# GLOBAL's walk is the slowest barrier: 300 rounds, the control
	# capped at 30,000 (300 fixed rounds left it blind in 2 of about 10
	# runs under load), membarrier() then as many as the control took.
	litmus "emulated" --cmd global --iterations 300 --control-max 30000
fi
embed "GLOBAL_EXPEDITED registry" "$TESTS/t-global-expedited"

# Older or nohz_full kernels, simulated: the backends mix per command.
for m in "0x1ff before-6.3" "0x7f before-5.10" "0x3fe nohz_full" "0x19 4.14-era"; do
	export MEMBARRIER_KERNEL_MASK=${m% *}
	embed "kernel mask ${m% *} (${m#* }): conformance" "$TESTS/t-conformance"
	DIFF_SEQUENCES=10 embed "kernel mask ${m% *} (${m#* }): differential" \
		"$TESTS/t-differential"
done
unset MEMBARRIER_KERNEL_MASK
CONFORMANCE_RUNNER=preload embed "emulated, unmodified program under membarrier run" \
	"$TESTS/t-conformance"
done_testing
