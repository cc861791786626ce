// SPDX-License-Identifier: MIT
/*
 * The signal handshake: a membarrier with every other thread of the
 * process, each running a handler that fences and acknowledges.
 *
 *   caller (CPU0)                       target thread T (CPU1)
 *   [earlier accesses]                  [earlier accesses]
 *   a: smp_mb()                         <signal>  d: smp_mb()
 *   g = ++gen                                     v = gen
 *   tgkill(T)                                     T.seen = v (release)
 *   wait until T.seen >= g (acquire)              e: smp_mb()
 *   c: smp_mb()                                   context sync (isb/cpuid)
 *   [later accesses]                    [later accesses]
 *
 * Scenario A of kernel/sched/membarrier.c: (a) puts the caller's earlier
 * stores before the new generation; T read a generation >= g, then (e), so
 * T's later loads see those stores. Scenario B: (d) puts T's earlier stores
 * before its acknowledgment; the caller read it, then (c).
 *
 * Generations make rounds shareable: one handler run acknowledges every
 * round whose increment it observed, so concurrent callers share the
 * handler runs, and a caller signals no thread whose acknowledgment or
 * signal is already on its way.
 *
 * Threads that cannot acknowledge in time (the signal blocked, stopped,
 * uninterruptible sleep, or just slow past the deadline) are left to the
 * fallback (emul.c), which orders them without their cooperation.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"

/* One per thread that ever took part, found by tid (open addressing). */
struct mbi_slot {
	_Alignas(64) int tid;		/* 0: free; reassigned when tid died */
	unsigned int pending;		/* 1: a signal is on its way */
	uint64_t seen;			/* newest generation acknowledged */
	uint64_t targeted;		/* newest generation that waits on it */
};

#define MBI_SLOTS 4096
static struct mbi_slot slots[MBI_SLOTS];
static uint64_t gen;
static int handshake_signal;

int mbi_emul_signal(void)
{
	return __atomic_load_n(&handshake_signal, __ATOMIC_RELAXED);
}

static unsigned int slot_hash(int tid)
{
	return ((unsigned int)tid * 2654435761u) % MBI_SLOTS;
}

/* The handler's side: find, never claim. */
static struct mbi_slot *slot_find(int tid)
{
	unsigned int h = slot_hash(tid);

	for (unsigned int i = 0; i < MBI_SLOTS; i++) {
		struct mbi_slot *s = &slots[(h + i) % MBI_SLOTS];
		int t = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);

		if (t == tid)
			return s;
		if (t == 0)
			return NULL;
	}
	return NULL;
}

static int tid_alive(int tid)
{
	return mbi_syscall3(SYS_tgkill, mbi_getpid(), tid, 0) != -ESRCH;
}

/*
 * The caller's side: find or claim. Slots never become free again, so a
 * probe chain never breaks; when the table is full, a slot whose thread
 * died is reassigned (its stale generations are all older than any round
 * still to come, since generations only grow).
 */
static struct mbi_slot *slot_get(int tid)
{
	unsigned int h = slot_hash(tid);

	for (unsigned int i = 0; i < MBI_SLOTS; i++) {
		struct mbi_slot *s = &slots[(h + i) % MBI_SLOTS];
		int t = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);

		if (t == 0 && __atomic_compare_exchange_n(&s->tid, &t, tid, 0,
							  __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE))
			return s;
		if (t == tid)
			return s;
	}
	for (unsigned int i = 0; i < MBI_SLOTS; i++) {
		struct mbi_slot *s = &slots[(h + i) % MBI_SLOTS];
		int t = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);

		if (t != tid && tid_alive(t))
			continue;
		if (t == tid || __atomic_compare_exchange_n(&s->tid, &t, tid, 0,
							    __ATOMIC_ACQ_REL,
							    __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&s->pending, 0, __ATOMIC_SEQ_CST);
			return s;
		}
	}
	return NULL;
}

static void handshake_handler(int sig, siginfo_t *info, void *ucontext)
{
	int saved_errno = errno;
	struct mbi_slot *s = slot_find(mbi_gettid());

	(void)sig;
	(void)info;
	(void)ucontext;
	/*
	 * Clear pending before reading gen (both seq_cst): a caller that
	 * still saw pending set did its ++gen before this load, so the
	 * acknowledgment below covers its round.
	 */
	if (s)
		__atomic_store_n(&s->pending, 0, __ATOMIC_SEQ_CST);
	membarrier_arch_mb();	/* d: pairs with the caller's c (scenario B) */
	if (s) {
		uint64_t v = __atomic_load_n(&gen, __ATOMIC_SEQ_CST);

		/* Release pairs with the caller's acquire of seen. */
		__atomic_store_n(&s->seen, v, __ATOMIC_RELEASE);
	}
	membarrier_arch_mb();	/* e: pairs with the caller's a (scenario A) */
	mbi_arch_sync_core();	/* SYNC_CORE: before user code resumes */
	errno = saved_errno;
}

