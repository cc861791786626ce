// SPDX-License-Identifier: MIT
/*
 * rseq per-CPU counter: every increment counted exactly once.
 *
 * More threads than CPUs add to per-CPU counters through
 * mbrseq_percpu_add(), so they are preempted and migrated inside the
 * critical sections (the kernel aborts, the operation retries). Each
 * thread tallies its adds by the CPU the call reports; afterwards every
 * CPU's slot must equal the sum of the tallies for that CPU, at two
 * offsets of the slot, with positive and negative increments.
 *
 * Control, same run: the same workload with a plain load, add, store on
 * the slot of sched_getcpu()'s CPU (not restartable) must lose updates,
 * so the check can see a lost update.
 */
#include "t-rseq-util.h"

#define NTHREADS	4
#define RUN_NS		300000000ull	/* per workload, at least */
#define MIN_ADDS	4096		/* per thread, at least */
#define OFF_A		0
#define OFF_B		sizeof(intptr_t)

struct worker {
	pthread_t tid;
	struct mbrseq_percpu *pc;
	intptr_t *plain;		/* the control's slots, or NULL */
	long *tally_a, *tally_b;	/* per CPU */
	long errors;
	long adds;			/* so far, read by the main thread */
};

static int stop;
static int nr_cpus;

static void add_rseq(struct worker *w, unsigned long i)
{
	int cpu;

	if (i & 1) {
		cpu = mbrseq_percpu_add(w->pc, OFF_B, -2);
		if (cpu >= 0 && cpu < nr_cpus)
			w->tally_b[cpu]++;
	} else {
		cpu = mbrseq_percpu_add(w->pc, OFF_A, 1);
		if (cpu >= 0 && cpu < nr_cpus)
			w->tally_a[cpu]++;
	}
	if (cpu < 0 || cpu >= nr_cpus)
		w->errors++;
}

/* The control: what a per-CPU counter without rseq does. The pauses
 * widen the window a preemption must hit, to see it in a short run. */
static void add_plain(struct worker *w)
{
	int cpu = sched_getcpu();
	intptr_t *slot, v;

	if (cpu < 0 || cpu >= nr_cpus) {
		w->errors++;
		return;
	}
	slot = (intptr_t *)((char *)w->plain +
			    ((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT));
	v = __atomic_load_n(slot, __ATOMIC_RELAXED);
	for (int k = 0; k < 20; k++)
		membarrier_arch_relax();
	__atomic_store_n(slot, v + 1, __ATOMIC_RELAXED);
	w->tally_a[cpu]++;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	unsigned long i = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int k = 0; k < 256; k++, i++) {
			if (w->plain)
				add_plain(w);
			else
				add_rseq(w, i);
		}
		__atomic_store_n(&w->adds, (long)i, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Run NTHREADS workers for RUN_NS and until each made MIN_ADDS adds. */
static void run(struct worker *w, struct mbrseq_percpu *pc, intptr_t *plain)
{
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int t = 0; t < NTHREADS; t++) {
		w[t].pc = pc;
		w[t].plain = plain;
		w[t].errors = 0;
		w[t].adds = 0;
		memset(w[t].tally_a, 0, sizeof(long) * (size_t)nr_cpus);
		memset(w[t].tally_b, 0, sizeof(long) * (size_t)nr_cpus);
		rt_start(&w[t].tid, worker, &w[t]);
	}
	rt_run_until(RUN_NS, &w[0].adds, sizeof(*w), NTHREADS, MIN_ADDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(w[t].tid, NULL);
}

static long tally(struct worker *w, int b, int cpu)
{
	long n = 0;

	for (int t = 0; t < NTHREADS; t++)
		n += b ? w[t].tally_b[cpu] : w[t].tally_a[cpu];
	return n;
}

static intptr_t slot_value(struct mbrseq_percpu *pc, int cpu, size_t off)
{
	return *(intptr_t *)((char *)mbrseq_percpu_slot(pc, 0, cpu) + off);
}

static void check_single(void)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	int bad = 0;

	for (int i = 0; i < 1000; i++) {
		int cpu = mbrseq_percpu_add(pc, OFF_A, 3);

		bad += cpu < 0 || cpu >= pc->nr_cpus;
	}
	tap_ok(!bad && mbrseq_percpu_sum(pc, 0, OFF_A) == 3000 &&
	       mbrseq_percpu_sum(pc, 1, OFF_A) == 0,
	       "one thread: 1000 adds of 3 sum to %ld in the active copy, "
	       "0 in the other (%d bad CPU numbers)",
	       (long)mbrseq_percpu_sum(pc, 0, OFF_A), bad);
	mbrseq_percpu_destroy(pc);
}

static void check_threads(struct worker *w)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	long adds = 0, errors = 0, mismatched = 0;

	run(w, pc, NULL);
	for (int t = 0; t < NTHREADS; t++)
		errors += w[t].errors;
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		long a = tally(w, 0, cpu), b = tally(w, 1, cpu);

		adds += a + b;
		if (slot_value(pc, cpu, OFF_A) != a ||
		    slot_value(pc, cpu, OFF_B) != -2 * b) {
			mismatched++;
			tap_diag("cpu %d: +1 slot %ld, tallies %ld; -2 slot %ld, "
				 "tallies %ld", cpu, (long)slot_value(pc, cpu, OFF_A),
				 a, (long)slot_value(pc, cpu, OFF_B), -2 * b);
		}
	}
	tap_ok(!errors && !mismatched && adds > 0,
	       "%d threads, %ld adds: every CPU's slots equal the adds made "
	       "on it, at two offsets (%ld CPUs mismatched, %ld errors)",
	       NTHREADS, adds, mismatched, errors);
	mbrseq_percpu_destroy(pc);
}

