/* SPDX-License-Identifier: MIT */
/*
 * The RCU engine shared by the flavors (rcu_registry.c: reader records
 * and thread exit; rcu_gp.c: grace periods; rcu_fork.c: flavor set-up
 * and fork handlers; rcu_call.c: callbacks). A flavor supplies its global
 * word, its thread-local record pointer and its fences; everything else
 * is here. Internal: hidden, prefixed mbi_rcu_.
 */
#ifndef MEMBARRIER_RCU_INTERNAL_H
#define MEMBARRIER_RCU_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

/*
 * The library keeps the default TLS model for the records' pointers, so
 * that it can still be dlopen()ed (no DF_STATIC_TLS); programs get
 * initial-exec from the header.
 */
#define MBRCU_TLS_DYNAMIC
#include <membarrier/rcu.h>

#include "core/service.h"

/*
 * On TSO machines a load is never reordered with a later store, so the
 * end of a read-side critical section (loads, compiler barrier, ctr = 0)
 * is ordered before an updater's accesses that follow its load of ctr:
 * the end-of-grace-period fence is then not needed (litmus 2 in rcu.h).
 * ThreadSanitizer knows nothing of TSO: its builds take the general path.
 */
#if MBI_ARCH_TSO && !defined(MEMBARRIER_TSAN)
#define MBI_RCU_TSO 1
#else
#define MBI_RCU_TSO 0
#endif

/*
 * For a flavor's exported global word. AddressSanitizer does not
 * instrument globals placed in a named section, so it adds no
 * __odr_asan.* symbol for it to the library's exports (only prefixed
 * symbols may be exported); the word is not worth instrumenting anyway.
 */
#define MBI_RCU_GP_WORD	__attribute__((section(".data.mbrcu_gp")))

/* A reader's record: heap-allocated, never freed, recycled. */
struct mbi_rcu_record {
	struct mbrcu_reader r;		/* first: the read side's part */
	struct mbi_rcu_flavor *flavor;
	struct mbi_rcu_record *next;	/* registry chain: set once, before
					 * the record is published */
	int in_use;			/* under reg_lock */
	int busy;			/* the leader's hint: last seen inside
					 * a critical section */
} __attribute__((aligned(64)));

/* Callbacks of one flavor (rcu_call.c). */
struct mbi_rcu_worker {
	pthread_mutex_t lock;		/* the queue and the fields below */
	pthread_cond_t work;		/* the worker waits for callbacks */
	struct mbrcu_head *head, *tail;	/* queued, not yet taken */
	struct mbrcu_head *inflight;	/* taken: waiting for its grace
					 * period or for cb_lock */
	int running;			/* a worker thread exists */
	int failed;			/* pthread_create failed (reported) */
	pthread_mutex_t cb_lock;	/* held while callbacks run */
	void *queued;			/* checked builds: a tsearch(3) tree
					 * of the heads queued whose callback
					 * has not begun (under lock) */
};

struct mbi_rcu_flavor {
	const char *name;		/* the prefix, for messages */
	struct mbrcu_gp *gp;		/* the global word */
	struct mbrcu_reader **(*tls)(void);	/* this thread's record slot */
	/*
	 * The updater's fence: opens each grace period and precedes an
	 * updater's sleep. 0, or -errno when nothing can serve it.
	 */
	int (*fence)(void);
	/*
	 * A reader seen in a critical section of the new period proves
	 * itself: it read the new period before its critical section's
	 * loads, which the machine keeps in order (TSO, or the reader's
	 * smp_mb()). The opening fence is then needed only for readers
	 * seen quiescent, which may hide a pending ctr store.
	 */
	int lazy_open;
	int fence_closes;		/* fence() also ends a grace period
					 * (litmus 2): readers do not order
					 * their own exit */

	int initialized;		/* set last, with release */
	pthread_key_t key;		/* auto-unregistration */
	int key_ok;

	/* Registry: the chain is read without a lock, changed under it. */
	pthread_mutex_t reg_lock;
	struct mbi_rcu_record *records;

	/*
	 * Grace periods, numbered: a caller needs started + 1 (the next one
	 * to open, whose fence follows the caller's update) to complete.
	 */
	pthread_mutex_t gp_lock;
	pthread_cond_t gp_done;
	uint64_t started, completed, requested;
	int leader;			/* a caller is running grace periods */
	unsigned int busy_readers;	/* the leader's: busy in the last scan */
	uint32_t futex;			/* the leader sleeps on it */

	struct mbi_rcu_worker worker;
};

#define MBI_RCU_FLAVOR_INIT(NAME, GP, TLS, FENCE, LAZY, CLOSES) {	\
	.name = (NAME),							\
	.gp = (GP),							\
	.tls = (TLS),							\
	.fence = (FENCE),						\
	.lazy_open = (LAZY),						\
	.fence_closes = (CLOSES),					\
	.reg_lock = PTHREAD_MUTEX_INITIALIZER,				\
	.gp_lock = PTHREAD_MUTEX_INITIALIZER,				\
	.gp_done = PTHREAD_COND_INITIALIZER,				\
	.worker = {							\
		.lock = PTHREAD_MUTEX_INITIALIZER,			\
		.work = PTHREAD_COND_INITIALIZER,			\
		.cb_lock = PTHREAD_MUTEX_INITIALIZER,			\
	},								\
}

