// SPDX-License-Identifier: MIT
/*
 * The rseq operations' fallback (include/membarrier/rseq_fallback.h),
 * forced with MEMBARRIER_RSEQ=fallback, as it runs where rseq is missing
 * (under qemu-user it is the only path): the counter is exact, the
 * lists lose and duplicate no node, and after mbrseq_swap() the
 * now-inactive copy no longer changes, with operations nested in signal
 * handlers too.
 *
 * MEMBARRIER_RSEQ_TEST_DELAY widens every operation's window between
 * its load of the active pointer and its update, so that the control
 * (publish without the fence: an update through the old pointer lands
 * in the inactive copy after the publish returned) shows the harness
 * sees the violation the fence prevents, in the same run; it widens a
 * pop's window between its loads and its compare-and-swap too.
 * MEMBARRIER_RSEQ_TEST_CPU=0 gives every thread the hint of CPU 0, the
 * case of hints gone stale, where threads running on both CPUs update
 * one slot at once: adds that were a load and a store would lose some
 * (the counter's control does those and loses them), and pops without
 * the lock would pop a node twice or lose one (ABA, when a pop is
 * preempted in its window).
 *
 * The choice is the whole process's: where the C library registered an
 * area, no operation runs a critical section on it (the fast path only
 * tries it under mbrseq_sections_on). Seen from rseq_cs, which a section
 * sets and which stays set until the kernel next preempts the thread:
 * cleared before each operation, it is still 0 after every one; the
 * control runs a section on the same area and finds it set.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <membarrier/rseq.h>

#include "lib/tap.h"
#include "rseq_probe.h"

#define THREADS		4
#define ADDS		20000
#define NODES		256
#define LIST_OPS	20000
#define ROUNDS		200
#define TEST_DELAY	3000	/* MEMBARRIER_RSEQ_TEST_DELAY */

static struct mbrseq_percpu *pc;
static int stop, failed_ops;

/* ---- counter ---- */

static void *adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++)
		if (mbrseq_percpu_add(pc, 0, 1) < 0)
			__atomic_fetch_add(&failed_ops, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void run_threads(void *(*fn)(void *), void *args, size_t size)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * size);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

/* The control: the same adds to slot 0 as a load and a store, after
 * the same idle loops as the library's hooked operations. */
static void *plain_adder(void *arg)
{
	volatile intptr_t *p = mbrseq_percpu_slot(pc, 0, 0);

	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		for (volatile int k = 0; k < TEST_DELAY; k++)
			;
		*p = *p + 1;
	}
	return NULL;
}

static void test_counter(void)
{
	char none[THREADS];
	intptr_t sum;

	pc = mbrseq_percpu_create();
	run_threads(adder, none, 1);
	sum = mbrseq_percpu_sum(pc, -1, 0);
	tap_ok(!failed_ops && sum == THREADS * ADDS,
	       "counter: %d threads x %d adds to one slot sum to %ld (%d "
	       "failed)", THREADS, ADDS, (long)sum, failed_ops);
	mbrseq_percpu_destroy(pc);
	pc = mbrseq_percpu_create();
	run_threads(plain_adder, none, 1);
	sum = mbrseq_percpu_sum(pc, -1, 0);
	tap_ok(sum < THREADS * ADDS,
	       "control, adds as a load and a store: %ld of %d (the harness "
	       "sees lost updates)", (long)sum, THREADS * ADDS);
	mbrseq_percpu_destroy(pc);
}

/* ---- the process-wide choice ---- */

#define CHOICE_OPS	1000

/* Of CHOICE_OPS adds (the API's; the control's: a section on rs
 * itself), those after which rs->rseq_cs was set. */
static int sections_seen(struct rseq *rs, int control)
{
	struct mbrseq_percpu *p = mbrseq_percpu_create();
	int seen = 0;

	for (int i = 0; i < CHOICE_OPS; i++) {
		__atomic_store_n(&rs->rseq_cs, 0, __ATOMIC_RELAXED);
		if (control)
			(void)mbrseq_cs_add((struct mbrseq_abi *)rs, p->ctl, 0, 1);
		else
			(void)mbrseq_percpu_add(p, 0, 1);
		seen += __atomic_load_n(&rs->rseq_cs, __ATOMIC_RELAXED) != 0;
	}
	mbrseq_percpu_destroy(p);
	return seen;
}

static void test_choice(void)
{
	struct rseq *rs = rseq_probe_area();
	int seen;

	if (!__rseq_size || (int32_t)__atomic_load_n(&rs->cpu_id,
						     __ATOMIC_RELAXED) < 0) {
		tap_skip("the C library registered no rseq area",
			 "no section on the C library's area");
		tap_skip("the C library registered no rseq area",
			 "control: a section on it sets rseq_cs");
		return;
	}
	seen = sections_seen(rs, 0);
	tap_ok(!mbrseq_sections_on && seen == 0,
	       "no section on the C library's area: rseq_cs set after %d of "
	       "%d adds", seen, CHOICE_OPS);
	seen = sections_seen(rs, 1);
	tap_ok(seen > 0, "control: a section on it sets rseq_cs (after %d "
	       "of %d)", seen, CHOICE_OPS);
}

/* ---- lists ---- */

struct node {
	struct mbrseq_node link;
	int seen;
};

struct lister {
	struct node nodes[NODES];
	struct node *held[NODES * THREADS];
	int nheld;
};

