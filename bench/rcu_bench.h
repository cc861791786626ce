/* SPDX-License-Identifier: MIT */
/*
 * bench rcu: the workload, shared by every implementation.
 *
 * Readers: lock, dereference, check the value, unlock, count.
 * Writers: allocate, exchange the pointer, synchronize, poison, free, count.
 *
 * The first part declares the runner (rcu_run.c). The second part is a
 * template: define RB_NAME and the RB_* operations, then include this
 * header to get RB_NAME_reader() and RB_NAME_writer() with the
 * implementation's read side inlined in the loop.
 */
#ifndef MEMBARRIER_BENCH_RCU_H
#define MEMBARRIER_BENCH_RCU_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#define RB_MAGIC	0x5eedc0de
#define RB_POISON	0xdeadbeef

struct rb_obj {
	long value;
};

struct rb_ctx {
	struct rb_obj *ptr;		/* the protected pointer */
	int stop;
	int go;
	unsigned long errors;		/* poisoned values seen by readers */
} __attribute__((aligned(64)));

struct rb_thread {
	struct rb_ctx *ctx;
	uint64_t count;
	pthread_t tid;
} __attribute__((aligned(64)));

struct rb_impl {
	const char *name;
	void *(*reader)(void *arg);
	void *(*writer)(void *arg);
	int is_default;
};

struct rb_params {
	unsigned long readers, writers;
	double seconds;
};

struct rb_result {
	uint64_t reads, writes;
	unsigned long errors;
};

/* membarrier bench rcu (bench/rcu.c), for the table in bench/bench.c. */
int bench_rcu(int argc, char **argv);

/* Run impl with p: 0, or -1 (thread creation failed; reported). */
int rb_run(const struct rb_impl *impl, const struct rb_params *p,
	   struct rb_result *res);

/* The impl=... line. */
void rb_print(const struct rb_impl *impl, const struct rb_params *p,
	      const struct rb_result *res);

/* Parse --readers R --writers W --seconds S: 0, or 2 (usage printed). */
int rb_parse(int argc, char **argv, struct rb_params *p, const char *usage);

/* Wait for the start signal; then stopped() says when to end. */
static inline void rb_wait_go(struct rb_ctx *c)
{
	/* Acquire pairs with the release of go in rcu_run.c. */
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		sched_yield();
}

static inline int rb_stopped(struct rb_ctx *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_RELAXED);
}

static inline void rb_error(struct rb_ctx *c)
{
	__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
}

#endif /* MEMBARRIER_BENCH_RCU_H */

#ifdef RB_NAME

#define RB_CAT2(a, b)	a##b
#define RB_CAT(a, b)	RB_CAT2(a, b)

#ifndef RB_QS
#define RB_QS(n)	do { } while (0)
#endif

static void *RB_CAT(RB_NAME, _reader)(void *arg)
{
	struct rb_thread *t = arg;
	struct rb_ctx *c = t->ctx;
	uint64_t n = 0;

	RB_REGISTER();
	rb_wait_go(c);
	while (!rb_stopped(c)) {
		struct rb_obj *p;

		RB_READ_LOCK();
		p = RB_DEREFERENCE(c->ptr);
		if (__builtin_expect(p->value != RB_MAGIC, 0))
			rb_error(c);
		RB_READ_UNLOCK();
		n++;
		RB_QS(n);
	}
	RB_UNREGISTER();
	t->count = n;
	return NULL;
}

static void *RB_CAT(RB_NAME, _writer)(void *arg)
{
	struct rb_thread *t = arg;
	struct rb_ctx *c = t->ctx;
	uint64_t n = 0;

	rb_wait_go(c);
	while (!rb_stopped(c)) {
		struct rb_obj *new = malloc(sizeof(*new)), *old;

		if (!new)
			abort();
		new->value = RB_MAGIC;
		old = RB_XCHG(&c->ptr, new);
		RB_SYNCHRONIZE();
		old->value = RB_POISON;
		free(old);
		n++;
	}
	t->count = n;
	return NULL;
}

#undef RB_NAME
#undef RB_REGISTER
#undef RB_UNREGISTER
#undef RB_READ_LOCK
#undef RB_READ_UNLOCK
#undef RB_DEREFERENCE
#undef RB_XCHG
#undef RB_SYNCHRONIZE
#undef RB_QS

#endif /* RB_NAME */
