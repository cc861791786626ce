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
 * barrier), WAIT0/WAIT1 (someone sleeps for an even/odd barrier), the
 * leader's tag, and the number of barriers completed, in steps of
 * COUNT_ONE (13 bits that wrap: a follower reads only how far the count
 * moved since it arrived, and one that slept through 4,096 barriers and
 * reads a wrapped count runs one more, never one fewer). Every change of
 * the word is an atomic read-modify-write (release sequences stay
 * unbroken).
 *
 * The litmus sketch (scenario A of the kernel's comment, the caller
 * served by another thread's barrier):
 *
 *   CPU0 (caller C)           CPU2 (leader L)         CPU1 (target T)
 *   x = 1                                             y = 1
 *   RMW(word)  [a]                                    barrier()
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
 * Waiting: a follower sleeps on the futex at once, and the leader
 * wakes all the followers of its barrier in one call. A follower that
 * polled or yielded instead would be a running thread of the process,
 * and the kernel interrupts exactly the CPUs that run one (the test of
 * each CPU's current task's mm in membarrier_private_expedited(),
 * kernel/sched/membarrier.c): the barrier it waits for would cost an
 * IPI more. On the 2-CPU KVM guest this was measured on, a kernel
 * barrier takes 0.2-0.44 us when no other CPU runs a thread of the
 * process and 3.7-7.5 us when one does (a poller, a yielder), a context
 * switch between two threads of one CPU (sched_yield() ping-pong) about
 * 4.2 us, a futex hand-off across CPUs 9-10 us at best. Bench concurrent
 * (ratio to the raw call, medians of 10 alternating runs, 5 for the
 * yields; the machine loaded, the bench in an autogroup of its own at
 * nice -20), callers 2/4/8: polling ~2 us before the sleep 2.0/1.08/
 * 0.88; polling, then up to 64 sched_yield() calls 0.88/1.04/1.13;
 * sleeping at once 2.9/2.05/1.27. The ceiling on 2 CPUs: a follower's
 * call costs at least a switch out and one back in, each about what
 * the IPI barrier it shares costs, so shared barriers gain most where
 * the followers' sleep lets the leader's barriers skip the IPI.
 *
 * Who leads: whoever finds RUNNING clear, an arriving caller or a woken
 * follower. The leader whose barrier completes with followers asleep
 * for the next one, and nobody leading it, runs it too ([b] is then its
 * CAS in share_wake()), once: its own call is done, so the
 * followers need no wake-up to lead. That leader serves no further; if
 * more sleep for the one after, it wakes one of them to lead.
 *
 * What does not share: FLAG_CPU calls (PRIVATE_EXPEDITED_RSEQ on one
 * CPU) could share among callers naming the same CPU, by the same
 * argument, but they target one CPU because they are cheap and spread
 * over CPUs, so callers rarely meet.
 *
 * Handlers: a signal handler that calls membarrier() on a thread
 * interrupted inside a shared barrier must not wait for a barrier only
 * that thread can finish. Only a leader finishes one, and a leader sets
 * its tag (folded from its thread pointer, core.h) in the word in the
 * same RMW as RUNNING, [b], and clears it in the same as RUNNING, [d]:
 * there is no instant at which this thread leads and the word does not
 * say so. A follower that finds RUNNING with its own tag runs its own
 * barrier: always correct, only not shared (and what a thread whose
 * tag another live thread shares does, rarely). An interrupted follower
 * leads nothing: a handler there waits on other threads' barriers like
 * any caller. (A TLS flag said the same at the cost of a
 * __tls_get_addr() call on every barrier.)
 *
 * Uncontended: the protocol's two RMWs cost about 8% of a kernel
 * barrier on the 2-CPU guest measured (bench core: 133 ns against 123
 * for the raw call; 117-120 without them). So a command's callers run
 * their own barriers, with no RMW, until two find that their barriers
 * overlapped: each reads the slot's count of such barriers before its
 * system call and again after it, and stores the count plus one only
 * if it is unchanged; of two that overlap, the one that reads later
 * finds the other's count (mbi_share_alone(), core.h). Then they share,
 * until MBI_SHARE_LONELY shared barriers in a row served nobody. A
 * caller that runs its own barrier is always correct, whatever the
 * others do: it never touches the word, and a follower counts only
 * barriers that leaders completed through it.
 *
 * The fast path (membarrier(), dispatch.c), with the detection inlined
 * into it, loads the gate (core.h) to know that the command may go
 * straight to the kernel, and the count. Where the kernel's return-stack
 * mitigations (AMD SRSO) make every user-space return after a system
 * call mispredict, each call level between the system call and
 * membarrier()'s return costs ~2%. Sharing on shuts the command's bit of the gate, and
 * its callers take the slow path to the protocol.
 *
 * Errors: a leader whose barrier fails completes nothing (the count
 * stays), so its followers run their own and see their own error.
 * EPERM and EINVAL are decided before a call gets here.
 */
#include <limits.h>
#include <pthread.h>

#include "core/core.h"

struct mbi_share_slot mbi_share_slots[MBI_SHARE_SLOTS];

/*
 * This thread's tag: 16 bits folded from its thread pointer. Two live
 * threads may share one (then each runs its own barrier where it would
 * have waited on the other: "Handlers" above). Not a TLS variable:
 * in a shared object every TLS access is a call (__tls_get_addr).
 */
static uint32_t share_tag(void)
{
	uintptr_t tp = (uintptr_t)mbi_arch_thread_pointer() >> 6;

	return ((uint32_t)(tp ^ tp >> 16 ^ tp >> 32) << MBI_SHARE_TAG_SHIFT) &
	       MBI_SHARE_TAG_MASK;
}

/*
 * The switch, both ways. Sharing is a hint: each caller is served
 * whichever way the others go. The slot's flag steers membarrier()'s
 * slow path, the gate (core.h) its fast path.
 */
void mbi_share_turn_on(struct mbi_share_slot *s, unsigned int cmd)
{
	__atomic_store_n(&s->lonely, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->shared, 1, __ATOMIC_RELAXED);
	/* Release pairs with the acquire in mbi_share_reopen(). */
	__atomic_fetch_and(&mbi_fast_cmds, ~cmd, __ATOMIC_RELEASE);
}

/* Open cmd's bit of the gate if allowed. */
static void gate_open(unsigned int cmd)
{
	/*
	 * Acquire pairs with the release in mbi_fast_update(), seq_cst's
	 * release with the acquire in membarrier(): the READY bits that
	 * allowed cmd happen before a fast call of it.
	 */
	if (!(__atomic_load_n(&mbi_fast_allowed, __ATOMIC_ACQUIRE) & cmd))
		return;
	__atomic_fetch_or(&mbi_fast_cmds, cmd, __ATOMIC_SEQ_CST);
	/*
	 * Shut for good since allowed was read (mbi_fast_shut(), accounting
	 * turned on): shut again. Seq_cst, with mbi_fast_shut()'s stores:
	 * either its store to the gate follows the opening, or this load
	 * follows its store to allowed.
	 */
	if (!(__atomic_load_n(&mbi_fast_allowed, __ATOMIC_SEQ_CST) & cmd))
		__atomic_fetch_and(&mbi_fast_cmds, ~cmd, __ATOMIC_SEQ_CST);
}

static void share_turn_off(struct mbi_share_slot *s, unsigned int cmd)
{
	__atomic_store_n(&s->shared, 0, __ATOMIC_RELAXED);
	gate_open(cmd);
}

void mbi_share_reopen(struct mbi_share_slot *s, unsigned int cmd)
{
	/*
	 * Acquire pairs with the release in mbi_share_turn_on(): a gate
	 * that a turn-on shut shows its shared flag. (A turn-on between the
	 * two loads and the opening leaves the gate open with sharing on:
	 * the fast path's next overlap shuts it.)
	 */
	if (!(__atomic_load_n(&mbi_fast_cmds, __ATOMIC_ACQUIRE) & cmd) &&
	    !__atomic_load_n(&s->shared, __ATOMIC_RELAXED))
		gate_open(cmd);
}

/* A shared barrier that nobody waited for: after MBI_SHARE_LONELY in a
 * row, callers run their own again. */
static void lonely_barrier(struct mbi_share_slot *s, int cmd)
{
	uint32_t n = __atomic_load_n(&s->lonely, __ATOMIC_RELAXED) + 1;

	if (membarrier_unlikely(n >= MBI_SHARE_LONELY)) {
		share_turn_off(s, (unsigned int)cmd);
		n = 0;
	}
	__atomic_store_n(&s->lonely, n, __ATOMIC_RELAXED);
}

/*
 * The leader's wake-ups; old: the word before its completion [d];
 * serve: it may run the next barrier for its sleepers.
 */
static void share_wake(struct mbi_share_slot *s, uint32_t old, long ret,
		       int backend, int cmd, int serve);

/* Lead the barrier after the count read at [b]; serve: as above. */
static long share_lead(struct mbi_share_slot *s, int backend, int cmd,
		       int serve)
{
	long ret = mbi_share_run(backend, cmd, 0, -1);
	uint32_t mine = MBI_SHARE_RUNNING | share_tag(), old;

	/*
	 * [d]: clears RUNNING and this leader's tag and, unless the barrier
	 * failed, completes it; release pairs with the followers' acquire
	 * at [e].
	 */
	if (membarrier_likely(ret >= 0))
		old = __atomic_fetch_add(&s->word, MBI_SHARE_COUNT_ONE - mine,
					 __ATOMIC_RELEASE);
	else
		old = __atomic_fetch_sub(&s->word, mine, __ATOMIC_RELEASE);
	if (membarrier_unlikely(old & MBI_SHARE_WAITERS))
		share_wake(s, old, ret, backend, cmd, serve);
	else
		lonely_barrier(s, cmd);
	return ret;
}

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
 * returns, woken in one call. Waiters for the next barrier need one
 * begun after [d]: whoever set RUNNING since runs it, and its own [d]
 * shows their bit. If nobody has, a leader that may serve runs it
 * itself (once: its own call is done, so it serves no further), or
 * wakes one of them to lead it. After a failure, everyone retries on
 * their own.
 */
static void share_wake(struct mbi_share_slot *s, uint32_t old, long ret,
		       int backend, int cmd, int serve)
{
	uint32_t done = (old & MBI_SHARE_COUNT_MASK) + MBI_SHARE_COUNT_ONE;
	uint32_t v;

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
	if (!(old & wait_bit(done + MBI_SHARE_COUNT_ONE)))
		return;
	v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
	if (v & MBI_SHARE_RUNNING)
		return;
	/* [b] for the serving leader: acquire pairs with [a] and [d]. */
	if (serve && __atomic_compare_exchange_n(&s->word, &v,
						 v | MBI_SHARE_RUNNING |
						 share_tag(), 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED)) {
		share_lead(s, backend, cmd, 0);
		return;
	}
	if (!(v & MBI_SHARE_RUNNING))
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
 * sleeps at once, on the futex bit of its target's parity (so that the
 * barrier before it wakes none of them but, at most, one to lead it).
 */
static long __attribute__((noinline))
share_follow(struct mbi_share_slot *s, uint32_t v, int backend, int cmd,
	     enum mbi_stats_by by)
{
	uint32_t target = (v & MBI_SHARE_COUNT_MASK) + 2 * MBI_SHARE_COUNT_ONE;
	uint32_t bit = wait_bit(target);
	uint32_t mine = MBI_SHARE_RUNNING | share_tag();

	/* Callers meet: sharing stays on (a hint, relaxed). */
	__atomic_store_n(&s->lonely, 0, __ATOMIC_RELAXED);
	for (;;) {
		if (reached(v, target)) {
			mbi_stats_shared(cmd, by);
			/* SYNC_CORE: this thread too, as the kernel's own CPU. */
			if (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)
				mbi_arch_sync_core();
			return 0;
		}
		/* Led by this thread (a handler here): see "Handlers". */
		if ((v & (MBI_SHARE_RUNNING | MBI_SHARE_TAG_MASK)) == mine)
			return mbi_share_run(backend, cmd, 0, -1);
		if (!(v & MBI_SHARE_RUNNING)) {
			/* [b] for a follower: acquire pairs with [a] and [d]. */
			if (__atomic_compare_exchange_n(&s->word, &v, v | mine, 0,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return share_lead(s, backend, cmd, 1);
			continue;
		}
		/* Acquire pairs with [d] when v shows it (then re-checked). */
		if (!(v & bit) &&
		    !__atomic_compare_exchange_n(&s->word, &v, v | bit, 0,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_ACQUIRE))
			continue;
		mbi_futex_wait_bits(&s->word, v | bit, futex_bit(target));
		/* [e]: acquire pairs with the leader's release at [d]. */
		v = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
	}
}

/*
 * [a] and [b] in one where RUNNING is clear (then this caller leads),
 * else [a] alone (then it follows). Both acq_rel: the release pairs
 * with the next leader's acquire at [b], the acquire with [d]; the
 * follower's is an RMW that changes nothing, so that it heads a
 * release sequence.
 */
long mbi_share_protocol(struct mbi_share_slot *s, int backend, int cmd,
			enum mbi_stats_by by)
{
	uint32_t v;

	v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
	while (membarrier_likely(!(v & MBI_SHARE_RUNNING)))
		if (__atomic_compare_exchange_n(&s->word, &v, v | MBI_SHARE_RUNNING |
						share_tag(), 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return share_lead(s, backend, cmd, 1);
	v = __atomic_fetch_add(&s->word, 0, __ATOMIC_ACQ_REL);
	return share_follow(s, v, backend, cmd, by);
}

/*
 * A fork() child has only the forking thread: a leader of the parent
 * that was in a barrier is not there to finish it. Every slot restarts
 * idle, sharing off, the gate open where allowed (the count is kept;
 * nobody waits in the child, which has one thread), but for a barrier
 * the forking thread leads itself (fork() from a handler that
 * interrupted it), which it finishes. Slot i serves command 2 << 2i
 * (mbi_share_slot_at()).
 */
static void share_atfork_child(void)
{
	uint32_t mine = MBI_SHARE_RUNNING | share_tag();

	for (int i = 0; i < MBI_SHARE_SLOTS; i++) {
		struct mbi_share_slot *s = &mbi_share_slots[i];
		uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
		uint32_t lead = MBI_SHARE_RUNNING | MBI_SHARE_TAG_MASK;

		__atomic_store_n(&s->word, (w & MBI_SHARE_COUNT_MASK) |
				 ((w & lead) == mine ? mine : 0),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&s->lonely, 0, __ATOMIC_RELAXED);
		share_turn_off(s, 2u << (2 * i));
	}
}

__attribute__((constructor)) static void share_init(void)
{
	pthread_atfork(NULL, NULL, share_atfork_child);
}
