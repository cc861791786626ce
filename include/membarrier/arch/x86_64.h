/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: x86_64, what the public fast paths need.
 * Include <membarrier/arch.h>, not this file.
 */
#ifndef MEMBARRIER_ARCH_X86_64_H
#define MEMBARRIER_ARCH_X86_64_H

#ifndef MEMBARRIER_ARCH_H
#error "include <membarrier/arch.h> instead"
#endif

#define MEMBARRIER_ARCH_X86_64		1
#define MEMBARRIER_ARCH_RSEQ_H		<membarrier/arch/rseq_x86_64.h>

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

#endif /* MEMBARRIER_ARCH_X86_64_H */
