/* SPDX-License-Identifier: MIT */
/*
 * rseq per-CPU operations and the RSEQ fence (membarrier(2)'s
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ; kernel commit "rseq/membarrier:
 * Add MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ", Linux 5.10).
 *
 * Per-CPU data without atomic instructions: each operation is a
 * restartable sequence (rseq(2)) that reads the CPU number the kernel
 * keeps in the thread's rseq area, works on that CPU's slot and ends with
 * one committing store. The kernel aborts the sequence, before its
 * commit, whenever the thread is preempted, migrated or signalled inside
 * it; the operation then starts again. On one CPU the sequences are thus
 * atomic with respect to each other.
 *
 * Data layout: a struct mbrseq_percpu holds, for each possible CPU, one
 * slot of MBRSEQ_SLOT_SIZE bytes (cache-line padded) in each of two
 * copies, and a control line per CPU whose pointer names the slot of the
 * copy that is active on that CPU. Every critical section reads that
 * pointer after it starts. Operations take a byte offset into the slot:
 * lay a slot out as a struct of at most MBRSEQ_SLOT_SIZE bytes and pass
 * offsetof(struct my_slot, field).
 *
 * Why a section needs no atomic instruction: the only writers of a
 * CPU's active slot are sections running on that CPU, one at a time.
 *
 *   T0 on CPU X                        T1, later on CPU X
 *   v = slot->n
 *       <preempted>                    slot->n = slot->n + 1   (commit)
 *   slot->n = v + 1          (commit)
 *
 *   forbidden: T0's commit from its stale v (T1's increment lost)
 *
 * The preemption aborts T0's section before its commit: T0 resumes at
 * the abort handler and starts again, reading T1's value. A migration or
 * a signal does the same, so a section never commits on a CPU other
 * than the one whose slot it read.
 *
 * The active/inactive swap (MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ): to
 * work on a CPU's data from elsewhere, publish the other copy as active,
 * then fence. The fence aborts every critical section running on the
 * targeted CPUs; after it, the now-inactive copy is quiescent: no
 * critical section that read the old pointer can still commit.
 *
 *   CPU0 (section on CPU X)            CPU1 (mbrseq_swap(pc, X))
 *   rseq_cs = &desc                    ctl[X].active = B[X]   (was A[X])
 *   a = ctl[X].active                  mbrseq_fence(X)
 *   *a += 1                  (commit)  r1 = A[X]
 *                                      ...
 *                                      r2 = A[X]
 *
 *   forbidden: a == A[X] and r2 != r1 (an increment through the old
 *   pointer lands in A after the fence returned)
 *
 * The fence reaches CPU X while the section is either before its commit
 * (it is aborted and restarts, reading B), after it (the fence's barrier
 * on CPU X orders the commit before the fence returns), or not started
 * (the same barrier orders the store of B before its load of the
 * pointer). Threads not running are no risk: a preempted section was
 * aborted when it was preempted.
 *
 * The rseq area: the one the C library registered for each thread
 * (glibc 2.35+: __rseq_offset, __rseq_size), else one the library
 * registers for the thread on its first operation (the rseq system call;
 * e.g. under GLIBC_TUNABLES=glibc.pthread.rseq=0). Where neither works
 * (kernels before 4.18, qemu-user, a seccomp filter), the operations
 * and the fence run a fallback built on atomic instructions and the
 * plain barrier, for the whole process: <membarrier/rseq_fallback.h>.
 *
 * Swaps of one object are serialized by the caller, who owns the
 * inactive copy until its next swap (a concurrent swap gets -EBUSY).
 * Unloading code that ran a critical section needs the thread's rseq_cs
 * cleared first, as with any rseq user.
 */
#ifndef MEMBARRIER_RSEQ_H
#define MEMBARRIER_RSEQ_H

#include <stddef.h>
#include <stdint.h>

#include <membarrier/arch.h>

/* The kernel's struct rseq (uapi/linux/rseq.h): the fields used here. */
struct mbrseq_abi {
	uint32_t cpu_id_start;
	uint32_t cpu_id;	/* written by the kernel on each return */
	uint64_t rseq_cs;	/* the active critical section's descriptor */
	uint32_t flags;
} __attribute__((aligned(32)));

#define MBRSEQ_ABI_CPU_ID_OFFSET	4
#define MBRSEQ_ABI_CS_OFFSET		8

/* A list node: embed it in your object; next must stay first. */
struct mbrseq_node {
	struct mbrseq_node *next;
};

