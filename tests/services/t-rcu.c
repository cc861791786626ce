// SPDX-License-Identifier: MIT
/*
 * RCU behaviour, for each flavor: registration, nesting, a reader blocked
 * for 200 ms (synchronize ends after it leaves, not before), grace-period
 * sharing, call_rcu ordering and barrier, fork with callbacks pending and
 * from inside a critical section, threads that exit without
 * unregistering (inside a critical section too). Under qemu-user the
 * fork with callbacks pending is skipped: the child of a threaded guest
 * cannot start a thread there (qemu 7.2 aborts).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/rcu.h>
#include <membarrier/rcu_fence.h>

#include "lib/tap.h"
#include "services/rcu-flavors.h"

static const struct flavor flavors[] = { FLAVOR_MBRCU, FLAVOR_MBRCU_FENCE };

static const struct flavor *fl;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t period(void)
{
	return __atomic_load_n(&fl->gp->ctr, __ATOMIC_RELAXED) >> MBRCU_NEST_BITS;
}

/* Flags set by helper threads, read by the test. */
static int flag(int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void set(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static void wait_flag(int *p)
{
	while (!flag(p))
		sleep_ms(1);
}

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg)) {
		printf("Bail out! pthread_create failed\n");
		exit(1);
	}
	return t;
}

/* ---- protected pointers ---- */

static void test_pointers(void)
{
	static int a = 1, b = 2, c = 3;
	int *p = NULL, *old, *seen;

	mbrcu_assign_pointer(p, &a);
	old = mbrcu_xchg_pointer(&p, &b);
	seen = mbrcu_dereference(p);
	tap_ok(old == &a && seen == &b, "assign, xchg, dereference");
	old = mbrcu_cmpxchg_pointer(&p, &a, &c);	/* p is &b: fails */
	seen = mbrcu_dereference(p);
	tap_ok(old == &b && seen == &b, "cmpxchg with a stale old fails, "
	       "returns the current value");
	old = mbrcu_cmpxchg_pointer(&p, &b, &c);
	tap_ok(old == &b && mbrcu_dereference(p) == &c, "cmpxchg with the "
	       "current value succeeds");
}

/* ---- registration, nesting ---- */

static void test_register(void)
{
	int a = fl->reg(), b = fl->reg(), inside, nested, after;

	tap_ok(a == 0 && b == 0, "%s: register twice: %d, %d", fl->name, a, b);
	fl->lock();
	inside = fl->ongoing();
	fl->lock();
	fl->unlock();
	nested = fl->ongoing();
	fl->unlock();
	after = fl->ongoing();
	tap_ok(inside && nested && !after,
	       "%s: read_ongoing inside, after an inner unlock, and after",
	       fl->name);
}

struct nest {
	int ready, inner_done, outer_done;
};

static void *nest_reader(void *arg)
{
	struct nest *n = arg;

	fl->reg();
	fl->lock();
	fl->lock();
	set(&n->ready, 1);
	sleep_ms(30);
	set(&n->inner_done, 1);
	fl->unlock();
	sleep_ms(100);
	set(&n->outer_done, 1);
	fl->unlock();
	fl->unreg();
	return NULL;
}

static void test_nesting(void)
{
	struct nest n = { 0 };
	pthread_t t = spawn(nest_reader, &n);
	int outer;

	wait_flag(&n.ready);
	fl->sync();
	outer = flag(&n.outer_done);
	pthread_join(t, NULL);
	tap_ok(outer, "%s: synchronize waits for the outermost unlock, not "
	       "the inner one", fl->name);
}

/* ---- a reader blocked for 200 ms ---- */

struct blocked {
	unsigned int ms;
	int ready, leaving;
	uint64_t left_at;
};

static void *blocked_reader(void *arg)
{
	struct blocked *b = arg;

	fl->reg();
	fl->lock();
	set(&b->ready, 1);
	sleep_ms(b->ms);
	b->left_at = now_ms();
	set(&b->leaving, 1);
	fl->unlock();
	fl->unreg();
	return NULL;
}

static void test_blocked_reader(void)
{
	struct blocked b = { .ms = 200 };
	pthread_t t = spawn(blocked_reader, &b);
	uint64_t t0, t1;
	int leaving;

	wait_flag(&b.ready);
	t0 = now_ms();
	fl->sync();
	t1 = now_ms();
	leaving = flag(&b.leaving);
	pthread_join(t, NULL);
	tap_ok(leaving && t1 - t0 >= 150,
	       "%s: synchronize does not end before a reader blocked for "
	       "200 ms leaves (%llu ms)", fl->name,
	       (unsigned long long)(t1 - t0));
	tap_ok(leaving && t1 - b.left_at < 1000,
	       "%s: and ends once it leaves (%llu ms later)", fl->name,
	       (unsigned long long)(t1 - b.left_at));
}

