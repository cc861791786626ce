// SPDX-License-Identifier: MIT
/*
 * Deferred callbacks (call_rcu) and the barrier that waits for them.
 *
 * One worker thread per flavor, started on first use. It takes every
 * queued callback at once (the batch), waits for one grace period for
 * the whole batch, then runs the callbacks in queue order; callbacks
 * queued meanwhile form the next batch, so the batches grow with the
 * load and the grace periods stay few.
 *
 * fork(): the handlers in rcu_fork.c hold cb_lock (no callback runs) and
 * the queue lock across the call. In the child the worker is gone: the
 * batch it had taken but not run (it was waiting for its grace period)
 * is queued again in front, and a new worker starts if anything is
 * pending, so every callback runs in the parent and in the child, each
 * on its own copy of the memory. ThreadSanitizer builds cannot start a
 * thread in the child of a multithreaded process: there the child's
 * callbacks run in mbrcu_barrier() (drain_here()), on its caller.
 */
#include <errno.h>
#include <search.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rcu_internal.h"

/*
 * A head queued again before its callback has begun links the queue
 * into a loop or cuts it short. A normal build catches the cheap case,
 * the head first or last in the queue (mbi_rcu_call()); a checked build
 * keeps every queued head in a tree, under the queue lock, from
 * mbi_rcu_call() until just before its callback (which may queue it
 * again).
 */
#ifdef MEMBARRIER_DEBUG
static int head_cmp(const void *a, const void *b)
{
	return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
}

/* Under the queue lock: 1 if h is queued already, else note it (0). */
static int queued_twice(struct mbi_rcu_worker *w, struct mbrcu_head *h)
{
	if (tfind(h, &w->queued, head_cmp))
		return 1;
	tsearch(h, &w->queued, head_cmp);	/* out of memory: unchecked */
	return 0;
}

static void unqueued(struct mbi_rcu_worker *w, struct mbrcu_head *h)
{
	pthread_mutex_lock(&w->lock);
	tdelete(h, &w->queued, head_cmp);
	pthread_mutex_unlock(&w->lock);
}
#else
#define queued_twice(w, h)	0
#define unqueued(w, h)		((void)(w))
#endif

static void run_batch(struct mbi_rcu_worker *w, struct mbrcu_head *h)
{
	while (h) {
		struct mbrcu_head *next = h->next;

		unqueued(w, h);
		h->func(h);
		h = next;
	}
}

/* Under the queue lock. */
static struct mbrcu_head *take_batch(struct mbi_rcu_worker *w)
{
	struct mbrcu_head *batch = w->head;

	w->head = w->tail = NULL;
	w->inflight = batch;
	return batch;
}

/* Wait for a grace period, then run batch, holding cb_lock meanwhile. */
static void complete_batch(struct mbi_rcu_flavor *f, struct mbrcu_head *batch)
{
	struct mbi_rcu_worker *w = &f->worker;

	mbi_rcu_synchronize(f);
	pthread_mutex_lock(&w->cb_lock);
	run_batch(w, batch);
	pthread_mutex_lock(&w->lock);
	w->inflight = NULL;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->cb_lock);
}

static void *worker_main(void *arg)
{
	struct mbi_rcu_flavor *f = arg;
	struct mbi_rcu_worker *w = &f->worker;
	struct mbrcu_head *batch;

	/* Callbacks may enter read-side critical sections. */
	mbi_rcu_register(f);
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->head)
			pthread_cond_wait(&w->work, &w->lock);
		batch = take_batch(w);
		pthread_mutex_unlock(&w->lock);
		complete_batch(f, batch);
	}
	return NULL;
}

#ifdef MEMBARRIER_TSAN
/* Set in the child of a multithreaded process (rcu_fork.c), for good. */
static int worker_forbidden;

void mbi_rcu_worker_forbid(void)
{
	worker_forbidden = 1;
}
#endif

/*
 * Under the queue lock. The worker blocks every signal, so that the
 * program's handlers never run on it (no barrier needs a signal).
 */
