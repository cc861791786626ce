/* SPDX-License-Identifier: MIT */
/*
 * Userspace RCU on membarrier: readers run compiler barriers only, the
 * updater pays with mbfence_heavy() (PRIVATE_EXPEDITED under the library's
 * own registration, on whichever backend serves it here).
 *
 *	mbrcu_register_thread();		once per reader thread
 *	mbrcu_read_lock();			nestable, wait-free
 *	p = mbrcu_dereference(gp);
 *	... use *p ...
 *	mbrcu_read_unlock();
 *
 *	old = mbrcu_xchg_pointer(&gp, new);	updater
 *	mbrcu_synchronize();			every reader that could see
 *	free(old);				old has left
 *
 * or mbrcu_call(&old->rcu, free_fn) to reclaim from a worker thread, and
 * mbrcu_barrier() to wait for every callback queued so far.
 *
 * The protocol (src/services/rcu/ has the details). Each reader owns a
 * counter word ctr: 0 when quiescent, else the grace-period number it
 * read from the global word when its outermost critical section began,
 * shifted, plus its nesting depth. A grace period n publishes n in the
 * global word, then waits for every reader whose ctr shows a period
 * before n. Two pairs of barriers make that sound:
 *
 * 1. store buffering, entering a critical section:
 *
 *	CPU0 (reader)			CPU1 (updater)
 *	ctr = gp			p = new		(unpublish old)
 *	mbfence_light()			mbfence_heavy()
 *	r0 = p				r1 = ctr		(scan)
 *
 *	forbidden: r0 == old && r1 == 0
 *	(the updater would not wait for a reader holding old)
 *
 * 2. load buffering, leaving it:
 *
 *	CPU0 (reader)			CPU1 (updater)
 *	r0 = old->field			r1 = ctr		(scan)
 *	mbfence_light()			end-of-grace-period fence
 *	ctr = 0				old->field = POISON	(free)
 *
 *	forbidden: r1 == 0 && r0 == POISON
 *
 * The end-of-grace-period fence is nothing on TSO machines (x86_64: a
 * load is never reordered with a later store, on either side), and
 * mbfence_heavy() elsewhere; back-to-back grace periods share it with the
 * next one's opening fence. On TSO machines the opening fence is needed
 * only for readers seen quiescent: a reader seen inside a critical
 * section of the new period has read the new period before its loads,
 * which proves it. Hence at most one heavy fence per grace period, none
 * when the readers are busy.
 *
 * Rules: a thread registers before its first read-side critical section
 * (mbrcu_read_lock() on an unregistered thread dereferences NULL) and
 * unregisters outside any; every mbrcu_read_unlock() matches an
 * mbrcu_read_lock(); a head is queued by mbrcu_call() again only once
 * its callback has begun; a critical section must not call
 * mbrcu_synchronize() or mbrcu_barrier() (they would wait for it: they
 * abort instead); nesting is limited to 65535 levels; callbacks must not
 * call fork() or mbrcu_barrier(). A
 * thread that exits without unregistering, inside a critical section or
 * not, is unregistered by a thread-specific data destructor. fork() is
 * safe anywhere, in a critical section too: the child keeps its own
 * thread's state, forgets the others', and gets a worker for the
 * callbacks still pending, which then run in both processes (in
 * ThreadSanitizer builds, whose children of multithreaded processes must
 * not create threads, they run in the child's mbrcu_barrier() instead).
 *
 * ThreadSanitizer (-DMEMBARRIER_TSAN) sees the protocol as follows:
 * mbrcu_dereference() is an acquire and every pointer store a release,
 * so a reader finds the initialization of what it dereferences; the
 * fences are seq_cst read-modify-writes of one word (fence.h), and the
 * grace period always ends with the heavy fence, so a reader's critical
 * section happens before the updater's free; where a reader orders its
 * exit with a full barrier (the fence-in-reader flavor, thread exit), its
 * ctr = 0 is a release that the scan's acquire load of ctr picks up. The
 * read side of normal builds is unchanged.
 *
 * Misuse, and where it is caught (each flavor alike; a check aborts with
 * "libmembarrier: misuse: " and the misuse's name):
 * - in the program's own compile, when it defines MEMBARRIER_DEBUG (the
 *   read side is inline, as liburcu's DEBUG_RCU checks): read_lock or
 *   read_unlock on an unregistered thread, nesting deeper than 65535,
 *   read_unlock without read_lock (nesting underflow). Without
 *   MEMBARRIER_DEBUG none of it is compiled: the read side is the same
 *   instructions as before the checks existed.
 * - in the library, on slow paths only (the read side pays nothing):
 *   unregister_thread inside a read-side critical section (a concurrent
 *   synchronize would return while the reader is inside): a checked
 *   library (make MEMBARRIER_DEBUG=1) aborts, a normal one ignores the
 *   call and the thread stays registered. The counter an unbalanced
 *   read_unlock leaves (a period later than the current one) is seen by
 *   unregistration, thread exit, the thread's own synchronize or barrier
 *   and every grace period's scan: a checked library aborts; for a
 *   normal one the misuse is undefined (the next read_lock may look
 *   quiescent to updaters). call() of a head already queued whose
 *   callback has not begun: a checked library aborts wherever in the
 *   queue the head is (it keeps the queued heads in a tree); a normal one
 *   drops the call when the head is the first or the last queued (an O(1)
 *   look under the queue's lock), else the misuse is undefined (callbacks
 *   are lost, or run in a loop).
 *
 * <membarrier/rcu_fence.h> has the fence-in-reader flavor (the baseline),
 * <membarrier/rcu_list.h> a list, <membarrier/rcu_hash.h> a hash table.
 */
