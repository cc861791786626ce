// SPDX-License-Identifier: MIT
/*
 * The sharing protocol (src/core/share.c) against a mock barrier whose
 * every run is numbered: each caller must return only once a barrier
 * that BEGAN AFTER its call began has completed, and with its result.
 *
 * share.c and the futex helpers are compiled into this program with a
 * mock mbi_backend_call() (the library's copies are hidden), so that
 * the barriers' begin/complete order is known exactly, and their length
 * chosen: 50 us (callers meet: most calls sleep on the futex, and
 * leaders run the next barrier for sleepers) and 3 us (about a kernel
 * barrier with an IPI on a 2-CPU guest: sleeps race with completions):
 *  - k+1, not k: a caller reads the number of barriers begun before its
 *    call; on return, at least one more must have completed (the mutant
 *    that accepts the running barrier fails this at the first meeting);
 *  - failures: a barrier that fails serves nobody; every caller gets
 *    an error of its own, none a false success;
 *  - signal handlers: a handler on the thread that leads a barrier,
 *    calling a barrier itself, must not wait on its own thread (the
 *    mutant without the leader's tag hangs; the watchdog fails it);
 *  - when: a lone caller runs its own barriers, with no RMW of the
 *    word; callers that meet turn sharing on; MBI_SHARE_LONELY lonely
 *    shared barriers turn it off;
 *  - waiting: followers of 50 ms barriers use almost no CPU while they
 *    wait (their thread CPU clocks), where the control, a thread
 *    spinning through the same wait, uses most of its wall time.
 * Deterministic: each assertion holds on every interleaving.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Count the followers' futex sleeps (a diagnostic: which ways waited). */
#define mbi_futex_wait_bits counted_futex_wait_bits
/* Sharing turns off after share_lonely lonely barriers (core.h). */
static unsigned int share_lonely = ~0u;
#define MBI_SHARE_LONELY share_lonely
#include "core/share.c"
#undef mbi_futex_wait_bits
void mbi_futex_wait_bits(uint32_t *addr, uint32_t val, uint32_t bits);
#include "sys/futex.c"

static unsigned long futex_sleeps;

void counted_futex_wait_bits(uint32_t *addr, uint32_t val, uint32_t bits)
{
	__atomic_fetch_add(&futex_sleeps, 1, __ATOMIC_RELAXED);
	mbi_futex_wait_bits(addr, val, bits);
}

#include "lib/clock.h"
#include "lib/tap.h"

int mbi_stats_on;
/* The fast path's gate (dispatch.c): PRIVATE_EXPEDITED allowed, open. */
unsigned int mbi_fast_allowed = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
unsigned int mbi_fast_cmds = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
static unsigned long shared_calls;

void mbi_stats_count_shared(int cmd, enum mbi_stats_by by)
{
	(void)cmd;
	(void)by;
	__atomic_fetch_add(&shared_calls, 1, __ATOMIC_RELAXED);
}

static unsigned long begun, completed;
static int fail_all;
static int in_barrier_overlap;	/* two mock barriers at once: a bug */
static int running;
/* 50 and 1000 or more: usleep; else a busy wait. */
static unsigned int barrier_us = 50;

static void busy_us(unsigned int us)
{
	uint64_t end = test_now_ns() + (uint64_t)us * 1000;

	while (test_now_ns() < end)
		;
}

