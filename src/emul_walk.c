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
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#include "emul.h"

/* ---- CPUs ---- */

static long read_file(const char *path, char *buf, long size)
{
	long fd = mbi_sys(SYS_openat, AT_FDCWD, (long)path,
			  O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return fd;
	n = mbi_sys(SYS_read, fd, (long)buf, size - 1);
	mbi_sys(SYS_close, fd, 0, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Parse a CPU list ("0-3,8,10-11") into a set; returns the highest + 1. */
static int parse_cpulist(const char *s, struct mbi_cpuset *set)
{
	int top = 0;

	memset(set, 0, sizeof(*set));
	while (*s >= '0' && *s <= '9') {
		int lo = 0, hi;

		for (; *s >= '0' && *s <= '9'; s++)
			lo = lo * 10 + (*s - '0');
		hi = lo;
		if (*s == '-')
			for (hi = 0, s++; *s >= '0' && *s <= '9'; s++)
				hi = hi * 10 + (*s - '0');
		for (int c = lo; c <= hi && c < MBI_MAX_CPUS; c++)
			set->bits[c / 64] |= 1ull << (c % 64);
		if (hi + 1 > top)
			top = hi + 1;
		if (*s == ',')
			s++;
	}
	return top;
}

int mbi_cpus_online(struct mbi_cpuset *online)
{
	char buf[1024];

	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) <= 0)
		return -ENOENT;
	parse_cpulist(buf, online);
	return 0;
}

int mbi_cpus_possible(void)
{
	char buf[1024];
	struct mbi_cpuset set;

	if (read_file("/sys/devices/system/cpu/possible", buf, sizeof(buf)) <= 0)
		return MBI_MAX_CPUS;
	return parse_cpulist(buf, &set);
}

static long set_affinity(int cpu)
{
	struct mbi_cpuset one;

	memset(&one, 0, sizeof(one));
	one.bits[cpu / 64] = 1ull << (cpu % 64);
	return mbi_sys(SYS_sched_setaffinity, 0, sizeof(one), (long)&one);
}

int mbi_walk_reaches_all(void)
{
	struct mbi_cpuset online, allowed;
	long n;

	if (mbi_cpus_online(&online))
		return 0;
	memset(&allowed, 0, sizeof(allowed));
	n = mbi_sys(SYS_sched_getaffinity, 0, sizeof(allowed), (long)&allowed);
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
	n = mbi_sys(SYS_sched_getaffinity, 0, sizeof(saved), (long)&saved);
	if (n < 0)
		return (int)n;
	membarrier_arch_mb();	/* a: pairs with the switches on each CPU */
	mbi_sys(SYS_getcpu, (long)&here, 0, 0);
	for (int cpu = 0; cpu < MBI_MAX_CPUS; cpu++)
		if (cpu != (int)here && mbi_cpuset_has(&online, cpu) &&
		    set_affinity(cpu) < 0)
			missed++;
	mbi_sys(SYS_sched_setaffinity, 0, sizeof(saved), (long)&saved);
	membarrier_arch_mb();	/* c: pairs with the switches on each CPU */
	return need_every_cpu && missed ? -EAGAIN : 0;
}
