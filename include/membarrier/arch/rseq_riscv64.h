/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: the riscv64 instructions of the rseq critical sections.
 * Include <membarrier/rseq.h>, not this file: it holds the template
 * (labels, descriptor, operands, C wrappers) that these fill in. Not
 * public API: the names may change between releases.
 *
 * Operands: as in rseq_x86_64.h. The commit is one store (SD); no LR/SC
 * and no AMO: the sections are plain loads and stores. Loads through the
 * active pointer are address-dependent on it, which RVWMO orders after
 * it (the ISA manual's preserved program order, rule 9: address
 * dependencies): they see what the swapper wrote to the copy before it
 * published the pointer with a release store.
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
/* As data, 4-byte aligned (the C extension allows 2-byte instructions). */
#define MBRSEQ_ARCH_SIGNATURE					\
	".balign 4\n\t"						\
	".4byte " MBRSEQ_STR(MBRSEQ_SIG) "\n"

/*
 * A per-CPU slot is 64 bytes: the cache line of the riscv64 cores Linux
 * runs on (SiFive U74, T-Head C910, SpacemiT X60).
 */
#define MBRSEQ_ARCH_SLOT_SHIFT	6

/* rseq->rseq_cs = &descriptor 3 (PC-relative, no GOT). */
#define MBRSEQ_ARCH_ARM						\
	"lla %[t], 3b\n\t"					\
	"sd %[t], %[cs_off](%[rs])\n"

/*
 * %[cpu] = cpu_id (LW sign-extends), leaving at 2 when it is negative
 * (an area no kernel registered); %[p] = this CPU's slot in its active
 * copy + off.
 */
#define MBRSEQ_ARCH_SLOT					\
	"lw %[cpu], %[cpu_off](%[rs])\n\t"			\
	"bltz %[cpu], 2f\n\t"					\
	"slli %[p], %[cpu], %[shift]\n\t"			\
	"add %[p], %[ctl], %[p]\n\t"				\
	"ld %[p], 0(%[p])\n\t"					\
	"add %[p], %[p], %[off]\n\t"

/*
 * abort_ip: start again at 0, through %[t] (scratch in every section:
 * the retry rewrites it). LLA + JR reach 0 whatever the distance the
 * linker puts between the two sections, which JAL (+-1 MiB) would not.
 */
#define MBRSEQ_ARCH_RETRY					\
	"lla %[t], 0b\n\t"					\
	"jr %[t]\n\t"

/* Add: load and add; the commit is the sd of the sum. */
#define MBRSEQ_ARCH_ADD_PREPARE					\
	"ld %[t], 0(%[p])\n\t"					\
	"add %[t], %[t], %[v]\n\t"
#define MBRSEQ_ARCH_ADD_COMMIT	"sd %[t], 0(%[p])\n"
#define MBRSEQ_ARCH_ADDEND	"r"

/* Push: node->next = head, then the commit head = node. */
#define MBRSEQ_ARCH_PUSH_PREPARE				\
	"ld %[t], 0(%[p])\n\t"					\
	"sd %[t], 0(%[node])\n\t"
#define MBRSEQ_ARCH_PUSH_COMMIT	"sd %[node], 0(%[p])\n"

/* Pop: node = head, leaving at 2 if NULL; then the commit head = next. */
#define MBRSEQ_ARCH_POP_PREPARE					\
	"ld %[node], 0(%[p])\n\t"				\
	"beqz %[node], 2f\n\t"					\
	"ld %[t], 0(%[node])\n\t"
#define MBRSEQ_ARCH_POP_COMMIT	"sd %[t], 0(%[p])\n"

#endif /* MEMBARRIER_ARCH_RSEQ_RISCV64_H */
