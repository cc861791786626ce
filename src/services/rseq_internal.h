/* SPDX-License-Identifier: MIT */
/*
 * rseq service, private: the process-wide choice between critical
 * sections and the fallback (rseq_fallback.c), for rseq.c and
 * rseq_cid.c.
 */
#ifndef MBI_SERVICES_RSEQ_INTERNAL_H
#define MBI_SERVICES_RSEQ_INTERNAL_H

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

#endif /* MBI_SERVICES_RSEQ_INTERNAL_H */
