/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: aarch64, private part. Include "arch/arch.h".
 */
#ifndef MBI_ARCH_AARCH64_H
#define MBI_ARCH_AARCH64_H

#include "arch/syscall_regs.h"

#define MBI_ARCH_NAME			"aarch64"
/*
 * Weakly ordered: any two accesses to different locations may be
 * reordered unless a barrier or acquire/release orders them.
 */
#define MBI_ARCH_TSO			0
#define MBI_ARCH_NR_membarrier		283

/* Context synchronization event: later instructions are fetched anew. */
static inline void mbi_arch_sync_core(void)
{
	__asm__ __volatile__("isb" ::: "memory");
}

/* This thread's pointer (TPIDR_EL0): unique among its live threads. */
static inline void *mbi_arch_thread_pointer(void)
{
	void *tp;

	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
	return tp;
}

/* Virtual counter: a constant-rate clock common to every CPU. */
static inline __attribute__((always_inline)) unsigned long long
mbi_arch_cycles(void)
{
	unsigned long long v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v) :: "memory");
	return v;
}

/*
 * TLB invalidation is broadcast by TLBI: it interrupts no CPU, so
 * mbi_arch_tlb_flush_interrupts() is arch.h's 0.
 */

/*
 * Instruction-cache maintenance after writing code (ARM ARM B2.4.4):
 * clean the data cache to the point of unification by the written
 * addresses, then invalidate the instruction cache by the addresses it
 * will be executed from (they differ when code is mapped twice), each
 * step completed by DSB ISH. Line sizes come from CTR_EL0. The context
 * synchronization of every thread is the membarrier's (SYNC_CORE).
 */
static inline void mbi_arch_icache_sync(const void *written, const void *exec,
					unsigned long len)
{
	unsigned long ctr, dline, iline, w = (unsigned long)written;
	unsigned long x = (unsigned long)exec;

	__asm__ __volatile__("mrs %0, ctr_el0" : "=r"(ctr));
	dline = 4ul << ((ctr >> 16) & 0xf);
	iline = 4ul << (ctr & 0xf);
	for (unsigned long a = w & ~(dline - 1); a < w + len; a += dline)
		__asm__ __volatile__("dc cvau, %0" :: "r"(a) : "memory");
	__asm__ __volatile__("dsb ish" ::: "memory");
	for (unsigned long a = x & ~(iline - 1); a < x + len; a += iline)
		__asm__ __volatile__("ic ivau, %0" :: "r"(a) : "memory");
	__asm__ __volatile__("dsb ish" ::: "memory");
}

MBI_ARCH_DEFINE_SYSCALL6("svc #0", "x8", "x0", "x1", "x2", "x3", "x4", "x5")

#endif /* MBI_ARCH_AARCH64_H */
