/* SPDX-License-Identifier: MIT */
/*
 * bench services, the rseq items (bench/rseq.c): per-CPU counter add
 * through an rseq critical section, through the fallback, and a counter
 * indexed by concurrency id, each against an atomic fetch-add on one
 * shared counter, two threads each, in the same run.
 */
#ifndef MEMBARRIER_BENCH_RSEQ_H
#define MEMBARRIER_BENCH_RSEQ_H

/*
 * Prints three lines (percpu_counter, percpu_counter_fallback,
 * cid_counter), e.g.
 *   bench=services item=percpu_counter threads=2 ... path=rseq
 *   percpu_ops_per_s=... atomic_ops_per_s=... ratio=... limit=2 pass=yes
 * spending about `seconds` in total. Returns 0 when it measured (pass=
 * gives the verdict against the limit, per-CPU at least 2x the atomic), 1 when it could not
 * (rseq unavailable, no memory, no threads: the line says error=...).
 */
int bench_services_rseq(double seconds);

#endif /* MEMBARRIER_BENCH_RSEQ_H */
