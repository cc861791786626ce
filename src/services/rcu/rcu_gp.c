// SPDX-License-Identifier: MIT
/*
 * The RCU engine's grace periods: the leader that runs them for every
 * waiting caller, the scan of the readers' records, the fences, the
 * sleep on readers that stay in their critical sections.
 *
 * A reader's ctr is 0 when quiescent, else (period << MBRCU_NEST_BITS) |
 * depth, where period is what the global word held when its outermost
 * critical section began. Grace period n:
 *
 *   1. started = n, under gp_lock. Callers that took gp_lock before need
 *      n, and their updates precede all that follows; later callers need
 *      n + 1.
 *   2. [not TSO] the opening fence, mbfence_heavy() (litmus 1 in rcu.h).
 *   3. the global word = n.
 *   4. scan: look at each reader's ctr until one look settles it:
 *      - a critical section of period >= n: the reader read n (step 3)
 *        before its critical section's loads, so they find the new data.
 *        Message passing: the updater's stores are ordered by TSO, or by
 *        the opening fence; the reader's two loads by TSO, or because
 *        the fence's barrier on the reader falls before the first.
 *      - a critical section of an earlier period: wait (poll, then
 *        sleep) until ctr changes;
 *      - 0, after a fence (step 2, or one run during this scan): the
 *        reader is quiescent or entered after the fence (litmus 1):
 *
 *	CPU0 (reader)			CPU1 (updater)
 *	ctr = gp			p = new		(before step 1)
 *	mbfence_light()			mbfence_heavy()
 *	r0 = p				r1 = ctr
 *
 *	forbidden: r0 == old && r1 == 0
 *
 *      - 0, before any fence: not enough, the reader's ctr store may sit
 *        in its store buffer while it loads the old pointer. Poll a
 *        little for the proof its next critical section gives (a busy
 *        reader's), then run the fence: at most once per grace period.
 *   5. [not TSO] the closing fence (litmus 2 in rcu.h): on TSO a load is
 *      never reordered with a later store, on either side. When another
 *      grace period is wanted, it is started (step 1) before this fence,
 *      which then also serves as its opening fence.
 *   6. completed = n, under gp_lock; waiters wake.
 *
 * Heavy fences per grace period, default flavor: on TSO none when every
 * reader is seen in the new period (busy readers), else one; elsewhere
 * two for a lone grace period, one each when they run back to back. Plus
 * one per sleep on a reader that stays in its critical section. (liburcu-
 * memb: two per grace period, and two phase flips, plus one per sleep.)
 * The fence-in-reader flavor has the same shape with smp_mb() instead.
 *
 * Pacing. After publishing a period the leader pauses SETTLE_NS before
 * its first look when readers were busy last time: a running reader
 * crosses a critical-section boundary in nanoseconds, so one look then
 * settles it, instead of polls that pull its ctr line away while it runs.
 * Readers seen idle last time (off the CPU, or between critical sections)
 * get no pause and no polls: the fence at once, which costs nothing on
 * CPUs where no thread of the process runs.
 *
 * Readers that stay in their critical sections are polled, then slept
 * on, all together: the updater sets each one's wake flag, fences (store
 * buffering with mbrcu_read_unlock(), which stores ctr = 0,
 * mbfence_light(), loads wake), looks at them again and sleeps on the
 * flavor's futex word; a reader that sees its flag clears the word and
 * wakes the updater, which looks at them all again. Readers take no lock, and
 * the scan takes none either: records are never freed, so the chain can
 * be walked while threads register and exit.
 *
 * Periods are 48 bits: they do not wrap in practice (2^48 grace periods).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcu_internal.h"

/* Pause between publishing a period and the first look at readers. */
#define SETTLE_NS	1000
/* Polls of the blocking readers' ctr before sleeping on them. */
#define SPIN_POLLS	200
/* Blocking readers waited for together. */
#define BATCH		64
/* Polls of a quiescent reader's ctr, for a proof, before fencing. */
#define IDLE_POLLS	20
/*
 * Upper bound of one sleep: a wake-up is never lost, so this only limits
 * the cost of a surprise (a reader killed by a raw exit system call).
 */
#define SLEEP_NS	(50 * 1000 * 1000)
/* Grace periods a leader runs for later callers before handing over. */
#define LEADER_EXTRA	4

void mbi_rcu_die(const struct mbi_rcu_flavor *f, const char *what, int err)
{
	fprintf(stderr, "libmembarrier: %s: %s: %s; aborting\n", f->name,
		what, strerror(err));
	abort();
}

/* One grace period's scan. */
struct rcu_scan {
	uint64_t target;	/* period << MBRCU_NEST_BITS */
	int fenced;		/* a fence ran since the callers' updates */
	unsigned int busy;	/* readers seen inside a critical section */
};

/* What the scan learns from one look at a reader's ctr. */
enum look {
	LOOK_DONE,	/* nothing to wait for */
	LOOK_OLD,	/* in a critical section of an earlier period: wait */
	LOOK_IDLE,	/* 0 before any fence: a ctr store may be pending */
};

