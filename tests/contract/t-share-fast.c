// SPDX-License-Identifier: MIT
/*
 * Callers whose own barriers overlap turn sharing on, on the library's
 * real paths (membarrier()'s fast path to the kernel, src/core/
 * dispatch.c, or the slow path's mbi_share_alone() on the emulated
 * backend): t-share-protocol tests the switch on share.c compiled into
 * it, not the fast path, whose detection is its own code.
 *
 * Two threads, each pinned to a CPU of its own, call
 * membarrier(PRIVATE_EXPEDITED) back to back, each call timed
 * (CLOCK_MONOTONIC), so that the test knows from the calls alone
 * how many of them overlapped a call of the other thread. Sharing on
 * shows in the library's share slot (found in its symbol table,
 * tests/lib/libsym.h): the count of barriers completed through the
 * protocol advances. The main thread polls it and stops the callers once
 * it moves.
 *  - The count moved: sharing turned on.
 *  - It did not, though OVERLAPS_MIN short calls (under 100 us: not
 *    preempted) overlapped: the detection is missing (the mutant
 *    share-fast-blind). A working detection misses an overlap only when
 *    both callers re-read the count before either stores it, a few
 *    instructions after system calls that take microseconds each, or
 *    when a thread is preempted in the few instructions between its
 *    clock read and the library's count read (about 1 in 100 of the
 *    instants of a call; it then counts at most the 20 or so calls
 *    the other makes in 100 us): OVERLAPS_MIN misses in a row, with no
 *    overlap seen, do not happen.
 *  - Fewer overlaps (the two threads seldom ran at once: a loaded
 *    machine, one CPU): skipped with the figures.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membarrier.h>

#include "core/core.h"
#include "lib/clock.h"
#include "lib/libsym.h"
#include "lib/tap.h"

enum { CALLS_MAX = 100000, OVERLAPS_MIN = 200 };

/* A call this long was preempted (a barrier takes microseconds). */
#define SHORT_NS	100000u

struct interval {
	uint64_t t0, t1;
};

struct caller {
	pthread_t thread;
	struct interval *calls;
	int n, failed, cpu;
};

static int stop, go;

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	cpu_set_t one;

	/* One CPU each: they run at once whenever both are scheduled. */
	CPU_ZERO(&one);
	CPU_SET(c->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	while (c->n < CALLS_MAX && !__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct interval *in = &c->calls[c->n];

		in->t0 = test_now_ns();
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
			c->failed = errno;
		in->t1 = test_now_ns();
		__atomic_store_n(&c->n, c->n + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int is_short(const struct interval *in)
{
	return in->t1 - in->t0 <= SHORT_NS;
}

/*
 * Short calls of a that overlapped a short call of b (both in time
 * order). A call is timed from a little before the library reads the
 * count to a little after it reads it again: a thread preempted in
 * between those instants would make its call look concurrent with every
 * call the other made meanwhile, undetectably; it also makes its call
 * long, and long calls are not counted.
 */
static int overlapping(const struct caller *a, const struct caller *b)
{
	int n = 0, j = 0;

	for (int i = 0; i < a->n; i++) {
		const struct interval *x = &a->calls[i];

		while (j < b->n && b->calls[j].t1 <= x->t0)
			j++;
		if (!is_short(x))
			continue;
		for (int k = j; k < b->n && b->calls[k].t0 < x->t1; k++)
			if (is_short(&b->calls[k])) {
				n++;
				break;
			}
	}
	return n;
}

/* The barriers completed through the protocol, over every slot. */
static uint32_t shared_count(const struct mbi_share_slot *slots)
{
	uint32_t sum = 0;

	for (int i = 0; i < MBI_SHARE_SLOTS; i++)
		sum += __atomic_load_n(&slots[i].word, __ATOMIC_RELAXED) /
		       MBI_SHARE_COUNT_ONE;
	return sum;
}

int main(void)
{
	static struct interval calls[2][CALLS_MAX];
	struct caller c[2] = { { .calls = calls[0] }, { .calls = calls[1] } };
	const char *why = NULL;
	size_t size = 0;
	const struct mbi_share_slot *slots =
		libsym_object("mbi_share_slots", &size, &why);
	uint32_t before;
	int moved = 0, overlaps;
	cpu_set_t cpus;

	if (!slots)
		tap_skip_all(why);
	if (size != sizeof(struct mbi_share_slot) * MBI_SHARE_SLOTS)
		tap_skip_all("the library's share slots are not this test's "
			     "layout");
	if (sched_getaffinity(0, sizeof(cpus), &cpus) || CPU_COUNT(&cpus) < 2)
		tap_skip_all("one CPU: the callers never run at once");
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		tap_skip_all("REGISTER_PRIVATE_EXPEDITED failed");
	before = shared_count(slots);
	for (int i = 0, cpu = 0; i < 2; i++, cpu++) {
		int rc;

		while (!CPU_ISSET(cpu, &cpus))
			cpu++;
		c[i].cpu = cpu;
		rc = pthread_create(&c[i].thread, NULL, caller_main, &c[i]);

		if (rc) {
			tap_ok(0, "pthread_create: %s", strerror(rc));
			return tap_done();	/* exit: no thread left waiting */
		}
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int ms = 0; ms < 10000 && !moved; ms++) {
		usleep(1000);
		moved = shared_count(slots) != before;
		if (__atomic_load_n(&c[0].n, __ATOMIC_RELAXED) >= CALLS_MAX &&
		    __atomic_load_n(&c[1].n, __ATOMIC_RELAXED) >= CALLS_MAX)
			break;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(c[i].thread, NULL);
	moved = shared_count(slots) != before;
	overlaps = overlapping(&c[0], &c[1]) + overlapping(&c[1], &c[0]);
	tap_ok(!c[0].failed && !c[1].failed, "every call returned 0 (%s)",
	       membarrier_mechanism(MEMBARRIER_CMD_PRIVATE_EXPEDITED));
	if (!moved && overlaps < OVERLAPS_MIN)
		tap_skip("the callers seldom ran at once", "%d of %d + %d calls "
			 "overlapped another's, no shared barrier", overlaps,
			 c[0].n, c[1].n);
	else
		tap_ok(moved, "callers whose barriers overlapped turned sharing "
		       "on (%d + %d calls, %d of them overlapping another's, "
		       "shared barriers %s)", c[0].n, c[1].n, overlaps,
		       moved ? "completed" : "never");
	return tap_done();
}
