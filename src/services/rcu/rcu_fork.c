// SPDX-License-Identifier: MIT
/*
 * The RCU engine's flavors and fork(): each flavor's one-time
 * initialization (its thread-exit key; the flavor joins the list that the
 * fork handlers walk) and the pthread_atfork() handlers, which hold every
 * flavor's locks across fork() and, in the child, forget the parent's
 * other threads (rcu_registry.c), its grace period in progress (rcu_gp.c)
 * and its callback worker (rcu_call.c).
 */
#include <pthread.h>
#include <unistd.h>

#include "rcu_internal.h"

#define MAX_FLAVORS	4

static pthread_mutex_t flavors_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbi_rcu_flavor *flavors[MAX_FLAVORS];
static int nr_flavors;

#ifdef MEMBARRIER_TSAN
/*
 * ThreadSanitizer kills the child of a multithreaded process as soon as
 * it creates a thread (die_after_fork). fork_prepare() finds out whether
 * this process has other threads (ThreadSanitizer's background thread,
 * once started, counts too: that errs on the safe side); the child of one
 * that has starts no callback worker (rcu_call.c), for good, since its
 * own children inherit the condition.
 */
static int threaded_at_fork;

static int count_task(int tid, void *arg)
{
	(void)tid;
	return ++*(int *)arg > 1;	/* enough: stop at the second */
}

static int process_is_threaded(void)
{
	int fd = mbi_tasks_open(), n = 0;

	if (fd < 0)
		return 1;		/* cannot tell: assume it is */
	mbi_tasks_foreach(fd, count_task, &n);
	close(fd);
	return n > 1;
}
#endif

/*
 * Lock order: every flavor's cb_lock, then every worker lock, gp_lock,
 * reg_lock. None of these is held while waiting for readers, so fork()
 * never waits for a grace period (it may wait for running callbacks).
 */
static void fork_prepare(void)
{
#ifdef MEMBARRIER_TSAN
	threaded_at_fork = process_is_threaded();
#endif
	pthread_mutex_lock(&flavors_lock);
	for (int i = 0; i < nr_flavors; i++)
		pthread_mutex_lock(&flavors[i]->worker.cb_lock);
	for (int i = 0; i < nr_flavors; i++) {
		pthread_mutex_lock(&flavors[i]->worker.lock);
		pthread_mutex_lock(&flavors[i]->gp_lock);
		pthread_mutex_lock(&flavors[i]->reg_lock);
	}
}

static void fork_parent(void)
{
	for (int i = nr_flavors - 1; i >= 0; i--) {
		pthread_mutex_unlock(&flavors[i]->reg_lock);
		pthread_mutex_unlock(&flavors[i]->gp_lock);
		pthread_mutex_unlock(&flavors[i]->worker.lock);
	}
	for (int i = nr_flavors - 1; i >= 0; i--)
		pthread_mutex_unlock(&flavors[i]->worker.cb_lock);
	pthread_mutex_unlock(&flavors_lock);
}

static void fork_child(void)
{
	for (int i = nr_flavors - 1; i >= 0; i--) {
		mbi_rcu_registry_fork_child(flavors[i]);
		mbi_rcu_gp_fork_child(flavors[i]);
		mbi_rcu_worker_fork_child(flavors[i]);
	}
	pthread_mutex_unlock(&flavors_lock);
#ifdef MEMBARRIER_TSAN
	if (threaded_at_fork)
		mbi_rcu_worker_forbid();
#endif
	for (int i = 0; i < nr_flavors; i++)
		mbi_rcu_worker_restart(flavors[i]);
}

/* Once per flavor: its key, and the fork handlers (once in all). */
void mbi_rcu_flavor_init(struct mbi_rcu_flavor *f)
{
	/* Acquire pairs with the release below. */
	if (membarrier_likely(__atomic_load_n(&f->initialized, __ATOMIC_ACQUIRE)))
		return;
	pthread_mutex_lock(&flavors_lock);
	if (!f->initialized) {
		if (!nr_flavors)
			pthread_atfork(fork_prepare, fork_parent, fork_child);
		f->key_ok = !pthread_key_create(&f->key, mbi_rcu_reader_exit);
		flavors[nr_flavors++] = f;
		__atomic_store_n(&f->initialized, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&flavors_lock);
}