long mbi_backend_call(int backend, int cmd, unsigned int flags, int cpu_id)
{
	(void)backend; (void)cmd; (void)flags; (void)cpu_id;
	if (__atomic_fetch_add(&running, 1, __ATOMIC_SEQ_CST))
		__atomic_store_n(&in_barrier_overlap, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&begun, 1, __ATOMIC_SEQ_CST);
	if (barrier_us == 50 || barrier_us >= 1000)
		usleep(barrier_us);
	else
		busy_us(barrier_us);
	__atomic_fetch_sub(&running, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&fail_all, __ATOMIC_RELAXED))
		return -EINTR;
	__atomic_fetch_add(&completed, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static long barrier(void)
{
	return mbi_share_barrier(MEMBARRIER_BACKEND_EMULATED,
				 MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, -1,
				 MBI_BY_PROGRAM);
}

enum { THREADS = 4 };

static unsigned long early, wrong_result;
static int calls = 400, ready;

static void *caller(void *arg)
{
	(void)arg;
	/* Start together: short barriers run out before a late start. */
	__atomic_fetch_add(&ready, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&ready, __ATOMIC_RELAXED) < THREADS)
		sched_yield();
	for (int i = 0; i < calls; i++) {
		unsigned long before = __atomic_load_n(&begun, __ATOMIC_SEQ_CST);
		long ret = barrier();

		if (ret != (fail_all ? -EINTR : 0))
			__atomic_fetch_add(&wrong_result, 1, __ATOMIC_RELAXED);
		if (!fail_all &&
		    __atomic_load_n(&completed, __ATOMIC_SEQ_CST) < before + 1)
			__atomic_fetch_add(&early, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run_callers(void)
{
	pthread_t t[THREADS];

	ready = 0;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

/*
 * A barrier that began before a call may not serve it. Barriers run one
 * at a time, numbered in order: those begun before the call (before)
 * may complete, but one more must have when it returns.
 */
static void test_next_barrier(unsigned int us, int n)
{
	unsigned long c0 = completed, s0 = shared_calls;

	barrier_us = us;
	calls = n;
	early = wrong_result = futex_sleeps = 0;
	run_callers();
	tap_ok(!early, "%u us barriers, %d callers x %d: every call returned "
	       "after a barrier begun after it (%lu early)", us, THREADS, n,
	       early);
	tap_ok(!wrong_result, "%u us: every call returned 0", us);
	/* Barriers no call led: leaders served sleepers (share_wake()). */
	tap_diag("%u us: %lu barriers for %d calls (%lu shared, %lu futex "
		 "sleeps, %ld barriers run for sleepers)", us, completed - c0,
		 THREADS * n, shared_calls - s0, futex_sleeps,
		 (long)(completed - c0) -
		 (long)(THREADS * n - (shared_calls - s0)));
	/*
	 * 50 us barriers always meet: a caller arriving in the 50 us
	 * another's takes shares (not guaranteed for 3 us ones on a
	 * loaded machine, whose callers may run one at a time).
	 */
	if (us == 50)
		tap_ok(shared_calls > s0 && completed - c0 < (unsigned long)THREADS * n,
		       "%u us: calls shared barriers", us);
	tap_ok(!in_barrier_overlap, "%u us: one leader at a time", us);
}

static void test_failures(void)
{
	wrong_result = 0;
	fail_all = 1;
	run_callers();
	fail_all = 0;
	tap_ok(!wrong_result, "failing barriers: every caller gets its own "
	       "error, none a success");
}

/* ---- a handler that calls a barrier on the leader's thread ---- */

static volatile sig_atomic_t handler_calls, handler_bad;

static void on_timer(int sig)
{
	(void)sig;
	if (barrier())
		handler_bad = 1;
	handler_calls++;
}

/* A hang fails the test instead of hanging it. */
static void *watchdog(void *arg)
{
	static const char msg[] = "not ok - hang: a handler waited on its "
				  "own thread\n";

	(void)arg;
	sleep(20);	/* the test takes well under a second */
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void test_handler(void)
{
	struct itimerval it = { { 0, 397 }, { 0, 397 } };
	struct sigaction sa;
	sigset_t set;
	pthread_t w;

	/*
	 * The period (397 us) outlasts a barrier in the handler (50 us):
	 * the loop runs between handlers. The watchdog never takes it.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&w, NULL, watchdog, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 20000 && handler_calls < 200; i++)
		if (barrier())
			handler_bad = 1;
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	tap_ok(!handler_bad && handler_calls > 0, "a barrier from a handler "
	       "interrupting one on its thread: no deadlock, no failure (%d "
	       "handler calls)", (int)handler_calls);
}

static struct mbi_share_slot *slot(void)
{
	return mbi_share_slot_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
}

/* A lone caller: its own barriers, the word untouched, sharing off. */
static void test_alone(void)
{
	uint32_t w0 = __atomic_load_n(&slot()->word, __ATOMIC_RELAXED);
	unsigned long b0 = begun;
	int bad = 0;

	barrier_us = 3;
	for (int i = 0; i < 1000; i++)
		bad |= barrier() != 0;
	tap_ok(!bad && begun - b0 == 1000 &&
	       __atomic_load_n(&slot()->word, __ATOMIC_RELAXED) == w0 &&
	       !__atomic_load_n(&slot()->shared, __ATOMIC_RELAXED),
	       "a lone caller: 1000 barriers of its own, no RMW of the word, "
	       "sharing off");
}

/* Callers that meet turn sharing on, and share (50 us barriers meet). */
static void test_switch_on(void)
{
	unsigned long s0 = shared_calls;

	barrier_us = 50;
	calls = 100;
	run_callers();
	tap_ok(__atomic_load_n(&slot()->shared, __ATOMIC_RELAXED) &&
	       shared_calls > s0, "4 callers meeting: sharing turned on (%lu "
	       "calls shared)", shared_calls - s0);
	tap_ok(!(__atomic_load_n(&mbi_fast_cmds, __ATOMIC_RELAXED) &
		 MEMBARRIER_CMD_PRIVATE_EXPEDITED),
	       "sharing on: the fast path's gate shut for the command");
	in_barrier_overlap = 0;	/* the switch: own and shared may overlap */
}

/* MBI_SHARE_LONELY shared barriers that served nobody turn it off. */
static void test_switch_off(void)
{
	int on_before = __atomic_load_n(&slot()->shared, __ATOMIC_RELAXED);

	share_lonely = 64;
	barrier_us = 3;
	for (int i = 0; i < 64; i++)
		barrier();
	tap_ok(on_before && !__atomic_load_n(&slot()->shared, __ATOMIC_RELAXED),
	       "64 lonely shared barriers (the limit set to 64): sharing off");
	tap_ok(__atomic_load_n(&mbi_fast_cmds, __ATOMIC_RELAXED) ==
	       MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	       "sharing off: the gate open again for the command, no other");
	share_lonely = ~0u;
}

/*
 * The gate shut while sharing is off (a switch that raced another) is
 * opened by the next barrier of the slow path; a fork child starts with
 * sharing off and the gate open.
 */
static void test_gate_mended(void)
{
	const unsigned int pe = MEMBARRIER_CMD_PRIVATE_EXPEDITED;

	__atomic_store_n(&mbi_fast_cmds, 0, __ATOMIC_RELAXED);
	barrier();
	tap_ok(!__atomic_load_n(&slot()->shared, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&mbi_fast_cmds, __ATOMIC_RELAXED) == pe,
	       "the gate shut with sharing off: one barrier opens it");
	__atomic_store_n(&slot()->shared, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&mbi_fast_cmds, 0, __ATOMIC_RELAXED);
	share_atfork_child();
	tap_ok(!__atomic_load_n(&slot()->shared, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&mbi_fast_cmds, __ATOMIC_RELAXED) == pe,
	       "a fork child: sharing off, the gate open");
}

/* ---- waiting: followers sleep ---- */

enum { FOLLOWERS = 3, LONG_US = 50000 };
static int leader_done;

struct wait_use {
	uint64_t cpu, wall;
	int spin;		/* the control: spin until the barrier ends */
	int seen;		/* it came while the leader's barrier ran */
};

/* Starts once the leader's barrier runs: a follower (or the control). */
static void *follower(void *arg)
{
	struct wait_use *u = arg;
	uint64_t c0, w0;

	/* Too late for the leader's barrier (not run for 50 ms): no use. */
	while (!__atomic_load_n(&running, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&leader_done, __ATOMIC_SEQ_CST))
			return NULL;
		sched_yield();
	}
	u->seen = 1;
	c0 = test_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w0 = test_now_ns();
	if (u->spin)
		while (__atomic_load_n(&running, __ATOMIC_SEQ_CST))
			membarrier_arch_relax();
	else
		barrier();
	u->cpu = test_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	u->wall = test_now_ns() - w0;
	return NULL;
}

/* CPU and wall time of n waiters behind one leader's long barrier. */
static void wait_round(struct wait_use *u, int n, int spin)
{
	pthread_t t[FOLLOWERS];

	leader_done = 0;
	for (int i = 0; i < n; i++) {
		memset(&u[i], 0, sizeof(u[i]));
		u[i].spin = spin;
		pthread_create(&t[i], NULL, follower, &u[i]);
	}
	barrier();	/* leads: sharing is on, nobody else runs one */
	__atomic_store_n(&leader_done, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void test_followers_sleep(void)
{
	struct wait_use u[FOLLOWERS], ctl;
	uint64_t cpu = 0, wall = 0;
	int n = 0;

	barrier_us = LONG_US;
	__atomic_store_n(&slot()->shared, 1, __ATOMIC_RELAXED);
	wait_round(u, FOLLOWERS, 0);
	for (int i = 0; i < FOLLOWERS; i++)
		if (u[i].seen)
			cpu += u[i].cpu, wall += u[i].wall, n++;
	/* Each waits out the rest of the first barrier and a whole next. */
	tap_ok(n > 0 && wall >= (uint64_t)n * LONG_US * 1000 && cpu * 4 < wall,
	       "%d of %d followers of %d ms barriers: %.2f ms CPU in %.1f ms "
	       "of waiting (under a quarter)", n, FOLLOWERS, LONG_US / 1000,
	       (double)cpu / 1e6, (double)wall / 1e6);
	wait_round(&ctl, 1, 1);
	tap_ok(ctl.seen && ctl.cpu * 4 >= ctl.wall,
	       "control, a waiter that spins: %.1f ms CPU in %.1f ms (the "
	       "clocks see spinning)", (double)ctl.cpu / 1e6,
	       (double)ctl.wall / 1e6);
}

int main(void)
{
	mbi_stats_on = 1;	/* counts shared calls (mock accounting) */
	test_alone();
	test_switch_on();
	/* The protocol itself, sharing held on. */
	test_next_barrier(50, 400);
	test_next_barrier(3, 4000);
	test_failures();
	test_handler();
	test_followers_sleep();
	test_switch_off();
	test_gate_mended();
	return tap_done();
}
