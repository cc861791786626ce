/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks: each prints key=value lines, and every figure that matters
 * is a ratio against a baseline measured in the same run, since absolute
 * times on shared machines are noise.
 */
#ifndef MEMBARRIER_BENCH_H
#define MEMBARRIER_BENCH_H

#include <stddef.h>

int bench_core(int argc, char **argv);
int bench_backends(int argc, char **argv);
int bench_services(int argc, char **argv);

/* Median of n doubles (sorts v). */
double bench_median(double *v, size_t n);

#endif /* MEMBARRIER_BENCH_H */
