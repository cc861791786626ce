/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: x86_64. Include <membarrier/arch.h>, not this file.
 */
#ifndef MEMBARRIER_ARCH_X86_64_H
#define MEMBARRIER_ARCH_X86_64_H

#ifndef MEMBARRIER_ARCH_H
#error "include <membarrier/arch.h> instead"
#endif

#define MEMBARRIER_ARCH_NAME		"x86_64"
#define MEMBARRIER_ARCH_NR_membarrier	324

/*
 * smp_mb(): x86-TSO reorders only a store with a later load; MFENCE
 * forbids that too.
 */
static inline void membarrier_arch_mb(void)
{
	__asm__ __volatile__("mfence" ::: "memory");
}

static inline void membarrier_arch_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

/*
 * Serializing instruction: CPUID is architecturally serializing on every
 * x86_64 CPU (SERIALIZE is newer and optional). Leaf 0 is always valid.
 */
static inline void membarrier_arch_sync_core(void)
{
	unsigned int eax = 0, ebx, ecx = 0, edx;

	__asm__ __volatile__("cpuid"
			     : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx)
			     :
			     : "memory");
}

/* Time-stamp counter: constant rate and synchronized across CPUs on the
 * machines this library targets; the litmus tests use it to start two
 * threads at the same instant. */
static inline unsigned long long membarrier_arch_cycles(void)
{
	unsigned int lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((unsigned long long)hi << 32) | lo;
}

static inline long membarrier_arch_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

#endif /* MEMBARRIER_ARCH_X86_64_H */
