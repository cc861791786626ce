/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: architecture dispatch.
 *
 * Each architecture header provides, as static inline functions:
 *   membarrier_arch_mb()          full memory barrier (smp_mb())
 *   membarrier_arch_relax()       spin-wait hint
 *   membarrier_arch_sync_core()   context-synchronizing instruction
 *   membarrier_arch_cycles()      constant-rate counter common to all CPUs
 *   membarrier_arch_tlb_flush_interrupts()  1 if remote TLB flushes are IPIs
 *   membarrier_arch_icache_sync() cache maintenance after writing code
 *   membarrier_arch_syscall3/6()  raw system call, returns -errno on error
 * and MEMBARRIER_ARCH_NAME, MEMBARRIER_ARCH_NR_membarrier, MEMBARRIER_ARCH_TSO
 * (1 where the hardware only reorders a store with a later load).
 *
 * The raw system call bypasses libc's syscall(): the preload shim
 * interposes that function, and the library must never call itself.
 */
#ifndef MEMBARRIER_ARCH_H
#define MEMBARRIER_ARCH_H

#include <membarrier/compiler.h>

#if defined(__x86_64__)
#include <membarrier/arch/x86_64.h>
#elif defined(__aarch64__)
#include <membarrier/arch/aarch64.h>
#else
#error "libmembarrier supports x86_64 and aarch64 only; add include/membarrier/arch/<arch>.h to port it"
#endif

#endif /* MEMBARRIER_ARCH_H */
