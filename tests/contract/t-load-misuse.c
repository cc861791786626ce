// SPDX-License-Identifier: MIT
/*
 * Misuse the documentation forbids: in a library and a program built with
 * MEMBARRIER_DEBUG (make check-debug) each aborts with a message naming
 * it; in a normal build, the checks that cost nothing on a fast path
 * return EINVAL (or, for the calls with no error return, ignore the
 * call) instead of corrupting or crashing later, and the rest is
 * undefined: those run in checked builds only. Each misuse runs in a
 * child; the controls, the correct usage beside each, run in children
 * too and must survive the same checks. Everything here is deterministic:
 * where a misuse races with the callback worker, the child holds the
 * worker in a grace period by staying in a read-side critical section.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier/biased_lock.h>
#include <membarrier/jit.h>
#include <membarrier/rcu.h>
#include <membarrier/rseq.h>

#include "lib/child.h"
#include "lib/tap.h"
#include "services/rcu-flavors.h"

#ifdef MEMBARRIER_DEBUG
#define CHECKED 1
#else
#define CHECKED 0
#endif

static char *page;

static int jit_wraps(void)
{
	return mbjit_publish(page, page, SIZE_MAX) == -EINVAL ? 0 : 1;
}

static int jit_unmapped(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	munmap(p, (size_t)ps);
	return mbjit_publish(p, p, 16) == -EINVAL ? 0 : 1;
}

static int rcu_null_callback(void)
{
	static struct mbrcu_head head;

	mbrcu_call(&head, NULL);
	mbrcu_barrier();	/* the worker would run the NULL callback */
	return 0;
}

/* One slot further: another CPU's slot (checked before rseq is asked). */
static int rseq_offset(void)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();

	return mbrseq_percpu_add(pc, MBRSEQ_SLOT_SIZE, 1) == -EINVAL ? 0 : 1;
}

static int rseq_offset_misaligned(void)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	struct mbrseq_node *node;

	return mbrseq_percpu_pop(pc, 3, &node) == -EINVAL && !node ? 0 : 1;
}

/* ---- RCU, each flavor: fl is the one under test ---- */

static const struct flavor flavors[] = { FLAVOR_MBRCU, FLAVOR_MBRCU_FENCE };
static const struct flavor *fl;
static struct mbrcu_head h0, h1, h2;
static int runs;

static void count(struct mbrcu_head *h)
{
	(void)h;
	__atomic_fetch_add(&runs, 1, __ATOMIC_RELAXED);
}

/* Queue h0 and wait until the worker has taken it: the worker then
 * waits in a grace period for this thread, inside a critical section,
 * and takes nothing more from the queue until it leaves. */
static int hold_worker(void)
{
	uint64_t gp;

	if (fl->reg())
		return -1;
	fl->lock();
	gp = __atomic_load_n(&fl->gp->ctr, __ATOMIC_RELAXED);
	fl->call(&h0, count);
	/* The worker, and only it, synchronizes: a new period is its. */
	while (__atomic_load_n(&fl->gp->ctr, __ATOMIC_RELAXED) == gp)
		usleep(100);
	return 0;
}

/* h queued twice in a row: first and last in the queue, cheap to see. */
static int call_twice_in_a_row(void)
{
	if (hold_worker())
		return 2;
	fl->call(&h1, count);
	fl->call(&h1, count);	/* ignored */
	fl->unlock();
	fl->barrier();
	/* barrier()'s acquire orders the callbacks' increments before. */
	return runs == 2 ? 0 : 1;
}

/* h1 queued again behind h2: a checked build finds it in its tree. */
static int call_twice_behind(void)
{
	if (hold_worker())
		return 2;
	fl->call(&h1, count);
	fl->call(&h2, count);
	fl->call(&h1, count);
	return 1;
}

/* h0 queued again while the worker holds it for its grace period. */
static int call_twice_taken(void)
{
	if (hold_worker())
		return 2;
	fl->call(&h0, count);
	return 1;
}

static int requeued;

static void requeue_once(struct mbrcu_head *h)
{
	__atomic_fetch_add(&runs, 1, __ATOMIC_RELAXED);
	if (!requeued++)	/* the worker's: only it runs callbacks */
		fl->call(h, requeue_once);
}

/* The control: a head queued again once its callback has begun. */
static int call_again_after(void)
{
	fl->call(&h1, count);
	fl->barrier();
	fl->call(&h1, count);
	fl->barrier();
	fl->call(&h2, requeue_once);	/* runs 3, queues h2 again */
	fl->barrier();
	fl->barrier();
	return runs == 4 ? 0 : 1;
}

