// SPDX-License-Identifier: MIT
/*
 * Biased lock: the slow paths. The protocol is in biased_lock.h.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <membarrier/arch.h>
#include <membarrier/biased_lock.h>

#include "core/service.h"
#include "sys/sys.h"

/*
 * The owners the checks know (mbbias_owner_check()): lock address ->
 * owner's thread id, by open addressing, lock-free (nothing to be held
 * across fork(); in the child the parent's threads are gone, so the
 * first caller becomes the owner). A slot keeps its address for good:
 * mbbias_init() and mbbias_destroy() clear its owner only. Once the
 * table is full, further locks go unchecked: never a false report.
 * The kernel hands thread ids out cyclically up to pid_max (kernel/pid.c,
 * alloc_pid(): idr_alloc_cyclic()), so a dead owner is taken for a live
 * one only if its id came round to another live thread meanwhile.
 */
#define OWNER_SLOTS	1024
#define OWNER_HASH(l)	((size_t)(((uintptr_t)(l) * 0x9e3779b97f4a7c15ull) >> 54))

struct owner_slot {
	uintptr_t lock;		/* the lock's address: a key, no pointer */
	int tid;
};

/*
 * The table is mapped on the first check, not kept in .bss: 16 KiB of
 * .bss would cost every program that loads the library one more mapping
 * (tests/contract/t-load-cost.sh counts them), for a check that only a
 * checked build or a program compiled with MEMBARRIER_DEBUG makes.
 */
static struct owner_slot *owners;

static struct owner_slot *owner_table(int add)
{
	/* Acquire pairs with the release of the CAS below. */
	struct owner_slot *t = __atomic_load_n(&owners, __ATOMIC_ACQUIRE);
	void *m;

