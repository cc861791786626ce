// SPDX-License-Identifier: MIT
/*
 * Shared barriers: concurrent callers of one expedited command share its
 * barriers, as callers of synchronize_rcu_expedited() share expedited
 * grace periods (the sequence counter of kernel/rcu/tree_exp.h).
 *
 * Since Linux serialized the expedited commands behind a mutex
 * (kernel/sched/membarrier.c, commit 944d5fe50f3f "sched/membarrier:
 * reduce the ability to hammer on sys_membarrier"), concurrent callers
 * queue there, each sending its own round of IPIs. A caller needs only
 * one barrier that BEGAN AFTER its own call began and has completed:
 * any thread's will do. So one caller, the leader, runs the barrier;
 * callers arriving while it runs sleep on a futex and the next barrier,
 * begun after they arrived, serves them all.
 *
 * One 32-bit word per command (core.h): RUNNING (a leader is in the
 * barrier), WAIT0/WAIT1 (someone sleeps for an even/odd barrier), and
 * the number of barriers completed, in steps of COUNT_ONE. Every change
 * of the word is an atomic read-modify-write (release sequences stay
 * unbroken).
 *
 * The litmus sketch (scenario A of the kernel's comment, the caller
 * served by another thread's barrier):
 *
 *   CPU0 (caller C)           CPU2 (leader L)         CPU1 (target T)
 *   x = 1                                             y = 1
 *   fetch_or(word)  [a]                               barrier()
 *     sees barrier k running  CAS(word) k+1  [b]      r1 = x
 *   futex wait                membarrier()  [c]
 *                             fetch_add(word) done [d]
 *   load(word) sees k+1 [e]
 *   r0 = y
 *
 *   forbidden: r0 == 0 && r1 == 0
 *
 * [a] is an acq_rel RMW read before [b] in the word's modification
 * order, and every later change is an RMW: [a] heads a release sequence
 * that [b]'s acquire reads from, so x = 1 happens before L enters [c],
 * whose full barrier on every running thread then orders it before T's
 * r1 = x (or T's y = 1 before [c]'s end). [d] releases, [e] acquires:
 * what [c] ordered before its end happens before C's r0 = y. Barrier k
 * would not do: it may have interrupted T before x = 1 (the reason C
 * waits for k + 1, the one [b] began after [a]).
 *
 * Waiting: a follower polls the word about 2 us (SPIN pauses), then
 * sleeps on the futex. On few CPUs a kernel barrier takes about a
 * microsecond, far less than a futex sleep and wake-up (several), and
 * sleeping every follower made sharing slower than queueing in the
 * kernel (bench concurrent, 2 CPUs: 0.14 at 8 callers; with the poll
 * 1.4-1.6, and 4.8-5.7 at 2 callers). The poll is bounded, so waiting
 * callers do not hold a CPU away from a long barrier.
 *
 * What does not share: FLAG_CPU calls (PRIVATE_EXPEDITED_RSEQ on one
 * CPU) could share among callers naming the same CPU, by the same
 * argument, but they target one CPU because they are cheap and spread
 * over CPUs, so callers rarely meet; a call made while this thread is
 * already inside a shared barrier (a signal handler interrupting it)
 * runs its own barrier, so a thread never waits on itself; GLOBAL is
 * synchronize_rcu(), which the kernel shares already.
 *
 * The uncontended path (one RMW each side of the barrier) is inline in
 * core.h: where the kernel's return-stack mitigations (AMD SRSO) make
 * every user-space return after a system call mispredict, each call
 * level between the system call and membarrier()'s return costs ~2%.
 *
 * Errors: a leader whose barrier fails completes nothing (the count
 * stays), so its followers run their own and see their own error.
 * EPERM and EINVAL are decided before a call gets here.
 */
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "core/core.h"

struct mbi_share_slot mbi_share_slots[MBI_SHARE_SLOTS];
__thread int mbi_share_in;	/* default TLS model: no DF_STATIC_TLS */

/*
 * A follower's polls of the word, then its sched_yield() calls, before
 * it sleeps (test builds may set their own).
 */
#ifndef SPIN
#define SPIN 10
#endif
#ifndef YIELDS
#define YIELDS 64
#endif

/* The word's bit and the futex bit of the waiters for count target. */
static uint32_t wait_bit(uint32_t target)
{
	return MBI_SHARE_WAIT0 << ((target / MBI_SHARE_COUNT_ONE) & 1);
}

