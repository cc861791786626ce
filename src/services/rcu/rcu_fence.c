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

MEMBARRIER_API MBI_RCU_GP_WORD struct mbrcu_gp mbrcu_fence_gp_state = {
	.ctr = MBRCU_NEST_ONE,
};
MEMBARRIER_API __thread struct mbrcu_reader *mbrcu_fence_tls_reader;

static struct mbrcu_reader **tls_slot(void)
{
	return &mbrcu_fence_tls_reader;
}

/* Pairs with the membarrier_arch_mb() calls in mbrcu_fence_read_lock/_unlock. */
static int mb(void)
{
	membarrier_arch_mb();
	return 0;
}

static struct mbi_rcu_flavor flavor =
	MBI_RCU_FLAVOR_INIT("mbrcu_fence", &mbrcu_fence_gp_state, tls_slot, mb, 1, 0);

MEMBARRIER_API int mbrcu_fence_register_thread(void)
{
	return mbi_rcu_register(&flavor);
}

MEMBARRIER_API void mbrcu_fence_unregister_thread(void)
{
	mbi_rcu_unregister(&flavor);
}

MEMBARRIER_API void mbrcu_fence_synchronize(void)
{
	mbi_rcu_synchronize(&flavor);
}

MEMBARRIER_API void mbrcu_fence_call(struct mbrcu_head *head,
				  void (*func)(struct mbrcu_head *head))
{
	mbi_rcu_call(&flavor, head, func);
}

MEMBARRIER_API void mbrcu_fence_barrier(void)
{
	mbi_rcu_barrier(&flavor);
}

MEMBARRIER_API void mbrcu_fence_wake_updater(struct mbrcu_reader *r)
{
	mbi_rcu_wake_updater(r);
}
