// SPDX-License-Identifier: MIT
/*
 * bench services, item percpu_counter: mbrseq_percpu_add() (an rseq
 * critical section on this CPU's slot, no atomic instruction) against
 * __atomic_fetch_add() on one counter shared by both threads, which
 * bounces its cache line between them. Two threads, pinned to two CPUs
 * where the process may use two.
 *
 * ROUNDS rounds, each running both workloads for seconds / (6 * ROUNDS),
 * in alternating order so that drift favours neither. ops_per_s: the
 * mean over the rounds of both threads' operations per second; ratio:
 * the median of the per-round ratios; limit: per-CPU at least 2x the
 * atomic.
 * percpu_exact: the per-CPU slots sum to the operations counted.
 *
 * Two more items, the same way against the same shared atomic:
 *   percpu_counter_fallback  mbrseq_fallback_add(), the path taken where
 *                            rseq is missing (forced here, whatever the
 *                            process runs), no limit: it shows the cost
 *   cid_counter              mbrseq_cid_counter_add(), one atomic add on
 *                            the slot of the thread's concurrency id
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <membarrier/arch.h>
#include <membarrier/rseq.h>
#include <membarrier/rseq_cid.h>

#include "tool.h"
#include "bench.h"
#include "cpus.h"
#include "rseq_bench.h"

#define THREADS	2
#define ROUNDS	5
#define BATCH	256
#define LIMIT	2.0

enum kind { KIND_PERCPU, KIND_ATOMIC, KIND_FALLBACK, KIND_CID };

struct run {
	intptr_t shared __attribute__((aligned(128)));	/* alone on its line */
	int stop __attribute__((aligned(128)));
	int go, ready;
	enum kind kind;
	struct mbrseq_percpu *pc;
	struct mbrseq_cid_counter *cid;
};

struct worker {
	pthread_t tid;
	struct run *run;
	int cpu;			/* -1: not pinned */
	uint64_t ops;
	int error;
} __attribute__((aligned(128)));

/*
 * BATCH operations of r->kind. Each kind has a loop of its own, so that
 * the choice is made once a batch and each operation is called directly.
 */
static void batch(struct run *r)
{
	switch (r->kind) {
	case KIND_PERCPU:
		for (int i = 0; i < BATCH; i++)
			mbrseq_percpu_add(r->pc, 0, 1);
		break;
	case KIND_FALLBACK:
		for (int i = 0; i < BATCH; i++)
			mbrseq_fallback_add(r->pc, 0, 1);
		break;
	case KIND_CID:
		for (int i = 0; i < BATCH; i++)
			mbrseq_cid_counter_add(r->cid, 1);
		break;
	default:
		for (int i = 0; i < BATCH; i++)
			__atomic_fetch_add(&r->shared, 1, __ATOMIC_RELAXED);
	}
}

