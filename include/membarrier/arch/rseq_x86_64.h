/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: the x86_64 instructions of the rseq critical sections.
 * Include <membarrier/rseq.h>, not this file: it holds the template
 * (labels, descriptor, operands, C wrappers) that these fill in. Not
 * public API: the names may change between releases.
 *
 * Operands the template gives every sequence: %[rs] the rseq area,
 * %[ctl] the control lines, %[off] the offset in the slot, %[cpu] and
 * %[p] and %[t] scratch outputs, %[cs_off] %[cpu_off] %[shift]
 * constants; %[v] (add) and %[node] (push, pop) per operation.
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
#define MBRSEQ_ARCH_SIGNATURE					\
	".byte 0x0f, 0xb9, 0x3d\n\t"				\
	".long " MBRSEQ_STR(MBRSEQ_SIG) "\n"

/*
 * A per-CPU slot is two cache lines: the adjacent-line prefetcher of
 * Intel cores pulls 64-byte lines in pairs, which would make neighbouring
 * CPUs' slots share traffic.
 */
#define MBRSEQ_ARCH_SLOT_SHIFT	7

/* rseq->rseq_cs = &descriptor 3. */
#define MBRSEQ_ARCH_ARM						\
	"leaq 3b(%%rip), %[t]\n\t"				\
	"movq %[t], %c[cs_off](%[rs])\n"

/*
 * %[cpu] = cpu_id, leaving at 2 when it is negative (an area no kernel
 * registered); %[p] = this CPU's slot in its active copy + off.
 */
#define MBRSEQ_ARCH_SLOT					\
	"movl %c[cpu_off](%[rs]), %k[cpu]\n\t"			\
	"testl %k[cpu], %k[cpu]\n\t"				\
	"js 2f\n\t"						\
	"movq %[cpu], %[p]\n\t"					\
	"shlq %[shift], %[p]\n\t"				\
	"movq (%[ctl], %[p]), %[p]\n\t"				\
	"addq %[off], %[p]\n\t"

/* abort_ip's one instruction: start again at 0. */
#define MBRSEQ_ARCH_RETRY	"jmp 0b\n\t"

/* Add: the commit is the addq to memory itself. */
#define MBRSEQ_ARCH_ADD_PREPARE	""
#define MBRSEQ_ARCH_ADD_COMMIT	"addq %[v], (%[p])\n"
#define MBRSEQ_ARCH_ADDEND	"er"

/* Push: node->next = head, then the commit head = node. */
#define MBRSEQ_ARCH_PUSH_PREPARE				\
	"movq (%[p]), %[t]\n\t"					\
	"movq %[t], (%[node])\n\t"
#define MBRSEQ_ARCH_PUSH_COMMIT	"movq %[node], (%[p])\n"

/* Pop: node = head, leaving at 2 if NULL; then the commit head = next. */
#define MBRSEQ_ARCH_POP_PREPARE					\
	"movq (%[p]), %[node]\n\t"				\
	"testq %[node], %[node]\n\t"				\
	"jz 2f\n\t"						\
	"movq (%[node]), %[t]\n\t"
#define MBRSEQ_ARCH_POP_COMMIT	"movq %[t], (%[p])\n"

#endif /* MEMBARRIER_ARCH_RSEQ_X86_64_H */
