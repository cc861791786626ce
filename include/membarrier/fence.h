/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric fences (the shape of C++ P1202 asymmetric_thread_fence_light
 * and _heavy): the frequent side pays a compiler barrier, the rare side a
 * membarrier(PRIVATE_EXPEDITED) under the library's own registration.
 *
 * Pairing rule (the ordering table): a light fence on one thread and a
 * heavy fence on another order the accesses around them as two smp_mb()
 * would; two light fences order nothing.
 *
 *   CPU0 (frequent)           CPU1 (rare)
 *   x = 1                     y = 1
 *   mbfence_light()           mbfence_heavy()
 *   r0 = y                    r1 = x
 *
 *   forbidden: r0 == 0 && r1 == 0
 *
 * Build with -DMEMBARRIER_TSAN (make check-tsan does) and both become
 * sequentially consistent read-modify-writes of one shared word, which
 * ThreadSanitizer understands; it cannot see the ordering a membarrier
 * gives, nor a standalone fence.
 */
#ifndef MEMBARRIER_FENCE_H
#define MEMBARRIER_FENCE_H

#include <membarrier/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The heavy fence: every running thread of the process executes a full
 * barrier before it returns. 0, or -errno when no backend can serve
 * PRIVATE_EXPEDITED here (the reason is then printed once on stderr).
 */
MEMBARRIER_API int mbfence_heavy_slow(void);

#ifdef MEMBARRIER_TSAN
/*
 * ThreadSanitizer models no standalone fence, but it models atomic
 * read-modify-writes: every fence is a seq_cst RMW of one shared word, so
 * any two fences are ordered and synchronize as seq_cst fences would.
 */
MEMBARRIER_API extern unsigned long mbfence_tsan_word;

/* Pairs with the same RMW in mbfence_heavy() (and in other fences). */
static inline void mbfence_light(void)
{
	__atomic_fetch_add(&mbfence_tsan_word, 0, __ATOMIC_SEQ_CST);
}

/* Pairs with the RMW in mbfence_light(); then the real heavy fence. */
static inline int mbfence_heavy(void)
{
	__atomic_fetch_add(&mbfence_tsan_word, 0, __ATOMIC_SEQ_CST);
	return mbfence_heavy_slow();
}
#else
/* The light fence: a compiler barrier; pairs with mbfence_heavy(). */
static inline void mbfence_light(void)
{
	membarrier_compiler_barrier();
}

/* The heavy fence; pairs with mbfence_light() on every other thread. */
static inline int mbfence_heavy(void)
{
	return mbfence_heavy_slow();
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_FENCE_H */