/* ---- grace-period sharing ---- */

static void *sync_thread(void *arg)
{
	(void)arg;
	fl->sync();
	return NULL;
}

/*
 * A blocks in a grace period behind a reader; B, C and D arrive during
 * it and must share the next one: two grace periods in all.
 */
static void test_sharing(void)
{
	struct blocked b = { .ms = 150 };
	pthread_t r, t[4];
	uint64_t p0;

	fl->barrier();		/* nothing pending in this flavor */
	r = spawn(blocked_reader, &b);
	wait_flag(&b.ready);
	p0 = period();
	t[0] = spawn(sync_thread, NULL);
	sleep_ms(30);
	for (int i = 1; i < 4; i++)
		t[i] = spawn(sync_thread, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(r, NULL);
	tap_ok(period() - p0 == 2, "%s: callers arriving during a grace "
	       "period share the next one (%llu grace periods for 4 callers)",
	       fl->name, (unsigned long long)(period() - p0));
}

/* ---- call_rcu and barrier ---- */

struct cb {
	struct mbrcu_head head;
	int *counter;
	int *order_ok;
	int *last;
	int seq;
};

static void count_cb(struct mbrcu_head *h)
{
	struct cb *c = mbrcu_container_of(h, struct cb, head);

	if (c->last) {
		if (c->seq <= *c->last)
			*c->order_ok = 0;
		*c->last = c->seq;
	}
	__atomic_fetch_add(c->counter, 1, __ATOMIC_RELAXED);
	free(c);
}

static struct cb *new_cb(int *counter)
{
	struct cb *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->counter = counter;
	return c;
}

static void test_call_waits(void)
{
	struct blocked b = { .ms = 100 };
	pthread_t r = spawn(blocked_reader, &b);
	int counter = 0, early;

	wait_flag(&b.ready);
	fl->call(&new_cb(&counter)->head, count_cb);
	sleep_ms(50);
	early = __atomic_load_n(&counter, __ATOMIC_RELAXED);
	pthread_join(r, NULL);
	fl->barrier();
	tap_ok(!early && counter == 1, "%s: a callback waits for the reader "
	       "that was inside, barrier waits for the callback", fl->name);
}

#define CALLERS 4
#define CALLS 1000

struct caller {
	int counter, last, order_ok;
};

static void *caller_thread(void *arg)
{
	struct caller *c = arg;

	for (int i = 0; i < CALLS; i++) {
		struct cb *cb = new_cb(&c->counter);

		cb->last = &c->last;
		cb->order_ok = &c->order_ok;
		cb->seq = i;
		fl->call(&cb->head, count_cb);
	}
	return NULL;
}

static void test_call_many(void)
{
	struct caller c[CALLERS];
	pthread_t t[CALLERS];
	int total = 0, ordered = 1;

	for (int i = 0; i < CALLERS; i++) {
		c[i] = (struct caller){ .last = -1, .order_ok = 1 };
		t[i] = spawn(caller_thread, &c[i]);
	}
	for (int i = 0; i < CALLERS; i++)
		pthread_join(t[i], NULL);
	fl->barrier();
	for (int i = 0; i < CALLERS; i++) {
		total += __atomic_load_n(&c[i].counter, __ATOMIC_RELAXED);
		ordered &= c[i].order_ok;
	}
	tap_ok(total == CALLERS * CALLS, "%s: %d threads x %d calls, then "
	       "barrier: %d callbacks ran", fl->name, CALLERS, CALLS, total);
	tap_ok(ordered, "%s: each thread's callbacks ran in queue order",
	       fl->name);
}

/* ---- fork ---- */

#define FORK_CALLS 100

/* The child's checks; exit status 0 when all hold. */
static int child_checks(int *counter, int expect)
{
	int mine = 0;

	alarm(20);
	fl->barrier();
	if (__atomic_load_n(counter, __ATOMIC_RELAXED) != expect)
		return 1;
	if (fl->reg())
		return 2;
	fl->lock();
	fl->unlock();
	fl->sync();
	fl->call(&new_cb(&mine)->head, count_cb);
	fl->barrier();
	return mine == 1 ? 0 : 3;
}

static void test_fork_pending(void)
{
	struct blocked b = { .ms = 300 };
	int counter = 0, status, early;
	pthread_t r;
	pid_t pid;

	if (tap_qemu_user()) {
		static const char why[] = "qemu-user aborts when the child of "
			"a threaded guest starts a thread (the callback "
			"worker)";

		tap_skip(why, "%s: fork with %d callbacks pending: the child "
			 "runs them", fl->name, FORK_CALLS);
		tap_skip(why, "%s: the parent runs them after its reader "
			 "leaves", fl->name);
		return;
	}
	r = spawn(blocked_reader, &b);
	wait_flag(&b.ready);
	for (int i = 0; i < FORK_CALLS; i++)
		fl->call(&new_cb(&counter)->head, count_cb);
	sleep_ms(20);	/* the worker took them; it waits for the reader */
	pid = fork();
	if (pid == 0)
		_exit(child_checks(&counter, FORK_CALLS));
	status = rcu_test_wait_child(pid);
	early = __atomic_load_n(&counter, __ATOMIC_RELAXED);
	pthread_join(r, NULL);
	fl->barrier();
	tap_ok(status == 0, "%s: fork with %d callbacks pending: the child "
	       "runs them, then synchronize and call_rcu work there (status %d)",
	       fl->name, FORK_CALLS, status);
	tap_ok(!early && counter == FORK_CALLS, "%s: the parent runs them "
	       "after its reader leaves", fl->name);
}

static void test_fork_in_reader(void)
{
	int status;
	pid_t pid;

	fl->lock();
	pid = fork();
	if (pid == 0) {
		int inside = fl->ongoing();

		alarm(20);
		fl->unlock();
		fl->sync();
		_exit(inside && !fl->ongoing() ? 0 : 1);
	}
	fl->unlock();
	fl->sync();
	status = rcu_test_wait_child(pid);
	tap_ok(status == 0, "%s: fork inside a critical section: the child is "
	       "inside, leaves, synchronizes (status %d)", fl->name, status);
}

/* synchronize inside a critical section would wait for itself: abort. */
static void test_sync_inside(void)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDERR_FILENO);
		alarm(20);
		fl->lock();
		fl->sync();
		_exit(0);
	}
	status = rcu_test_wait_child(pid);
	tap_ok(status == 128 + SIGABRT, "%s: synchronize inside a critical "
	       "section aborts instead of waiting forever (status %d)",
	       fl->name, status);
}