/* read_unlock without read_lock: the program's own (inline) check. */
static int unlock_unbalanced(void)
{
	if (fl->reg())
		return 2;
	fl->unlock();
	return 1;
}

/* What the unchecked read_unlock of a normal build stores: t - 1. */
static void underflow_unchecked(void)
{
	struct mbrcu_reader *r = fl->reader();

	__atomic_store_n(&r->ctr, r->ctr - MBRCU_NEST_ONE, __ATOMIC_RELAXED);
}

/* The library finds that counter when the thread unregisters... */
static int underflow_unregister(void)
{
	if (fl->reg())
		return 2;
	underflow_unchecked();
	fl->unreg();
	return 1;
}

/* ...in the scan of the worker's grace period... */
static int underflow_scan(void)
{
	if (fl->reg())
		return 2;
	underflow_unchecked();
	fl->call(&h1, count);
	sleep(10);	/* the abort ends the process first */
	return 1;
}

/* ...by the thread's own synchronize... */
static int underflow_synchronize(void)
{
	if (fl->reg())
		return 2;
	underflow_unchecked();
	fl->sync();
	return 1;
}

static void *underflow_thread(void *arg)
{
	(void)arg;
	if (!fl->reg())
		underflow_unchecked();
	return NULL;
}

/* Run fn on a thread to its end: 0, or -1 if it could not start. */
static int run_thread(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL))
		return -1;
	pthread_join(t, NULL);
	return 0;
}

/* ...and when the thread exits without unregistering. */
static int underflow_exit(void)
{
	return run_thread(underflow_thread) ? 2 : 1;
}

/* unregister_thread inside a read-side critical section. */
static int unregister_inside(void)
{
	int ok;

	if (fl->reg())
		return 2;
	fl->lock();
	fl->unreg();	/* ignored: the thread stays registered */
	ok = fl->ongoing() && fl->reader();
	fl->unlock();
	ok = ok && !fl->ongoing();
	fl->sync();
	fl->unreg();
	return ok && !fl->reader() ? 0 : 1;
}

static void *balanced_thread(void *arg)
{
	(void)arg;
	if (!fl->reg()) {
		fl->lock();
		fl->unlock();
	}
	return NULL;
}

/* The control: balanced, nested sections, then unregistration; a thread
 * that exits registered; grace periods that scan both. */
static int balanced(void)
{
	if (run_thread(balanced_thread) || fl->reg())
		return 2;
	fl->lock();
	fl->lock();
	fl->unlock();
	fl->unlock();
	fl->sync();
	fl->unreg();
	return fl->reader() || fl->ongoing() ? 1 : 0;
}

/* ---- biased lock: owner lives in a thread that waits for go ---- */

static struct mbbias bias;
static int go;

static void *owner_thread(void *arg)
{
	(void)arg;
	mbbias_owner_lock(&bias);
	mbbias_owner_unlock(&bias);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&go, __ATOMIC_ACQUIRE) != 2)
		usleep(100);
	mbbias_owner_lock(&bias);	/* revoked by then: the slow path */
	mbbias_owner_unlock(&bias);
	return NULL;
}

static int start_owner(pthread_t *t)
{
	if (mbbias_init(&bias) || pthread_create(t, NULL, owner_thread, NULL))
		return -1;
	while (__atomic_load_n(&go, __ATOMIC_ACQUIRE) != 1)
		usleep(100);
	return 0;
}

/* A second thread takes the owner's path while the owner lives. */
static int two_owners(void)
{
	pthread_t t;

	if (start_owner(&t))
		return 2;
	mbbias_owner_lock(&bias);
	return 1;
}

/* The control: the other thread takes the other path; once the owner
 * has exited, this thread may become the owner. */