/* This CPU's control line: which slot its critical sections use. */
struct mbrseq_cpu_ctl {
	char *active;		/* this CPU's slot in the active copy */
	unsigned int copy;	/* 0 or 1: the active copy, for the swapper */
};

/* Per-CPU data in two copies. Create with mbrseq_percpu_create(). */
struct mbrseq_percpu {
	char *ctl;		/* nr_cpus control lines, MBRSEQ_SLOT_SIZE each */
	char *copy[2];		/* nr_cpus slots each */
	int nr_cpus;		/* possible CPUs: every cpu_id is below it */
	int busy;		/* a swap is in progress */
};

#define MBRSEQ_STR2(x)	#x
#define MBRSEQ_STR(x)	MBRSEQ_STR2(x)

/*
 * Test hooks, empty by default: a test may define these before including
 * this header to put a delay loop between a section's read of the active
 * pointer and its commit, widening the window the fence must close.
 */
#ifndef MBRSEQ_INJECT_ASM
#define MBRSEQ_INJECT_ASM	""
#define MBRSEQ_INJECT_INPUT
#define MBRSEQ_INJECT_CLOBBER
#endif

/*
 * The instructions of each architecture (Not public API):
 *   MBRSEQ_SIG, MBRSEQ_ARCH_SIGNATURE  the signature before abort_ip
 *   MBRSEQ_ARCH_SLOT_SHIFT             log2 of a slot's size
 *   MBRSEQ_ARCH_ARM, _SLOT, _RETRY     the steps every section shares
 *   MBRSEQ_ARCH_{ADD,PUSH,POP}_{PREPARE,COMMIT}, MBRSEQ_ARCH_ADDEND
 */
#include MEMBARRIER_ARCH_RSEQ_H

#define MBRSEQ_SLOT_SIZE	(1u << MBRSEQ_ARCH_SLOT_SHIFT)

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Where the C library keeps each thread's rseq area: glibc 2.35 and
 * later register one per thread and export its offset from the thread
 * pointer (<sys/rseq.h>: __rseq_offset, __rseq_size). Reading it needs no
 * TLS variable of this library, so the library needs no static TLS and
 * can be dlopen()ed into any process. The area's cpu_id is negative
 * while no registration is in force (RSEQ_CPU_ID_REGISTRATION_FAILED, as
 * under GLIBC_TUNABLES=glibc.pthread.rseq=0).
 */
#if defined(__GLIBC__) && defined(__GLIBC_MINOR__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define MBRSEQ_LIBC_AREA	1
extern const ptrdiff_t __rseq_offset;
#else
#define MBRSEQ_LIBC_AREA	0
#endif

/*
 * 1 once the process chose critical sections over the fallback (the
 * first thread's first operation makes the choice, for good: see
 * <membarrier/rseq_fallback.h>); 0 before, and for good under the
 * fallback. Only then does the fast path try the C library's area, so
 * that no thread runs a section on it while the process runs the
 * fallback. Read by inline code: ABI.
 */
MEMBARRIER_API extern int mbrseq_sections_on;

/*
 * The slow path: the calling thread's registered rseq area, the C
 * library's or, where it registered none, one this library registers
 * (the rseq system call); it makes the process's choice if nobody did.
 * Where no area can be had, or the process runs the fallback, it returns
 * an area no kernel watches whose cpu_id holds -errno (-ENOSYS under the
 * fallback), so that the section run on it returns that error. Never
 * NULL.
 */
MEMBARRIER_API struct mbrseq_abi *mbrseq_thread_area(void);

/*
 * Make the calling thread ready for critical sections: find the C
 * library's rseq area, or register one. 0, or -errno (-ENOSYS: no rseq
 * here, or the process runs the fallback; -EBUSY: someone else
 * registered an area this library cannot find). Operations call it on
 * their own; calling it early moves the cost out of the first operation.
 */
MEMBARRIER_API int mbrseq_thread_init(void);

/* 1 if the calling thread can run critical sections (initializing it). */
MEMBARRIER_API int mbrseq_available(void);

/* Who registered the calling thread's area: "libc", "libmembarrier", or
 * NULL when there is none. */
MEMBARRIER_API const char *mbrseq_registrar(void);

/* Number of possible CPUs: every cpu_id the kernel reports is below it. */
MEMBARRIER_API int mbrseq_nr_cpus(void);

