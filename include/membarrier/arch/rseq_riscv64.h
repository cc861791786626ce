/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: rseq critical sections for riscv64. Include
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
 * program counter is in [1, 2). Everything before the commit only reads
 * shared data or writes memory the thread alone owns, so running it
 * again is harmless; the commit is one store (SD), so it either happened
 * before the abort or not at all. No LR/SC and no AMO: the sections are
 * plain loads and stores.
 *
 * Loads through the active pointer are address-dependent on it, which
 * RVWMO orders after it (the ISA manual's preserved program order, rule
 * 9: address dependencies): they see what the swapper wrote to the copy
 * before it published the pointer with a release store.
 *
 * Each fragment is a small asm-string macro over named operands
 * (%[rs], %[ctl], %[off], %[p], %[t], %[cpu]), so that the operations
 * can be generated from a template shared by the architectures.
 *
 * Not run under qemu-user, which implements no rseq system call: there
 * these sections are only assembled, and the operations take the
 * fallback path.
 */
#ifndef MEMBARRIER_ARCH_RSEQ_RISCV64_H
#define MEMBARRIER_ARCH_RSEQ_RISCV64_H

#ifndef MEMBARRIER_RSEQ_H
#error "include <membarrier/rseq.h> instead"
#endif

/*
 * The signature: "csrw mhartid, zero" (CSRRW x0, mhartid, x0:
 * 0xf1401073), glibc's and the kernel selftests' RSEQ_SIG for riscv
 * (sysdeps/unix/sysv/linux/riscv/bits/rseq.h; glibc 2.36, Debian 12's,
 * has none there and registers no area on riscv64): a write to a
 * read-only machine CSR, illegal in every mode, so a stray jump to it
 * traps. The kernel checks the 4 bytes before abort_ip
 * (kernel/rseq.c). riscv64 Linux is little-endian only.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rseq on riscv64 is little-endian only"
#endif
#define MBRSEQ_SIG		0xf1401073

/*
 * A per-CPU slot is 64 bytes: the cache line of the riscv64 cores Linux
 * runs on (SiFive U74, T-Head C910, SpacemiT X60).
 */
#define MBRSEQ_ARCH_SLOT_SHIFT	6

#define MBRSEQ_ASM_DESC						\
	".pushsection __rseq_cs, \"aw\"\n\t"			\
	".balign 32\n"						\
	"3:\n\t"						\
	".long 0, 0\n\t"		/* version, flags */	\
	".quad 1f, (2f - 1f), 4f\n\t"				\
	".popsection\n\t"

/* Arm: rseq->rseq_cs = &descriptor 3 (PC-relative, no GOT); then start. */
#define MBRSEQ_ASM_ARM						\
	"0:\n\t"						\
	"lla %[t], 3b\n\t"					\
	"sd %[t], %[cs_off](%[rs])\n"				\
	"1:\n\t"

/* %[p] = this CPU's slot in its active copy + off; %[cpu] = the CPU. */
#define MBRSEQ_ASM_SLOT						\
	"lwu %[cpu], %[cpu_off](%[rs])\n\t"			\
	"slli %[p], %[cpu], %[shift]\n\t"			\
	"add %[p], %[ctl], %[p]\n\t"				\
	"ld %[p], 0(%[p])\n\t"					\
	"add %[p], %[p], %[off]\n\t"

/*
 * Out of line: the signature as data (4-byte aligned, the C extension
 * allows 2), then abort_ip, which returns to 0 through %[t] (scratch in
 * every section: the retry rewrites it). LLA + JR reach 0 whatever the
 * distance the linker puts between the two sections, which JAL (+-1 MiB)
 * would not.
 */
#define MBRSEQ_ASM_ABORT					\
	".pushsection __rseq_failure, \"ax\"\n\t"		\
	".balign 4\n\t"						\
	".4byte " MBRSEQ_STR(MBRSEQ_SIG) "\n"			\
	"4:\n\t"						\
	"lla %[t], 0b\n\t"					\
	"jr %[t]\n\t"						\
	".popsection\n\t"

#define MBRSEQ_ASM_COMMON_IN(rs, ctl, off)			\
	[rs] "r"(rs), [ctl] "r"(ctl), [off] "r"(off),		\
	[cs_off] "i"(MBRSEQ_ABI_CS_OFFSET),			\
	[cpu_off] "i"(MBRSEQ_ABI_CPU_ID_OFFSET),		\
	[shift] "i"(MBRSEQ_ARCH_SLOT_SHIFT)

/* The bodies, between MBRSEQ_ASM_SLOT and the commit label 2. */

/* t = *p + v; commit: *p = t. */
#define MBRSEQ_ASM_ADD_BODY					\
	"ld %[t], 0(%[p])\n\t"					\
	"add %[t], %[t], %[v]\n\t"				\
	MBRSEQ_INJECT_ASM(1)					\
	"sd %[t], 0(%[p])\n"			/* commit */	\
	"2:\n\t"

/* node->next = *p; commit: *p = node. */
#define MBRSEQ_ASM_PUSH_BODY					\
	"ld %[t], 0(%[p])\n\t"					\
	"sd %[t], 0(%[node])\n\t"		/* node->next = head */ \
	MBRSEQ_INJECT_ASM(1)					\
	"sd %[node], 0(%[p])\n"			/* commit */	\
	"2:\n\t"

/* node = *p; empty: leave; commit: *p = node->next. */
#define MBRSEQ_ASM_POP_BODY					\
	"ld %[node], 0(%[p])\n\t"				\
	"beqz %[node], 2f\n\t"			/* empty */	\
	"ld %[t], 0(%[node])\n\t"		/* t = node->next */ \
	MBRSEQ_INJECT_ASM(1)					\
	"sd %[t], 0(%[p])\n"			/* commit */	\
	"2:\n\t"

/*
 * *(intptr_t *)(active slot + off) += v.
 *
 * Commit: the sd of the sum. Restartable: before it, the section only
 * loads and writes the thread's own rseq_cs and registers.
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
		MBRSEQ_ASM_ADD_BODY
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off), [v] "r"(v)
		  MBRSEQ_INJECT_INPUT
		: "memory" MBRSEQ_INJECT_CLOBBER);
	return (int)cpu;
}

/*
 * node->next = head; head = node.
 *
 * Commit: the sd of node into head. Restartable: the store to
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
		MBRSEQ_ASM_PUSH_BODY
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off), [node] "r"(node)
		  MBRSEQ_INJECT_INPUT
		: "memory" MBRSEQ_INJECT_CLOBBER);
	return (int)cpu;
}

/*
 * node = head; if (node) head = node->next.
 *
 * Commit: the sd of next into head. Restartable: only loads before it.
 * An empty list leaves at 2 without a commit. No ABA: only sections
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
		MBRSEQ_ASM_POP_BODY
		MBRSEQ_ASM_ABORT
		: [cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t),
		  [node] "=&r"(node)
		: MBRSEQ_ASM_COMMON_IN(rs, ctl, off)
		  MBRSEQ_INJECT_INPUT
		: "memory" MBRSEQ_INJECT_CLOBBER);
	*out = node;
	return (int)cpu;
}

#endif /* MEMBARRIER_ARCH_RSEQ_RISCV64_H */
