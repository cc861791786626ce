/* SPDX-License-Identifier: MIT */
/*
 * The fence-in-reader RCU flavor, mbrcu_fence_*: the baseline the default
 * flavor (<membarrier/rcu.h>) is measured against. Same API shape, same
 * record and counter format; readers run smp_mb() (membarrier_arch_mb())
 * where the default flavor runs compiler barriers, and the updater issues
 * no membarrier:
 *
 *	CPU0 (reader)			CPU1 (updater)
 *	ctr = gp			p = new
 *	smp_mb()			smp_mb()
 *	r0 = p				r1 = ctr
 *
 *	forbidden: r0 == old && r1 == 0
 *
 * Protected pointers, struct mbrcu_head and the list and hash table work
 * with either flavor; use one flavor's calls for a given structure.
 */
#ifndef MEMBARRIER_RCU_FENCE_H
#define MEMBARRIER_RCU_FENCE_H

#include <membarrier/arch.h>
#include <membarrier/rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The flavor's state, read by its inline read side: ABI, as in rcu.h. */
MEMBARRIER_API extern struct mbrcu_gp mbrcu_fence_gp_state;
MEMBARRIER_API extern __thread struct mbrcu_reader *mbrcu_fence_tls_reader
	MBRCU_TLS;

/* As the mbrcu_* functions of <membarrier/rcu.h>, for this flavor. */
MEMBARRIER_API int mbrcu_fence_register_thread(void);
MEMBARRIER_API void mbrcu_fence_unregister_thread(void);
MEMBARRIER_API void mbrcu_fence_synchronize(void);
MEMBARRIER_API void mbrcu_fence_call(struct mbrcu_head *head,
				  void (*func)(struct mbrcu_head *head));
MEMBARRIER_API void mbrcu_fence_barrier(void);
MEMBARRIER_API void mbrcu_fence_wake_updater(struct mbrcu_reader *r);

static inline void mbrcu_fence_read_lock(void)
{
	struct mbrcu_reader *r = mbrcu_fence_tls_reader;
	uint64_t t = MEMBARRIER_LOAD_SHARED(r->ctr);

	if (membarrier_likely(!(t & MBRCU_NEST_MASK)))
		MEMBARRIER_STORE_SHARED(r->ctr, MEMBARRIER_LOAD_SHARED(mbrcu_fence_gp_state.ctr));
	else
		MEMBARRIER_STORE_SHARED(r->ctr, t + MBRCU_NEST_ONE);
	/* ctr before the critical section; pairs with the updater's smp_mb(). */
	membarrier_arch_mb();
}

static inline void mbrcu_fence_read_unlock(void)
{
	struct mbrcu_reader *r = mbrcu_fence_tls_reader;
	uint64_t t;

	/* The critical section before ctr = 0; pairs with the acquire load
	 * of ctr in the updater's scan. */
	membarrier_arch_mb();
	t = MEMBARRIER_LOAD_SHARED(r->ctr);
	if (membarrier_likely((t & MBRCU_NEST_MASK) == MBRCU_NEST_ONE)) {
		/* A release under MEMBARRIER_TSAN, for the barrier above. */
		MBRCU_STORE_AFTER_MB(r->ctr, 0);
		/* ctr = 0 before the wake load; pairs with the smp_mb() of a
		 * sleeping updater. */
		membarrier_arch_mb();
		if (membarrier_unlikely(MEMBARRIER_LOAD_SHARED(r->wake)))
			mbrcu_fence_wake_updater(r);
	} else {
		MEMBARRIER_STORE_SHARED(r->ctr, t - MBRCU_NEST_ONE);
	}
}

static inline int mbrcu_fence_read_ongoing(void)
{
	struct mbrcu_reader *r = mbrcu_fence_tls_reader;

	return r && (MEMBARRIER_LOAD_SHARED(r->ctr) & MBRCU_NEST_MASK) != 0;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_FENCE_H */
