/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: the aarch64 instructions of the rseq critical sections.
 * Include <membarrier/rseq.h>, not this file: it holds the template
 * (labels, descriptor, operands, C wrappers) that these fill in. Not
 * public API: the names may change between releases.
 *
 * Operands: as in rseq_x86_64.h. Loads through the active pointer are
 * address-dependent on it, which orders them after it in hardware: they
 * see what the swapper wrote to the copy before it published the pointer
 * with a release store.
 */
#ifndef MEMBARRIER_ARCH_RSEQ_AARCH64_H
#define MEMBARRIER_ARCH_RSEQ_AARCH64_H

#ifndef MEMBARRIER_RSEQ_H
#error "include <membarrier/rseq.h> instead"
#endif

/*
 * The signature: "brk #0x45e0" (0xd428bc00), glibc's RSEQ_SIG, so a
 * stray jump to it traps. Instructions are always little-endian; the
 * kernel compares the value it reads as data, byte-swapped on big-endian.
 */
#define MBRSEQ_SIG_CODE		0xd428bc00
#ifdef __AARCH64EB__
#define MBRSEQ_SIG		0x00bc28d4
#else
#define MBRSEQ_SIG		MBRSEQ_SIG_CODE
#endif
#define MBRSEQ_ARCH_SIGNATURE	".inst " MBRSEQ_STR(MBRSEQ_SIG_CODE) "\n"

/*
 * A per-CPU slot is 128 bytes: one line on the cores with 128-byte
 * lines (Apple, some Neoverse parts' prefetch pairs), two elsewhere.
 */
#define MBRSEQ_ARCH_SLOT_SHIFT	7

/* rseq->rseq_cs = &descriptor 3. */
#define MBRSEQ_ARCH_ARM						\
	"adrp %[t], 3b\n\t"					\
	"add %[t], %[t], :lo12:3b\n\t"				\
	"str %[t], [%[rs], #%c[cs_off]]\n"

/*
 * %[cpu] = cpu_id, leaving at 2 when it is negative (an area no kernel
 * registered); %[p] = this CPU's slot in its active copy + off.
 */
#define MBRSEQ_ARCH_SLOT					\
	"ldr %w[cpu], [%[rs], #%c[cpu_off]]\n\t"		\
	"tbnz %w[cpu], #31, 2f\n\t"				\
	"add %[p], %[ctl], %[cpu], lsl #%c[shift]\n\t"		\
	"ldr %[p], [%[p]]\n\t"					\
	"add %[p], %[p], %[off]\n\t"

/* abort_ip's one instruction: start again at 0. */
#define MBRSEQ_ARCH_RETRY	"b 0b\n\t"

/* Add: load and add; the commit is the str of the sum. */
#define MBRSEQ_ARCH_ADD_PREPARE					\
	"ldr %[t], [%[p]]\n\t"					\
	"add %[t], %[t], %[v]\n\t"
#define MBRSEQ_ARCH_ADD_COMMIT	"str %[t], [%[p]]\n"
#define MBRSEQ_ARCH_ADDEND	"r"

/* Push: node->next = head, then the commit head = node. */
#define MBRSEQ_ARCH_PUSH_PREPARE				\
	"ldr %[t], [%[p]]\n\t"					\
	"str %[t], [%[node]]\n\t"
#define MBRSEQ_ARCH_PUSH_COMMIT	"str %[node], [%[p]]\n"

/* Pop: node = head, leaving at 2 if NULL; then the commit head = next. */
#define MBRSEQ_ARCH_POP_PREPARE					\
	"ldr %[node], [%[p]]\n\t"				\
	"cbz %[node], 2f\n\t"					\
	"ldr %[t], [%[node]]\n\t"
#define MBRSEQ_ARCH_POP_COMMIT	"str %[t], [%[p]]\n"

#endif /* MEMBARRIER_ARCH_RSEQ_AARCH64_H */