/*
 * The RSEQ fence: membarrier(PRIVATE_EXPEDITED_RSEQ) under the library's
 * registration, on whichever backend serves it; cpu < 0: every CPU, else
 * FLAG_CPU with that CPU only. On return, every critical section that was
 * running on a targeted CPU has been aborted or has committed, and every
 * later one there sees what the caller stored before the call. 0, or
 * -errno (the reason is printed once on stderr).
 */
MEMBARRIER_API int mbrseq_fence(int cpu);

/*
 * Allocate per-CPU data: mbrseq_nr_cpus() slots in each copy, zeroed,
 * copy 0 active on every CPU. NULL with errno on failure.
 */
MEMBARRIER_API struct mbrseq_percpu *mbrseq_percpu_create(void);
MEMBARRIER_API void mbrseq_percpu_destroy(struct mbrseq_percpu *pc);

/*
 * Make the other copy active on cpu (cpu < 0: on every CPU), without a
 * fence: sections already running may still commit to the old copy until
 * mbrseq_fence() returns. Batch several publishes under one fence. 0,
 * -EINVAL (cpu >= nr_cpus), -EBUSY (another swap of pc is under way).
 */
MEMBARRIER_API int mbrseq_publish(struct mbrseq_percpu *pc, int cpu);

/*
 * The swap: mbrseq_publish(pc, cpu), then mbrseq_fence(cpu). On
 * 0, the now-inactive slots of the targeted CPUs are quiescent: read,
 * reset or drain them with plain accesses until the next swap.
 */
MEMBARRIER_API int mbrseq_swap(struct mbrseq_percpu *pc, int cpu);

/*
 * Sum of the intptr_t at offset off over every CPU's slot of one copy
 * (copy < 0: both). Racy against running sections (each load is
 * single-copy atomic); exact once they stop or after a swap. 0 for an
 * offset outside the slot (see MBRSEQ_OFFSET_OK).
 */
MEMBARRIER_API intptr_t mbrseq_percpu_sum(const struct mbrseq_percpu *pc,
					  int copy, size_t off);

/*
 * ThreadSanitizer cannot see inside the critical sections. Under
 * MEMBARRIER_TSAN, a push releases the node and a pop acquires it: the
 * happens-before edge that the commit and the later load of head on the
 * same CPU give in hardware, so that what the pusher wrote into the node
 * is ordered before what the popper reads from it.
 */
#ifdef MEMBARRIER_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define mbrseq_tsan_acquire(p)	__tsan_acquire(p)
#define mbrseq_tsan_release(p)	__tsan_release(p)
#else
#define mbrseq_tsan_acquire(p)	do { } while (0)
#define mbrseq_tsan_release(p)	do { } while (0)
#endif

/* ---- the critical sections: one template, per-arch instructions ---- */

/*
 * Each operation is one asm statement holding a whole critical section
 * and its retry loop, with the same numeric labels everywhere:
 *
 *   0:  arm: store the address of descriptor 3 into rseq->rseq_cs
 *   1:  start_ip: read cpu_id (negative: leave at 2), find this CPU's
 *       active slot, prepare
 *   2:  post_commit_ip: right after the single commit instruction
 *   3:  the descriptor (struct rseq_cs: version, flags, start_ip,
 *       post_commit_offset, abort_ip), in section __rseq_cs
 *   4:  abort_ip, in section __rseq_failure, right after the signature;
 *       it goes back to 0 (retry on the CPU the thread now runs on)
 *
 * The kernel restarts the thread at 4 when it preempts it, migrates it or
 * delivers a signal to it (membarrier RSEQ's IPI included) while its
 * instruction pointer is in [1, 2) (kernel/rseq.c, rseq_ip_fixup()).
 * Everything before the commit only reads shared data or writes memory
 * the thread alone owns (its rseq_cs, a node not yet published), so
 * running it again is harmless; the commit is one store, so it either
 * happened before the abort or not at all.
 */
#define MBRSEQ_ASM_DESCRIPTOR					\
	".pushsection __rseq_cs, \"aw\"\n\t"			\
	".balign 32\n"						\
	"3:\n\t"						\
	".long 0, 0\n\t"					\
	".quad 1f, (2f - 1f), 4f\n\t"				\
	".popsection\n"

#define MBRSEQ_ASM_SECTION(prepare, commit)			\
	MBRSEQ_ASM_DESCRIPTOR					\
	"0:\n\t"						\
	MBRSEQ_ARCH_ARM						\
	"1:\n\t"						\
	MBRSEQ_ARCH_SLOT					\
	prepare							\
	MBRSEQ_INJECT_ASM					\
	commit							\
	"2:\n\t"						\
	".pushsection __rseq_failure, \"ax\"\n\t"		\
	MBRSEQ_ARCH_SIGNATURE					\
	"4:\n\t"						\
	MBRSEQ_ARCH_RETRY					\
	".popsection\n\t"

