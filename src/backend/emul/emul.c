// SPDX-License-Identifier: MIT
/*
 * The emulated backend's entry: what it can serve here, and each command.
 * The mechanisms are in tlb.c (TLB shootdown), handshake.c (signal
 * handshake), walk.c (CPU walk) and global.c (the registry).
 *
 * Every barrier keeps errno (the handshake's system calls never set it:
 * they are raw) and is async-signal-safe. Registrations are not called
 * from signal handlers in practice; they may install a signal handler
 * and, for GLOBAL_EXPEDITED, start the agent thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"

static struct {
	int supported;		/* QUERY-style mask */
	int possible_cpus;	/* nr_cpu_ids */
	struct mbi_cpuset online;
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

static void read_deadline(void)
{
	const char *s = secure_getenv("MEMBARRIER_EMUL_TIMEOUT_US");
	char *end;
	unsigned long us;

	if (!s || !*s)
		return;
	us = strtoul(s, &end, 10);
	if (*end || us == 0 || us > 10000000) {
		fprintf(stderr, "libmembarrier: MEMBARRIER_EMUL_TIMEOUT_US=%s is "
			"not 1..10000000; keeping the default\n", s);
		return;
	}
	mbi_handshake_set_deadline((uint64_t)us * 1000);
}

static void atfork_child(void)
{
	mbi_global_atfork_child();
}

void mbi_emul_init(void)
{
	int m = MEMBARRIER_CMD_PRIVATE_EXPEDITED |
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
		MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE |
		MEMBARRIER_CMD_GET_REGISTRATIONS;

	mbi_tlb_init();
	mbi_handshake_init();
	read_deadline();
	emul.possible_cpus = mbi_cpus_possible();
	if (mbi_cpus_online(&emul.online))
		memset(&emul.online, 0xff, sizeof(emul.online));
	if (rseq_available())
		m |= MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ |
		     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ;
	if (mbi_walk_reaches_all())
		m |= MEMBARRIER_CMD_GLOBAL;
	if (mbi_global_supported())
		m |= MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		     MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	emul.supported = m;
	pthread_atfork(NULL, NULL, atfork_child);
}

int mbi_emul_supported(void)
{
	return emul.supported;
}

static void report_fallback_only(int why)
{
	static int reported;

	if (!__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: the signal handshake is "
			"unavailable (%s); ordering every thread by the slower "
			"fallback\n", why == -EBUSY ? "the program replaced its "
			"signal handler" : why == -ENOENT ? "no /proc/self/task" :
			strerror(-why));
}

/*
 * A handshake round with every thread but exclude_tid, then the fallback
 * for the threads it could not reach: the TLB shootdown where it is a
 * barrier and plain is enough, else the CPU walk (which also aborts rseq
 * critical sections and context-synchronizes preempted threads).
 */
static int handshake_round(int exclude_tid, int cpu_id, int plain)
{
	int left = mbi_handshake(exclude_tid, 0, cpu_id);

	if (left == 0)
		return 0;
	if (left < 0)
		report_fallback_only(left);
	if (plain && mbi_tlb_is_barrier() && mbi_tlb_shootdown() == 0)
		return 0;
	return mbi_walk(0);
}

int mbi_emul_private_round(int exclude_tid)
{
	if (mbi_tlb_is_barrier() && mbi_tlb_shootdown() == 0)
		return 0;
	return handshake_round(exclude_tid, -1, 1);
}

static long register_cmd(int cmd)
{
	switch (cmd) {
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
		/* The TLB shootdown needs no handler. */
		return mbi_tlb_is_barrier() ? 0 : mbi_handshake_prepare();
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
		return mbi_handshake_prepare();
	case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: {
		long ret = mbi_tlb_is_barrier() ? 0 : mbi_handshake_prepare();

		return ret ? ret : mbi_global_register();
	}
	default:
		return -EINVAL;
	}
}

/* FLAG_CPU: a CPU that is not possible or not online: nothing to do. */
static int cpu_absent(int cpu_id)
{
	return cpu_id >= emul.possible_cpus || !mbi_cpuset_has(&emul.online, cpu_id);
}

static long barrier_cmd(int cmd, int cpu_id)
{
	int agent = mbi_global_agent_tid();

	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return mbi_emul_private_round(agent);
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		/* As the kernel, the calling CPU is serialized too. */
		mbi_arch_sync_core();
		/* riscv64: threads not running serialize when they next
		 * run (src/arch/riscv64.h); nothing elsewhere. */
		(void)mbi_arch_sync_core_prepare();
		return handshake_round(agent, -1, 0);
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		if (cpu_id >= 0 && cpu_absent(cpu_id)) {
			/* As the kernel's no-op: its closing smp_mb() still
			 * orders the caller (pairs with nothing remote). */
			membarrier_arch_mb();
			return 0;
		}
		return handshake_round(agent, cpu_id, 0);
	case MEMBARRIER_CMD_GLOBAL:
		return mbi_walk(1);
	case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		return mbi_global_expedited();
	default:
		return -EINVAL;
	}
}

const char *mbi_emul_mechanism(int cmd)
{
	/* A registration prepares its barrier's mechanism. */
	if (mbi_registration_of(cmd))
		cmd >>= 1;
	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return mbi_tlb_is_barrier() ? "TLB shootdown" : "signal handshake";
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		return "signal handshake";
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
	if (mbi_registration_of(cmd))
		ret = register_cmd(cmd);
	else
		ret = barrier_cmd(cmd, cpu_id);
	errno = saved_errno;
	return ret;
}
