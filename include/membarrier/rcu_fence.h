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

/*
 * The API of <membarrier/rcu.h>, prefixed mbrcu_fence_ (MBRCU_FLAVOR_API
 * there has its description), with smp_mb() as the reader fence; an
 * updater sleeping on one of its readers is woken by
 * mbrcu_wake_updater(). Its misuse checks are the default flavor's.
 */
MBRCU_FLAVOR_API(mbrcu_fence, membarrier_arch_mb)

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_FENCE_H */