/*
 * A flavor's exported objects and functions, PREFIX##_*: its global word,
 * its readers' TLS record pointer, and the calls of <membarrier/rcu.h>
 * on the engine. FENCE, LAZY, CLOSES: as in struct mbi_rcu_flavor.
 */
#define MBI_RCU_FLAVOR_DEFINE(PREFIX, FENCE, LAZY, CLOSES)		\
MEMBARRIER_API MBI_RCU_GP_WORD struct mbrcu_gp PREFIX##_gp_state = {	\
	.ctr = MBRCU_NEST_ONE,						\
};									\
MEMBARRIER_API __thread struct mbrcu_reader *PREFIX##_tls_reader;	\
static struct mbrcu_reader **tls_slot(void)				\
{									\
	return &PREFIX##_tls_reader;					\
}									\
static struct mbi_rcu_flavor flavor =					\
	MBI_RCU_FLAVOR_INIT(#PREFIX, &PREFIX##_gp_state, tls_slot,	\
			    FENCE, LAZY, CLOSES);			\
MEMBARRIER_API int PREFIX##_register_thread(void)			\
{									\
	return mbi_rcu_register(&flavor);				\
}									\
MEMBARRIER_API void PREFIX##_unregister_thread(void)			\
{									\
	mbi_rcu_unregister(&flavor);					\
}									\
MEMBARRIER_API void PREFIX##_synchronize(void)				\
{									\
	mbi_rcu_synchronize(&flavor);					\
}									\
MEMBARRIER_API void PREFIX##_call(struct mbrcu_head *head,		\
				  void (*func)(struct mbrcu_head *head))\
{									\
	mbi_rcu_call(&flavor, head, func);				\
}									\
MEMBARRIER_API void PREFIX##_barrier(void)				\
{									\
	mbi_rcu_barrier(&flavor);					\
}

/* The futex word: the leader sleeps while it is SLEEPING. */
#define MBI_RCU_AWAKE		0u
#define MBI_RCU_SLEEPING	1u

/* rcu_fork.c */
void mbi_rcu_flavor_init(struct mbi_rcu_flavor *f);

/* rcu_registry.c */
int mbi_rcu_register(struct mbi_rcu_flavor *f);
void mbi_rcu_unregister(struct mbi_rcu_flavor *f);
void mbi_rcu_wake_updater(struct mbrcu_reader *r);
void mbi_rcu_reader_exit(void *rec);	/* the flavor key's destructor */
/* In the child of fork(), reg_lock held: forget the other threads. */
void mbi_rcu_registry_fork_child(struct mbi_rcu_flavor *f);

/* rcu_gp.c */
void mbi_rcu_synchronize(struct mbi_rcu_flavor *f);
/* Abort if this thread is in a read-side critical section: call is
 * "synchronize" or "barrier", which would wait for it for ever. */
void mbi_rcu_check_not_reading(struct mbi_rcu_flavor *f, const char *call);
/*
 * ctr shows the state an unbalanced read_unlock leaves: a period later
 * than the current one (a reader's period is one the global word held).
 * Then, in a checked build, abort naming the misuse and where, found.
 */
int mbi_rcu_check_underflow(const struct mbi_rcu_flavor *f, uint64_t ctr,
			    const char *where);
void mbi_rcu_die(const struct mbi_rcu_flavor *f, const char *what, int err)
	__attribute__((noreturn, cold));
/* In the child of fork(), gp_lock held: drop the period in progress. */
void mbi_rcu_gp_fork_child(struct mbi_rcu_flavor *f);

/* rcu_call.c */
void mbi_rcu_call(struct mbi_rcu_flavor *f, struct mbrcu_head *head,
		  void (*func)(struct mbrcu_head *head));
void mbi_rcu_barrier(struct mbi_rcu_flavor *f);

/*
 * In the child of fork(), with the worker's locks held by the fork
 * handlers: forget the parent's worker, queue again the batch it had
 * taken, release the locks. Then, with no lock held, restart a worker
 * if callbacks are pending.
 */
void mbi_rcu_worker_fork_child(struct mbi_rcu_flavor *f);
void mbi_rcu_worker_restart(struct mbi_rcu_flavor *f);

#ifdef MEMBARRIER_TSAN
/*
 * ThreadSanitizer builds, in the child of a multithreaded process, which
 * must not create threads: start no worker from now on; callbacks run in
 * mbrcu_barrier(), on its caller.
 */
void mbi_rcu_worker_forbid(void);
#endif

#endif /* MEMBARRIER_RCU_INTERNAL_H */