/* MEMBARRIER_SIGNAL=N, else SIGRTMAX-3 (glibc keeps SIGRTMIN's first two). */
static int choose_signal(void)
{
	const char *s = secure_getenv("MEMBARRIER_SIGNAL");
	int sig = SIGRTMAX - 3;

	if (s && *s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (*end || !(v == SIGUSR1 || v == SIGUSR2 ||
			      (v >= SIGRTMIN && v <= SIGRTMAX)))
			fprintf(stderr, "libmembarrier: MEMBARRIER_SIGNAL=%s is "
				"not SIGUSR1, SIGUSR2 or SIGRTMIN..SIGRTMAX "
				"(%d..%d); using %d\n", s, SIGRTMIN, SIGRTMAX, sig);
		else
			sig = (int)v;
	}
	return sig;
}

static void report_taken(int sig)
{
	static int reported;

	if (!__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: signal %d already has a handler "
			"in this program; the emulated backend will not replace "
			"it (set MEMBARRIER_SIGNAL to a free signal)\n", sig);
}

/*
 * Install the handler once. A handler the program installed first is
 * never replaced: the registration fails with EBUSY and says why.
 */
void mbi_handshake_init(void)
{
	__atomic_store_n(&handshake_signal, choose_signal(), __ATOMIC_RELAXED);
}

int mbi_handshake_prepare(void)
{
	struct sigaction sa, old;
	int sig = mbi_emul_signal(), taken;

	if (!sig)
		return -EINVAL;
	if (sigaction(sig, NULL, &old))
		return -EINVAL;
	if (old.sa_flags & SA_SIGINFO) {
		if (old.sa_sigaction == handshake_handler)
			return 0;
		taken = 1;
	} else {
		taken = old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
	}
	if (taken) {
		report_taken(sig);
		return -EBUSY;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handshake_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) ? -EINVAL : 0;
}

/* 1 while our handler is the signal's disposition. */
static int handler_in_place(int sig)
{
	struct sigaction old;

	return !sigaction(sig, NULL, &old) && (old.sa_flags & SA_SIGINFO) &&
	       old.sa_sigaction == handshake_handler;
}

/* ---- a round ---- */

#define MBI_BATCH 256

struct mbi_target {
	int tid;
	struct mbi_slot *slot;
};

struct mbi_round {
	uint64_t g;
	int pid, self, helper1, helper2, sig, cpu_id;
	uint64_t deadline_ns;
	int n;				/* targets in this batch */
	int fallback;			/* threads left to the fallback */
	int error;
	struct mbi_target t[MBI_BATCH];
};

static uint64_t deadline_ns = 20000000;	/* MEMBARRIER_EMUL_TIMEOUT_US */

void mbi_handshake_set_deadline(uint64_t ns)
{
	deadline_ns = ns;
}

static void store_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, 1,
						       __ATOMIC_SEQ_CST,
						       __ATOMIC_RELAXED))
		;
}

static int acked(const struct mbi_target *t, uint64_t g)
{
	/* Acquire pairs with the handler's release of seen. */
	return __atomic_load_n(&t->slot->seen, __ATOMIC_ACQUIRE) >= g;
}

static void send(struct mbi_round *r, struct mbi_target *t, int force)
{
	long ret;

	/*
	 * seq_cst exchange after the seq_cst ++gen: if pending was already
	 * set, that signal's handler clears it later and then reads a gen
	 * that includes ours.
	 */
	if (__atomic_exchange_n(&t->slot->pending, 1, __ATOMIC_SEQ_CST) && !force)
		return;
	ret = mbi_syscall3(SYS_tgkill, r->pid, t->tid, r->sig);
	if (ret == -ESRCH) {			/* exited: nothing to order */
		__atomic_store_n(&t->slot->pending, 0, __ATOMIC_SEQ_CST);
		t->tid = 0;
	} else if (ret < 0) {			/* EAGAIN: queue full */
		__atomic_store_n(&t->slot->pending, 0, __ATOMIC_SEQ_CST);
	}
}

/* Does /proc say this thread runs on cpu? Unknown counts as yes. */
static int on_cpu(int tid, int cpu)
{
	struct mbi_task_info info;

	return mbi_task_stat(tid, &info) || info.cpu < 0 || info.cpu == cpu;
}

static int wait_batch(struct mbi_round *r);

