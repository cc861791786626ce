// SPDX-License-Identifier: MIT
/*
 * The heavy side of the asymmetric fences: PRIVATE_EXPEDITED under the
 * library's own registration (made early, see select.c), on whichever
 * backend serves it.
 */
#include <stdio.h>
#include <string.h>

#include <membarrier/fence.h>

#include "core/service.h"

#ifdef MEMBARRIER_TSAN
MEMBARRIER_API unsigned long mbfence_tsan_word;
#endif

MEMBARRIER_API int mbfence_heavy_slow(void)
{
	static int reported;
	long ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);

	if (membarrier_unlikely(ret) &&
	    !__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: heavy fence unavailable: "
			"PRIVATE_EXPEDITED fails with %s\n", strerror((int)-ret));
	return (int)ret;
}