/* Batches until phase() stops the workers: the operations made. */
static uint64_t loop(struct run *r)
{
	uint64_t ops = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		batch(r);
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
	/* Only critical sections need the area; the fallback runs without. */
	if (r->kind != KIND_PERCPU || mbrseq_fallback_active())
		w->error = 0;
	/* Release pairs with phase()'s acquire of ready: error is set. */
	__atomic_fetch_add(&r->ready, 1, __ATOMIC_RELEASE);
	/* Acquire pairs with the release of go in phase(). */
	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		membarrier_arch_relax();
	if (w->error)
		return NULL;
	w->ops = loop(r);
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

static int fail(const char *item, const char *why)
{
	printf("bench=services item=%s threads=%d error=%s pass=no\n", item,
	       THREADS, why);
	return 1;
}

/* One side of a comparison: mean operations per second, total ops. */
struct side {
	double sum;
	uint64_t ops;
};

/*
 * ROUNDS rounds of kind against the shared atomic, alternating which
 * runs first: the median per-round ratio (kind / atomic), or -1.
 */
static double compare(struct run *r, enum kind kind, const int *cpus,
		      uint64_t ns, struct side *k, struct side *a)
{
	double ratio[ROUNDS];

	*k = (struct side){ 0 };
	*a = (struct side){ 0 };
	r->shared = 0;
	for (int n = 0; n < ROUNDS; n++) {
		double x = 0, y = 0;

		for (int step = 0; step < 2; step++) {
			int atomic_now = (n + step) & 1;
			double v = phase(r, atomic_now ? KIND_ATOMIC : kind, cpus,
					 ns, atomic_now ? &a->ops : &k->ops);

			if (v < 0)
				return -1;
			*(atomic_now ? &y : &x) = v;
		}
		k->sum += x;
		a->sum += y;
		ratio[n] = x / y;
	}
	return bench_median(ratio, ROUNDS);
}

static int line(const char *item, const char *name, const char *extra,
		struct side *k, struct side *a, double median, double limit,
		int exact, int pinned)
{
	int pass = exact && (limit <= 0 || median >= limit);

	printf("bench=services item=%s threads=%d pinned=%s rounds=%d %s"
	       "%s_ops_per_s=%.4g atomic_ops_per_s=%.4g ratio=%.2f ", item,
	       THREADS, pinned ? "yes" : "no", ROUNDS, extra, name,
	       k->sum / ROUNDS, a->sum / ROUNDS, median);
	if (limit > 0)
		printf("limit=%.0f ", limit);
	printf("exact=%s pass=%s\n", exact ? "yes" : "no", pass ? "yes" : "no");
	fflush(stdout);
	return 0;
}

/* The items: each counter against the shared atomic. */
static const struct item {
	const char *item, *name;
	enum kind kind;
} items[] = {
	/* Critical sections, or the fallback where the process runs it. */
	{ "percpu_counter", "percpu", KIND_PERCPU },
	/* The fallback, forced. */
	{ "percpu_counter_fallback", "fallback", KIND_FALLBACK },
	/* The counter indexed by concurrency id. */
	{ "cid_counter", "cid", KIND_CID },
};

#define NR_ITEMS	(sizeof(items) / sizeof(items[0]))

/* The counter that kind adds to, in r: 0, or -1 without memory. */
static int counter_create(struct run *r, enum kind kind)
{
	if (kind == KIND_CID)
		return (r->cid = mbrseq_cid_counter_create()) ? 0 : -1;
	return (r->pc = mbrseq_percpu_create()) ? 0 : -1;
}

/* Its sum; the counter is freed. */
static uint64_t counter_finish(struct run *r, enum kind kind)
{
	uint64_t sum;

	if (kind == KIND_CID) {
		sum = (uint64_t)mbrseq_cid_counter_sum(r->cid);
		mbrseq_cid_counter_destroy(r->cid);
	} else {
		sum = (uint64_t)mbrseq_percpu_sum(r->pc, -1, 0);
		mbrseq_percpu_destroy(r->pc);
	}
	return sum;
}

/*
 * What the line says of the path the run took (asked after it: the
 * threads' first calls make the process's choice), and the limit, 0
 * where there is none.
 */
static double item_path(enum kind kind, char *buf, size_t size)
{
	int fallback = mbrseq_fallback_active();

	if (kind == KIND_CID) {
		snprintf(buf, size, "source=%s ", mbrseq_cid_source());
		return 0;
	}
	fallback |= kind == KIND_FALLBACK;
	snprintf(buf, size, "path=%s ", fallback ? "fallback" : "rseq");
	return fallback ? 0 : LIMIT;
}

/* One item's line: 0, or 1 (its error line printed). */
static int run_item(struct run *r, const struct item *it, const int *cpus,
		    uint64_t ns, int pinned)
{
	struct side k, a;
	double median, limit;
	uint64_t sum;
	char path[64];

	if (counter_create(r, it->kind))
		return fail(it->item, "no-memory");
	median = compare(r, it->kind, cpus, ns, &k, &a);
	sum = counter_finish(r, it->kind);
	if (median < 0)
		return fail(it->item, "thread");
	limit = item_path(it->kind, path, sizeof(path));
	return line(it->item, it->name, path, &k, &a, median, limit,
		    sum == k.ops && (uint64_t)r->shared == a.ops, pinned);
}

int bench_services_rseq(double seconds)
{
	static struct run r;
	uint64_t ns;
	int cpus[THREADS], pinned;

	if (!(seconds > 0))
		seconds = 2;
	/* The items, two workloads each, ROUNDS rounds. */
	ns = (uint64_t)(seconds * 1e9 / (NR_ITEMS * 2 * ROUNDS));
	pinned = cpus_pick_two(cpus) == 0;
	for (size_t i = 0; i < NR_ITEMS; i++)
		if (run_item(&r, &items[i], cpus, ns, pinned))
			return 1;
	return 0;
}
