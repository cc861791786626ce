/* SPDX-License-Identifier: MIT */
/*
 * rseq operations where rseq cannot be registered: the fallback.
 * Included by <membarrier/rseq.h>; include that, not this file.
 *
 * Where the calling process cannot register rseq (kernels before 4.18,
 * qemu-user, a seccomp filter on rseq(2), glibc.pthread.rseq=0 with the
 * library's own registration refused), or when MEMBARRIER_RSEQ=fallback
 * is set, every operation of <membarrier/rseq.h> takes this path for the
 * life of the process: the choice is made once, at the first thread's
 * first operation, so that no object is ever updated both ways.
 *
 * Each thread picks the slot of the CPU sched_getcpu() named at one of
 * its last 64 operations (a hint: the thread may be elsewhere by the
 * time it writes) and updates it
 * with atomic instructions, since threads on other CPUs may update the
 * same slot at once: a fetch-add for add, a compare-and-swap for push,
 * and for pop a compare-and-swap under a per-CPU pop lock, which rules
 * out ABA (a node can leave a list only through a pop holding its lock,
 * so the head read cannot be popped and pushed back meanwhile). A pop
 * in a signal handler that interrupted a pop of its own thread under
 * the same lock returns no node. Operations may run in signal handlers,
 * a thread's first excepted (it allocates the thread's record).
 *
 * The swap: every operation brackets itself in its thread's record
 * (entries, exits: plain stores by their thread; an operation in a
 * signal handler nests inside the one it interrupted), and the fence is
 * membarrier(PRIVATE_EXPEDITED) followed by a wait for every operation
 * that had entered to exit:
 *
 *   T (fallback operation)              S (mbrseq_swap)
 *   entries++                           ctl[X].active = B  (was A)
 *   compiler barrier                    membarrier(PRIVATE_EXPEDITED)
 *   a = ctl[X].active                   e = T.entries
 *   atomic *a += 1                      wait until T.exits >= e
 *   exits++            (release)        (acquire) read A[X]
 *
 *   forbidden: a == A and S reads e without T's entry (so S does not
 *   wait for T, and T's add lands in A after the fence returned)
 *
 * The membarrier orders T's store to entries before its load of active,
 * or S's store of B before its load of entries: T either reads B, or is
 * counted in e, and then S waits for its exit, whose release orders
 * T's add before S's reads. A thread that is not running passed a full
 * barrier in the scheduler, as membarrier(2) guarantees. The wait is
 * for operations already under way, a few instructions each, unless
 * their thread was preempted inside one: then until it runs again.
 */
#ifndef MEMBARRIER_RSEQ_FALLBACK_H
#define MEMBARRIER_RSEQ_FALLBACK_H

#ifndef MEMBARRIER_RSEQ_H
#error "include <membarrier/rseq.h> instead"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if the rseq operations of this process run the fallback. */
MEMBARRIER_API int mbrseq_fallback_active(void);

/*
 * The fallback operations themselves, whatever the process's choice:
 * for benchmarks and tests. Never mix them with critical sections on
 * one object (their swap would not wait for the other kind). Each
 * returns the CPU whose slot it used, or -ENOMEM (nothing done).
 */
MEMBARRIER_API int mbrseq_fallback_add(struct mbrseq_percpu *pc, size_t off,
				       intptr_t v);
MEMBARRIER_API int mbrseq_fallback_push(struct mbrseq_percpu *pc, size_t off,
					struct mbrseq_node *node);
MEMBARRIER_API int mbrseq_fallback_pop(struct mbrseq_percpu *pc, size_t off,
				       struct mbrseq_node **node);
/* The fallback's fence: see above. 0, or -errno of the membarrier. */
MEMBARRIER_API int mbrseq_fallback_fence(void);

/*
 * Where an operation found no rseq area (err: its -errno): run the
 * fallback if the process chose it, else return err (the operation
 * then did nothing). Called by the inline operations, on that path.
 */
MEMBARRIER_API int mbrseq_fb_add(struct mbrseq_percpu *pc, size_t off,
				 intptr_t v, int err);
MEMBARRIER_API int mbrseq_fb_push(struct mbrseq_percpu *pc, size_t off,
				  struct mbrseq_node *node, int err);
MEMBARRIER_API int mbrseq_fb_pop(struct mbrseq_percpu *pc, size_t off,
				 struct mbrseq_node **node, int err);
MEMBARRIER_API int mbrseq_fb_cpu(int err);

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RSEQ_FALLBACK_H */
