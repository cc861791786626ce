/* SPDX-License-Identifier: MIT */
/* Verifications that only a real barrier passes (tools/verify.c). */
#ifndef MEMBARRIER_TOOL_VERIFY_H
#define MEMBARRIER_TOOL_VERIFY_H

struct verify_result {
	int calls;		/* calls made */
	int hits;		/* calls that did what only a barrier does */
	int control_hits;	/* the same windows without a call */
	int passed;
};

/* Choose the caller's CPU and the observed thread's: 0, or -1 (one CPU). */
int verify_pick_cpus(void);

/* Did each call interrupt a thread running on another CPU? 0 or -errno. */
int verify_interrupts(int cmd, struct verify_result *r);

/* Did each PRIVATE_EXPEDITED_RSEQ abort a running rseq critical section? */
int verify_rseq_abort(struct verify_result *r);

#endif /* MEMBARRIER_TOOL_VERIFY_H */