static int start_worker(struct mbi_rcu_flavor *f)
{
	struct mbi_rcu_worker *w = &f->worker;
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

#ifdef MEMBARRIER_TSAN
	if (worker_forbidden)
		return EAGAIN;		/* callbacks wait for a barrier */
#endif
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, worker_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		if (!w->failed++)
			fprintf(stderr, "libmembarrier: %s: cannot start the "
				"callback worker: %s; callbacks wait for the "
				"next call or barrier\n", f->name, strerror(err));
		return err;
	}
	w->running = 1;
	return 0;
}

static void enqueue(struct mbi_rcu_worker *w, struct mbrcu_head *h)
{
	h->next = NULL;
	if (w->tail)
		w->tail->next = h;
	else
		w->head = h;
	w->tail = h;
}

void mbi_rcu_call(struct mbi_rcu_flavor *f, struct mbrcu_head *head,
		  void (*func)(struct mbrcu_head *head))
{
	struct mbi_rcu_worker *w = &f->worker;

	/* A NULL callback would crash later, in the worker: never queued. */
	if (membarrier_unlikely(!head || !func)) {
		mbi_misuse(EINVAL, "%s_call(%p, NULL callback)", f->name,
			   (void *)head);
		return;
	}
	mbi_rcu_flavor_init(f);	/* the fork handlers, before the worker */
	pthread_mutex_lock(&w->lock);
	if (membarrier_unlikely(head == w->head || head == w->tail ||
				queued_twice(w, head))) {
		pthread_mutex_unlock(&w->lock);
		mbi_misuse(EINVAL, "%s_call of a head queued twice (%p), "
			   "before its callback ran", f->name, (void *)head);
		return;
	}
	head->func = func;
	enqueue(w, head);
	if (w->running)
		pthread_cond_signal(&w->work);
	else
		start_worker(f);
	pthread_mutex_unlock(&w->lock);
}

struct rcu_barrier {
	struct mbrcu_head head;
	uint32_t done;
};

static void barrier_done(struct mbrcu_head *head)
{
	struct rcu_barrier *b = mbrcu_container_of(head, struct rcu_barrier, head);

	/* Release pairs with the acquire in mbi_rcu_barrier(). */
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	mbi_futex_wake(&b->done, 1);
}

/* Without a worker, the caller runs the queue itself. */
static void drain_here(struct mbi_rcu_flavor *f)
{
	struct mbi_rcu_worker *w = &f->worker;
	struct mbrcu_head *batch;

	pthread_mutex_lock(&w->lock);
	batch = w->running ? NULL : take_batch(w);
	pthread_mutex_unlock(&w->lock);
	if (batch)
		complete_batch(f, batch);
}

/*
 * The worker runs callbacks in queue order, so when ours has run, every
 * callback queued before it has too.
 */
void mbi_rcu_barrier(struct mbi_rcu_flavor *f)
{
	struct rcu_barrier b = { .done = 0 };

	mbi_rcu_check_not_reading(f, "barrier");
	mbi_rcu_call(f, &b.head, barrier_done);
	drain_here(f);
	/* Acquire pairs with the release in barrier_done(). */
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
		mbi_futex_wait(&b.done, 0, 0);
}

void mbi_rcu_worker_fork_child(struct mbi_rcu_flavor *f)
{
	struct mbi_rcu_worker *w = &f->worker;
	struct mbrcu_head *last = w->inflight;

	w->running = 0;
	if (last) {
		while (last->next)
			last = last->next;
		last->next = w->head;
		if (!w->head)
			w->tail = last;
		w->head = w->inflight;
		w->inflight = NULL;
	}
	pthread_cond_init(&w->work, NULL);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->cb_lock);
}

void mbi_rcu_worker_restart(struct mbi_rcu_flavor *f)
{
	struct mbi_rcu_worker *w = &f->worker;

	pthread_mutex_lock(&w->lock);
	if (w->head && !w->running)
		start_worker(f);
	pthread_mutex_unlock(&w->lock);
}