/* ---- threads that exit without unregistering ---- */

/* Registers, reads, exits; its record's address in *arg if not NULL. */
static void *exit_quiescent(void *arg)
{
	fl->reg();
	fl->lock();
	fl->unlock();
	if (arg)
		*(struct mbrcu_reader **)arg = fl->gp == &mbrcu_gp_state ?
			mbrcu_tls_reader : mbrcu_fence_tls_reader;
	return NULL;
}

static void *exit_inside(void *arg)
{
	(void)arg;
	fl->reg();
	fl->lock();
	pthread_exit(NULL);
}

static void test_thread_exit(void)
{
	uint64_t t0 = now_ms();

	for (int i = 0; i < 20; i++)
		pthread_join(spawn(exit_quiescent, NULL), NULL);
	fl->sync();
	tap_ok(1, "%s: 20 threads exit without unregistering: synchronize "
	       "ends", fl->name);
	for (int i = 0; i < 5; i++)
		pthread_join(spawn(exit_inside, NULL), NULL);
	fl->sync();
	fl->sync();
	tap_ok(now_ms() - t0 < 10000, "%s: 5 threads exit inside a critical "
	       "section: synchronize ends (%llu ms)", fl->name,
	       (unsigned long long)(now_ms() - t0));
	{
		struct mbrcu_reader *seen[200];
		int distinct = 0;

		/* One after the other: each exit frees a record for the next. */
		for (int i = 0; i < 200; i++) {
			pthread_join(spawn(exit_quiescent, &seen[i]), NULL);
			distinct++;
			for (int j = 0; j < i; j++)
				if (seen[j] == seen[i]) {
					distinct--;
					break;
				}
		}
		fl->sync();
		tap_ok(distinct <= 20, "%s: 200 more threads, one after the other, "
		       "used %d distinct records (recycled)", fl->name, distinct);
	}
}

int main(void)
{
	if (membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
	    MEMBARRIER_BACKEND_NONE)
		tap_skip_all("no backend serves PRIVATE_EXPEDITED here");
	signal(SIGALRM, rcu_test_timeout);
	alarm(120);
	test_pointers();
	for (unsigned int i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++) {
		fl = &flavors[i];
		test_register();
		test_nesting();
		test_blocked_reader();
		test_sharing();
		test_call_waits();
		test_call_many();
		test_fork_pending();
		test_fork_in_reader();
		test_sync_inside();
		test_thread_exit();
		fl->unreg();
	}
	return tap_done();
}