static enum look look(uint64_t ctr, uint64_t target, int fenced)
{
	if (ctr & MBRCU_NEST_MASK)
		return ctr < target ? LOOK_OLD : LOOK_DONE;
	return fenced ? LOOK_DONE : LOOK_IDLE;
}

static uint64_t load_ctr(struct mbi_rcu_record *rec)
{
	/*
	 * Acquire: the updater's later accesses (the caller's free) stay
	 * after this load: the updater's side of litmus 2.
	 */
	return __atomic_load_n(&rec->r.ctr, __ATOMIC_ACQUIRE);
}

static void fence_or_die(struct mbi_rcu_flavor *f, struct rcu_scan *scan)
{
	int ret = f->fence();

	if (membarrier_unlikely(ret))
		mbi_rcu_die(f, "the updater's fence failed, grace periods "
			    "cannot be guaranteed", -ret);
	scan->fenced = 1;
}

/* Leader only; stored on change only: the line is the reader's. */
static void set_busy(struct mbi_rcu_record *rec, int busy)
{
	if (rec->busy != busy)
		rec->busy = busy;
}

/*
 * Look at rec until it is settled (1) or found in a critical section of
 * an earlier period (0). A reader seen quiescent before any fence is, if
 * it was busy last time, polled a little for the proof its next critical
 * section gives; then the fence settles it. One that was idle (off the
 * CPU, or outside critical sections) gets the fence at once, which costs
 * it nothing when it does not run.
 */
static int settle_one(struct mbi_rcu_flavor *f, struct mbi_rcu_record *rec,
		      struct rcu_scan *scan)
{
	unsigned int idle = 0;
	uint64_t ctr;

	for (;;) {
		ctr = load_ctr(rec);
		switch (look(ctr, scan->target, scan->fenced)) {
		case LOOK_DONE:
			mbi_rcu_check_underflow(f, ctr, "a grace period's scan");
			set_busy(rec, (ctr & MBRCU_NEST_MASK) != 0);
			scan->busy += rec->busy;
			return 1;
		case LOOK_OLD:
			return 0;
		case LOOK_IDLE:
			if (rec->busy && idle++ < IDLE_POLLS)
				membarrier_arch_relax();
			else
				fence_or_die(f, scan);
			break;
		}
	}
}

/* Drop the settled records from set: how many are left. */
static unsigned int drop_settled(struct mbi_rcu_flavor *f,
			  struct mbi_rcu_record **set, unsigned int n,
			  struct rcu_scan *scan)
{
	unsigned int left = 0;

	for (unsigned int i = 0; i < n; i++)
		if (!settle_one(f, set[i], scan))
			set[left++] = set[i];
	return left;
}

/*
 * Sleep until a reader of set leaves its critical section: flag each,
 * fence, look again, sleep on the flavor's futex word. A reader that
 * sees its flag clears the word and wakes us (mbi_rcu_wake_updater()).
 */
static void sleep_on(struct mbi_rcu_flavor *f, struct mbi_rcu_record **set,
		     unsigned int n, struct rcu_scan *scan)
{
	unsigned int i;

	MEMBARRIER_STORE_SHARED(f->futex, MBI_RCU_SLEEPING);
	/*
	 * Release: futex = SLEEPING before wake = 1, so that a reader that
	 * sees wake clears futex after we set it; pairs with the release in
	 * mbi_rcu_wake_updater(), which follows the reader's wake load.
	 */
	for (i = 0; i < n; i++)
		__atomic_store_n(&set[i]->r.wake, 1, __ATOMIC_RELEASE);
	/*
	 * wake = 1 before the last looks at ctr; pairs with the
	 * mbfence_light() between ctr = 0 and the wake load in
	 * mbrcu_read_unlock(): each reader sees wake, or we see its ctr.
	 */
	fence_or_die(f, scan);
	for (i = 0; i < n; i++)
		if (look(load_ctr(set[i]), scan->target, 1) != LOOK_OLD)
			break;
	if (i == n)
		mbi_futex_wait(&f->futex, MBI_RCU_SLEEPING, SLEEP_NS);
	for (i = 0; i < n; i++)
		MEMBARRIER_STORE_SHARED(set[i]->r.wake, 0);
}

/* Wait for the readers of set, all at once: poll, then sleep. */
static void wait_blocked(struct mbi_rcu_flavor *f, struct mbi_rcu_record **set,
			 unsigned int n, struct rcu_scan *scan)
{
	for (unsigned int polls = 0; n && polls < SPIN_POLLS; polls++) {
		membarrier_arch_relax();
		n = drop_settled(f, set, n, scan);
	}
	while (n) {
		sleep_on(f, set, n, scan);
		n = drop_settled(f, set, n, scan);
	}
}

/*
 * Give busy readers time to cross a critical-section boundary before the
 * first look (see Pacing above). It also spaces back-to-back grace
 * periods: each costs every reader a miss on the global word, which a
 * single updater could otherwise inflict millions of times a second.
 */
