// SPDX-License-Identifier: MIT
/*
 * The default RCU flavor, mbrcu_*: readers run compiler barriers only;
 * the updater's fence is mbfence_heavy() (PRIVATE_EXPEDITED under the
 * library's registration, on whichever backend serves it). See
 * <membarrier/rcu.h> for the protocol and rcu_internal.h for the engine.
 */
#include "rcu_internal.h"

#include <membarrier/fence.h>

/*
 * Pairs with mbfence_light() in mbrcu_read_lock() and _unlock(); closes
 * grace periods too where the machine is not TSO.
 */
static int heavy(void)
{
	return mbfence_heavy();
}

MBI_RCU_FLAVOR_DEFINE(mbrcu, heavy, MBI_RCU_TSO, !MBI_RCU_TSO)

/* Any flavor's reader: the record knows its flavor. */
MEMBARRIER_API void mbrcu_wake_updater(struct mbrcu_reader *r)
{
	mbi_rcu_wake_updater(r);
}
