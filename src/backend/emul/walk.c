// SPDX-License-Identifier: MIT
/*
 * The CPU walk: the calling thread moves itself onto each CPU in turn
 * (sched_setaffinity), then back to its own CPU set. It serves
 * PRIVATE_EXPEDITED where the TLB shootdown is not a barrier, SYNC_CORE
 * where the shootdown does not serialize every CPU, RSEQ (FLAG_CPU: one
 * CPU) and GLOBAL. It needs no signal, no cooperation from any thread and
 * no file descriptor, and it disturbs only what runs on a CPU during the
 * call, as the kernel's IPIs do (kernel/sched/membarrier.c).
 *
 * Running on CPU k needs a context switch there, and the scheduler
 * executes a full barrier around every switch (smp_mb__after_spinlock()
 * in __schedule() and try_to_wake_up(), kernel/sched/core.c; the
 * guarantee membarrier's own design rests on): whatever thread ran on
 * CPU k is switched out, its earlier accesses ordered before ours there,
 * and it runs again only after another switch, which orders its later
 * accesses after ours. A thread that was not running at all passed a
 * switch when it stopped and passes one before it runs again, whether it
 * sleeps in a system call, is stopped, or waits on a run queue: it is
 * never woken, signalled or waited for.
 *
 * Plain barrier (scenario A of kernel/sched/membarrier.c; B is the
 * mirror image, T's earlier store seen by the caller's later load):
 *
 *   caller                                  thread T, running on CPU k
 *   x = 1                                   y = 1
 *   a: smp_mb()
 *   sched_setaffinity({k})  ->  T preempted: __schedule() on k, full
 *                               barrier; the caller runs on k
 *   ... every other CPU ...
 *   c: smp_mb()
 *   r0 = y                                  (resumes after a switch) r1 = x
 *
 *   forbidden: r0 == 0 && r1 == 0. T's y = 1 precedes its switch-out,
 *   which precedes the caller's run on k (rq lock of k) and so r0; the
 *   caller's x = 1 precedes (a) and its arrival on k, which precedes T's
 *   next switch-in (rq lock of k, then of T's next CPU) and so r1.
 *
 * SYNC_CORE: on arriving on CPU k the caller runs the context-
 * synchronizing instruction there (CPUID, ISB): CPU k is serialized after
 * the caller's earlier code writes, so whatever runs on k afterwards,
 * switched in after that instant, fetches the new code. A thread that
 * ran on k before is not running there any more; it resumes on a CPU
 * already walked (serialized after the write), or on one not yet walked,
 * where the walk preempts it in turn. On arm64 every exception return is
 * context synchronizing as well (Documentation/features/sched/
 * membarrier-sync-core/arch-support.txt).
 *
 *   caller                                  thread T on CPU k
 *   write code; a: smp_mb()                 (running old code)
 *   sched_setaffinity({k}); cpuid/isb   ->  T preempted, CPU k serialized
 *   c: smp_mb()                             resumes: fetches the new code
 *
 * RSEQ: the preemption of T on CPU k sets TIF_NOTIFY_RESUME
 * (rseq_preempt() from prepare_task_switch(), kernel/sched/core.c), so an
 * rseq critical section T was in aborts before T runs user code again; a
 * thread that was not running was preempted or blocked, which aborted its
 * section already (kernel/rseq.c).
 *
 * Waiting for the scheduler: moved onto a CPU where another thread runs,
 * the caller preempts it only once that thread's slice protection ends
 * (EEVDF's RUN_TO_PARITY, kernel/sched/fair.c), up to a tick (4 ms at
 * HZ=250) when the caller itself never sleeps. For the walk the caller
 * asks for the shortest slice, 0.1 ms (sched_attr::sched_runtime, Linux
 * 6.12, "sched/eevdf: Use sched_attr::sched_runtime to set request/slice
 * suggestion"; "sched/eevdf: Allow shorter slices to wakeup-preempt"),
 * and gives back its own attributes afterwards; older kernels ignore it.
 * (sched_getattr() reports the default slice as a number, so a thread that
 * had the default keeps that same number as its own slice: sched_getattr
 * answers as before, and only a later change of the debugfs base_slice_ns
 * no longer reaches it.)
 *
 * CPUs the caller may not use (sched_setaffinity says EINVAL: offline or
 * outside its cpuset) are skipped: no thread of this process runs there.
 * The walk is async-signal-safe (raw system calls, stack buffers) and
 * bounded by the scheduler: an ordinary thread gets the CPU within a time
 * slice (a real-time one is throttled, sched_rt_runtime_us).
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"

static struct {
	int ncpus;		/* CPUs to try: the possible ones */
	int works;		/* sched_setaffinity is permitted */
	struct mbi_cpuset online;
} walk;

static long get_affinity(struct mbi_cpuset *set)
{
	memset(set, 0, sizeof(*set));
	return mbi_syscall3(SYS_sched_getaffinity, 0, sizeof(*set), (long)set);
}

static long set_affinity(const struct mbi_cpuset *set)
{
	return mbi_syscall3(SYS_sched_setaffinity, 0, sizeof(*set), (long)set);
}

/*
 * The possible CPUs (fixed at boot), the online ones, and whether this
 * thread may change its CPU set: setting the one it has is a no-op that
 * a seccomp filter blocking sched_setaffinity already refuses. (A
 * SCHED_DEADLINE caller passes this and is refused a one-CPU set later,
 * EBUSY: its barriers then fail, as emul.c says.)
 */
