// SPDX-License-Identifier: MIT
/*
 * The default RCU flavor, mbrcu_*: readers run compiler barriers only;
 * the updater's fence is mbfence_heavy() (PRIVATE_EXPEDITED under the
 * library's registration, on whichever backend serves it). See
 * <membarrier/rcu.h> for the protocol and rcu_core.c for the engine.
 */
#include <errno.h>

#include "rcu_internal.h"

#include <membarrier/fence.h>

MEMBARRIER_API MBI_RCU_GP_WORD struct mbrcu_gp mbrcu_gp_state = {
	.ctr = MBRCU_NEST_ONE,
};
MEMBARRIER_API __thread struct mbrcu_reader *mbrcu_tls_reader;

static struct mbrcu_reader **tls_slot(void)
{
	return &mbrcu_tls_reader;
}

/*
 * Pairs with mbfence_light() in mbrcu_read_lock() and _unlock(); closes
 * grace periods too where the machine is not TSO.
 */
static int heavy(void)
{
	return mbfence_heavy();
}

static struct mbi_rcu_flavor flavor =
	MBI_RCU_FLAVOR_INIT("mbrcu", &mbrcu_gp_state, tls_slot, heavy,
			    MBI_RCU_TSO, !MBI_RCU_TSO);

MEMBARRIER_API int mbrcu_register_thread(void)
{
	return mbi_rcu_register(&flavor);
}

MEMBARRIER_API void mbrcu_unregister_thread(void)
{
	mbi_rcu_unregister(&flavor);
}

MEMBARRIER_API void mbrcu_synchronize(void)
{
	mbi_rcu_synchronize(&flavor);
}

MEMBARRIER_API void mbrcu_call(struct mbrcu_head *head,
			       void (*func)(struct mbrcu_head *head))
{
	/* A NULL callback would crash later, in the worker: never queued. */
	if (membarrier_unlikely(!head || !func)) {
		mbi_misuse(EINVAL, "mbrcu_call(%p, NULL callback)", (void *)head);
		return;
	}
	mbi_rcu_call(&flavor, head, func);
}

MEMBARRIER_API void mbrcu_barrier(void)
{
	mbi_rcu_barrier(&flavor);
}

MEMBARRIER_API void mbrcu_wake_updater(struct mbrcu_reader *r)
{
	mbi_rcu_wake_updater(r);
}