static void settle(void)
{
	uint64_t end = mbi_now_ns() + SETTLE_NS;

	while (mbi_now_ns() < end)
		membarrier_arch_relax();
}

/*
 * One look at each reader; those in a critical section of an earlier
 * period are then waited for together, BATCH at a time.
 */
static void wait_for_readers(struct mbi_rcu_flavor *f, struct rcu_scan *scan)
{
	struct mbi_rcu_record *rec, *set[BATCH];
	unsigned int n;

	if (f->busy_readers)
		settle();
	scan->busy = 0;
	/* Acquire pairs with the release in claim_record() (rcu_registry.c). */
	rec = __atomic_load_n(&f->records, __ATOMIC_ACQUIRE);
	while (rec) {
		for (n = 0; rec && n < BATCH; rec = rec->next)
			if (!settle_one(f, rec, scan))
				set[n++] = rec;
		wait_blocked(f, set, n, scan);
	}
	f->busy_readers = scan->busy;
}

/*
 * Run grace periods: the one this caller needs, then up to LEADER_EXTRA
 * more while later callers want them. Called and returns with gp_lock.
 */
static void lead(struct mbi_rcu_flavor *f)
{
	struct rcu_scan scan = { .fenced = 0 };
	unsigned int extra = 0;
	uint64_t n = ++f->started, next;

	f->leader = 1;
	pthread_mutex_unlock(&f->gp_lock);
	/* Open n (step 2); pairs with mbfence_light() in read_lock. */
	if (!f->lazy_open)
		fence_or_die(f, &scan);
	for (;;) {
		scan.target = n << MBRCU_NEST_BITS;
		/* Step 3: after the opening fence, if any. */
		MEMBARRIER_STORE_SHARED(f->gp->ctr, scan.target | MBRCU_NEST_ONE);
		wait_for_readers(f, &scan);
		pthread_mutex_lock(&f->gp_lock);
		next = 0;
		if (f->requested > n && extra++ < LEADER_EXTRA)
			next = ++f->started;
		scan.fenced = 0;
		if (f->fence_closes) {
			pthread_mutex_unlock(&f->gp_lock);
			/*
			 * Close n (step 5); pairs with mbfence_light() in
			 * read_unlock. It also opens next, started above.
			 */
			fence_or_die(f, &scan);
			pthread_mutex_lock(&f->gp_lock);
		}
		f->completed = n;
		pthread_cond_broadcast(&f->gp_done);
		if (!next)
			break;
		pthread_mutex_unlock(&f->gp_lock);
		if (!f->lazy_open && !scan.fenced)	/* Open next, as n. */
			fence_or_die(f, &scan);
		n = next;
	}
	f->leader = 0;
}

int mbi_rcu_check_underflow(const struct mbi_rcu_flavor *f, uint64_t ctr,
			    const char *where)
{
	uint64_t now = MEMBARRIER_LOAD_SHARED(f->gp->ctr);

	if (membarrier_likely(ctr >> MBRCU_NEST_BITS <= now >> MBRCU_NEST_BITS))
		return 0;
	mbi_misuse(EINVAL, "%s_read_unlock without read_lock (nesting "
		   "underflow), found by %s", f->name, where);
	return 1;
}

/*
 * A wait for grace periods from inside a critical section never ends. A
 * counter left by an unbalanced read_unlock is no critical section: the
 * scan does not wait for it.
 */
void mbi_rcu_check_not_reading(struct mbi_rcu_flavor *f, const char *call)
{
	struct mbrcu_reader *me = *f->tls();
	uint64_t ctr = me ? MEMBARRIER_LOAD_SHARED(me->ctr) : 0;
	char what[64];

	if (membarrier_likely(!(ctr & MBRCU_NEST_MASK)) ||
	    mbi_rcu_check_underflow(f, ctr, call))
		return;
	snprintf(what, sizeof(what), "%s inside a read-side critical section",
		 call);
	mbi_rcu_die(f, what, EDEADLK);
}

void mbi_rcu_synchronize(struct mbi_rcu_flavor *f)
{
	uint64_t need;

	mbi_rcu_check_not_reading(f, "synchronize");
	mbi_rcu_flavor_init(f);
	pthread_mutex_lock(&f->gp_lock);
	need = f->started + 1;
	if (f->requested < need)
		f->requested = need;
	while (f->completed < need) {
		if (!f->leader)
			lead(f);
		else
			pthread_cond_wait(&f->gp_done, &f->gp_lock);
	}
	pthread_mutex_unlock(&f->gp_lock);
}

/*
 * A grace period in progress in the parent has no leader in the child,
 * and no caller there waits for it: drop it. Later callers need a new one.
 */
void mbi_rcu_gp_fork_child(struct mbi_rcu_flavor *f)
{
	f->leader = 0;
	f->futex = MBI_RCU_AWAKE;
	f->completed = f->started;
	f->requested = f->started;
	pthread_cond_init(&f->gp_done, NULL);
	pthread_mutex_unlock(&f->gp_lock);
}
