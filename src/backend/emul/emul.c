// SPDX-License-Identifier: MIT
/*
 * The emulated backend's entry: what it can serve here, and each command.
 * The mechanisms are in tlb.c (TLB shootdown), walk.c (CPU walk) and
 * global.c (the registry); emul.h says which serves which command.
 *
 * Every barrier keeps errno (its system calls are raw) and is async-
 * signal-safe. Registrations prepare nothing but GLOBAL_EXPEDITED's
 * registry entry and agent thread.
 *
 * Errors are only those membarrier(2) documents. A barrier cannot fail
 * where its command was advertised, but when the scheduler refuses the
 * walk after QUERY advertised it (a seccomp filter installed later, a
 * SCHED_DEADLINE caller), or, on riscv64, riscv_flush_icache is refused
 * after it was not: then EINVAL, the man page's word for a command this
 * system does not implement.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"

static struct {
	int ready;		/* the facts below are gathered (release) */
	int atfork;		/* the fork handler is registered */
	int supported;		/* QUERY-style mask */
	int possible_cpus;	/* nr_cpu_ids */
} emul;

/* glibc registers an rseq area per thread (2.35+) when the kernel has it. */
extern const unsigned int __rseq_size __attribute__((weak));

static int rseq_available(void)
{
	if (&__rseq_size && __rseq_size)
		return 1;
	/* Ask the kernel: an invalid length gives EINVAL where rseq exists. */
	return mbi_syscall6(SYS_rseq, 0, 0, 0, 0, 0, 0) == -EINVAL;
}

static void atfork_child(void)
{
	mbi_global_atfork_child();
}

/* What each command needs, from the facts the mechanisms gathered. */
static int supported_mask(void)
{
	int plain = mbi_tlb_is_barrier() || mbi_walk_works(),
	    sync_core = mbi_tlb_serializes() || mbi_walk_works(),
	    m = MEMBARRIER_CMD_GET_REGISTRATIONS;

	/* riscv64: without it, threads not running stay unserialized. */
	if (mbi_arch_sync_core_prepare() != 0)
		sync_core = 0;

	if (plain)
		m |= MEMBARRIER_CMD_PRIVATE_EXPEDITED |
		     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
	if (sync_core)
		m |= MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
		     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
	if (mbi_walk_works() && rseq_available())
		m |= MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ |
		     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ;
	if (mbi_walk_reaches_all())
		m |= MEMBARRIER_CMD_GLOBAL;
	/* The registry's agents order their processes by the plain barrier. */
	if (plain && mbi_global_supported())
		m |= MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		     MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	return m;
}

void mbi_emul_init(void)
{
	/* Acquire pairs with the release below: the facts are visible. */
	if (__atomic_load_n(&emul.ready, __ATOMIC_ACQUIRE))
		return;
	mbi_tlb_init();
	mbi_walk_init();
	__atomic_store_n(&emul.possible_cpus, mbi_cpus_possible(),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&emul.supported, supported_mask(), __ATOMIC_RELAXED);
	__atomic_store_n(&emul.ready, 1, __ATOMIC_RELEASE);
}

int mbi_emul_supported(void)
{
	mbi_emul_init();
	return __atomic_load_n(&emul.supported, __ATOMIC_RELAXED);
}

/* A refused walk is the only failure; see the top of this file. */
static int walk_result(int ret)
{
	return ret < 0 ? -EINVAL : 0;
}

int mbi_emul_private_round(int exclude_tid)
{
	/* No thread takes part, so none needs excluding (global.c's agent). */
	(void)exclude_tid;
	/* A shootdown can fail (no memory for the pool, 64 concurrent
	 * callers): the walk orders the same threads. */
	if (mbi_tlb_is_barrier() && mbi_tlb_shootdown() == 0)
		return 0;
	return walk_result(mbi_walk_cpus(-1, 0));
}

static int sync_core_round(void)
{
	/* As the kernel, the calling CPU is serialized too. */
	mbi_arch_sync_core();
	/* riscv64: threads not running serialize when they next run
	 * (src/arch/riscv64.h); nothing elsewhere. */
	if (mbi_arch_sync_core_prepare() != 0)
		return -EINVAL;
	if (mbi_tlb_serializes() && mbi_tlb_shootdown() == 0)
		return 0;
	return walk_result(mbi_walk_cpus(-1, 1));
}

static long register_cmd(int cmd)
{
	switch (cmd) {
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
		return 0;	/* the mechanisms need nothing prepared */
	case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
		/* A forked child registers anew (global.c); pthread_atfork
		 * locks and allocates, so here rather than on a barrier. */
		if (!__atomic_exchange_n(&emul.atfork, 1, __ATOMIC_RELAXED))
			pthread_atfork(NULL, NULL, atfork_child);
		return mbi_global_register();
	default:
		return -EINVAL;
	}
}

/* FLAG_CPU: a CPU that is not possible: nothing to do (an offline one
 * the walk finds refused, the same no-op). */
static int cpu_absent(int cpu_id)
{
	return cpu_id >= __atomic_load_n(&emul.possible_cpus, __ATOMIC_RELAXED);
}

static long barrier_cmd(int cmd, int cpu_id)
{
	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return mbi_emul_private_round(0);
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		return sync_core_round();
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		if (cpu_id >= 0 && cpu_absent(cpu_id)) {
			/* As the kernel's no-op: its closing smp_mb() still
			 * orders the caller (pairs with nothing remote). */
			membarrier_arch_mb();
			return 0;
		}
		return walk_result(mbi_walk_cpus(cpu_id, 0));
	case MEMBARRIER_CMD_GLOBAL:
		return walk_result(mbi_walk(1));
	case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		return mbi_global_expedited();
	default:
		return -EINVAL;
	}
}

const char *mbi_emul_mechanism(int cmd)
{
	mbi_emul_init();
	/* A registration prepares its barrier's mechanism. */
	if (mbi_registration_of(cmd))
		cmd >>= 1;
	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return mbi_tlb_is_barrier() ? "TLB shootdown" : "CPU walk";
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		return mbi_tlb_serializes() ? "TLB shootdown" : "CPU walk";
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		return "CPU walk";
	case MEMBARRIER_CMD_GLOBAL:
		return "CPU walk";
	case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		return "process registry";
	default:
		return "library";
	}
}

long mbi_emul_call(int cmd, unsigned int flags, int cpu_id)
{
	int saved_errno = errno;
	long ret;

	(void)flags;
	mbi_emul_init();
	if (mbi_registration_of(cmd))
		ret = register_cmd(cmd);
	else
		ret = barrier_cmd(cmd, cpu_id);
	errno = saved_errno;
	return ret;
}
