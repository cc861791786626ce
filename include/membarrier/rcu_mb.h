/* SPDX-License-Identifier: MIT */
/*
 * The fence-in-reader RCU flavor, mbrcu_mb_*: the baseline the default
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
#ifndef MEMBARRIER_RCU_MB_H
#define MEMBARRIER_RCU_MB_H

#include <membarrier/arch.h>
#include <membarrier/rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

MEMBARRIER_API extern struct mbrcu_gp mbrcu_mb_gp_state;
MEMBARRIER_API extern __thread struct mbrcu_reader *mbrcu_mb_tls_reader
	MBRCU_TLS;

/* As the mbrcu_* functions of <membarrier/rcu.h>, for this flavor. */
MEMBARRIER_API int mbrcu_mb_register_thread(void);
MEMBARRIER_API void mbrcu_mb_unregister_thread(void);
MEMBARRIER_API void mbrcu_mb_synchronize(void);
MEMBARRIER_API void mbrcu_mb_call(struct mbrcu_head *head,
				  void (*func)(struct mbrcu_head *head));
MEMBARRIER_API void mbrcu_mb_barrier(void);
MEMBARRIER_API void mbrcu_mb_wake_updater(struct mbrcu_reader *r);

static inline void mbrcu_mb_read_lock(void)
{
	struct mbrcu_reader *r = mbrcu_mb_tls_reader;
	uint64_t t = MBRCU_LOAD(r->ctr);

	if (membarrier_likely(!(t & MBRCU_NEST_MASK)))
		MBRCU_STORE(r->ctr, MBRCU_LOAD(mbrcu_mb_gp_state.ctr));
	else
		MBRCU_STORE(r->ctr, t + MBRCU_NEST_ONE);
	/* ctr before the critical section; pairs with the updater's smp_mb(). */
	membarrier_arch_mb();
}

static inline void mbrcu_mb_read_unlock(void)
{
	struct mbrcu_reader *r = mbrcu_mb_tls_reader;
	uint64_t t;

	/* The critical section before ctr = 0; pairs with the acquire load
	 * of ctr in the updater's scan. */
	membarrier_arch_mb();
	t = MBRCU_LOAD(r->ctr);
	if (membarrier_likely((t & MBRCU_NEST_MASK) == MBRCU_NEST_ONE)) {
		/* A release under MEMBARRIER_TSAN, for the barrier above. */
		MBRCU_STORE_AFTER_MB(r->ctr, 0);
		/* ctr = 0 before the wake load; pairs with the smp_mb() of a
		 * sleeping updater. */
		membarrier_arch_mb();
		if (membarrier_unlikely(MBRCU_LOAD(r->wake)))
			mbrcu_mb_wake_updater(r);
	} else {
		MBRCU_STORE(r->ctr, t - MBRCU_NEST_ONE);
	}
}

static inline int mbrcu_mb_read_ongoing(void)
{
	struct mbrcu_reader *r = mbrcu_mb_tls_reader;

	return r && (MBRCU_LOAD(r->ctr) & MBRCU_NEST_MASK) != 0;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_MB_H */
