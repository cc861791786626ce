/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: the private architecture code (not public API, never
 * installed). The public <membarrier/arch.h> chooses the architecture and
 * refuses unknown ones; this adds, per architecture:
 *   mbi_syscall3/6()          raw system call, returns -errno on error
 *   mbi_arch_sync_core()      context-synchronizing instruction
 *   mbi_arch_sync_core_prepare()  what makes threads that are not
 *                             running serialize before they next run
 *                             (riscv64 only; elsewhere the return to
 *                             user mode does)
 *   mbi_arch_icache_sync()    cache maintenance after writing code
 *   mbi_arch_cycles()         constant-rate counter common to all CPUs
 *                             (always inlined, into functions built
 *                             without sanitizer instrumentation too)
 *   mbi_arch_thread_pointer()  this thread's pointer: one instruction,
 *                             no TLS access (unique among live threads)
 *   mbi_arch_tlb_flush_interrupts()  1 if remote TLB flushes are IPIs
 * and MBI_ARCH_NAME, MBI_ARCH_NR_membarrier, MBI_ARCH_TSO (1 where the
 * hardware only reorders a store with a later load).
 *
 * The raw system call bypasses libc's syscall(): the preload shim
 * interposes that function, and the library must never call itself.
 */
#ifndef MBI_ARCH_H
#define MBI_ARCH_H

#include <membarrier/arch.h>

#if defined(MEMBARRIER_ARCH_X86_64)
#include "arch/x86_64.h"
#elif defined(MEMBARRIER_ARCH_AARCH64)
#include "arch/aarch64.h"
#elif defined(MEMBARRIER_ARCH_RISCV64)
#include "arch/riscv64.h"
#endif

/*
 * A call of at most three arguments: the others 0, unless the
 * architecture leaves their registers as they are (x86_64.h says why).
 */
#ifndef MBI_ARCH_HAS_SYSCALL3
static inline long mbi_syscall3(long nr, long a, long b, long c)
{
	return mbi_syscall6(nr, a, b, c, 0, 0, 0);
}
#endif

/* Nothing to prepare where the return to user mode serializes. */
#ifndef MBI_ARCH_HAS_SYNC_CORE_PREPARE
static inline long mbi_arch_sync_core_prepare(void)
{
	return 0;
}
#endif

/*
 * Where the architecture has no way to interrupt CPUs by a TLB flush
 * (broadcast invalidation, or firmware that need not enter the kernel),
 * a shootdown is never a barrier.
 */
#ifndef MBI_ARCH_HAS_TLB_FLUSH_INTERRUPTS
static inline int mbi_arch_tlb_flush_interrupts(void)
{
	return 0;
}
#endif

#endif /* MBI_ARCH_H */
