/* SPDX-License-Identifier: MIT */
/*
 * rseq service, private: the process-wide choice between critical
 * sections and the fallback (rseq_fallback.c), and the slot memory of
 * the per-CPU data and the concurrency-id counters, for rseq.c and
 * rseq_cid.c.
 */
#ifndef MBI_SERVICES_RSEQ_INTERNAL_H
#define MBI_SERVICES_RSEQ_INTERNAL_H

#include <stddef.h>

/* 1 once the process runs the fallback (MEMBARRIER_RSEQ=fallback makes
 * the choice at the first call). */
int mbi_rseq_fallback_on(void);

/*
 * Given a thread's attempt at finding or registering its area (0 or
 * -errno), the result to use: the first attempt of the process decides
 * (failure: the fallback for good); afterwards, -ENOSYS under the
 * fallback, else the attempt's own result.
 */
int mbi_rseq_choose(int attempt);

/*
 * A service object of obj_size zeroed bytes and its slot memory:
 * slot_bytes zeroed, MBRSEQ_SLOT_SIZE-aligned, in *slots. NULL with
 * errno ENOMEM when either cannot be had (rseq.c).
 */
void *mbi_rseq_slots_alloc(size_t obj_size, size_t slot_bytes, char **slots);

/* Free what mbi_rseq_slots_alloc() gave: obj and slots, or NULL. */
void mbi_rseq_slots_free(void *obj, char *slots);

#endif /* MBI_SERVICES_RSEQ_INTERNAL_H */
