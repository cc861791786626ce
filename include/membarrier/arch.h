/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: architecture dispatch, the only one in the tree.
 *
 * What the public inline fast paths need, per architecture:
 *   membarrier_arch_mb()       full memory barrier (the kernel's smp_mb())
 *   membarrier_arch_relax()    spin-wait hint
 *   MEMBARRIER_ARCH_RSEQ_H     the header of the rseq operation sequences
 * Each arch header names the two instructions (MEMBARRIER_ARCH_MB_INSN,
 * MEMBARRIER_ARCH_RELAX_INSN); the functions are defined once, below.
 * The library's private architecture code (raw system calls, the
 * context-synchronizing instruction, cache maintenance, CPUID) lives in
 * src/arch/ and is never installed.
 */
#ifndef MEMBARRIER_ARCH_H
#define MEMBARRIER_ARCH_H

#include <membarrier/compiler.h>

#if defined(__x86_64__)
#include <membarrier/arch/x86_64.h>
#elif defined(__aarch64__)
#include <membarrier/arch/aarch64.h>
#elif defined(__riscv) && __riscv_xlen == 64
#include <membarrier/arch/riscv64.h>
#else
#error "libmembarrier supports x86_64, aarch64 and riscv64 only; add include/membarrier/arch/<arch>.h and src/arch/<arch>.h to port it"
#endif

static inline void membarrier_arch_mb(void)
{
	__asm__ __volatile__(MEMBARRIER_ARCH_MB_INSN ::: "memory");
}

static inline void membarrier_arch_relax(void)
{
	__asm__ __volatile__(MEMBARRIER_ARCH_RELAX_INSN ::: "memory");
}

#endif /* MEMBARRIER_ARCH_H */
