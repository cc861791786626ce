/* SPDX-License-Identifier: MIT */
/*
 * An rseq critical section that never ends by itself: it stores 1 to
 * *in_cs, then spins inside the section until the kernel aborts it
 * (preemption, migration, signal delivery, or membarrier's RSEQ command),
 * and returns from the abort handler. Only an abort gets out, so it shows
 * whether a barrier really aborted critical sections: membarrier doctor
 * and tests/backends/t-rseq-abort.c use it. A second section commits
 * (rseq_probe_commit(), below), to tell an abort before a barrier's
 * return from one after it. Built from the template of
 * <membarrier/rseq.h> (descriptor, arming, signature, labels 1 2 3 4);
 * the signature sits in the four bytes before the handler (4), where
 * the kernel checks it, and the handler falls through to the return.
 * The signature is the library's MBRSEQ_SIG, not <sys/rseq.h>'s
 * RSEQ_SIG: glibc 2.36 has no riscv RSEQ_SIG (and registers no area
 * there: callers check __rseq_size); where glibc has one, src/services/
 * rseq.c checks that it is the same word.
 */
#ifndef MEMBARRIER_TOOL_RSEQ_PROBE_H
#define MEMBARRIER_TOOL_RSEQ_PROBE_H

#include <stddef.h>
#include <sys/rseq.h>

#include <membarrier/rseq.h>

/* This thread's rseq area, as the C library registered it. */
static inline struct rseq *rseq_probe_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* *in_cs = 1, then spin: the only instructions that differ. */
#if defined(__x86_64__)
#define RSEQ_PROBE_BODY						\
	"movl $1, %[in]\n"					\
	"5:\n\t"						\
	"jmp 5b\n"
/* t = *gen; *in = 1; spin until *go; commit: *out = t (the last store). */
#define RSEQ_PROBE_COMMIT_BODY					\
	"movl (%[gen]), %k[t]\n\t"				\
	"movl $1, (%[in])\n"					\
	"6:\n\t"						\
	"cmpl $0, (%[go])\n\t"					\
	"je 6b\n\t"						\
	"movl %k[t], (%[out])\n"
#define RSEQ_PROBE_COMMITTED	"movl $1, %[res]\n\t" "jmp 5f\n\t"
#define RSEQ_PROBE_ABORTED	"movl $0, %[res]\n"
#elif defined(__aarch64__)
#define RSEQ_PROBE_BODY						\
	"mov %w[t], #1\n\t"					\
	"str %w[t], %[in]\n"					\
	"5:\n\t"						\
	"b 5b\n"
#define RSEQ_PROBE_COMMIT_BODY					\
	"ldr %w[t], [%[gen]]\n\t"				\
	"mov %w[u], #1\n\t"					\
	"str %w[u], [%[in]]\n"					\
	"6:\n\t"						\
	"ldr %w[u], [%[go]]\n\t"				\
	"cbz %w[u], 6b\n\t"					\
	"str %w[t], [%[out]]\n"
#define RSEQ_PROBE_COMMITTED	"mov %w[res], #1\n\t" "b 5f\n\t"
#define RSEQ_PROBE_ABORTED	"mov %w[res], #0\n"
#elif defined(__riscv) && __riscv_xlen == 64
#define RSEQ_PROBE_BODY						\
	"li %[t], 1\n\t"					\
	"sw %[t], %[in]\n"					\
	"5:\n\t"						\
	"j 5b\n"
#define RSEQ_PROBE_COMMIT_BODY					\
	"lw %[t], 0(%[gen])\n\t"				\
	"li %[u], 1\n\t"					\
	"sw %[u], 0(%[in])\n"					\
	"6:\n\t"						\
	"lw %[u], 0(%[go])\n\t"					\
	"beqz %[u], 6b\n\t"					\
	"sw %[t], 0(%[out])\n"
#define RSEQ_PROBE_COMMITTED	"li %[res], 1\n\t" "j 5f\n\t"
#define RSEQ_PROBE_ABORTED	"li %[res], 0\n"
#else
#error "rseq_probe.h: no critical section for this architecture"
#endif

static inline void rseq_probe_spin(struct rseq *rs, int *in_cs)
{
	unsigned long t;

	__asm__ __volatile__(
		MBRSEQ_ASM_DESCRIPTOR
		MBRSEQ_ARCH_ARM
		"1:\n\t"
		RSEQ_PROBE_BODY
		"2:\n\t"
		MBRSEQ_ARCH_SIGNATURE
		"4:\n\t"
		: [in] "=m"(*in_cs), [t] "=&r"(t)
		: [rs] "r"(rs), [cs_off] "i"(offsetof(struct rseq, rseq_cs))
		: "memory", "cc");
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
	unsigned long t, u;
	int res;

	__asm__ __volatile__(
		MBRSEQ_ASM_DESCRIPTOR
		MBRSEQ_ARCH_ARM
		"1:\n\t"
		RSEQ_PROBE_COMMIT_BODY
		"2:\n\t"
		RSEQ_PROBE_COMMITTED
		MBRSEQ_ARCH_SIGNATURE
		"4:\n\t"
		RSEQ_PROBE_ABORTED
		"5:\n\t"
		: [res] "=&r"(res), [t] "=&r"(t), [u] "=&r"(u)
		: [rs] "r"(rs), [gen] "r"(gen), [in] "r"(in_cs), [go] "r"(go),
		  [out] "r"(committed),
		  [cs_off] "i"(offsetof(struct rseq, rseq_cs))
		: "memory", "cc");
	(void)u;
	return res;
}

#endif /* MEMBARRIER_TOOL_RSEQ_PROBE_H */
