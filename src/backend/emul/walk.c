// SPDX-License-Identifier: MIT
/*
 * The CPU walk: the calling thread moves itself onto each online CPU in
 * turn (sched_setaffinity), then back to its own CPU set.
 *
 * Running on CPU k needs a context switch there, and the scheduler
 * executes a full barrier around every switch (the guarantee membarrier's
 * own design rests on, kernel/sched/membarrier.c): whatever thread ran on
 * CPU k is switched out, so its earlier accesses are ordered before ours
 * there, and it runs again only after another switch, which orders its
 * later accesses after ours. A preempted thread inside an rseq critical
 * section is aborted when it resumes. A thread that was not running at
 * all passed a switch when it stopped and passes one before it runs.
 *
 *   caller                                  CPU k (thread T running)
 *   a: smp_mb()
 *   sched_setaffinity({k})  ->  T switched out (full barrier), we run on k
 *   ... every other online CPU ...
 *   c: smp_mb()
 *
 * No helper thread: the walk is async-signal-safe, and it is bounded by
 * the scheduler (an ordinary thread gets the CPU within a time slice; a
 * real-time one is throttled, sched_rt_runtime_us). The thread's CPU set
 * is restored afterwards.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"

static long set_affinity(int cpu)
{
	struct mbi_cpuset one;

	memset(&one, 0, sizeof(one));
	one.bits[cpu / 64] = 1ull << (cpu % 64);
	return mbi_syscall3(SYS_sched_setaffinity, 0, sizeof(one), (long)&one);
}

int mbi_walk_reaches_all(void)
{
	struct mbi_cpuset online, allowed;
	long n;

	if (mbi_cpus_online(&online))
		return 0;
	memset(&allowed, 0, sizeof(allowed));
	n = mbi_syscall3(SYS_sched_getaffinity, 0, sizeof(allowed), (long)&allowed);
	if (n < 0)
		return 0;
	for (int i = 0; i < MBI_MAX_CPUS / 64; i++)
		if (online.bits[i] & ~allowed.bits[i])
			return 0;
	return 1;
}

/* ---- the walk ---- */

int mbi_walk(int need_every_cpu)
{
	struct mbi_cpuset online, saved;
	unsigned int here = 0;
	long n;
	int missed = 0;

	if (mbi_cpus_online(&online))
		return -ENOENT;
	memset(&saved, 0, sizeof(saved));
	n = mbi_syscall3(SYS_sched_getaffinity, 0, sizeof(saved), (long)&saved);
	if (n < 0)
		return (int)n;
	membarrier_arch_mb();	/* a: pairs with the switches on each CPU */
	mbi_syscall3(SYS_getcpu, (long)&here, 0, 0);
	for (int cpu = 0; cpu < MBI_MAX_CPUS; cpu++)
		if (cpu != (int)here && mbi_cpuset_has(&online, cpu) &&
		    set_affinity(cpu) < 0)
			missed++;
	mbi_syscall3(SYS_sched_setaffinity, 0, sizeof(saved), (long)&saved);
	membarrier_arch_mb();	/* c: pairs with the switches on each CPU */
	return need_every_cpu && missed ? -EAGAIN : 0;
}
