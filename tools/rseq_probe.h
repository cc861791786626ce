/* SPDX-License-Identifier: MIT */
/*
 * An rseq critical section that never ends by itself: it stores 1 to
 * *in_cs, then spins inside the section until the kernel aborts it
 * (preemption, migration, signal delivery, or membarrier's RSEQ command),
 * and returns from the abort handler. Only an abort gets out, so it shows
 * whether a barrier really aborted critical sections: membarrier doctor
 * and tests/t-rseq-abort.c use it. The abort signature (RSEQ_SIG) sits in
 * the four bytes before the handler, where the kernel checks it.
 */
#ifndef MEMBARRIER_TOOL_RSEQ_PROBE_H
#define MEMBARRIER_TOOL_RSEQ_PROBE_H

#include <stddef.h>
#include <sys/rseq.h>

/* This thread's rseq area, as the C library registered it. */
static inline struct rseq *rseq_probe_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

#if defined(__x86_64__)
static inline void rseq_probe_spin(struct rseq *rs, int *in_cs)
{
	__asm__ __volatile__(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n"
		"10:\n\t"
		".long 0, 0\n\t"
		".quad 11f, (12f - 11f), 13f\n\t"
		".popsection\n\t"
		"leaq 10b(%%rip), %%rax\n\t"
		"movq %%rax, %c[cs_off](%[rs])\n"
		"11:\n\t"
		"movl $1, %[in]\n"
		"14:\n\t"
		"jmp 14b\n"
		"12:\n\t"
		".byte 0x0f, 0xb9, 0x3d\n\t"
		".long %c[sig]\n"
		"13:\n\t"
		: [in] "=m"(*in_cs)
		: [rs] "r"(rs), [cs_off] "i"(offsetof(struct rseq, rseq_cs)),
		  [sig] "i"(RSEQ_SIG)
		: "rax", "memory", "cc");
}
#elif defined(__aarch64__)
static inline void rseq_probe_spin(struct rseq *rs, int *in_cs)
{
	__asm__ __volatile__(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n"
		"10:\n\t"
		".long 0, 0\n\t"
		".quad 11f, (12f - 11f), 13f\n\t"
		".popsection\n\t"
		"adrp x9, 10b\n\t"
		"add x9, x9, :lo12:10b\n\t"
		"str x9, [%[rs], #%c[cs_off]]\n"
		"11:\n\t"
		"mov w10, #1\n\t"
		"str w10, %[in]\n"
		"14:\n\t"
		"b 14b\n"
		"12:\n\t"
		".inst %c[sig]\n"
		"13:\n\t"
		: [in] "=m"(*in_cs)
		: [rs] "r"(rs), [cs_off] "i"(offsetof(struct rseq, rseq_cs)),
		  [sig] "i"(RSEQ_SIG)
		: "x9", "x10", "memory", "cc");
}
#elif defined(__riscv) && __riscv_xlen == 64
/* glibc 2.36 has no riscv RSEQ_SIG (and registers no area: callers
 * check __rseq_size); later ones define it as this word. */
#ifndef RSEQ_SIG
#define RSEQ_SIG 0xf1401073	/* csrw mhartid, zero */
#endif
static inline void rseq_probe_spin(struct rseq *rs, int *in_cs)
{
	__asm__ __volatile__(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n"
		"10:\n\t"
		".long 0, 0\n\t"
		".quad 11f, (12f - 11f), 13f\n\t"
		".popsection\n\t"
		"lla t0, 10b\n\t"
		"sd t0, %[cs_off](%[rs])\n"
		"11:\n\t"
		"li t1, 1\n\t"
		"sw t1, %[in]\n"
		"14:\n\t"
		"j 14b\n"
		"12:\n\t"
		".balign 4\n\t"
		".4byte %[sig]\n"
		"13:\n\t"
		: [in] "=m"(*in_cs)
		: [rs] "r"(rs), [cs_off] "i"(offsetof(struct rseq, rseq_cs)),
		  [sig] "i"(RSEQ_SIG)
		: "t0", "t1", "memory");
}
#else
#error "rseq_probe.h: no critical section for this architecture"
#endif

#endif /* MEMBARRIER_TOOL_RSEQ_PROBE_H */
