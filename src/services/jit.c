// SPDX-License-Identifier: MIT
/*
 * mbjit_publish(): the architecture's cache maintenance for the range,
 * then PRIVATE_EXPEDITED_SYNC_CORE under the library's own registration
 * (made early, see select.c), on whichever backend serves it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier/jit.h>

#include "core/service.h"

/* ret, after saying once on stderr why publishing failed. */
static int report(long ret, const char *what)
{
	static int reported;

	if (membarrier_unlikely(ret) &&
	    !__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: code publishing unavailable: "
			"%s fails with %s\n", what, strerror((int)-ret));
	return (int)ret;
}

#ifdef MBI_ARCH_ICACHE_SYSCALL
/*
 * riscv64: only the kernel can reach the icache of every hart the
 * process runs or will run on (riscv_flush_icache, src/arch/riscv64.h):
 * FENCE.I reaches the calling hart alone. Where a filter blocks the
 * call, the kernel's SYNC_CORE (Linux 6.9+) still covers every hart (it
 * marks the mm's icache stale everywhere, arch/riscv/include/asm/
 * sync_core.h); the emulated one does not, so the failure is the call's.
 */
static long icache_maintenance(const void *written, const void *exec,
			       size_t len)
{
	long ret = mbi_arch_icache_flush(exec, len);

	(void)written;
	if (ret && membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)
		   == MEMBARRIER_BACKEND_KERNEL)
		return 0;
	return ret;
}
#else
/* Completes (DSB on aarch64) before the barrier makes threads refetch. */
static long icache_maintenance(const void *written, const void *exec,
			       size_t len)
{
	mbi_arch_icache_sync(written, exec, len);
	return 0;
}
#endif

/* Is [p, p + len) mapped? mincore(2) answers ENOMEM for a hole. */
static int mapped(const void *p, size_t len)
{
	unsigned char vec[1];
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1), end = (uintptr_t)p + len;

	uintptr_t last = (end - 1) & ~(page - 1);

	/* One page of each end suffices to catch a range past a mapping's
	 * end or before its start; a hole inside is the caller's own map.
	 * (mincore() takes the mmap lock: each call costs about a barrier,
	 * so a page is asked once.) */
	return mbi_syscall3(SYS_mincore, (long)start, 1, (long)vec) == 0 &&
	       (last == start ||
		mbi_syscall3(SYS_mincore, (long)last, 1, (long)vec) == 0);
}

/* A range that wraps, or is not mapped: EINVAL (aborts when checked). */
static int bad_range(const void *written, const void *exec, size_t len)
{
	if ((uintptr_t)written + len < (uintptr_t)written ||
	    (uintptr_t)exec + len < (uintptr_t)exec)
		return mbi_misuse(EINVAL, "mbjit_publish(%p, %p, %zu): the range "
				  "wraps around the address space", written,
				  exec, len);
	if (!mapped(written, len) || (exec != written && !mapped(exec, len)))
		return mbi_misuse(EINVAL, "mbjit_publish(%p, %p, %zu): the range "
				  "is not mapped", written, exec, len);
	return 0;
}

MEMBARRIER_API int mbjit_publish(const void *written, const void *exec,
				 size_t len)
{
	long ret;

	if (!written || !exec || !len)
		return -EINVAL;
	ret = bad_range(written, exec, len);
	if (ret)
		return (int)ret;
	ret = icache_maintenance(written, exec, len);
	if (ret)
		return report(ret, "riscv_flush_icache");
	ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
				  0, 0);
	return report(ret, "PRIVATE_EXPEDITED_SYNC_CORE");
}
