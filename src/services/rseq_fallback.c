// SPDX-License-Identifier: MIT
/*
 * rseq operations where rseq cannot be registered: the process-wide
 * choice between critical sections and this fallback, the per-thread
 * records, the operations on atomic instructions and the fence that
 * waits for them. The protocol and its litmus sketch are in
 * include/membarrier/rseq_fallback.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <membarrier/rseq.h>

#include "core/service.h"
#include "rseq_internal.h"

/* ---- the choice, once per process ---- */

enum { MODE_UNDECIDED, MODE_RSEQ, MODE_FALLBACK };
static int mode;
/* <membarrier/rseq.h>: mode == MODE_RSEQ, for the inline fast path. */
MEMBARRIER_API int mbrseq_sections_on;

static int forced(void)
{
	const char *e = secure_getenv("MEMBARRIER_RSEQ");

	return e && !strcmp(e, "fallback");
}

/* The mode, deciding it as want if nobody did. */
static int decide(int want)
{
	int m = MODE_UNDECIDED;

	/* Acquire/release: a thread that reads the choice sees it made. */
	if (!__atomic_compare_exchange_n(&mode, &m, want, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return m;
	/*
	 * Relaxed: the fast path that reads 1 needs nothing the choice
	 * wrote (it only tries the C library's area); one that reads 0
	 * takes the slow path, which reads mode with acquire.
	 */
	if (want == MODE_RSEQ)
		__atomic_store_n(&mbrseq_sections_on, 1, __ATOMIC_RELAXED);
	return want;
}

int mbi_rseq_fallback_on(void)
{
	int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);

	if (m == MODE_UNDECIDED && forced())
		m = decide(MODE_FALLBACK);
	return m == MODE_FALLBACK;
}

int mbi_rseq_choose(int attempt)
{
	int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);

	if (m == MODE_UNDECIDED)
		m = decide(attempt || forced() ? MODE_FALLBACK : MODE_RSEQ);
	return m == MODE_FALLBACK ? -ENOSYS : attempt;
}

MEMBARRIER_API int mbrseq_fallback_active(void)
{
	/* The first thread's attempt decides. */
	if (!__atomic_load_n(&mode, __ATOMIC_ACQUIRE))
		(void)mbrseq_thread_init();
	return mbi_rseq_fallback_on();
}

/* ---- per-thread records ---- */

/*
 * Operations a thread entered and exited; records are never freed (the
 * fence walks them without a lock), a dead thread's is reused. Only the
 * owner writes entries and exits, so plain stores do: an operation in
 * a signal handler that interrupts one of the owner's finds depth > 0
 * and leaves both alone (the one it interrupted is counted and exits
 * after it), or finds depth 0 and restores it, so that no store of the
 * owner's is ever based on a stale load.
 */
struct record {
	uint32_t entries;
	uint32_t exits;
	unsigned int depth;	/* operations under way on this thread */
	uint32_t *popping;	/* the pop lock this thread takes or holds */
	int cpu;		/* slot hint, from sched_getcpu() */
	unsigned int uses;	/* operations since the hint was taken */
	struct record *next;	/* in the registry */
	int owned;		/* a live thread uses it */
} __attribute__((aligned(64)));

static struct record *registry;
static __thread struct record *self;
static pthread_key_t exit_key;
static int exit_key_ok;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Test hooks. MEMBARRIER_RSEQ_TEST_DELAY=N: N idle loops between the
 * load of the active pointer and the update, and in a pop between its
 * loads of the head and the compare-and-swap, widening both windows.
 * MEMBARRIER_RSEQ_TEST_CPU=C: every hint is CPU C, as if every thread's
 * had gone stale, so that threads on all CPUs update one slot at once. */
static unsigned int test_delay;
static int test_cpu = -1;

static void release_record(void *r)
{
	/* Release: the record's last exit precedes its reuse. */
	__atomic_store_n(&((struct record *)r)->owned, 0, __ATOMIC_RELEASE);
}

static void init_once(void)
{
	const char *d = secure_getenv("MEMBARRIER_RSEQ_TEST_DELAY");
	const char *c = secure_getenv("MEMBARRIER_RSEQ_TEST_CPU");

	exit_key_ok = pthread_key_create(&exit_key, release_record) == 0;
	if (d)
		test_delay = (unsigned int)strtoul(d, NULL, 10);
	if (c)
		test_cpu = (int)strtol(c, NULL, 10);
}

