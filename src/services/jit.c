// SPDX-License-Identifier: MIT
/*
 * mbjit_publish(): the architecture's cache maintenance for the range,
 * then PRIVATE_EXPEDITED_SYNC_CORE under the library's own registration
 * (made at load, see select.c), on whichever backend serves it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <membarrier/jit.h>

#include "core/service.h"

MEMBARRIER_API int mbjit_publish(const void *written, const void *exec,
				 size_t len)
{
	static int reported;
	long ret;

	if (!written || !exec || !len)
		return -EINVAL;
	/* Completes (DSB) before the barrier makes threads refetch. */
	mbi_arch_icache_sync(written, exec, len);
	ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
				  0, 0);
	if (membarrier_unlikely(ret) &&
	    !__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: code publishing unavailable: "
			"PRIVATE_EXPEDITED_SYNC_CORE fails with %s\n",
			strerror((int)-ret));
	return (int)ret;
}
