/* SPDX-License-Identifier: MIT */
/*
 * Two CPUs to run on, and pinning the calling thread to one: the litmus
 * tests, doctor's verifications, the benchmarks and several tests put two
 * threads on different CPUs.
 */
#ifndef MEMBARRIER_TOOL_CPUS_H
#define MEMBARRIER_TOOL_CPUS_H

#include <pthread.h>
#include <sched.h>

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
