/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: aarch64, what the public fast paths need.
 * Include <membarrier/arch.h>, not this file.
 */
#ifndef MEMBARRIER_ARCH_AARCH64_H
#define MEMBARRIER_ARCH_AARCH64_H

#ifndef MEMBARRIER_ARCH_H
#error "include <membarrier/arch.h> instead"
#endif

#define MEMBARRIER_ARCH_AARCH64		1
#define MEMBARRIER_ARCH_RSEQ_H		<membarrier/arch/rseq_aarch64.h>

/* smp_mb(): orders every earlier access with every later one. */
#define MEMBARRIER_ARCH_MB_INSN		"dmb ish"
#define MEMBARRIER_ARCH_RELAX_INSN	"yield"

#endif /* MEMBARRIER_ARCH_AARCH64_H */
