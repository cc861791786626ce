// SPDX-License-Identifier: MIT
/*
 * The fence-in-reader RCU flavor, mbrcu_fence_*: the baseline. Readers run
 * smp_mb() (membarrier_arch_mb()) where the default flavor runs compiler
 * barriers, so the updater needs no membarrier at all: its fence is
 * smp_mb() too, and readers order their own exit (no closing fence).
 * Same engine (rcu_internal.h), same grace-period sharing, same callbacks.
 */
#include "rcu_internal.h"

#include <membarrier/rcu_fence.h>

/*
 * Pairs with the membarrier_arch_mb() calls in mbrcu_fence_read_lock()
 * and _unlock().
 */
static int mb(void)
{
	membarrier_arch_mb();
	return 0;
}

MBI_RCU_FLAVOR_DEFINE(mbrcu_fence, mb, 1, 0)