#ifndef MEMBARRIER_RCU_H
#define MEMBARRIER_RCU_H

#include <stdint.h>

#include <membarrier/compiler.h>
#include <membarrier/fence.h>

#ifdef MEMBARRIER_DEBUG		/* the checked read side's report */
#include <stdio.h>
#include <stdlib.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- protected pointers (every flavor) ---- */

/*
 * Load a protected pointer inside a read-side critical section. The
 * address dependency from this load to every access through the pointer
 * orders them on every supported architecture, as the kernel's
 * rcu_dereference() (READ_ONCE) relies on: no barrier instruction.
 */
#ifdef MEMBARRIER_TSAN
#define mbrcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#else
#define mbrcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_RELAXED)
#endif

/*
 * Publish v in p: the release orders v's initialization before the
 * store; pairs with the address dependency of mbrcu_dereference().
 */
#define mbrcu_assign_pointer(p, v)					\
	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/*
 * Store in p a v that needs no ordering: NULL, or a pointer published
 * before (unlinking an entry stores its successor, which readers may
 * already have reached through the entry). Under MEMBARRIER_TSAN a
 * release: ThreadSanitizer follows no address dependency, so a reader's
 * acquire in mbrcu_dereference() must find the happens-before edge from
 * the updater that initialized v (through the updaters' lock) here.
 */
#ifdef MEMBARRIER_TSAN
#define mbrcu_init_pointer(p, v)					\
	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#else
#define mbrcu_init_pointer(p, v)					\
	__atomic_store_n(&(p), (v), __ATOMIC_RELAXED)
#endif

/*
 * Publish v in *pp and return the old value: a full barrier, whose
 * release side pairs with the address dependency of mbrcu_dereference()
 * as mbrcu_assign_pointer()'s does.
 */
#define mbrcu_xchg_pointer(pp, v)					\
	__atomic_exchange_n((pp), (v), __ATOMIC_SEQ_CST)

/*
 * Replace *pp by v if it still is old; returns what *pp held (old on
 * success). A full barrier, paired as mbrcu_xchg_pointer()'s.
 */
#define mbrcu_cmpxchg_pointer(pp, old, v)				\
	__extension__ ({						\
		__typeof__(*(pp)) _mbrcu_o = (old);			\
		__atomic_compare_exchange_n((pp), &_mbrcu_o, (v), 0,	\
					    __ATOMIC_SEQ_CST,		\
					    __ATOMIC_SEQ_CST);		\
		_mbrcu_o;						\
	})

/* A deferred callback: embed it in the object that mbrcu_call() reclaims. */
struct mbrcu_head {
	struct mbrcu_head *next;
	void (*func)(struct mbrcu_head *head);
};

#define mbrcu_container_of(ptr, type, member)				\
	((type *)(void *)((char *)(ptr) - __builtin_offsetof(type, member)))

/* ---- reader state, shared by the flavors' inline read sides ---- */

/* ctr = period << MBRCU_NEST_BITS | nesting depth; 0 when quiescent. */
#define MBRCU_NEST_BITS		16
#define MBRCU_NEST_MASK		((UINT64_C(1) << MBRCU_NEST_BITS) - 1)
#define MBRCU_NEST_ONE		UINT64_C(1)