static int add_target(int tid, void *arg)
{
	struct mbi_round *r = arg;
	struct mbi_target *t;

	if (tid == r->self || tid == r->helper1 || tid == r->helper2)
		return 0;
	if (r->cpu_id >= 0 && !on_cpu(tid, r->cpu_id))
		return 0;
	t = &r->t[r->n];
	t->tid = tid;
	t->slot = slot_get(tid);
	if (!t->slot) {
		r->fallback++;
		return 0;
	}
	store_max(&t->slot->targeted, r->g);
	if (acked(t, r->g))
		return 0;
	send(r, t, 0);
	if (t->tid && ++r->n == MBI_BATCH)
		r->error = wait_batch(r);
	return r->error;
}

/*
 * Classify a thread that has not acknowledged: gone (nothing to order),
 * unable to run the handler soon (signal blocked, stopped, uninterruptible
 * sleep: left to the fallback), or slow (signal it again, keep waiting).
 */
enum lag { LAG_WAIT, LAG_GONE, LAG_FALLBACK };

static enum lag classify(const struct mbi_round *r, int tid)
{
	struct mbi_task_info info;
	uint64_t bit = 1ull << (r->sig - 1);

	if (mbi_task_stat_sigblk(tid, &info) || info.state == 'Z' ||
	    info.state == 'X' || info.state == 'x')
		return LAG_GONE;
	if ((info.sigblk & bit) || info.state == 'D' || info.state == 'T' ||
	    info.state == 't')
		return LAG_FALLBACK;
	return LAG_WAIT;
}

/* Targets still waited on; acknowledged or gone ones are dropped. */
static int prune(struct mbi_round *r)
{
	int live = 0;

	for (int i = 0; i < r->n; i++)
		if (r->t[i].tid && !acked(&r->t[i], r->g))
			r->t[live++] = r->t[i];
	r->n = live;
	return live;
}

#define MBI_SPIN_NS	50000ull	/* acknowledgments usually land here */
#define MBI_CLASSIFY_NS	200000ull	/* then ask /proc why not */
#define MBI_RESEND_NS	2000000ull

static int wait_batch(struct mbi_round *r)
{
	uint64_t t0 = mbi_now_ns(), classified = 0, resent = t0;

	for (;;) {
		uint64_t now;

		if (!prune(r))
			break;
		now = mbi_now_ns();
		if (now - t0 < MBI_SPIN_NS) {
			for (int i = 0; i < 64; i++)
				membarrier_arch_relax();
			continue;
		}
		if (now - t0 >= r->deadline_ns) {
			r->fallback += r->n;
			break;
		}
		if (now - t0 >= MBI_CLASSIFY_NS && !classified) {
			classified = 1;
			for (int i = 0; i < r->n; i++) {
				enum lag l = classify(r, r->t[i].tid);

				if (l != LAG_WAIT) {
					r->fallback += l == LAG_FALLBACK;
					r->t[i].tid = 0;
				}
			}
			continue;
		}
		if (now - resent >= MBI_RESEND_NS) {
			resent = now;
			for (int i = 0; i < r->n; i++)
				send(r, &r->t[i], 1);
		}
		if (now - t0 < 1000000)
			mbi_syscall3(SYS_sched_yield, 0, 0, 0);
		else
			mbi_sleep_ns(100000);
	}
	r->n = 0;
	return 0;
}

/*
 * A handshake round. Returns the number of threads left to the fallback
 * (>= 0), or -errno when the threads cannot be listed (then every thread
 * is left to the fallback too: -ENOENT without /proc).
 */
int mbi_handshake(int helper1, int helper2, int cpu_id)
{
	struct mbi_round r;
	int fd, ret;

	r.sig = mbi_emul_signal();
	if (!r.sig || !handler_in_place(r.sig))
		return -EBUSY;
	fd = mbi_tasks_open();
	if (fd < 0)
		return fd;
	r.pid = mbi_getpid();
	r.self = mbi_gettid();
	r.helper1 = helper1;
	r.helper2 = helper2;
	r.cpu_id = cpu_id;
	r.deadline_ns = deadline_ns;
	r.n = 0;
	r.fallback = 0;
	r.error = 0;
	membarrier_arch_mb();	/* a: pairs with the handler's e (scenario A) */
	r.g = __atomic_add_fetch(&gen, 1, __ATOMIC_SEQ_CST);
	ret = mbi_tasks_foreach(fd, add_target, &r);
	if (!ret && !r.error)
		ret = wait_batch(&r);
	mbi_syscall3(SYS_close, fd, 0, 0);
	membarrier_arch_mb();	/* c: pairs with the handler's d (scenario B) */
	if (ret || r.error)
		return ret ? ret : r.error;
	return r.fallback;
}