static long control_once(struct worker *w, long *adds)
{
	size_t bytes = (size_t)nr_cpus << MBRSEQ_ARCH_SLOT_SHIFT;
	intptr_t *plain = aligned_alloc(MBRSEQ_SLOT_SIZE, bytes);
	intptr_t sum = 0;

	memset(plain, 0, bytes);
	run(w, NULL, plain);
	*adds = 0;
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		*adds += tally(w, 0, cpu);
		sum += *(intptr_t *)((char *)plain +
				     ((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT));
	}
	free(plain);
	return *adds - (long)sum;
}

/*
 * One run, as long as the check's. How often it misses, measured here
 * (load average 20 to 50 on 2 CPUs): a run a thirtieth as long (10 ms,
 * one batch of 256 adds per thread at least) lost updates in 1000 of
 * 1000 runs, so such a run misses with probability under 3e-3 (95%
 * confidence); the full run spans 16 of them by its adds (30 by its
 * time) and misses only if all do: under (3e-3)^16, far below 1e-4.
 * 0 misses in 200 full runs; without the floor on adds, 4 of 200 full
 * runs made no add at all.
 */
static void check_control(struct worker *w)
{
	long adds, lost = control_once(w, &adds);

	tap_ok(lost > 0, "control: a plain per-CPU load/add/store loses "
	       "updates under the same load (%ld of %ld lost)", lost, adds);
}

static void body(const struct rt_config *cfg)
{
	struct worker w[NTHREADS];

	(void)cfg;
	nr_cpus = mbrseq_nr_cpus();
	for (int t = 0; t < NTHREADS; t++) {
		w[t].tally_a = calloc((size_t)nr_cpus, sizeof(long));
		w[t].tally_b = calloc((size_t)nr_cpus, sizeof(long));
	}
	check_single();
	check_threads(w);
	check_control(w);
	for (int t = 0; t < NTHREADS; t++) {
		free(w[t].tally_a);
		free(w[t].tally_b);
	}
}

/*
 * Without rseq (qemu-user runs the aarch64 build here): the section's
 * straight-line path, on an area no kernel watches, CPU 0. Aborts are
 * not exercised.
 */
static void no_rseq(void)
{
	static struct mbrseq_abi fake;
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	int bad = 0;

	for (int i = 1; i <= 10; i++)
		bad += mbrseq_cs_add(&fake, pc->ctl, OFF_B, i) != 0;
	tap_ok(!bad && mbrseq_percpu_sum(pc, 0, OFF_B) == 55 &&
	       mbrseq_percpu_sum(pc, 0, OFF_A) == 0,
	       "straight-line add on an unregistered area (no rseq here): "
	       "sum %ld", (long)mbrseq_percpu_sum(pc, 0, OFF_B));
	mbrseq_percpu_destroy(pc);
}

int main(void)
{
	return rt_main(body, no_rseq);
}