	if (t || !add)
		return t;
	m = mmap(NULL, OWNER_SLOTS * sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;	/* unchecked: never a false report */
	/* Release: the zeroed table before its address. */
	if (__atomic_compare_exchange_n(&owners, &t, (struct owner_slot *)m, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return m;
	munmap(m, OWNER_SLOTS * sizeof(*t));
	return t;
}

/* Relaxed throughout: the slots order nothing but themselves. */
static int *owner_of(struct mbbias *l, int add)
{
	struct owner_slot *table = owner_table(add);

	for (size_t i = 0, h = OWNER_HASH(l); table && i < OWNER_SLOTS; i++) {
		struct owner_slot *s = &table[(h + i) % OWNER_SLOTS];
		uintptr_t k = __atomic_load_n(&s->lock, __ATOMIC_RELAXED);

		if (!k) {
			if (!add)
				return NULL;
			if (__atomic_compare_exchange_n(&s->lock, &k,
							(uintptr_t)l, 0,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				return &s->tid;
		}
		if (k == (uintptr_t)l)
			return &s->tid;
	}
	return NULL;
}

static void owner_forget(struct mbbias *l)
{
	int *tid = owner_of(l, 0);

	if (tid)
		__atomic_store_n(tid, 0, __ATOMIC_RELAXED);
}

/*
 * This thread's id, cached: the check runs on every owner lock of a
 * checked program. The child of fork() has a new id: the handler clears
 * the cache of the one thread it keeps.
 */
static __thread int self_tid;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_forget(void)
{
	self_tid = 0;
}

static void self_at_fork(void)
{
	pthread_atfork(NULL, NULL, self_forget);
}

static int self(void)
{
	pthread_once(&self_once, self_at_fork);
	if (!self_tid)
		self_tid = mbi_gettid();
	return self_tid;
}

/*
 * tgkill(2) with signal 0 still finds a thread on its way out: its
 * pthread_join() returns once the kernel has cleared its tid word
 * (exit_mm(), kernel/exit.c), before the task is unhashed. The ninth
 * field of /proc/self/task/TID/stat, the task's flags, then has
 * PF_EXITING (include/linux/sched.h), which exit_signals() sets earlier
 * in do_exit(): such a thread is gone. Without /proc, tgkill alone.
 */
#define PF_EXITING_FLAG	0x4ul

static int thread_alive(int tid)
{
	char path[64], buf[512], *p;
	unsigned long flags;
	long n;

	if (mbi_syscall3(SYS_tgkill, mbi_getpid(), tid, 0) == -ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	n = mbi_read_file(path, buf, sizeof(buf));
	if (n == -ENOENT || n == -ESRCH)
		return 0;
	/* The name in parentheses may hold anything: fields follow the last. */
	p = n > 0 ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 1;
	return !(flags & PF_EXITING_FLAG);
}

MEMBARRIER_API void mbbias_owner_check(struct mbbias *l)
{
	int me = self(), *slot = owner_of(l, 1), owner;

	if (!slot)
		return;
	owner = __atomic_load_n(slot, __ATOMIC_RELAXED);
	while (owner != me) {
		if (owner && thread_alive(owner))
			mbi_misuse_fatal("mbbias owner path (%p) on thread %d: "
					 "a second owner (thread %d, alive, "
					 "owns the lock)", (void *)l, me, owner);
		if (__atomic_compare_exchange_n(slot, &owner, me, 0,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			break;
	}
}

/* A checked library checks the owner on its slow paths too. */
#ifdef MEMBARRIER_DEBUG
#define CHECK_OWNER(l)	mbbias_owner_check(l)
#else
#define CHECK_OWNER(l)	((void)(l))
#endif

MEMBARRIER_API int mbbias_init(struct mbbias *l)
{
	int err = pthread_mutex_init(&l->mutex, NULL);

	if (err)
		return -err;
	l->owner_busy = 0;
	l->owner_slow = 0;
	owner_forget(l);
	/* Without a heavy fence, the bias could never be revoked safely. */
	l->revoked = membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
		     MEMBARRIER_BACKEND_NONE;
	return 0;
}

MEMBARRIER_API void mbbias_destroy(struct mbbias *l)
{
	owner_forget(l);
	pthread_mutex_destroy(&l->mutex);
}

/* The bias is revoked: step out of the fast path, take the mutex. */
MEMBARRIER_API void mbbias_owner_lock_slow(struct mbbias *l)
{
	CHECK_OWNER(l);
	/* Not in the critical section: lets a waiting revoker proceed;
	 * pairs with its acquire load of owner_busy in bias_revoke(). */
	__atomic_store_n(&l->owner_busy, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&l->mutex);
	l->owner_slow = 1;
}

MEMBARRIER_API void mbbias_owner_unlock_slow(struct mbbias *l)
{
	CHECK_OWNER(l);
	l->owner_slow = 0;
	pthread_mutex_unlock(&l->mutex);
}

/* Under the mutex: revoke once, then wait for the owner to leave. */
static void bias_revoke(struct mbbias *l)
{
	int err;

	__atomic_store_n(&l->revoked, 1, __ATOMIC_RELAXED);
	/* Pairs with mbfence_light() in the owner. Init saw a backend; should
	 * it fail now (the walk found a CPU unreachable), try again: entering
	 * without it could break mutual exclusion. */
	for (int tries = 0; (err = mbfence_heavy()); tries++) {
		if (tries == 100) {
			fprintf(stderr, "libmembarrier: cannot revoke a biased "
				"lock: the heavy fence fails (%d)\n", err);
			abort();
		}
		sched_yield();
	}
	/* Acquire pairs with the owner's release in mbbias_owner_unlock(). */
	for (unsigned int spins = 0;
	     __atomic_load_n(&l->owner_busy, __ATOMIC_ACQUIRE); spins++) {
		if (spins < 1000)
			membarrier_arch_relax();
		else
			sched_yield();
	}
}

MEMBARRIER_API void mbbias_lock(struct mbbias *l)
{
	pthread_mutex_lock(&l->mutex);
	/* Only mutex holders write revoked. */
	if (!__atomic_load_n(&l->revoked, __ATOMIC_RELAXED))
		bias_revoke(l);
}

MEMBARRIER_API void mbbias_unlock(struct mbbias *l)
{
	pthread_mutex_unlock(&l->mutex);
}
