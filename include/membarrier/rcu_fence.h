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

/*
 * As the mbrcu_* functions of <membarrier/rcu.h>, for this flavor; an
 * updater sleeping on one of its readers is woken by mbrcu_wake_updater().
 */
MEMBARRIER_API int mbrcu_fence_register_thread(void);
MEMBARRIER_API void mbrcu_fence_unregister_thread(void);
MEMBARRIER_API void mbrcu_fence_synchronize(void);
MEMBARRIER_API void mbrcu_fence_call(struct mbrcu_head *head,
				     void (*func)(struct mbrcu_head *head));
MEMBARRIER_API void mbrcu_fence_barrier(void);

/* The read side of rcu.h with smp_mb() as the reader fence. */
static inline void mbrcu_fence_read_lock(void)
{
	mbrcu_reader_enter(mbrcu_fence_tls_reader, &mbrcu_fence_gp_state,
			   membarrier_arch_mb);
}

static inline void mbrcu_fence_read_unlock(void)
{
	mbrcu_reader_exit(mbrcu_fence_tls_reader, membarrier_arch_mb);
}

static inline int mbrcu_fence_read_ongoing(void)
{
	return mbrcu_reader_ongoing(mbrcu_fence_tls_reader);
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_FENCE_H */
