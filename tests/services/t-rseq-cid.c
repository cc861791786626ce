// SPDX-License-Identifier: MIT
/*
 * Counters indexed by concurrency id (include/membarrier/rseq_cid.h):
 * the sum is exact whatever the ids' source (mm_cid, cpu_id, or
 * sched_getcpu() under the rseq fallback), every id is below the
 * counter's number of slots, and the control (the same harness adding
 * with a plain load and store to one shared slot, yielding between
 * them) loses updates, which shows the sum check detects what the
 * atomic add prevents. With 4 threads yielding to each other inside
 * every add, 80000 adds without a single lost one would need no thread
 * ever to run between another's load and store.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include <membarrier/rseq_cid.h>

#include "lib/tap.h"

#define THREADS	4
#define ADDS	1000000
#define CONTROL_ADDS	20000

static struct mbrseq_cid_counter *counter;
static int control, started, max_id;

static void *adder(void *arg)
{
	int high = 0;

	(void)arg;
	/* Start together, so that the adds overlap. */
	__atomic_fetch_add(&started, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&started, __ATOMIC_RELAXED) < THREADS)
		;
	for (int i = 0; i < (control ? CONTROL_ADDS : ADDS); i++) {
		if (control) {
			/* The mutant: not atomic, and preempted between the
			 * load and the store, as a thread may be anywhere. */
			volatile intptr_t *slot = (volatile intptr_t *)counter->slots;
			intptr_t v = *slot;

			sched_yield();
			*slot = v + 1;
		} else {
			int id = mbrseq_cid_counter_add(counter, 1);

			high = id > high ? id : high;
		}
	}
	for (int m = __atomic_load_n(&max_id, __ATOMIC_RELAXED);
	     m < high && !__atomic_compare_exchange_n(&max_id, &m, high, 1,
						      __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED);)
		;
	return NULL;
}

static intptr_t run(int is_control)
{
	pthread_t t[THREADS];
	intptr_t sum;

	control = is_control;
	started = max_id = 0;
	counter = mbrseq_cid_counter_create();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	sum = mbrseq_cid_counter_sum(counter);
	mbrseq_cid_counter_destroy(counter);
	return sum;
}

int main(void)
{
	const char *source = mbrseq_cid_source();
	intptr_t sum = run(0);

	tap_ok(sum == (intptr_t)THREADS * ADDS && max_id < mbrseq_nr_cpus(),
	       "%d threads x %d adds, ids from %s: sum %ld, highest id %d "
	       "(of %d slots)", THREADS, ADDS, source, (long)sum, max_id,
	       mbrseq_nr_cpus());
	sum = run(1);
	tap_ok(sum < (intptr_t)THREADS * CONTROL_ADDS,
	       "control, a plain add to one shared slot: sum %ld of %ld "
	       "(updates lost: the check sees them)", (long)sum,
	       (long)THREADS * CONTROL_ADDS);
	return tap_done();
}
