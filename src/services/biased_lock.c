// SPDX-License-Identifier: MIT
/*
 * Biased lock: the slow paths. The protocol is in biased_lock.h.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <membarrier/arch.h>
#include <membarrier/biased_lock.h>

#include "core/service.h"

MEMBARRIER_API int mbbias_init(struct mbbias *l)
{
	int err = pthread_mutex_init(&l->mutex, NULL);

	if (err)
		return -err;
	l->owner_busy = 0;
	l->owner_slow = 0;
	/* Without a heavy fence, the bias could never be revoked safely. */
	l->revoked = membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
		     MEMBARRIER_BACKEND_NONE;
	return 0;
}

MEMBARRIER_API void mbbias_destroy(struct mbbias *l)
{
	pthread_mutex_destroy(&l->mutex);
}

/* The bias is revoked: step out of the fast path, take the mutex. */
MEMBARRIER_API void mbbias_owner_lock_slow(struct mbbias *l)
{
	/* Not in the critical section: lets a waiting revoker proceed;
	 * pairs with its acquire load of owner_busy in bias_revoke(). */
	__atomic_store_n(&l->owner_busy, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&l->mutex);
	l->owner_slow = 1;
}

MEMBARRIER_API void mbbias_owner_unlock_slow(struct mbbias *l)
{
	l->owner_slow = 0;
	pthread_mutex_unlock(&l->mutex);
}

/* Under the mutex: revoke once, then wait for the owner to leave. */
static void bias_revoke(struct mbbias *l)
{
	int err;

	__atomic_store_n(&l->revoked, 1, __ATOMIC_RELAXED);
	/* Pairs with mbfence_light() in the owner. Init saw a backend; should
	 * it fail now (the walk found a CPU unreachable), try again: entering
	 * without it could break mutual exclusion. */
	for (int tries = 0; (err = mbfence_heavy()); tries++) {
		if (tries == 100) {
			fprintf(stderr, "libmembarrier: cannot revoke a biased "
				"lock: the heavy fence fails (%d)\n", err);
			abort();
		}
		sched_yield();
	}
	/* Acquire pairs with the owner's release in mbbias_owner_unlock(). */
	for (unsigned int spins = 0;
	     __atomic_load_n(&l->owner_busy, __ATOMIC_ACQUIRE); spins++) {
		if (spins < 1000)
			membarrier_arch_relax();
		else
			sched_yield();
	}
}

MEMBARRIER_API void mbbias_lock(struct mbbias *l)
{
	pthread_mutex_lock(&l->mutex);
	/* Only mutex holders write revoked. */
	if (!__atomic_load_n(&l->revoked, __ATOMIC_RELAXED))
		bias_revoke(l);
}

MEMBARRIER_API void mbbias_unlock(struct mbbias *l)
{
	pthread_mutex_unlock(&l->mutex);
}