void mbi_walk_init(void)
{
	struct mbi_cpuset mine, online;
	long n = get_affinity(&mine);
	int ncpus = mbi_cpus_possible();

	/* Relaxed stores: concurrent first uses store the same facts. */
	if (mbi_cpus_online(&online))
		memset(&online, 0xff, sizeof(online));
	for (int i = 0; i < MBI_MAX_CPUS / 64; i++)
		__atomic_store_n(&walk.online.bits[i], online.bits[i],
				 __ATOMIC_RELAXED);
	/* Without /sys: the kernel's CPU mask size bounds the CPUs. */
	if (n > 0 && ncpus > n * 8)
		ncpus = (int)(n * 8);
	if (ncpus > MBI_MAX_CPUS)
		ncpus = MBI_MAX_CPUS;
	__atomic_store_n(&walk.ncpus, ncpus, __ATOMIC_RELAXED);
	__atomic_store_n(&walk.works, n > 0 && set_affinity(&mine) == 0,
			 __ATOMIC_RELAXED);
}

int mbi_walk_works(void)
{
	return __atomic_load_n(&walk.works, __ATOMIC_RELAXED);
}

static int walk_online(int cpu)
{
	return cpu >= 0 && cpu < MBI_MAX_CPUS &&
	       (__atomic_load_n(&walk.online.bits[cpu / 64], __ATOMIC_RELAXED) >>
		(cpu % 64)) & 1;
}

int mbi_walk_reaches_all(void)
{
	struct mbi_cpuset allowed;

	if (!mbi_walk_works() || get_affinity(&allowed) < 0)
		return 0;
	for (int cpu = 0; cpu < MBI_MAX_CPUS; cpu++)
		if (walk_online(cpu) && !mbi_cpuset_has(&allowed, cpu))
			return 0;
	return 1;
}

/* struct sched_attr (include/uapi/linux/sched/types.h), version 1. */
struct mbi_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

#define MBI_SCHED_OTHER 0
#define MBI_SCHED_BATCH 3
#define MBI_SCHED_FLAG_RESET_ON_FORK 1ull

static long set_attr(const struct mbi_sched_attr *a)
{
	return mbi_syscall3(SYS_sched_setattr, 0, (long)a, 0);
}

/*
 * A short slice for a fair-class caller (policy, nice and the reset-on-
 * fork flag kept, utilization clamps untouched): 1 if *saved must be
 * given back.
 */
static int slice_shorten(struct mbi_sched_attr *saved)
{
	struct mbi_sched_attr a;

	memset(saved, 0, sizeof(*saved));
	if (mbi_syscall6(SYS_sched_getattr, 0, (long)saved, sizeof(*saved), 0,
			 0, 0) < 0 ||
	    (saved->policy != MBI_SCHED_OTHER && saved->policy != MBI_SCHED_BATCH))
		return 0;
	saved->size = sizeof(*saved);
	saved->flags &= MBI_SCHED_FLAG_RESET_ON_FORK;
	a = *saved;
	a.runtime = 100000;	/* the kernel's floor: 0.1 ms */
	return a.runtime != saved->runtime && set_attr(&a) == 0;
}

/* Run on cpu (0), or say why not (-EINVAL: not a CPU we may use). */
static long visit(int cpu, int sync_core)
{
	struct mbi_cpuset one;
	long ret;

	memset(&one, 0, sizeof(one));
	one.bits[cpu / 64] = 1ull << (cpu % 64);
	ret = set_affinity(&one);
	if (ret == 0 && sync_core)
		mbi_arch_sync_core();	/* on cpu: the switch put us there */
	return ret;
}

int mbi_walk_cpus(int cpu_id, int sync_core)
{
	struct mbi_cpuset saved;
	struct mbi_sched_attr attr;
	unsigned int here = 0, ncpus = (unsigned int)__atomic_load_n(&walk.ncpus,
								  __ATOMIC_RELAXED);
	int missed = 0, shortened, visits = cpu_id >= 0 ? 1 : (int)ncpus;
	long n = get_affinity(&saved), err = 0;

	if (n < 0)
		return (int)n;
	shortened = slice_shorten(&attr);
	membarrier_arch_mb();	/* a: pairs with the switches on each CPU */
	/* From the CPU we are on (no move there), around: one move fewer. */
	if (cpu_id < 0)
		mbi_syscall3(SYS_getcpu, (long)&here, 0, 0);
	for (int i = 0; i < visits && !err; i++) {
		int cpu = cpu_id >= 0 ? cpu_id : (int)((here + (unsigned int)i) % ncpus);
		long ret = cpu < MBI_MAX_CPUS ? visit(cpu, sync_core) : -EINVAL;

		if (ret == -EINVAL)
			missed += walk_online(cpu);
		else if (ret < 0)
			err = ret;
	}
	set_affinity(&saved);
	if (shortened)
		set_attr(&attr);
	membarrier_arch_mb();	/* c: pairs with the switches on each CPU */
	return err ? (int)err : missed;
}

int mbi_walk(int need_every_cpu)
{
	int ret = mbi_walk_cpus(-1, 0);

	if (ret > 0)
		return need_every_cpu ? -EAGAIN : 0;
	return ret;
}