static void *lister(void *arg)
{
	struct lister *l = arg;
	struct mbrseq_node *n;

	for (int i = 0; i < NODES; i++)
		l->held[l->nheld++] = &l->nodes[i];
	for (int i = 0; i < LIST_OPS; i++) {
		if (l->nheld && (i & 1) == 0)
			mbrseq_percpu_push(pc, 0, &l->held[--l->nheld]->link);
		else if (l->nheld < NODES * THREADS &&	/* else: duplicates */
			 mbrseq_percpu_pop(pc, 0, &n) >= 0 && n)
			l->held[l->nheld++] = (struct node *)n;
	}
	return NULL;
}

/* Count the nodes on every list of both copies; 1 if one is seen twice
 * (a list with a cycle is walked no further than the first repeat). */
static int walk_lists(long *count)
{
	int dup = 0;

	for (int copy = 0; copy < 2; copy++)
		for (int cpu = 0; cpu < pc->nr_cpus; cpu++) {
			struct mbrseq_node *n =
				*(struct mbrseq_node **)mbrseq_percpu_slot(pc, copy, cpu);

			for (; n; n = n->next, (*count)++)
				if (((struct node *)n)->seen++ > 0) {
					dup = 1;
					break;
				}
		}
	return dup;
}

static void test_lists(void)
{
	static struct lister l[THREADS];
	long count = 0;
	int dup;

	pc = mbrseq_percpu_create();
	run_threads(lister, l, sizeof(l[0]));
	dup = walk_lists(&count);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < l[i].nheld; k++)
			dup |= l[i].held[k]->seen++ > 0, count++;
	tap_ok(!dup && count == THREADS * NODES,
	       "lists: %d threads x %d push/pop on one slot: %ld of %d nodes, "
	       "%s", THREADS, LIST_OPS, count, THREADS * NODES,
	       dup ? "one seen twice" : "none twice");
	mbrseq_percpu_destroy(pc);
}

/* ---- swap ---- */

struct incr {
	long ops;
};

static int ready;
static volatile long handler_ops;	/* incrementer 0's handler only */

/* Interrupts incrementer 0, mostly inside one of its operations. */
static void nested_add(int sig)
{
	(void)sig;
	if (mbrseq_percpu_add(pc, 0, 1) >= 0)
		handler_ops++;
}

static void *incrementer(void *arg)
{
	struct incr *w = arg;

	/* The first operation allocates the thread's record: not in a
	 * handler. */
	if (mbrseq_percpu_add(pc, 0, 1) >= 0)
		w->ops++;
	__atomic_fetch_add(&ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		if (mbrseq_percpu_add(pc, 0, 1) >= 0)
			w->ops++;
	return NULL;
}

static intptr_t inactive_sum(int copy)
{
	return mbrseq_percpu_sum(pc, copy, 0);
}

static void zero_copy(int copy)
{
	for (int cpu = 0; cpu < pc->nr_cpus; cpu++)
		*(intptr_t *)mbrseq_percpu_slot(pc, copy, cpu) = 0;
}

/* ROUNDS swaps (fenced) or publishes (control) under two incrementers:
 * rounds where the inactive copy changed after the call returned. */
static int swap_rounds(int fenced, long *drained, long *ops)
{
	struct timespec wait = { 0, 2000000 };	/* > a widened operation */
	struct incr w[2] = { { 0 }, { 0 } };
	pthread_t t[2];
	int late = 0;

	pc = mbrseq_percpu_create();
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	ready = 0;
	handler_ops = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, incrementer, &w[i]);
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 2)
		sched_yield();
	*drained = 0;
	for (int r = 0; r < ROUNDS; r++) {
		int old = mbrseq_percpu_active(pc, 0);
		intptr_t before, after;

		pthread_kill(t[0], SIGUSR1);	/* an operation nested in one */
		if (fenced ? mbrseq_swap(pc, -1) : mbrseq_publish(pc, -1))
			late = -1000000;
		before = inactive_sum(old);
		nanosleep(&wait, NULL);
		after = inactive_sum(old);
		late += after != before;
		*drained += after;
		zero_copy(old);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	*drained += mbrseq_percpu_sum(pc, -1, 0);
	*ops = w[0].ops + w[1].ops + handler_ops;
	mbrseq_percpu_destroy(pc);
	return late;
}

static void test_swap(void)
{
	long drained, ops;
	int late = swap_rounds(1, &drained, &ops);

	tap_ok(late == 0 && drained == ops,
	       "swap: %d mbrseq_swap() under 2 incrementers, one signalled "
	       "into a nested add each round (%ld): %d rounds with a late add "
	       "to the inactive copy; drained %ld of %ld adds", ROUNDS,
	       (long)handler_ops, late, drained, ops);
	late = swap_rounds(0, &drained, &ops);
	tap_ok(late > 0,
	       "control, publish without the fence: %d of %d rounds with a "
	       "late add (the harness sees the violation)", late, ROUNDS);
}

int main(void)
{
	char delay[16];

	setenv("MEMBARRIER_RSEQ", "fallback", 1);
	snprintf(delay, sizeof(delay), "%d", TEST_DELAY);
	setenv("MEMBARRIER_RSEQ_TEST_DELAY", delay, 1);
	setenv("MEMBARRIER_RSEQ_TEST_CPU", "0", 1);
	signal(SIGUSR1, nested_add);
	tap_ok(mbrseq_fallback_active() && !mbrseq_available() &&
	       mbrseq_cpu() >= 0,
	       "MEMBARRIER_RSEQ=fallback: the operations run the fallback "
	       "(no critical sections; mbrseq_cpu() from sched_getcpu())");
	test_choice();
	test_counter();
	test_lists();
	test_swap();
	return tap_done();
}
