/* SPDX-License-Identifier: MIT */
/*
 * Counters indexed by concurrency id: one slot per id the kernel hands
 * out (struct rseq's mm_cid, Linux 6.3+), beside the per-CPU data of
 * <membarrier/rseq.h>.
 *
 * The kernel gives each running thread of a process an id (mm_cid)
 * unique among the threads of that process running at that moment,
 * kept below the number of CPUs the process may use and below its
 * number of threads (commit af7f588d8f73 "sched: Introduce
 * per-memory-map concurrency ID", Linux 6.3). A
 * process with 4 threads on a 256-CPU machine thus touches 4 slots, not
 * up to 256: memory and the cost of a sum follow threads, not CPUs.
 *
 * An add is one atomic fetch-add on the slot of the calling thread's id,
 * so it is exact whatever the id (two threads sharing a slot for a
 * moment, after a preemption, only share its cache line). Since ids are
 * unique among running threads, the line is normally the thread's alone
 * and the add uncontended, where a single shared counter bounces its
 * line between every CPU that adds.
 *
 * The id: mm_cid from the thread's rseq area where the kernel provides
 * it (AT_RSEQ_FEATURE_SIZE >= 28 and an area that long), else cpu_id
 * from the area, else sched_getcpu() (rseq missing: the fallback of
 * <membarrier/rseq_fallback.h>). mbrseq_cid_source() says which.
 */
#ifndef MEMBARRIER_RSEQ_CID_H
#define MEMBARRIER_RSEQ_CID_H

#include <stddef.h>
#include <stdint.h>

#include <membarrier/rseq.h>

/* struct rseq (uapi/linux/rseq.h): node_id at 20, mm_cid at 24. */
#define MBRSEQ_ABI_MM_CID_OFFSET	24

/* A counter with one slot (MBRSEQ_SLOT_SIZE bytes) per possible id. */
struct mbrseq_cid_counter {
	char *slots;
	int nr_ids;		/* mbrseq_nr_cpus(): every id is below it */
};

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Where the ids come from: the byte offset of the field read in the
 * thread's rseq area (MBRSEQ_ABI_MM_CID_OFFSET, or
 * MBRSEQ_ABI_CPU_ID_OFFSET where mm_cid is missing), 0 until the first
 * id of the process is taken, -1 when there is no area (sched_getcpu()).
 */
MEMBARRIER_API extern int mbrseq_cid_field;

/* The calling thread's id, the slow way (first call, or no area). */
MEMBARRIER_API int mbrseq_cid_slow(void);

/* "mm_cid", "cpu_id" or "sched_getcpu": where the ids come from. */
MEMBARRIER_API const char *mbrseq_cid_source(void);

/* A zeroed counter; NULL with errno on failure. */
MEMBARRIER_API struct mbrseq_cid_counter *mbrseq_cid_counter_create(void);
MEMBARRIER_API void mbrseq_cid_counter_destroy(struct mbrseq_cid_counter *c);

/* Sum of the slots: racy against adders (each load single-copy atomic),
 * exact once they stop. */
MEMBARRIER_API intptr_t mbrseq_cid_counter_sum(const struct mbrseq_cid_counter *c);

/* The calling thread's concurrency id (see above), >= 0. */
static inline int mbrseq_cid(void)
{
	struct mbrseq_abi *rs = mbrseq_abi_first();
	int field = MEMBARRIER_LOAD_SHARED(mbrseq_cid_field);

	/* The C library's area, where the kernel watches it. */
	if (membarrier_likely(rs && field > 0 &&
			      (int32_t)MEMBARRIER_LOAD_SHARED(rs->cpu_id) >= 0))
		return (int)MEMBARRIER_LOAD_SHARED(
			*(const uint32_t *)((const char *)rs + field));
	return mbrseq_cid_slow();
}

/* Add v to the slot of the calling thread's id; returns the id used. */
static inline int mbrseq_cid_counter_add(struct mbrseq_cid_counter *c,
					 intptr_t v)
{
	unsigned int id = (unsigned int)mbrseq_cid();

	/* An id the kernel has not assigned yet (-1) shares a slot. */
	if (membarrier_unlikely(id >= (unsigned int)c->nr_ids))
		id %= (unsigned int)c->nr_ids;
	__atomic_fetch_add((intptr_t *)(c->slots +
					((size_t)id << MBRSEQ_ARCH_SLOT_SHIFT)),
			   v, __ATOMIC_RELAXED);
	return (int)id;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RSEQ_CID_H */
