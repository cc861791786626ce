/* SPDX-License-Identifier: MIT */
/*
 * Two CPUs to run on, and pinning the calling thread to one: the litmus
 * tests, doctor's verifications, the benchmarks and several tests put two
 * threads on different CPUs. And how such threads meet: spinning until a
 * cycle count, with a pseudo-random jitter.
 */
#ifndef MEMBARRIER_TOOL_CPUS_H
#define MEMBARRIER_TOOL_CPUS_H

#include <pthread.h>
#include <sched.h>

#include <membarrier/arch.h>

#include "arch/arch.h"

/* xorshift64: the jitter's pseudo-random sequence (seed not 0). */
static inline unsigned long long cpus_xorshift(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Spin until the cycle counter reaches t. */
static inline void cpus_spin_until(unsigned long long t)
{
	while (mbi_arch_cycles() < t)
		membarrier_arch_relax();
}

/* Pin the calling thread to cpu; cpu < 0 leaves it alone. */
static inline void cpus_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The first two CPUs this thread may run on: 0, or -1 (then both -1). */
static inline int cpus_pick_two(int cpus[2])
{
	cpu_set_t set;
	int n = 0;

	cpus[0] = cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n < 2)
		cpus[0] = cpus[1] = -1;
	return n == 2 ? 0 : -1;
}

#endif /* MEMBARRIER_TOOL_CPUS_H */
