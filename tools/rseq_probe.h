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

/*
 * A critical section that commits: it loads *gen, stores 1 to *in_cs,
 * spins until *go is set, then commits by storing the value it loaded to
 * *committed (its last instruction). 1 if it committed, 0 if aborted.
 * A section that began before a barrier and is still running after the
 * barrier returned commits the generation from before: only an abort
 * that happened before the return prevents it (verify.c).
 */
static inline int rseq_probe_commit(struct rseq *rs, const int *gen,
				    int *in_cs, const int *go, int *committed)
{
	int res;

	__asm__ __volatile__(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n"
		"20:\n\t"
		".long 0, 0\n\t"
		".quad 21f, (22f - 21f), 23f\n\t"
		".popsection\n\t"
		"leaq 20b(%%rip), %%rax\n\t"
		"movq %%rax, %c[cs_off](%[rs])\n"
		"21:\n\t"
		"movl (%[gen]), %%ecx\n\t"
		"movl $1, (%[in])\n"
		"24:\n\t"
		"cmpl $0, (%[go])\n\t"
		"je 24b\n\t"
		"movl %%ecx, (%[out])\n"
		"22:\n\t"
		"movl $1, %[res]\n\t"
		"jmp 25f\n\t"
		".byte 0x0f, 0xb9, 0x3d\n\t"
		".long %c[sig]\n"
		"23:\n\t"
		"movl $0, %[res]\n"
		"25:\n\t"
		: [res] "=&r"(res)
		: [rs] "r"(rs), [gen] "r"(gen), [in] "r"(in_cs), [go] "r"(go),
		  [out] "r"(committed),
		  [cs_off] "i"(offsetof(struct rseq, rseq_cs)),
		  [sig] "i"(RSEQ_SIG)
		: "rax", "rcx", "memory", "cc");
	return res;
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

/* As the x86_64 version above. */
static inline int rseq_probe_commit(struct rseq *rs, const int *gen,
				    int *in_cs, const int *go, int *committed)
{
	int res;

	__asm__ __volatile__(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n"
		"20:\n\t"
		".long 0, 0\n\t"
		".quad 21f, (22f - 21f), 23f\n\t"
		".popsection\n\t"
		"adrp x9, 20b\n\t"
		"add x9, x9, :lo12:20b\n\t"
		"str x9, [%[rs], #%c[cs_off]]\n"
		"21:\n\t"
		"ldr w10, [%[gen]]\n\t"
		"mov w11, #1\n\t"
		"str w11, [%[in]]\n"
		"24:\n\t"
		"ldr w11, [%[go]]\n\t"
		"cbz w11, 24b\n\t"
		"str w10, [%[out]]\n"
		"22:\n\t"
		"mov %w[res], #1\n\t"
		"b 25f\n\t"
		".inst %c[sig]\n"
		"23:\n\t"
		"mov %w[res], #0\n"
		"25:\n\t"
		: [res] "=&r"(res)
		: [rs] "r"(rs), [gen] "r"(gen), [in] "r"(in_cs), [go] "r"(go),
		  [out] "r"(committed),
		  [cs_off] "i"(offsetof(struct rseq, rseq_cs)),
		  [sig] "i"(RSEQ_SIG)
		: "x9", "x10", "x11", "memory", "cc");
	return res;
}
#else
#error "rseq_probe.h: no critical section for this architecture"
#endif

#endif /* MEMBARRIER_TOOL_RSEQ_PROBE_H */