/*
 * A reader's record. It lives on the heap, outlives its thread, and is
 * recycled: an updater may read it at any time. Only ctr and wake are
 * public, for the inline read side.
 */
struct mbrcu_reader {
	uint64_t ctr;		/* written by its thread, read by updaters */
	uint32_t wake;		/* set by an updater that sleeps on it */
};

/* The global word: the current period, with a nesting count of one. */
struct mbrcu_gp {
	uint64_t ctr;
} __attribute__((aligned(64)));

/*
 * ctr = 0 after a barrier that orders the critical section before it: a
 * reader's exit from its outermost critical section (after its flavor's
 * reader fence), and a thread's exit (after membarrier_arch_mb()). With
 * the updater's fence or its acquire load of ctr, the pair keeps the
 * section before the updater's free (litmus 2). ThreadSanitizer models
 * no standalone fence: under MEMBARRIER_TSAN the store itself is a
 * release, so that it sees the critical section happen before what
 * follows the grace period.
 */
#ifdef MEMBARRIER_TSAN
#define MBRCU_STORE_AFTER_MB(x, v)					\
	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#else
#define MBRCU_STORE_AFTER_MB(x, v)	MEMBARRIER_STORE_SHARED(x, v)
#endif

/*
 * The read side reaches its thread's record through initial-exec TLS: the
 * compiler then keeps the offset in a register, and each access is one
 * %fs-relative load (40% faster read sides than the default model, which
 * a program's link only relaxes to a three-instruction sequence). A
 * module that includes this header and may be dlopen()ed into a process
 * that did not load libmembarrier at startup can define
 * MBRCU_TLS_DYNAMIC to keep the default model (the library does).
 */
#ifdef MBRCU_TLS_DYNAMIC
#define MBRCU_TLS
#else
#define MBRCU_TLS	__attribute__((tls_model("initial-exec")))
#endif

/*
 * Slow path of the read side: an updater sleeps on this reader (of any
 * flavor).
 */
MEMBARRIER_API void mbrcu_wake_updater(struct mbrcu_reader *r);

/*
 * The checks of a program built with MEMBARRIER_DEBUG (see Misuse above):
 * the flavor's prefix and the misuse, then abort.
 */
#ifdef MEMBARRIER_DEBUG
static inline __attribute__((noreturn, cold)) void
mbrcu_misuse_abort(const char *flavor, const char *what)
{
	fprintf(stderr, "libmembarrier: misuse: %s_%s\n", flavor, what);
	abort();
}
#define MBRCU_CHECK(bad, flavor, what)					\
	do {								\
		if (membarrier_unlikely(bad))				\
			mbrcu_misuse_abort(flavor, what);		\
	} while (0)
#else
#define MBRCU_CHECK(bad, flavor, what)	((void)(flavor))
#endif

/*
 * The read side of every flavor, not public API: each flavor's
 * read_lock/read_unlock/read_ongoing instantiate these with its record,
 * its global word, its reader fence (a compile-time constant, inlined)
 * and its prefix (for the checks' messages):
 * mbfence_light() for mbrcu_*, pairing with the updater's mbfence_heavy();
 * membarrier_arch_mb() for mbrcu_fence_* (rcu_fence.h), pairing with the
 * updater's smp_mb().
 *
 * Enter: one load of ctr, one of the global word when outermost, one
 * store.
 */
static inline void mbrcu_reader_enter(struct mbrcu_reader *r,
				      const struct mbrcu_gp *gp,
				      void (*fence)(void), const char *flavor)
{
	uint64_t t;

	MBRCU_CHECK(!r, flavor, "read_lock on an unregistered thread");
	t = MEMBARRIER_LOAD_SHARED(r->ctr);
	MBRCU_CHECK((t & MBRCU_NEST_MASK) == MBRCU_NEST_MASK, flavor,
		    "read_lock nested deeper than 65535");
	if (membarrier_likely(!(t & MBRCU_NEST_MASK)))
		MEMBARRIER_STORE_SHARED(r->ctr, MEMBARRIER_LOAD_SHARED(gp->ctr));
	else
		MEMBARRIER_STORE_SHARED(r->ctr, t + MBRCU_NEST_ONE);
	/*
	 * Order the ctr store before the critical section's loads; pairs
	 * with the updater's fence that opens a grace period (litmus 1).
	 */
	fence();
}