#define MBRSEQ_ASM_OUT						\
	[cpu] "=&r"(cpu), [p] "=&r"(p), [t] "=&r"(t)
#define MBRSEQ_ASM_IN(rs, ctl, off)				\
	[rs] "r"(rs), [ctl] "r"(ctl), [off] "r"(off),		\
	[cs_off] "i"(MBRSEQ_ABI_CS_OFFSET),			\
	[cpu_off] "i"(MBRSEQ_ABI_CPU_ID_OFFSET),		\
	[shift] "i"(MBRSEQ_ARCH_SLOT_SHIFT)
#define MBRSEQ_ASM_CLOBBER	"memory", "cc" MBRSEQ_INJECT_CLOBBER

/*
 * One section on area rs, not public API: the CPU it ran on, or rs's
 * negative cpu_id (nothing done). mbrseq_cs_add: *(intptr_t *)(active
 * slot + off) += v.
 */
static inline int mbrseq_cs_add(struct mbrseq_abi *rs, char *ctl,
				size_t off, intptr_t v)
{
	unsigned long cpu, t;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_SECTION(MBRSEQ_ARCH_ADD_PREPARE,
				   MBRSEQ_ARCH_ADD_COMMIT)
		: MBRSEQ_ASM_OUT
		: MBRSEQ_ASM_IN(rs, ctl, off), [v] MBRSEQ_ARCH_ADDEND(v)
		  MBRSEQ_INJECT_INPUT
		: MBRSEQ_ASM_CLOBBER);
	return (int)cpu;
}

/* node->next = head; head = node (the commit). */
static inline int mbrseq_cs_push(struct mbrseq_abi *rs, char *ctl,
				 size_t off, struct mbrseq_node *node)
{
	unsigned long cpu, t;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_SECTION(MBRSEQ_ARCH_PUSH_PREPARE,
				   MBRSEQ_ARCH_PUSH_COMMIT)
		: MBRSEQ_ASM_OUT
		: MBRSEQ_ASM_IN(rs, ctl, off), [node] "r"(node)
		  MBRSEQ_INJECT_INPUT
		: MBRSEQ_ASM_CLOBBER);
	return (int)cpu;
}

/*
 * node = head; if (node) head = node->next (the commit). An empty list
 * leaves at 2 without a commit. No ABA: only sections running on this
 * CPU change this list, and each of them aborts every other one it
 * preempts, so head cannot change between the load and the commit.
 */
static inline int mbrseq_cs_pop(struct mbrseq_abi *rs, char *ctl,
				size_t off, struct mbrseq_node **out)
{
	unsigned long cpu, t;
	struct mbrseq_node *node;
	char *p;

	__asm__ __volatile__(
		MBRSEQ_ASM_SECTION(MBRSEQ_ARCH_POP_PREPARE,
				   MBRSEQ_ARCH_POP_COMMIT)
		: MBRSEQ_ASM_OUT, [node] "=&r"(node)
		: MBRSEQ_ASM_IN(rs, ctl, off)
		  MBRSEQ_INJECT_INPUT
		: MBRSEQ_ASM_CLOBBER);
	*out = (int)cpu < 0 ? (struct mbrseq_node *)0 : node;
	return (int)cpu;
}

/* The fallback, where rseq is missing (hooks: the mbrseq_fb_* calls). */
#include <membarrier/rseq_fallback.h>

/*
 * An offset at which an intptr_t (or a node pointer) lies inside the
 * slot, aligned: one compare when off is a constant. Otherwise the
 * operations return mbrseq_bad_offset(off): -EINVAL, or an abort naming
 * the misuse in a library built with MEMBARRIER_DEBUG.
 */
#define MBRSEQ_OFFSET_OK(off) \
	((off) <= MBRSEQ_SLOT_SIZE - sizeof(intptr_t) && \
	 (off) % sizeof(intptr_t) == 0)
MEMBARRIER_API int mbrseq_bad_offset(size_t off);

/* ---- fast paths ---- */

/*
 * The area the fast path tries first, once the process chose critical
 * sections: the C library's, at __rseq_offset from the thread pointer
 * (one load, which the compiler hoists out of loops with the thread
 * pointer; __builtin_thread_pointer() needs GCC 11 or Clang). NULL
 * before the choice, under the fallback, or without such an area: the
 * operation then starts on the slow path's.
 */
