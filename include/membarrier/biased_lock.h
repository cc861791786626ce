/* SPDX-License-Identifier: MIT */
/*
 * Biased locking revoked by membarrier: one thread, the owner, takes the lock with two plain stores
 * and a load, no atomic read-modify-write, no fence; any other thread
 * first revokes the bias, once, with a heavy fence, after which everyone
 * uses a mutex.
 *
 *   owner (CPU0)                          revoker (CPU1)
 *   owner_busy = 1                        revoked = 1
 *   mbfence_light()                       mbfence_heavy()
 *   r0 = revoked                          r1 = owner_busy
 *   (r0 == 0: in the critical section)    (r1 == 0: owner is out)
 *
 *   forbidden: r0 == 0 && r1 == 0   (both in the critical section)
 *
 * The revoker then waits for owner_busy == 0 (acquire, pairing with the
 * owner's release in mbbias_owner_unlock()) before it enters. Where no
 * backend can serve the heavy fence, a lock starts revoked.
 *
 * The owner is the first thread to call mbbias_owner_lock() after
 * mbbias_init(); while it lives, no other thread may call
 * mbbias_owner_lock() or mbbias_owner_unlock() on the lock (two owners
 * would both take the fast path: no mutual exclusion). Once it has
 * exited, the next caller becomes the owner. Where a second owner is
 * caught (it aborts with "libmembarrier: misuse: ... a second owner"):
 * - a program built with MEMBARRIER_DEBUG (its own compile: the owner's
 *   fast path is inline) calls mbbias_owner_check() on each owner lock;
 *   the library keeps each lock's owner by address, and a caller that is
 *   not the owner while the owner lives (tgkill(2) finds it, and its
 *   /proc flags do not show it exiting) aborts;
 * - a checked library (make MEMBARRIER_DEBUG=1) makes the same check on
 *   the owner's slow paths, after revocation, whatever the program's
 *   build.
 * Otherwise two owners are undefined: the fast path pays for no check.
 */
#ifndef MEMBARRIER_BIASED_LOCK_H
#define MEMBARRIER_BIASED_LOCK_H

#include <pthread.h>

#include <membarrier/compiler.h>
#include <membarrier/fence.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Its layout is ABI: the owner's inline fast path reads it. */
struct mbbias {
	int owner_busy;		/* written by the owner only */
	int owner_slow;		/* the owner holds the mutex (owner only) */
	int revoked;		/* the bias is gone: the mutex is the lock */
	pthread_mutex_t mutex;
};

/* 0, or -errno from pthread_mutex_init. */
MEMBARRIER_API int mbbias_init(struct mbbias *l);
MEMBARRIER_API void mbbias_destroy(struct mbbias *l);

/* Slow paths, exported for the inline fast paths. */
MEMBARRIER_API void mbbias_owner_lock_slow(struct mbbias *l);
MEMBARRIER_API void mbbias_owner_unlock_slow(struct mbbias *l);

/*
 * The checked fast path's (MEMBARRIER_DEBUG): make the caller the owner
 * of l if it has none or its owner has exited, else abort unless the
 * caller is the owner.
 */
MEMBARRIER_API void mbbias_owner_check(struct mbbias *l);

/* Any thread but the owner: revokes the bias on first use. */
MEMBARRIER_API void mbbias_lock(struct mbbias *l);
MEMBARRIER_API void mbbias_unlock(struct mbbias *l);

/*
 * 1 once the bias has been revoked. A status query: it orders nothing
 * (the lock's paths read revoked after the owner's fence or under the
 * mutex).
 */
static inline int mbbias_revoked(struct mbbias *l)
{
	return __atomic_load_n(&l->revoked, __ATOMIC_RELAXED);
}

/* The owner only (one thread per lock, not nested). */
/*
 * Relaxed atomic accesses compile to plain loads and stores; they are
 * atomics so that ThreadSanitizer (make check-tsan) sees no data race.
 */
static inline void mbbias_owner_lock(struct mbbias *l)
{
#ifdef MEMBARRIER_DEBUG
	mbbias_owner_check(l);
#endif
	__atomic_store_n(&l->owner_busy, 1, __ATOMIC_RELAXED);
	mbfence_light();	/* pairs with mbfence_heavy() in the revoker */
	if (membarrier_likely(!__atomic_load_n(&l->revoked, __ATOMIC_RELAXED)))
		return;
	mbbias_owner_lock_slow(l);
}

static inline void mbbias_owner_unlock(struct mbbias *l)
{
#ifdef MEMBARRIER_DEBUG
	mbbias_owner_check(l);
#endif
	if (membarrier_unlikely(l->owner_slow)) {
		mbbias_owner_unlock_slow(l);
		return;
	}
	/*
	 * Release: the critical section before the store that lets a
	 * revoker in; pairs with its acquire load of owner_busy. A plain
	 * store on x86_64, STLR on aarch64: neither an RMW nor a fence.
	 */
	__atomic_store_n(&l->owner_busy, 0, __ATOMIC_RELEASE);
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_BIASED_LOCK_H */
