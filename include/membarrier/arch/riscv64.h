/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: riscv64, what the public fast paths need.
 * Include <membarrier/arch.h>, not this file.
 */
#ifndef MEMBARRIER_ARCH_RISCV64_H
#define MEMBARRIER_ARCH_RISCV64_H

#ifndef MEMBARRIER_ARCH_H
#error "include <membarrier/arch.h> instead"
#endif

#define MEMBARRIER_ARCH_RISCV64		1
#define MEMBARRIER_ARCH_RSEQ_H		<membarrier/arch/rseq_riscv64.h>

/*
 * smp_mb(): FENCE RW,RW orders every earlier load and store with every
 * later one (RVWMO, the unprivileged ISA manual's chapter on the memory
 * model); the kernel's riscv smp_mb() is the same instruction.
 */
#define MEMBARRIER_ARCH_MB_INSN		"fence rw,rw"

/*
 * Spin-wait hint: PAUSE (Zihintpause). Toolchains that do not know the
 * extension (GCC 12 with the default rv64gc) refuse the mnemonic, so the
 * word is emitted instead: it is FENCE W,0 (pred=W, succ=0), a HINT
 * encoding that harts without Zihintpause execute as a no-op, as the
 * kernel's cpu_relax() does in arch/riscv/include/asm/vdso/processor.h.
 */
#ifdef __riscv_zihintpause
#define MEMBARRIER_ARCH_RELAX_INSN	"pause"
#else
#define MEMBARRIER_ARCH_RELAX_INSN	".4byte 0x0100000f"
#endif

#endif /* MEMBARRIER_ARCH_RISCV64_H */
