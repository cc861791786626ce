/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks: each prints key=value lines, and every figure that matters
 * is a ratio against a baseline measured in the same run, since absolute
 * times on shared machines are noise.
 */
#ifndef MEMBARRIER_BENCH_H
#define MEMBARRIER_BENCH_H

#include <stddef.h>

#include "tool.h"

/* The benchmarks (bench rcu's is in rcu_bench.h). */
tool_main_fn bench_core, bench_backends, bench_services, bench_concurrent,
	bench_startup;

/* Threads that spin (running) or sleep (pause()) while a cost is taken. */
#include <pthread.h>
#include <stdint.h>

struct bench_crew {
	pthread_t t[80];
	int n;
};

void bench_crew_start(struct bench_crew *c, int spinning, int sleeping);
void bench_crew_stop(struct bench_crew *c);

/*
 * ns per membarrier(cmd): median of three rounds of budget_ns / 3 each;
 * calls made in *total. -1 if a call fails.
 */
double bench_cost(int cmd, uint64_t budget_ns, unsigned long *total);

/*
 * Run argv (argv[0] a path) in a child whose stdout is a pipe, with the
 * NAME, VALUE pairs of env (NULL-terminated, or NULL) set in the child
 * only; echo each line it prints to stdout and pass it to on_line(line,
 * arg). Returns the child's wait status, or -1.
 */
int bench_run_child(char *const argv[], const char *const env[],
		    void (*on_line)(const char *line, void *arg), void *arg);

/* Median of n doubles (sorts v). */
double bench_median(double *v, size_t n);

#endif /* MEMBARRIER_BENCH_H */