static inline struct mbrseq_abi *mbrseq_abi_first(void)
{
#if MBRSEQ_LIBC_AREA
	if (membarrier_likely(MEMBARRIER_LOAD_SHARED(mbrseq_sections_on)))
		return (struct mbrseq_abi *)((char *)
			__builtin_thread_pointer() + __rseq_offset);
#endif
	return (struct mbrseq_abi *)0;
}

/*
 * Run SECTION (an expression on area rs: an mbrseq_cs_* call) on the
 * first area; if there is none or it is not registered, once more on the
 * slow path's; if that fails too, FALLBACK (an expression of the error,
 * named err: an mbrseq_fb_* hook, which runs the fallback if the process
 * chose it, else returns err). Its value: the CPU, or -errno.
 */
#define MBRSEQ_RUN(rs, err, section, fallback) __extension__ ({	\
	struct mbrseq_abi *rs = mbrseq_abi_first();			\
	int err = rs ? (section) : -1;					\
	if (membarrier_unlikely(err < 0)) {				\
		rs = mbrseq_thread_area();				\
		err = (section);					\
		if (membarrier_unlikely(err < 0))			\
			err = (fallback);				\
	}								\
	err;								\
})

/* The CPU the calling thread runs on, from its rseq area; or -errno. */
static inline int mbrseq_cpu(void)
{
	return MBRSEQ_RUN(rs, err,
			  (int)MEMBARRIER_LOAD_SHARED(rs->cpu_id),
			  mbrseq_fb_cpu(err));
}

/*
 * Add v to the intptr_t at offset off of this CPU's active slot. Returns
 * the CPU it was added on, or -errno (nothing added: rseq missing for
 * this thread alone, while the process uses it).
 */
static inline int mbrseq_percpu_add(struct mbrseq_percpu *pc, size_t off,
				    intptr_t v)
{
	if (membarrier_unlikely(!MBRSEQ_OFFSET_OK(off)))
		return mbrseq_bad_offset(off);
	return MBRSEQ_RUN(rs, err, mbrseq_cs_add(rs, pc->ctl, off, v),
			  mbrseq_fb_add(pc, off, v, err));
}

/*
 * Push node on the LIFO whose head (struct mbrseq_node *) is at offset
 * off of this CPU's active slot. Returns the CPU, or -errno (not pushed).
 */
static inline int mbrseq_percpu_push(struct mbrseq_percpu *pc, size_t off,
				     struct mbrseq_node *node)
{
	if (membarrier_unlikely(!MBRSEQ_OFFSET_OK(off)))
		return mbrseq_bad_offset(off);
	mbrseq_tsan_release(node);
	return MBRSEQ_RUN(rs, err, mbrseq_cs_push(rs, pc->ctl, off, node),
			  mbrseq_fb_push(pc, off, node, err));
}

/*
 * Pop the most recent node of this CPU's LIFO at offset off into *node
 * (NULL when that list is empty: other CPUs' lists are not looked at).
 * Returns the CPU, or -errno (*node is then NULL).
 */
static inline int mbrseq_percpu_pop(struct mbrseq_percpu *pc, size_t off,
				    struct mbrseq_node **node)
{
	int ret;

	*node = (struct mbrseq_node *)0;
	if (membarrier_unlikely(!MBRSEQ_OFFSET_OK(off)))
		return mbrseq_bad_offset(off);
	ret = MBRSEQ_RUN(rs, err, mbrseq_cs_pop(rs, pc->ctl, off, node),
			 mbrseq_fb_pop(pc, off, node, err));
	if (*node)
		mbrseq_tsan_acquire(*node);
	return ret;
}

/* ---- off-CPU access, for the owner of a quiescent copy ---- */

/* The copy (0 or 1) active on cpu. */
static inline int mbrseq_percpu_active(const struct mbrseq_percpu *pc, int cpu)
{
	const struct mbrseq_cpu_ctl *c = (const struct mbrseq_cpu_ctl *)
		(pc->ctl + ((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT));

	return (int)__atomic_load_n(&c->copy, __ATOMIC_RELAXED);
}

/* cpu's slot in copy (0 or 1). */
static inline void *mbrseq_percpu_slot(const struct mbrseq_percpu *pc,
				       int copy, int cpu)
{
	return pc->copy[copy] + ((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT);
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RSEQ_H */
