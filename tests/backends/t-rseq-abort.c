// SPDX-License-Identifier: MIT
/*
 * PRIVATE_EXPEDITED_RSEQ aborts a real rseq critical section.
 *
 * A thread enters a critical section registered in the rseq area glibc
 * set up for it (__rseq_offset), and spins inside it forever: only an
 * abort (preemption, migration, signal delivery, or the RSEQ membarrier)
 * gets it out, at the abort handler, which counts. After each
 * membarrier(PRIVATE_EXPEDITED_RSEQ) returns, the thread must be out of
 * the section: the abort count grows. The control rounds measure the
 * spontaneous aborts (preemptions) over the same time without a call,
 * which must be rare enough that every round caught by chance is below
 * 1e-4: the test can see a barrier that aborts nothing.
 *
 * Runs on whatever backend MEMBARRIER_BACKEND selects.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/rseq.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "rseq_probe.h"
#include "cpus.h"
#include "lib/tap.h"

#define RSEQ_CMD MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ
#define ROUNDS 80

/* Shared with the section's thread: atomics, so that ThreadSanitizer
 * sees them (the asm's store to in_cs is invisible to it either way). */
static unsigned long aborts;
static int in_cs, quit;
static int cs_cpu = -1;

#define GET(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)


/* Keep the caller and the section on different CPUs, when there are two:
 * else the caller's own running preempts (and aborts) the section. */
static int cpus[2] = { -1, -1 };


static void *cs_thread(void *arg)
{
	struct rseq *rs;

	(void)arg;
	cpus_pin_self(cpus[1]);
	rs = rseq_probe_area();
	while (!GET(quit)) {
		SET(cs_cpu, (int)rs->cpu_id);
		rseq_probe_spin(rs, &in_cs);
		/* Only an abort gets here. */
		SET(in_cs, 0);
		SET(aborts, GET(aborts) + 1);
	}
	return NULL;
}

static void wait_in_cs(void)
{
	while (!GET(in_cs))
		sched_yield();
}

static uint64_t now_ns(void);

/*
 * After a call returns, the section must have been left: the abort lands
 * when the thread returns to user mode, microseconds later, or when it
 * next runs if other load holds its CPU. Spin for it (up to 2 s,
 * yielding, for a loaded machine).
 */
static int aborted_since(unsigned long before)
{
	uint64_t t0 = now_ns();

	while (GET(aborts) == before && now_ns() - t0 < 2000000000ull)
		sched_yield();
	return GET(aborts) != before;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Each round: a call, and the time until the section was left; then the
 * control: the same time without a call, counting spontaneous aborts
 * (preemptions by other load), which must be rarer.
 */
static int run_rounds(unsigned int flags, int cpu, int *spontaneous)
{
	int caught = 0;

	*spontaneous = 0;
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long before;
		uint64_t t0, d;

		wait_in_cs();
		before = GET(aborts);
		t0 = now_ns();
		if (membarrier(RSEQ_CMD, flags, cpu))
			return -errno;
		caught += aborted_since(before);
		d = now_ns() - t0;
		wait_in_cs();
		before = GET(aborts);
		t0 = now_ns();
		while (now_ns() - t0 < d)
			sched_yield();
		*spontaneous += GET(aborts) != before;
	}
	return caught;
}

/*
 * The control's verdict. On a loaded machine preemptions abort too: if
 * the barrier did nothing, each round would still count as caught with
 * the spontaneous rate p = spontaneous / ROUNDS, and all ROUNDS with
 * probability p^ROUNDS. Judged below 1e-4 (80 rounds: up to 71
 * spontaneous aborts), so no retry is needed.
 */
static int not_by_chance(int spontaneous)
{
	double p = 1;

	for (int r = 0; r < ROUNDS; r++)
		p *= (double)spontaneous / ROUNDS;
	return p < 1e-4;
}

int main(void)
{
	pthread_t t;
	int caught, spont, ret;

	if (__rseq_size == 0)
		tap_skip_all("the C library registered no rseq area "
			     "(kernel without rseq, qemu-user, or glibc.pthread.rseq=0)");
	if (!(membarrier(MEMBARRIER_CMD_QUERY, 0, 0) & RSEQ_CMD))
		tap_skip_all("PRIVATE_EXPEDITED_RSEQ is not offered here");
	ret = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0);
	tap_ok(ret == 0, "REGISTER_PRIVATE_EXPEDITED_RSEQ (backend %s)",
	       membarrier_backend_name(membarrier_backend_of(RSEQ_CMD)));
	alarm(600);
	cpus_pick_two(cpus);
	cpus_pin_self(cpus[0]);
	pthread_create(&t, NULL, cs_thread, NULL);

	caught = run_rounds(0, 0, &spont);
	tap_ok(caught == ROUNDS && not_by_chance(spont),
	       "every RSEQ barrier aborted the critical section (%d/%d); "
	       "spontaneous aborts over the same time: %d/%d",
	       caught, ROUNDS, spont, ROUNDS);

	wait_in_cs();
	caught = run_rounds(MEMBARRIER_CMD_FLAG_CPU, GET(cs_cpu), &spont);
	tap_ok(caught == ROUNDS && not_by_chance(spont),
	       "FLAG_CPU on the section's CPU (%d) aborted it (%d/%d); "
	       "spontaneous: %d/%d", GET(cs_cpu), caught, ROUNDS, spont, ROUNDS);

	SET(quit, 1);
	/* Let it out: one more abort. */
	while (GET(in_cs))
		membarrier(RSEQ_CMD, 0, 0);
	pthread_join(t, NULL);
	return tap_done();
}
