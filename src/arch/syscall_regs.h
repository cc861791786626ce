/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: the raw system call of the architectures that pass the
 * number and the six arguments in general registers and return in the
 * first argument's (syscall(2), "Architecture calling conventions":
 * aarch64 SVC #0 with x8 and x0-x5, riscv64 ECALL with a7 and a0-a5).
 * Their arch header instantiates the template with its trap instruction
 * and register names. Include only from such a header.
 */
#ifndef MBI_ARCH_SYSCALL_REGS_H
#define MBI_ARCH_SYSCALL_REGS_H

#define MBI_ARCH_DEFINE_SYSCALL6(insn, rnr, r0, r1, r2, r3, r4, r5)	\
static inline long mbi_syscall6(long nr, long a, long b, long c,	\
				long d, long e, long f)			\
{									\
	register long reg_nr __asm__(rnr) = nr;				\
	register long reg_a __asm__(r0) = a;				\
	register long reg_b __asm__(r1) = b;				\
	register long reg_c __asm__(r2) = c;				\
	register long reg_d __asm__(r3) = d;				\
	register long reg_e __asm__(r4) = e;				\
	register long reg_f __asm__(r5) = f;				\
									\
	__asm__ __volatile__(insn					\
			     : "+r"(reg_a)				\
			     : "r"(reg_nr), "r"(reg_b), "r"(reg_c),	\
			       "r"(reg_d), "r"(reg_e), "r"(reg_f)	\
			     : "memory");				\
	return reg_a;							\
}

#endif /* MBI_ARCH_SYSCALL_REGS_H */
