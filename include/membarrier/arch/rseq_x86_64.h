/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: rseq critical sections for x86_64. Include
 * <membarrier/rseq.h>, not this file.
 *
 * Each operation is one asm statement holding a whole critical section
 * and its retry loop, with the same numeric labels everywhere:
 *
 *   0:  arm: store the address of descriptor 3 into rseq->rseq_cs
 *   1:  start_ip: read cpu_id, find this CPU's active slot, prepare
 *   2:  post_commit_ip: right after the single commit instruction
 *   3:  the descriptor (struct rseq_cs), in section __rseq_cs
 *   4:  abort_ip, in section __rseq_failure, right after the signature;
 *       it jumps back to 0 (retry on the CPU the thread now runs on)
 *
 * The kernel restarts the thread at 4 when it preempts it, migrates it or
 * delivers a signal to it (membarrier RSEQ's IPI included) while its
 * instruction pointer is in [1, 2). Everything before the commit only
 * reads shared data or writes memory the thread alone owns, so running
 * it again is harmless; the commit is one instruction, so it either
 * happened before the abort or not at all.
 */
#ifndef MEMBARRIER_ARCH_RSEQ_X86_64_H
#define MEMBARRIER_ARCH_RSEQ_X86_64_H

#ifndef MEMBARRIER_RSEQ_H
#error "include <membarrier/rseq.h> instead"
#endif

/*
 * The signature the kernel checks in the 4 bytes before abort_ip. The
 * same value as glibc's RSEQ_SIG, so the C library's registration and
 * ours accept the same critical sections. With the 3 bytes before it,
 * it encodes "ud1 0x53053053(%rip), %edi": jumping there by mistake traps.
 */
#define MBRSEQ_SIG		0x53053053

/*
 * A per-CPU slot is two cache lines: the adjacent-line prefetcher of
 * Intel cores pulls 64-byte lines in pairs, which would make neighbouring
 * CPUs' slots share traffic.
 */
#define MBRSEQ_ARCH_SLOT_SHIFT	7

#define MBRSEQ_ASM_DESC						\
	".pushsection __rseq_cs, \"aw\"\n\t"			\
	".balign 32\n"						\
	"3:\n\t"						\
	".long 0, 0\n\t"		/* version, flags */	\
	".quad 1f, (2f - 1f), 4f\n\t"				\
	".popsection\n\t"

/* Arm: rseq->rseq_cs = &descriptor 3; then the section starts. */
#define MBRSEQ_ASM_ARM						\
	"0:\n\t"						\
	"leaq 3b(%%rip), %[t]\n\t"				\
	"movq %[t], %c[cs_off](%[rs])\n"			\
	"1:\n\t"

/* %[p] = this CPU's slot in its active copy; %[cpu] = the CPU. */
#define MBRSEQ_ASM_SLOT						\
	"movl %c[cpu_off](%[rs]), %k[cpu]\n\t"			\
	"movq %[cpu], %[p]\n\t"					\
	"shlq %[shift], %[p]\n\t"				\
	"movq (%[ctl], %[p]), %[p]\n\t"

/* Out of line: the signature, then abort_ip, which retries. */
#define MBRSEQ_ASM_ABORT					\
	".pushsection __rseq_failure, \"ax\"\n\t"		\
	".byte 0x0f, 0xb9, 0x3d\n\t"				\
	".long " MBRSEQ_STR(MBRSEQ_SIG) "\n"			\
	"4:\n\t"						\
	"jmp 0b\n\t"						\
	".popsection\n\t"

#define MBRSEQ_ASM_COMMON_IN(rs, ctl, off)			\
	[rs] "r"(rs), [ctl] "r"(ctl), [off] "r"(off),		\
	[cs_off] "i"(MBRSEQ_ABI_CS_OFFSET),			\
	[cpu_off] "i"(MBRSEQ_ABI_CPU_ID_OFFSET),		\
	[shift] "i"(MBRSEQ_ARCH_SLOT_SHIFT)

/*
 * *(intptr_t *)(active slot + off) += v.
 *
 * Commit: the addq to memory, one instruction. Restartable: before it,
 * the section only reads (cpu_id, the active pointer) and writes the
 * thread's own rseq_cs.
 */
static inline int mbrseq_arch_add(struct mbrseq_abi *rs, char *ctl,
				  size_t off, intptr_t v)
{
	unsigned long cpu, t;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_DESC
		MBRSEQ_ASM_ARM
		MBRSEQ_ASM_SLOT
		MBRSEQ_INJECT_ASM(1)
		"addq %[v], (%[p], %[off])\n"		/* commit */
		"2:\n\t"
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off), [v] "er"(v)
		  MBRSEQ_INJECT_INPUT
		: "memory", "cc" MBRSEQ_INJECT_CLOBBER);
	return (int)cpu;
}

/*
 * node->next = head; head = node.
 *
 * Commit: the store of node into head. Restartable: the store to
 * node->next before it writes a node that no other thread can see until
 * the commit; a retry rewrites it with the head then current.
 */
static inline int mbrseq_arch_push(struct mbrseq_abi *rs, char *ctl,
				   size_t off, struct mbrseq_node *node)
{
	unsigned long cpu, t;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_DESC
		MBRSEQ_ASM_ARM
		MBRSEQ_ASM_SLOT
		"addq %[off], %[p]\n\t"			/* p = &head */
		"movq (%[p]), %[t]\n\t"
		"movq %[t], (%[node])\n\t"		/* node->next = head */
		MBRSEQ_INJECT_ASM(1)
		"movq %[node], (%[p])\n"		/* commit */
		"2:\n\t"
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off), [node] "r"(node)
		  MBRSEQ_INJECT_INPUT
		: "memory", "cc" MBRSEQ_INJECT_CLOBBER);
	return (int)cpu;
}

/*
 * node = head; if (node) head = node->next.
 *
 * Commit: the store of next into head. Restartable: only loads before
 * it. An empty list leaves at 2 without a commit. No ABA: only sections
 * running on this CPU change this list, and each of them aborts every
 * other one it preempts, so head cannot change between the load and
 * the commit.
 */
static inline int mbrseq_arch_pop(struct mbrseq_abi *rs, char *ctl,
				  size_t off, struct mbrseq_node **out)
{
	unsigned long cpu, t;
	struct mbrseq_node *node;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_DESC
		MBRSEQ_ASM_ARM
		MBRSEQ_ASM_SLOT
		"addq %[off], %[p]\n\t"			/* p = &head */
		"movq (%[p]), %[node]\n\t"
		"testq %[node], %[node]\n\t"
		"jz 2f\n\t"				/* empty */
		"movq (%[node]), %[t]\n\t"		/* t = node->next */
		MBRSEQ_INJECT_ASM(1)
		"movq %[t], (%[p])\n"			/* commit */
		"2:\n\t"
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t),
		  [node] "=&r"(node)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off)
		  MBRSEQ_INJECT_INPUT
		: "memory", "cc" MBRSEQ_INJECT_CLOBBER);
	*out = node;
	return (int)cpu;
}

#endif /* MEMBARRIER_ARCH_RSEQ_X86_64_H */
