/* SPDX-License-Identifier: MIT */
/* Verifications that only a real barrier passes (tools/verify.c). */
#ifndef MEMBARRIER_TOOL_VERIFY_H
#define MEMBARRIER_TOOL_VERIFY_H

struct verify_result {
	int calls;		/* calls made */
	int hits;		/* calls that did what only a barrier does */
	int control_hits;	/* the same windows without a call */
	int control_calls;	/* control windows sampled */
	int passed;
};

/* Choose the caller's CPU and the observed thread's: 0, or -1 (one CPU). */
int verify_pick_cpus(void);

/* A call to check: call(arg) returns 0 or -errno. */
struct verify_call {
	int (*call)(void *arg);
	void *arg;
	void (*spinner_setup)(void);	/* run by the observed thread first */
	int other_process;		/* observe a child process instead */
	double gap_us;			/* shortest gap that counts; 0: 0.5 us */
	struct gaps *gaps;		/* private */
};

/* Did each c->call() interrupt a thread running on another CPU? */
int verify_interrupts_call(struct verify_call *c, struct verify_result *r);

/* The caller's CPU (0) and the observed thread's (1), or -1. */
int verify_cpu(int which);

/*
 * Rounds of: an rseq critical section running on verify_cpu(1), call(arg)
 * (none if NULL), then the section may commit. The number of rounds in
 * which it committed what it read before the call (the call returned
 * before aborting it), or -errno.
 */
int verify_rseq_stale(int (*call)(void *arg), void *arg, int rounds);

/* Did each call interrupt a thread running on another CPU? 0 or -errno. */
int verify_interrupts(int cmd, struct verify_result *r);

/* Did each PRIVATE_EXPEDITED_RSEQ abort the running rseq critical section
 * before it returned (verify_rseq_stale, with the no-call control)? */
int verify_rseq_abort(struct verify_result *r);

#endif /* MEMBARRIER_TOOL_VERIFY_H */
