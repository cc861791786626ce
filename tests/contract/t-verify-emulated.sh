#!/bin/sh
# SPDX-License-Identifier: MIT
# The verifications that only a real barrier passes (t-interrupts: every
# call interrupts a thread running elsewhere; t-sync-core: the
# context-synchronizing instruction on every CPU the walk visits and in a
# caller sharing a barrier), on the emulated backend, with its plain
# barrier by TLB shootdown and by the CPU walk (the third, t-rseq-abort:
# aborts before the return, runs there in tests/backends/t-emulated.sh).
# make check runs them on the kernel's backend directly; make
# check-mutants shows each one failing against the mutant it is meant to
# catch.
. "$(dirname "$0")/../lib/lib.sh"

for tlb in 1 0; do
	export MEMBARRIER_BACKEND=emulated MEMBARRIER_EMUL_TLB=$tlb
	cfg="emulated, TLB shootdown $( [ $tlb = 1 ] && echo on || echo off)"
	# GLOBAL_EXPEDITED is the registry's (t-global-expedited), measured
	# by make check-mutants.
	INTERRUPTS_ONLY="private sync-core global heavy bias" \
		embed "$cfg: interruptions" "$TESTS/t-interrupts"
	embed "$cfg: SYNC_CORE" "$TESTS/t-sync-core"
done
done_testing