static void test_wait(void)
{
	for (volatile unsigned int i = 0; i < test_delay; i++)
		;
}

static struct record *claim(void)
{
	struct record *r;

	/* Acquire pairs with the release of the push below. */
	for (r = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); r; r = r->next) {
		int unowned = 0;

		if (__atomic_compare_exchange_n(&r->owned, &unowned, 1, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return r;
	}
	r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->owned = 1;
	r->next = __atomic_load_n(&registry, __ATOMIC_RELAXED);
	/* Release: the record is initialized before the fence can see it. */
	while (!__atomic_compare_exchange_n(&registry, &r->next, r, 1,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	return r;
}

/* The calling thread's record; NULL without memory. Not async-signal-
 * safe on a thread's first operation (it allocates). */
static struct record *record_get(void)
{
	struct record *r = self;

	if (membarrier_likely(r))
		return r;
	pthread_once(&once, init_once);
	r = claim();
	if (r && exit_key_ok)
		pthread_setspecific(exit_key, r);
	self = r;
	return r;
}

/*
 * T's side of the litmus sketch: the entry, then (compiler barrier
 * only) the load of the active pointer. The CPU may reorder the two:
 * the fence's membarrier makes that invisible (pairs with its barrier).
 */
static void enter(struct record *r)
{
	unsigned int d = r->depth;

	r->depth = d + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* depth before entries */
	if (!d)
		__atomic_store_n(&r->entries, r->entries + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Release: the update precedes the exit (pairs with wait_exits()). */
static void leave(struct record *r)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (r->depth == 1)
		__atomic_store_n(&r->exits, r->exits + 1, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* exits before depth */
	r->depth--;
}

/* ---- the operations ---- */

/* Past struct mbrseq_cpu_ctl in each CPU's control line: its pop lock. */
#define POP_LOCK_OFFSET	32
_Static_assert(sizeof(struct mbrseq_cpu_ctl) <= POP_LOCK_OFFSET &&
	       POP_LOCK_OFFSET + sizeof(uint32_t) <= MBRSEQ_SLOT_SIZE,
	       "the pop lock fits the control line after the control");

static char *ctl_line(const struct mbrseq_percpu *pc, int cpu)
{
	return pc->ctl + ((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT);
}

/*
 * The slot of the CPU the thread ran on at most SLOT_REFRESH operations
 * ago: only a hint (the updates are atomic), asked again now and then
 * because sched_getcpu() is a system call where the vDSO lacks getcpu
 * (qemu-user: 1.5 us a call).
 */
#define SLOT_REFRESH	64

static int slot_cpu(struct record *r, const struct mbrseq_percpu *pc)
{
	if (membarrier_unlikely(r->uses++ % SLOT_REFRESH == 0)) {
		int cpu = test_cpu < 0 ? sched_getcpu() : test_cpu;

		r->cpu = cpu < 0 ? 0 : cpu;
	}
	return r->cpu < pc->nr_cpus ? r->cpu : r->cpu % pc->nr_cpus;
}

/* Acquire pairs with the release in rseq.c's flip(): what the swapper
 * wrote into that copy (a reset, a refill) is what the update sees. */
static char *active_slot(const struct mbrseq_percpu *pc, int cpu, size_t off)
{
	const struct mbrseq_cpu_ctl *c =
		(const struct mbrseq_cpu_ctl *)ctl_line(pc, cpu);
	char *a = __atomic_load_n(&c->active, __ATOMIC_ACQUIRE);

	test_wait();
	return a + off;
}

MEMBARRIER_API int mbrseq_fallback_add(struct mbrseq_percpu *pc, size_t off,
				       intptr_t v)
{
	struct record *r = record_get();
	int cpu;

	if (!r)
		return -ENOMEM;
	cpu = slot_cpu(r, pc);
	enter(r);
	__atomic_fetch_add((intptr_t *)active_slot(pc, cpu, off), v,
			   __ATOMIC_RELAXED);
	leave(r);
	return cpu;
}

/* Release: node->next is written before the node is reachable (pairs
 * with the acquire loads of head in pop). */
MEMBARRIER_API int mbrseq_fallback_push(struct mbrseq_percpu *pc, size_t off,
					struct mbrseq_node *node)
{
	struct record *r = record_get();
	struct mbrseq_node **head, *h;
	int cpu;

	if (!r)
		return -ENOMEM;
	cpu = slot_cpu(r, pc);
	enter(r);
	head = (struct mbrseq_node **)active_slot(pc, cpu, off);
	h = __atomic_load_n(head, __ATOMIC_RELAXED);
	do
		node->next = h;
	while (!__atomic_compare_exchange_n(head, &h, node, 1,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	leave(r);
	return cpu;
}

/* Acquire pairs with the release in pop_unlock(). */
static void pop_lock(uint32_t *l)
{
	for (unsigned int n = 0; __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE); n++) {
		if (n < 64)
			membarrier_arch_relax();
		else
			sched_yield();	/* the holder may be preempted */
	}
}

static void pop_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/*
 * Under this CPU's pop lock, only pushes race with the compare-and-swap:
 * they change head, the CAS fails and retries with the new head. The
 * node read cannot leave the list meanwhile (that takes a pop, and pops
 * hold the lock), so its next is the one it had when it was pushed.
 * A pop in a signal handler that interrupted its own thread's pop on
 * the same lock finds nothing (rather than wait for itself forever).
 */
MEMBARRIER_API int mbrseq_fallback_pop(struct mbrseq_percpu *pc, size_t off,
				       struct mbrseq_node **out)
{
	struct record *r = record_get();
	struct mbrseq_node **head, *n;
	uint32_t *l;
	int cpu;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	cpu = slot_cpu(r, pc);
	l = (uint32_t *)(ctl_line(pc, cpu) + POP_LOCK_OFFSET);
	if (r->popping == l)
		return cpu;
	enter(r);
	head = (struct mbrseq_node **)active_slot(pc, cpu, off);
	r->popping = l;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* before taking it */
	pop_lock(l);
	n = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	while (n) {
		struct mbrseq_node *next = n->next;

		test_wait();
		if (__atomic_compare_exchange_n(head, &n, next, 1,
						__ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			break;
	}
	pop_unlock(l);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* after leaving it */
	r->popping = NULL;
	leave(r);
	*out = n;
	return cpu;
}

/* ---- the fence ---- */

/* Until every operation r had entered (when the fence read it) exits. */
static void wait_exits(struct record *r)
{
	uint32_t e = __atomic_load_n(&r->entries, __ATOMIC_RELAXED);

	/* Acquire pairs with leave()'s release: the updates are seen. */
	for (unsigned int n = 0;
	     (int32_t)(__atomic_load_n(&r->exits, __ATOMIC_ACQUIRE) - e) < 0;
	     n++) {
		if (n < 64)
			membarrier_arch_relax();
		else
			sched_yield();	/* its thread may be preempted */
	}
}

/*
 * S's side: the stores of the publish come before this call; the
 * membarrier (pairs with enter()'s compiler barrier) orders them before
 * the loads of the registry and of each record's entries.
 */
MEMBARRIER_API int mbrseq_fallback_fence(void)
{
	static int reported;
	long ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);

	if (membarrier_unlikely(ret)) {
		if (!__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
			fprintf(stderr, "libmembarrier: rseq fallback fence "
				"unavailable: PRIVATE_EXPEDITED fails with %s\n",
				strerror((int)-ret));
		return (int)ret;
	}
	for (struct record *r = __atomic_load_n(&registry, __ATOMIC_ACQUIRE);
	     r; r = r->next)
		wait_exits(r);
	return 0;
}

/* ---- hooks of the inline operations ---- */

MEMBARRIER_API int mbrseq_fb_add(struct mbrseq_percpu *pc, size_t off,
				 intptr_t v, int err)
{
	return mbi_rseq_fallback_on() ? mbrseq_fallback_add(pc, off, v) : err;
}

MEMBARRIER_API int mbrseq_fb_push(struct mbrseq_percpu *pc, size_t off,
				  struct mbrseq_node *node, int err)
{
	return mbi_rseq_fallback_on() ? mbrseq_fallback_push(pc, off, node) :
					err;
}

MEMBARRIER_API int mbrseq_fb_pop(struct mbrseq_percpu *pc, size_t off,
				 struct mbrseq_node **node, int err)
{
	if (mbi_rseq_fallback_on())
		return mbrseq_fallback_pop(pc, off, node);
	*node = NULL;
	return err;
}

MEMBARRIER_API int mbrseq_fb_cpu(int err)
{
	int cpu;

	if (!mbi_rseq_fallback_on())
		return err;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : cpu;
}
