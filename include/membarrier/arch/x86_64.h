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
#define MEMBARRIER_ARCH_MB_INSN		"mfence"
#define MEMBARRIER_ARCH_RELAX_INSN	"pause"

#endif /* MEMBARRIER_ARCH_X86_64_H */