static inline void mbrcu_reader_exit(struct mbrcu_reader *r,
				     void (*fence)(void), const char *flavor)
{
	uint64_t t;

	MBRCU_CHECK(!r, flavor, "read_unlock on an unregistered thread");
	/*
	 * Order the critical section's accesses before the ctr store;
	 * pairs with the end-of-grace-period fence, or where a flavor has
	 * none, with the acquire load of ctr in the updater's scan
	 * (litmus 2). Under MEMBARRIER_TSAN, mbfence_light() is a seq_cst
	 * RMW of the word mbfence_heavy() also updates, and the ctr store a
	 * release: the edges that show ThreadSanitizer this critical
	 * section before the updater's free (TSan builds take the general
	 * path: the closing fence runs).
	 */
	fence();
	t = MEMBARRIER_LOAD_SHARED(r->ctr);
	MBRCU_CHECK(!(t & MBRCU_NEST_MASK), flavor,
		    "read_unlock without read_lock (nesting underflow)");
	if (membarrier_likely((t & MBRCU_NEST_MASK) == MBRCU_NEST_ONE)) {
		MBRCU_STORE_AFTER_MB(r->ctr, 0);
		/*
		 * Order the ctr store before the wake load; pairs with the
		 * updater's fence between setting wake and reading ctr
		 * before it sleeps (store buffering again).
		 */
		fence();
		if (membarrier_unlikely(MEMBARRIER_LOAD_SHARED(r->wake)))
			mbrcu_wake_updater(r);
	} else {
		MEMBARRIER_STORE_SHARED(r->ctr, t - MBRCU_NEST_ONE);
	}
}

static inline int mbrcu_reader_ongoing(const struct mbrcu_reader *r)
{
	return r && (MEMBARRIER_LOAD_SHARED(r->ctr) & MBRCU_NEST_MASK) != 0;
}

/*
 * A flavor's API, P_* with P its prefix and FENCE its reader fence:
 *
 * P_gp_state, P_tls_reader: the current grace-period word and this
 *	thread's record (NULL: unregistered). The inline read side uses
 *	both: their types and layouts are ABI.
 * P_register_thread(): make the calling thread a reader: 0, 0 again if it
 *	already is one, -ENOMEM, or -errno when no backend can serve the
 *	flavor's updater fence here (grace periods would then be unsound;
 *	nothing was registered).
 * P_unregister_thread(): stop being a reader (outside any critical
 *	section).
 * P_synchronize(): wait until every read-side critical section that
 *	began before the call has ended. Concurrent callers share grace
 *	periods. Never from inside a critical section.
 * P_call(head, func): run func(head) from the flavor's worker thread
 *	after a grace period. Callbacks of one flavor run in the order they
 *	were queued, in batches that share a grace period. Any thread may
 *	call it, registered or not.
 * P_barrier(): wait until every callback queued before the call has run.
 *	Never from a callback or a read-side critical section.
 * P_read_lock(): enter a read-side critical section (nestable,
 *	wait-free).
 * P_read_unlock(): leave a read-side critical section.
 * P_read_ongoing(): non-zero inside a read-side critical section of this
 *	flavor.
 */
#define MBRCU_FLAVOR_API(P, FENCE)					\
MEMBARRIER_API extern struct mbrcu_gp P##_gp_state;			\
MEMBARRIER_API extern __thread struct mbrcu_reader *P##_tls_reader	\
	MBRCU_TLS;							\
MEMBARRIER_API int P##_register_thread(void);				\
MEMBARRIER_API void P##_unregister_thread(void);			\
MEMBARRIER_API void P##_synchronize(void);				\
MEMBARRIER_API void P##_call(struct mbrcu_head *head,			\
			     void (*func)(struct mbrcu_head *head));	\
MEMBARRIER_API void P##_barrier(void);					\
static inline void P##_read_lock(void)					\
{									\
	mbrcu_reader_enter(P##_tls_reader, &P##_gp_state, FENCE, #P);	\
}									\
static inline void P##_read_unlock(void)				\
{									\
	mbrcu_reader_exit(P##_tls_reader, FENCE, #P);			\
}									\
static inline int P##_read_ongoing(void)				\
{									\
	return mbrcu_reader_ongoing(P##_tls_reader);			\
}

/* ---- the default flavor: mbrcu_*, readers fenced by mbfence_light() ---- */

MBRCU_FLAVOR_API(mbrcu, mbfence_light)

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_H */
