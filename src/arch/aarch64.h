/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: aarch64, private part. Include "arch/arch.h".
 */
#ifndef MBI_ARCH_AARCH64_H
#define MBI_ARCH_AARCH64_H

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

/* Virtual counter: a constant-rate clock common to every CPU. */
static inline unsigned long long mbi_arch_cycles(void)
{
	unsigned long long v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v) :: "memory");
	return v;
}

/* TLB invalidation is broadcast by TLBI: it interrupts no CPU. */
static inline int mbi_arch_tlb_flush_interrupts(void)
{
	return 0;
}

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

static inline long mbi_syscall3(long nr, long a, long b, long c)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;

	__asm__ __volatile__("svc #0"
			     : "+r"(x0)
			     : "r"(x8), "r"(x1), "r"(x2)
			     : "memory");
	return x0;
}

static inline long mbi_syscall6(long nr, long a, long b, long c, long d,
				long e, long f)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ __volatile__("svc #0"
			     : "+r"(x0)
			     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4),
			       "r"(x5)
			     : "memory");
	return x0;
}

#endif /* MBI_ARCH_AARCH64_H */