static uint32_t futex_bit(uint32_t target)
{
	return 1u << ((target / MBI_SHARE_COUNT_ONE) & 1);
}

/* Wake the waiters for count target: n of them. */
static void wake(struct mbi_share_slot *s, uint32_t target, int n)
{
	mbi_futex_wake_bits(&s->word, n, futex_bit(target));
}

/*
 * After the barrier that made the count done: every waiter for done
 * returns; of the waiters for the next barrier, one is woken to lead it
 * (the others sleep on: it began after they arrived). After a failure,
 * everyone retries on their own.
 */
void mbi_share_wake(struct mbi_share_slot *s, uint32_t old, long ret)
{
	uint32_t done = (old & MBI_SHARE_COUNT_MASK) + MBI_SHARE_COUNT_ONE;

	if (ret < 0) {
		/* Relaxed: the woken acquire at [e] reads [d]'s sequence. */
		__atomic_fetch_and(&s->word, ~MBI_SHARE_WAITERS,
				   __ATOMIC_RELAXED);
		mbi_futex_wake(&s->word, INT_MAX);
		return;
	}
	if (old & wait_bit(done)) {
		__atomic_fetch_and(&s->word, ~wait_bit(done), __ATOMIC_RELAXED);
		wake(s, done, INT_MAX);
	}
	if (old & wait_bit(done + MBI_SHARE_COUNT_ONE))
		wake(s, done + MBI_SHARE_COUNT_ONE, 1);
}

/* Count c reached target (modulo 2^32). */
static int reached(uint32_t v, uint32_t target)
{
	return (int32_t)((v & MBI_SHARE_COUNT_MASK) - target) >= 0;
}

/*
 * The barrier that v shows running may have begun before this call:
 * the next one is needed, two completions from v's count. A follower
 * waits in three steps, each bounded: SPIN polls of the word, then up
 * to YIELDS sched_yield() calls, then a futex sleep for its target's
 * parity (so that the barrier before it wakes only one of the
 * followers, to lead it). A wake-up restarts the yields.
 */
long mbi_share_follow(struct mbi_share_slot *s, uint32_t v, int backend,
		      int cmd)
{
	uint32_t target = (v & MBI_SHARE_COUNT_MASK) + 2 * MBI_SHARE_COUNT_ONE;
	uint32_t bit = wait_bit(target);
	int polls = 0;

	for (;;) {
		if (reached(v, target)) {
			mbi_stats_shared(cmd);
			/* SYNC_CORE: this thread too, as the kernel's own CPU. */
			if (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)
				mbi_arch_sync_core();
			return 0;
		}
		if (!(v & MBI_SHARE_RUNNING)) {
			/* [b] for a follower: acquire pairs with [a] and [d]. */
			if (__atomic_compare_exchange_n(&s->word, &v,
							v | MBI_SHARE_RUNNING, 0,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return mbi_share_lead(s, v, backend, cmd);
			continue;
		}
		if (polls < SPIN) {
			membarrier_arch_relax();
			polls++;
		} else if (polls < SPIN + YIELDS) {
			/* Runnable threads, the leader among them, go first. */
			mbi_syscall3(SYS_sched_yield, 0, 0, 0);
			polls++;
		} else {
			/* Acquire pairs with [d] when v shows it (re-checked). */
			if (!(v & bit) &&
			    !__atomic_compare_exchange_n(&s->word, &v, v | bit, 0,
							 __ATOMIC_ACQUIRE,
							 __ATOMIC_ACQUIRE))
				continue;
			mbi_futex_wait_bits(&s->word, v | bit,
					    futex_bit(target));
			polls = SPIN;
		}
		/* [e]: acquire pairs with the leader's release at [d]. */
		v = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
	}
}

/*
 * A fork() child has only the forking thread: a leader of the parent
 * that was in a barrier is not there to finish it. Every slot restarts
 * idle (the count is kept; nobody waits in the child).
 */
static void share_atfork_child(void)
{
	for (int i = 0; i < MBI_SHARE_SLOTS; i++)
		__atomic_and_fetch(&mbi_share_slots[i].word,
				   MBI_SHARE_COUNT_MASK, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void share_init(void)
{
	pthread_atfork(NULL, NULL, share_atfork_child);
}