static int owner_and_other(void)
{
	pthread_t t;

	if (start_owner(&t))
		return 2;
	mbbias_lock(&bias);
	mbbias_unlock(&bias);
	__atomic_store_n(&go, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	mbbias_owner_lock(&bias);
	mbbias_owner_unlock(&bias);
	return 0;
}

/*
 * normal: what a normal build does. EINVAL_OR_IGNORED: the check still
 * runs and the misuse is refused (the child exits 0); UNDEFINED: not run
 * there.
 * Control: correct usage, which must survive every build. Messages of
 * per-flavor cases follow the flavor's prefix.
 */
enum normal { EINVAL_OR_IGNORED, UNDEFINED, CONTROL };

static const struct {
	const char *name, *message;
	int (*run)(void);
	int per_flavor;
	enum normal normal;
} cases[] = {
	{ "mbjit_publish of SIZE_MAX bytes", "wraps", jit_wraps, 0,
	  EINVAL_OR_IGNORED },
	{ "mbjit_publish of an unmapped range", "not mapped", jit_unmapped, 0,
	  EINVAL_OR_IGNORED },
	{ "mbrcu_call(head, NULL)", "NULL callback", rcu_null_callback, 0,
	  EINVAL_OR_IGNORED },
	{ "mbrseq_percpu_add at an offset past the slot", "mbrseq offset",
	  rseq_offset, 0, EINVAL_OR_IGNORED },
	{ "mbrseq_percpu_pop at a misaligned offset", "mbrseq offset",
	  rseq_offset_misaligned, 0, EINVAL_OR_IGNORED },
	{ "_call of a head twice in a row", "_call of a head queued twice",
	  call_twice_in_a_row, 1, EINVAL_OR_IGNORED },
	{ "_call of a head queued behind another", "_call of a head queued twice",
	  call_twice_behind, 1, UNDEFINED },
	{ "_call of a head the worker has taken", "_call of a head queued twice",
	  call_twice_taken, 1, UNDEFINED },
	{ "_call of a head again once its callback began", NULL,
	  call_again_after, 1, CONTROL },
	{ "_read_unlock without read_lock", "_read_unlock without read_lock",
	  unlock_unbalanced, 1, UNDEFINED },
	{ "_read_unlock compiled unchecked, unbalanced, then "
	  "unregister_thread",
	  "_read_unlock without read_lock (nesting underflow), found by "
	  "unregister_thread", underflow_unregister, 1, UNDEFINED },
	{ "_read_unlock compiled unchecked, unbalanced, then a grace period",
	  "_read_unlock without read_lock (nesting underflow), found by a "
	  "grace period's scan", underflow_scan, 1, UNDEFINED },
	{ "_read_unlock compiled unchecked, unbalanced, then synchronize",
	  "_read_unlock without read_lock (nesting underflow), found by "
	  "synchronize", underflow_synchronize, 1, UNDEFINED },
	{ "_read_unlock compiled unchecked, unbalanced, then thread exit",
	  "_read_unlock without read_lock (nesting underflow), found by "
	  "thread exit", underflow_exit, 1, UNDEFINED },
	{ "_unregister_thread inside a read-side critical section",
	  "_unregister_thread inside a read-side critical section",
	  unregister_inside, 1, EINVAL_OR_IGNORED },
	{ "_read_lock nested and balanced, then unregister_thread", NULL,
	  balanced, 1, CONTROL },
	{ "mbbias_owner_lock on a second thread while the owner lives",
	  "a second owner", two_owners, 0, UNDEFINED },
	{ "mbbias_lock beside the owner, owner_lock after it exits", NULL,
	  owner_and_other, 0, CONTROL },
};

/* In the child: stderr into the pipe, a hang bounded. */
static int misuse_child(int fd, void *arg)
{
	int (*fn)(void) = *(int (**)(void))arg;

	dup2(fd, 2);
	alarm(20);	/* a hang fails the case: 128 + SIGALRM */
	return fn();
}

/* Run fn in a child: its exit status, or 128 + signal; stderr in err. */
static int in_child(int (*fn)(void), char *err, size_t size)
{
	int status = child_fork_capture(misuse_child, &fn, err, size);

	if (status < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void run_case(unsigned int i, const char *prefix)
{
	char err[1024], name[160], message[160];
	int st;

	snprintf(name, sizeof(name), "%s%s", prefix, cases[i].name);
	snprintf(message, sizeof(message), "%s%s", prefix,
		 cases[i].message ? cases[i].message : "");
	if (cases[i].normal == UNDEFINED && !CHECKED) {
		tap_skip("undefined in a normal build", "%s", name);
		return;
	}
	st = in_child(cases[i].run, err, sizeof(err));
	if (cases[i].normal == CONTROL)
		tap_ok(st == 0 && !strstr(err, "misuse"), "control: %s "
		       "survives (status %d: %s)", name, st, err);
	else if (CHECKED)
		tap_ok(st == 128 + SIGABRT && strstr(err, "misuse") &&
		       strstr(err, message),
		       "checked: %s aborts naming it (status %d: %s)",
		       name, st, err);
	else
		tap_ok(st == 0, "%s: EINVAL or ignored, no crash (status %d)",
		       name, st);
}

int main(void)
{
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].per_flavor) {
			run_case(i, "");
			continue;
		}
		for (unsigned int k = 0; k < 2; k++) {
			fl = &flavors[k];
			run_case(i, fl->name);
		}
	}
	/* The control: a correct call passes the checks. */
	{
		int r = mbjit_publish(page, page, 4096);

		tap_ok(r != -EINVAL, "control: mbjit_publish of a mapped page "
		       "is not EINVAL (%d)", r);
	}
	return tap_done();
}
