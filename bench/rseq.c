// SPDX-License-Identifier: MIT
/*
 * bench services, item percpu_counter: mbrseq_percpu_add() (an rseq
 * critical section on this CPU's slot, no atomic instruction) against
 * __atomic_fetch_add() on one counter shared by both threads, which
 * bounces its cache line between them. Two threads, pinned to two CPUs
 * where the process may use two.
 *
 * ROUNDS rounds, each running both workloads for seconds / (2 * ROUNDS),
 * in alternating order so that drift favours neither. ops_per_s: the
 * mean over the rounds of both threads' operations per second; ratio:
 * the median of the per-round ratios; limit: per-CPU at least 2x the
 * atomic.
 * percpu_exact: the per-CPU slots sum to the operations counted.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <membarrier/arch.h>
#include <membarrier/rseq.h>

#include "tool.h"
#include "bench.h"
#include "cpus.h"
#include "rseq_bench.h"

#define THREADS	2
#define ROUNDS	5
#define BATCH	256
#define LIMIT	2.0

enum kind { KIND_PERCPU, KIND_ATOMIC };

struct run {
	intptr_t shared __attribute__((aligned(128)));	/* alone on its line */
	int stop __attribute__((aligned(128)));
	int go, ready;
	enum kind kind;
	struct mbrseq_percpu *pc;
};

struct worker {
	pthread_t tid;
	struct run *run;
	int cpu;			/* -1: not pinned */
	uint64_t ops;
	int error;
} __attribute__((aligned(128)));

static uint64_t loop_percpu(struct run *r)
{
	uint64_t ops = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < BATCH; i++)
			mbrseq_percpu_add(r->pc, 0, 1);
		ops += BATCH;
	}
	return ops;
}

static uint64_t loop_atomic(struct run *r)
{
	uint64_t ops = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < BATCH; i++)
			__atomic_fetch_add(&r->shared, 1, __ATOMIC_RELAXED);
		ops += BATCH;
	}
	return ops;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	cpus_pin_self(w->cpu);
	w->error = mbrseq_thread_init();
	/* Release pairs with phase()'s acquire of ready: error is set. */
	__atomic_fetch_add(&r->ready, 1, __ATOMIC_RELEASE);
	/* Acquire pairs with the release of go in phase(). */
	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		membarrier_arch_relax();
	if (w->error)
		return NULL;
	w->ops = r->kind == KIND_PERCPU ? loop_percpu(r) : loop_atomic(r);
	return NULL;
}

/* One workload for ns: operations per second, or -1 on failure. */
static double phase(struct run *r, enum kind kind, const int *cpus,
		    uint64_t ns, uint64_t *total_ops)
{
	struct worker w[THREADS];
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };
	uint64_t t0, t1, ops = 0;
	int error = 0;

	r->kind = kind;
	r->stop = r->go = r->ready = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .run = r, .cpu = cpus[i] };
		if (pthread_create(&w[i].tid, NULL, worker, &w[i]))
			return -1;
	}
	/* Acquire pairs with the workers' release of ready. */
	while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < THREADS)
		sched_yield();
	t0 = tool_now_ns();
	/* Release pairs with the workers' acquire of go. */
	__atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
	nanosleep(&ts, NULL);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	t1 = tool_now_ns();
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
		error |= w[i].error;
	}
	if (error)
		return -1;
	*total_ops += ops;
	return (double)ops * 1e9 / (double)(t1 - t0);
}

static int fail(const char *why)
{
	printf("bench=services item=percpu_counter threads=%d error=%s "
	       "pass=no\n", THREADS, why);
	return 1;
}

int bench_services_rseq(double seconds)
{
	static struct run r;
	double percpu[ROUNDS], atomic[ROUNDS], ratio[ROUNDS];
	double sum_p = 0, sum_a = 0, median;
	uint64_t ns, ops_p = 0, ops_a = 0;
	int cpus[THREADS], pinned, ret, exact;

	if (!(seconds > 0))
		seconds = 2;
	ns = (uint64_t)(seconds * 1e9 / (2 * ROUNDS));
	ret = mbrseq_thread_init();
	if (ret) {
		fprintf(stderr, "membarrier: bench services: no rseq here: %s\n",
			strerror(-ret));
		return fail("rseq-unavailable");
	}
	r.shared = 0;
	r.pc = mbrseq_percpu_create();
	if (!r.pc)
		return fail("no-memory");
	pinned = cpus_pick_two(cpus) == 0;
	for (int n = 0; n < ROUNDS; n++) {
		/* Alternate the order: drift favours neither workload. */
		int first = n & 1;

		for (int k = 0; k < 2; k++) {
			enum kind kind = (enum kind)((first + k) & 1);
			double *out = kind == KIND_PERCPU ? &percpu[n] : &atomic[n];

			*out = phase(&r, kind, cpus, ns,
				     kind == KIND_PERCPU ? &ops_p : &ops_a);
			if (*out < 0) {
				mbrseq_percpu_destroy(r.pc);
				return fail("thread");
			}
		}
		sum_p += percpu[n];
		sum_a += atomic[n];
		ratio[n] = percpu[n] / atomic[n];
	}
	exact = (uint64_t)mbrseq_percpu_sum(r.pc, -1, 0) == ops_p &&
		(uint64_t)r.shared == ops_a;
	mbrseq_percpu_destroy(r.pc);
	median = bench_median(ratio, ROUNDS);
	printf("bench=services item=percpu_counter threads=%d pinned=%s "
	       "rounds=%d percpu_ops_per_s=%.4g atomic_ops_per_s=%.4g "
	       "ratio=%.2f limit=%.0f exact=%s pass=%s\n", THREADS,
	       pinned ? "yes" : "no", ROUNDS, sum_p / ROUNDS, sum_a / ROUNDS,
	       median, LIMIT, exact ? "yes" : "no",
	       median >= LIMIT && exact ? "yes" : "no");
	return 0;
}
