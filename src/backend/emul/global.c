// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED across processes.
 *
 * The kernel interrupts the CPUs that run threads of registered
 * processes (kernel/sched/membarrier.c, membarrier_global_expedited()).
 * The emulation has three ways, tried in this order:
 *
 * 1. Few registered processes (FEW at most): each one's agent thread
 *    runs a PRIVATE_EXPEDITED round in its process (TLB shootdown or
 *    CPU walk), which interrupts only the CPUs running it. The
 *    registry (registry.c) lists them: each registered process has a
 *    slot {owner, req, done, reach, walker} and an agent that sleeps on
 *    slot.req, a futex shared through the mapping.
 * 2. More, or one that does not answer: the caller walks every online
 *    CPU (walk.c), which orders every running thread of the system in
 *    O(CPUs), however many processes are registered, sleeping, stopped
 *    or exiting.
 * 3. A caller that cannot run on every CPU (a cpuset, a seccomp filter on
 *    sched_setaffinity) walks what it can and asks agents that can run
 *    on the others ("walkers": their reach is published in their slot)
 *    to walk them: a few walkers cover every CPU. Agents that cannot
 *    walk are asked for a round of their process only when no walker
 *    covered a CPU they may run on.
 *
 *   caller (process A)            agent (process B)       thread T on CPU k
 *   a: smp_mb()
 *   r = ++slot.req ; wake   ->    r' = req (acquire)
 *                                 walk: run on CPU k  ->  switched out
 *                                                         (full barrier)
 *   wait done >= r (acquire) <-   done = r' (release) ; wake
 *   c: smp_mb()
 *
 *   forbidden: T's accesses after the switch unordered with A's before
 *   a, or T's accesses before it unordered with A's after c.
 *   (For a round by TLB shootdown instead of a walk, T is interrupted
 *   by the shootdown's IPI: the same full barrier.)
 *
 * A slot that does not answer within 250 us is dropped if its process is
 * stopped or gone (/proc/PID/stat, when the caller shares its pid
 * namespace): none of its threads runs, and each passes a switch, a full
 * barrier, before it runs again; it is remembered, and skipped while it
 * stays stopped. A process that may run is waited for (200 ms at most),
 * or, in way 1, ordered by the walk.
 *
 * The registration lives as long as the process's lock on its slot
 * (registry.h): execve() and death end it; fork()'s child registers
 * anew (fork inherits registrations); a child of the raw fork system
 * call, which runs no fork handler, does so at its first membarrier call.
 * Every second the agent checks that its file is still the one at its
 * path; when it was removed or replaced (systemd-logind's RemoveIPC, a
 * tmp cleaner), it registers anew and only then lets the old slot go.
 * A caller that finds a registry younger than that period walks (ways 1
 * and 2) or waits (way 3) until every agent has had its chance to rejoin.
 *
 * Callers wake only agents, the library's own threads (all signals
 * blocked); an agent's round interrupts only the running threads of its
 * process, as PRIVATE_EXPEDITED does; the walk only preempts. No sleeping
 * program thread is woken, none sees EINTR.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "backend/emul/emul.h"
#include "backend/emul/registry.h"

#define CHECK_NS	1000000000ull	/* an agent checks its file this often */
#define REJOIN_NS	(CHECK_NS + CHECK_NS / 4)	/* callers' grace */
#define ANSWER_NS	250000ull	/* then a silent slot's process is looked at */
#define PATIENCE_NS	200000000ull	/* a running process's agent, at most */
#define BATCH		256		/* requests in flight at once */
#define POOL		16		/* registries a process maps, per name */
#define FEW		16		/* processes asked one by one, at most */
#define SILENT_NS	100000000ull	/* after a silent one, walk for so long */

/* ---- this process's registration ---- */

enum { REG_NONE, REG_BUSY, REG_DONE };

static struct {
	uint32_t state;		/* REG_*; futex */
	int pid;		/* process that registered (raw fork check) */
	int agent_tid;
	uint32_t result;	/* agent's verdict: 1 + (-errno), futex */
} self;

/* The agent's own: only the agent thread touches it once started. */
static struct {
	struct mbi_greg g;
	int k;
	uint32_t slot;
} own;

/* The CPU walk, in one place (its signature is walk.c's to change). */
static int global_walk(int need_every_cpu)
{
	return mbi_walk(need_every_cpu);
}

static void cpuset_fill(struct mbi_cpuset *s)
{
	memset(s, 0xff, sizeof(*s));
}

static int cpuset_empty(const struct mbi_cpuset *s)
{
	for (int i = 0; i < MBI_MAX_CPUS / 64; i++)
		if (s->bits[i])
			return 0;
	return 1;
}

static int cpuset_meets(const struct mbi_cpuset *a, const struct mbi_cpuset *b)
{
	for (int i = 0; i < MBI_MAX_CPUS / 64; i++)
		if (a->bits[i] & b->bits[i])
			return 1;
	return 0;
}

/* a &= ~b */
static void cpuset_remove(struct mbi_cpuset *a, const struct mbi_cpuset *b)
{
	for (int i = 0; i < MBI_MAX_CPUS / 64; i++)
		a->bits[i] &= ~b->bits[i];
}

static long affinity(int set, struct mbi_cpuset *s)
{
	return mbi_syscall3(set ? SYS_sched_setaffinity : SYS_sched_getaffinity,
			    0, sizeof(*s), (long)s);
}

/* Inode of this process's pid namespace, or 0 without /proc. */
static uint64_t pidns(void)
{
	static uint64_t ino;
	struct stat st;

	if (!__atomic_load_n(&ino, __ATOMIC_RELAXED) &&
	    mbi_syscall6(SYS_newfstatat, AT_FDCWD, (long)"/proc/self/ns/pid",
			 (long)&st, 0, 0, 0) == 0)
		__atomic_store_n(&ino, st.st_ino, __ATOMIC_RELAXED);
	return __atomic_load_n(&ino, __ATOMIC_RELAXED);
}

/*
 * In the agent: widen its CPU set to everything the kernel allows (its
 * cpuset), which every thread of the process is confined to; it can walk
 * them if sched_setaffinity works. Published in the slot for callers.
 */
static void publish_reach(struct mbi_gslot *s)
{
	struct mbi_cpuset set;
	int walker;

	cpuset_fill(&set);
	walker = affinity(1, &set) == 0;
	if (affinity(0, &set) < 0)
		cpuset_fill(&set);
	/* Relaxed: a caller reads them after the pid's or done's acquire,
	 * which pair with the releases that follow these stores. */
	memcpy(&s->reach, &set, sizeof(set));
	__atomic_store_n(&s->walker, (uint32_t)walker, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pidns, pidns(), __ATOMIC_RELAXED);
}

/* Register in the first directory that works: 0, or -ENOMEM. */
static int join(void)
{
	for (int k = 0; k < MBI_GREG_DIRS; k++) {
		struct mbi_greg g;
		int r = mbi_greg_open(k, 1, &g), i;

		if (r == -ENOMEM)
			return r;
		if (r)
			continue;	/* another user's name, or unusable */
		i = mbi_greg_claim(&g);
		if (i < 0) {
			mbi_greg_close(&g);
			return -ENOMEM;
		}
		publish_reach(&g.slot[i]);
		/* The slot's reach, walker and pidns before its owner (release
		 * there; pairs with the acquire of owner in ask_slots()). */
		mbi_greg_publish(&g, (uint32_t)i, (uint32_t)mbi_getpid());
		own.g = g;
		own.k = k;
		own.slot = (uint32_t)i;
		return 0;
	}
	return -ENOMEM;
}

/* The file was removed or replaced: register anew, then leave the old. */
static void rejoin_if_moved(void)
{
	struct mbi_greg old = own.g;

	if (mbi_greg_current(own.k, &own.g)) {
		publish_reach(&own.g.slot[own.slot]);	/* cpusets change */
		return;
	}
	if (join() == 0)
		mbi_greg_close(&old);	/* releases the old slot's lock */
}

/* A walk when one is wanted and we can, else a round of our process. */
static void serve(struct mbi_gslot *s)
{
	/* Read after req's acquire: a caller bumps wreq before req. */
	uint32_t w = __atomic_load_n(&s->wreq, __ATOMIC_RELAXED);

	if (w == __atomic_load_n(&s->wdone, __ATOMIC_RELAXED) ||
	    !__atomic_load_n(&s->walker, __ATOMIC_RELAXED) || global_walk(0))
		mbi_emul_private_round(mbi_gettid());
	__atomic_store_n(&s->wdone, w, __ATOMIC_RELAXED);
}

static void *agent_main(void *arg)
{
	uint64_t checked;
	sigset_t all;
	int r;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	mbi_syscall6(SYS_prctl, 15 /* PR_SET_NAME */, (long)"membarrier-gexp", 0,
		     0, 0, 0);
	__atomic_store_n(&self.agent_tid, mbi_gettid(), __ATOMIC_RELEASE);
	r = join();
	/* Release: own is set before the registrant reads the verdict;
	 * pairs with the acquire in mbi_global_register(). */
	__atomic_store_n(&self.result, (uint32_t)(1 + r), __ATOMIC_RELEASE);
	mbi_futex_wake(&self.result, 1);
	if (r) {
		__atomic_store_n(&self.agent_tid, 0, __ATOMIC_RELEASE);
		return NULL;
	}
	checked = mbi_now_ns();
	for (;;) {
		struct mbi_gslot *s = &own.g.slot[own.slot];
		/* Acquire pairs with the callers' seq_cst increments: what
		 * they did before asking is ordered before our round. A
		 * request left by a dead previous owner is served too. */
		uint32_t q = __atomic_load_n(&s->req, __ATOMIC_ACQUIRE);

		if (q != __atomic_load_n(&s->done, __ATOMIC_RELAXED)) {
			serve(s);
			/* Release pairs with the callers' acquire of done. */
			__atomic_store_n(&s->done, q, __ATOMIC_RELEASE);
			mbi_futex_wake_shared(&s->done, 0x7fffffff);
		} else {
			mbi_futex_wait_shared(&s->req, q, CHECK_NS);
		}
		if (mbi_now_ns() - checked >= CHECK_NS) {
			rejoin_if_moved();
			checked = mbi_now_ns();
		}
	}
	return NULL;
}

int mbi_global_agent_tid(void)
{
	return __atomic_load_n(&self.agent_tid, __ATOMIC_ACQUIRE);
}

/* The registration is of our parent (raw fork): drop it, inherit anew. */
static void check_forked(void)
{
	int pid = mbi_getpid(), was = __atomic_load_n(&self.pid, __ATOMIC_ACQUIRE);

	if (was && was != pid &&
	    __atomic_compare_exchange_n(&self.pid, &was, 0, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		mbi_global_atfork_child();
}

static int start_agent(void)
{
	pthread_attr_t attr;
	pthread_t t;
	uint32_t v;
	int err;

	__atomic_store_n(&self.result, 0, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&t, &attr, agent_main, NULL);
	pthread_attr_destroy(&attr);
	if (err)
		return -ENOMEM;
	/* Acquire pairs with the agent's release of its verdict. */
	while (!(v = __atomic_load_n(&self.result, __ATOMIC_ACQUIRE)))
		mbi_futex_wait(&self.result, 0, 0);
	return (int)v - 1;
}

int mbi_global_register(void)
{
	uint32_t st;
	int r;

	check_forked();
	for (;;) {
		st = __atomic_load_n(&self.state, __ATOMIC_ACQUIRE);
		if (st == REG_DONE)
			return 0;
		/* One registration at a time: the others wait for its end. */
		if (st == REG_NONE &&
		    __atomic_compare_exchange_n(&self.state, &st, REG_BUSY, 0,
						__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
			break;
		mbi_futex_wait(&self.state, REG_BUSY, 0);
	}
	r = start_agent();
	if (r == 0)
		__atomic_store_n(&self.pid, mbi_getpid(), __ATOMIC_RELEASE);
	/* Release: pairs with the acquire above in concurrent registrants. */
	__atomic_store_n(&self.state, r ? REG_NONE : REG_DONE, __ATOMIC_RELEASE);
	mbi_futex_wake(&self.state, 0x7fffffff);
	return r;
}

/*
 * In the child of fork() (one thread): the registration is inherited,
 * but the slot, its lock's descriptor and the agent are the parent's.
 * Close our copy of the descriptor (the parent's lock is on the open
 * file description, which the parent still holds), then register anew.
 */
void mbi_global_atfork_child(void)
{
	if (__atomic_load_n(&self.state, __ATOMIC_RELAXED) != REG_DONE)
		return;
	mbi_greg_close(&own.g);
	self.state = REG_NONE;
	self.agent_tid = 0;
	self.pid = 0;
	mbi_global_register();
}

/* The registry is created on first registration; here, only ask if it
 * could be (a read-only /dev/shm: no GLOBAL_EXPEDITED). */
int mbi_global_supported(void)
{
	return mbi_syscall6(SYS_faccessat, AT_FDCWD, (long)"/dev/shm",
			    W_OK | X_OK, 0, 0, 0) == 0;
}

/* ---- the caller ---- */

static uint32_t pool_used[MBI_GREG_DIRS];
static struct mbi_greg *mapped[MBI_GREG_DIRS];
/* The entries, [MBI_GREG_DIRS][POOL]: mapped on first use rather than
 * kept in .bss, whose size costs every process at load (src/core/core.h,
 * MBI_LOAD_DATA); never unmapped, as a registry entry stays. */
static struct mbi_greg *pool;

static struct mbi_greg *pool_entries(void)
{
	/* Acquire pairs with the release of the exchange below. */
	struct mbi_greg *p = __atomic_load_n(&pool, __ATOMIC_ACQUIRE);
	long len = (long)(sizeof(*p) * MBI_GREG_DIRS * POOL), m;

	if (p)
		return p;
	/* A raw mmap(): async-signal-safe, as the barrier must be. */
	m = mbi_syscall6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0 && m > -4096)
		return NULL;
	if (__atomic_compare_exchange_n(&pool, &p, (struct mbi_greg *)m, 0,
					__ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		return (struct mbi_greg *)m;
	mbi_syscall3(SYS_munmap, m, len, 0);	/* another thread's won */
	return p;
}

/*
 * The registry at name k, mapped once per file: a replaced file gets a
 * new entry (the old one stays mapped: another thread may be reading
 * it). Beyond POOL replacements (or without memory for the entries),
 * *tmp is used and the caller closes it.
 */
static struct mbi_greg *registry(int k, struct mbi_greg *tmp)
{
	/* Acquire pairs with the release below: fd, identity and mapping
	 * are seen whole (a half-published entry cannot be). */
	struct mbi_greg *g = __atomic_load_n(&mapped[k], __ATOMIC_ACQUIRE);
	struct mbi_greg *p;
	uint32_t i;

	if (g && mbi_greg_current(k, g))
		return g;
	if (mbi_greg_open(k, 0, tmp))
		return NULL;
	p = pool_entries();
	if (!p)
		return tmp;
	i = __atomic_fetch_add(&pool_used[k], 1, __ATOMIC_RELAXED);
	if (i >= POOL)
		return tmp;
	p += k * POOL + i;
	*p = *tmp;
	tmp->fd = -1;
	/* Release pairs with the acquire above. A lost race leaves ours
	 * in the pool, used this once. */
	__atomic_compare_exchange_n(&mapped[k], &g, p, 0,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	return p;
}

struct ask {
	const struct mbi_greg *g;
	uint32_t slot, r;
	int walk;		/* a walk was asked for */
	int open;		/* not yet answered */
};

/* Ask slot i's agent for a round of its process, or a walk. */
static void ask(const struct mbi_greg *g, struct ask *a, uint32_t i, int walk)
{
	struct mbi_gslot *s = &g->slot[i];

	a->g = g;
	a->slot = i;
	a->walk = walk;
	a->open = 1;
	/* Seq_cst: after the caller's a: fence, before the agent's acquire
	 * of req (agent_main), wreq before req (serve()). */
	if (walk)
		__atomic_add_fetch(&s->wreq, 1, __ATOMIC_SEQ_CST);
	a->r = __atomic_add_fetch(&s->req, 1, __ATOMIC_SEQ_CST);
	mbi_futex_wake_shared(&s->req, 1);
}

static int answered(const struct ask *a)
{
	/* Acquire pairs with the agent's release of done. */
	uint32_t d = __atomic_load_n(&a->g->slot[a->slot].done, __ATOMIC_ACQUIRE);

	return (int32_t)(d - a->r) >= 0;
}

enum { GONE, STOPPED, RUNS, UNKNOWN };

/*
 * What the process of slot i is doing, from /proc/PID/stat when it is in
 * our pid namespace: GONE (its lock is free), STOPPED (group stop: no
 * thread runs; each passes a switch, a full barrier, before it runs
 * again; the kernel sets the state under the task's pi_lock, after its
 * last user access: kernel/signal.c, do_signal_stop()), RUNS (or may),
 * UNKNOWN (another pid namespace, no /proc, a zombie leader, or a child
 * of the raw fork system call holding its dead parent's lock).
 */
static int state_of(const struct mbi_greg *g, uint32_t i)
{
	const struct mbi_gslot *s = &g->slot[i];
	uint32_t pid = (uint32_t)__atomic_load_n(&s->owner, __ATOMIC_RELAXED);
	struct mbi_task_info info = { '?', -1 };
	char path[32], buf[1024];

	if (!mbi_greg_alive(g, i))
		return GONE;
	if (!pid || !pidns() || __atomic_load_n(&s->pidns, __ATOMIC_RELAXED) != pidns())
		return UNKNOWN;
	mbi_greg_fmt(path, sizeof(path), "/proc/", (unsigned long)pid, "/stat");
	if (mbi_read_file(path, buf, sizeof(buf)) < 0)
		return UNKNOWN;
	mbi_parse_stat(buf, &info);
	if (info.state == 'T')
		return STOPPED;
	return info.state == 'R' || info.state == 'S' || info.state == 'D' ||
	       info.state == 't' ? RUNS : UNKNOWN;
}

/*
 * Slots last found STOPPED: asked again only once they run (a hint; a
 * slot is skipped only after state_of() finds it STOPPED again).
 */
#define MEMO 8
static struct {
	const struct mbi_greg *g;
	uint32_t slot;
} stopped_memo[MEMO];
static uint32_t memo_next;

static void memo_add(const struct mbi_greg *g, uint32_t i)
{
	uint32_t m = __atomic_fetch_add(&memo_next, 1, __ATOMIC_RELAXED) % MEMO;

	__atomic_store_n(&stopped_memo[m].g, g, __ATOMIC_RELAXED);
	__atomic_store_n(&stopped_memo[m].slot, i, __ATOMIC_RELAXED);
}

/* Slot i was found stopped before and still is: no need to ask it. */
static int still_stopped(const struct mbi_greg *g, uint32_t i)
{
	for (int m = 0; m < MEMO; m++)
		if (__atomic_load_n(&stopped_memo[m].g, __ATOMIC_RELAXED) == g &&
		    __atomic_load_n(&stopped_memo[m].slot, __ATOMIC_RELAXED) == i) {
			if (state_of(g, i) == STOPPED)
				return 1;
			__atomic_store_n(&stopped_memo[m].g, NULL, __ATOMIC_RELAXED);
		}
	return 0;
}

/*
 * Wait for the answers to q[0..n): 250 us for all; then silent slots
 * whose process is gone or stopped are dropped, and the others by how:
 * FEW_WAY returns -1 at the first that may run and is not known to
 * (UNKNOWN: the walk will order it); WALKERS_WAY drops every silent one
 * that does not run (another pass asks for its CPUs); ALL_WAY waits for
 * the rest, 200 ms at most. An answered walk takes its reach out of
 * *left. 0, or -1 when a silent slot was left that may run.
 */
enum { FEW_WAY, WALKERS_WAY, ALL_WAY };

static int settle(struct ask *q, int n, struct mbi_cpuset *left, int way)
{
	uint64_t t0 = mbi_now_ns();
	int looked = 0;

	for (;;) {
		int open = 0, first = -1;
		uint64_t now;

		for (int j = 0; j < n; j++) {
			const struct mbi_gslot *s = &q[j].g->slot[q[j].slot];

			if (!q[j].open)
				continue;
			if (answered(&q[j])) {
				q[j].open = 0;
				if (q[j].walk && __atomic_load_n(&s->walker, __ATOMIC_RELAXED))
					cpuset_remove(left, &s->reach);
				continue;
			}
			open++;
			if (first < 0)
				first = j;
		}
		now = mbi_now_ns();
		if (!open)
			return 0;
		if (now - t0 >= PATIENCE_NS)
			return -1;
		if (now - t0 >= ANSWER_NS && !looked) {
			looked = 1;
			for (int j = 0; j < n; j++) {
				int st;

				if (!q[j].open)
					continue;
				st = state_of(q[j].g, q[j].slot);
				if (st == STOPPED)
					memo_add(q[j].g, q[j].slot);
				if (st == UNKNOWN && way == FEW_WAY)
					return -1;
				if (st != RUNS && (st != UNKNOWN || way == WALKERS_WAY))
					q[j].open = 0;
			}
			continue;
		}
		mbi_futex_wait_shared(&q[first].g->slot[q[first].slot].done,
				      __atomic_load_n(&q[first].g->slot[q[first].slot].done,
						      __ATOMIC_RELAXED), 100000);
	}
}

/*
 * Ask the live slots of g whose reach meets *left: walkers only (one per
 * part of *left, greedily), or everyone (walks from walkers, rounds from
 * the others).
 */
static void ask_slots(const struct mbi_greg *g, struct mbi_cpuset *left,
		      int walkers_only)
{
	struct mbi_cpuset want = *left;
	struct ask q[BATCH];
	uint32_t n = mbi_greg_nslots(g);
	int nq = 0;

	for (uint32_t i = 0; i < n && !cpuset_empty(walkers_only ? &want : left); i++) {
		const struct mbi_gslot *s = &g->slot[i];
		/* Acquire pairs with the release of owner in join(). */
		uint64_t o = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);
		int walker = __atomic_load_n(&s->walker, __ATOMIC_RELAXED);

		if (!(uint32_t)o || (walkers_only && !walker) ||
		    !cpuset_meets(&s->reach, walkers_only ? &want : left))
			continue;
		if (!mbi_greg_alive(g, i)) {
			mbi_greg_clear((struct mbi_greg *)g, i, o);
			continue;
		}
		if (still_stopped(g, i))
			continue;
		ask(g, &q[nq++], i, walker);
		if (walkers_only)
			cpuset_remove(&want, &s->reach);
		if (nq == BATCH) {
			settle(q, nq, left, walkers_only ? WALKERS_WAY : ALL_WAY);
			nq = 0;
		}
	}
	settle(q, nq, left, walkers_only ? WALKERS_WAY : ALL_WAY);
}

/* How long until agents of a removed registry have all had a chance to
 * join g (made after the removal): 0 if they have. */
static uint64_t young(const struct mbi_greg *g)
{
	uint64_t born = __atomic_load_n(&g->hdr->born_ns, __ATOMIC_RELAXED);
	uint64_t now = mbi_now_ns();

	return now >= born && now - born < REJOIN_NS ? REJOIN_NS - (now - born) : 0;
}

/* A registry younger than an agent's check: let old agents rejoin. */
static void let_rejoin(const struct mbi_greg *g)
{
	uint64_t wait = young(g);

	if (wait)
		mbi_sleep_ns(wait);
}

/* The CPUs this thread may not run on: where the walk could not go. */
static void unreached(struct mbi_cpuset *left)
{
	struct mbi_cpuset allowed;

	if (mbi_cpus_online(left))
		cpuset_fill(left);
	if (affinity(0, &allowed) < 0)
		return;
	cpuset_remove(left, &allowed);
	/* Every CPU allowed, yet the walk failed: sched_setaffinity is
	 * refused (a seccomp filter); none was reached. */
	if (cpuset_empty(left) && mbi_cpus_online(left))
		cpuset_fill(left);
}

/* Where the walk cannot go: walkers, then the processes left. */
static void ask_registries(void)
{
	struct mbi_cpuset left;

	unreached(&left);
	for (int k = 0; k < MBI_GREG_DIRS; k++) {
		struct mbi_greg tmp = { .fd = -1 }, *g = registry(k, &tmp);

		if (!g)
			continue;
		let_rejoin(g);
		/* Walkers first: a few cover every CPU of left... */
		ask_slots(g, &left, 1);
		/* ...and every process that may run where none went. */
		if (!cpuset_empty(&left))
			ask_slots(g, &left, 0);
		if (tmp.fd >= 0)
			mbi_greg_close(&tmp);
	}
}

/*
 * Few registered processes (FEW at most, in every registry together):
 * ask each for a round of its own process, cheaper than a walk (a
 * wake-up each, and a TLB shootdown that interrupts only the CPUs
 * running it, or a walk where the shootdown is not a barrier). 1 if all answered within 1 ms; 0 if there are
 * more, or one was silent (then the walk orders it, stopped or not, and
 * this path is not tried again for SILENT_NS).
 */
static uint64_t silent_until;

static int ask_few(void)
{
	struct mbi_greg tmp[MBI_GREG_DIRS], *g[MBI_GREG_DIRS];
	struct ask q[FEW];
	uint32_t total = 0, count[MBI_GREG_DIRS] = { 0 };
	uint64_t t0 = mbi_now_ns();
	int n = 0, ok = 1;

	if (t0 < __atomic_load_n(&silent_until, __ATOMIC_RELAXED))
		return 0;
	for (int k = 0; k < MBI_GREG_DIRS; k++) {
		tmp[k].fd = -1;
		g[k] = registry(k, &tmp[k]);
		if (!g[k])
			continue;
		/* Acquire pairs with the release of count in
		 * mbi_greg_publish(): every owner counted is seen. */
		count[k] = __atomic_load_n(&g[k]->hdr->count, __ATOMIC_ACQUIRE);
		total += count[k];
		/* A young registry: old agents may not have rejoined yet,
		 * the walk orders them. */
		if (young(g[k]))
			ok = 0;
	}
	for (int k = 0; k < MBI_GREG_DIRS && ok; k++) {
		uint32_t seen = 0;

		for (uint32_t i = 0, end = g[k] ? mbi_greg_nslots(g[k]) : 0;
		     i < end && seen < count[k] && total <= FEW; i++) {
			/* Acquire pairs with the release of owner in join(). */
			uint64_t o = __atomic_load_n(&g[k]->slot[i].owner, __ATOMIC_ACQUIRE);

			if (!(uint32_t)o)
				continue;
			seen++;
			if (!mbi_greg_alive(g[k], i)) {
				mbi_greg_clear(g[k], i, o);
				continue;
			}
			if (still_stopped(g[k], i))
				continue;
			if (n == FEW) {
				ok = 0;
				break;
			}
			ask(g[k], &q[n++], i, 0);
		}
	}
	ok = ok && total <= FEW;
	if (ok && settle(q, n, NULL, FEW_WAY)) {
		ok = 0;
		__atomic_store_n(&silent_until, mbi_now_ns() + SILENT_NS,
				 __ATOMIC_RELAXED);
	}
	for (int k = 0; k < MBI_GREG_DIRS; k++)
		if (tmp[k].fd >= 0)
			mbi_greg_close(&tmp[k]);
	return ok;
}

int mbi_global_expedited(void)
{
	check_forked();
	membarrier_arch_mb();	/* a: pairs with the agents' rounds */
	if (ask_few())
		goto out;
	/* The walk's own fences pair with the switches on each CPU. */
	if (global_walk(1) == 0)
		goto out;
	ask_registries();
out:
	membarrier_arch_mb();	/* c: pairs with the agents' rounds */
	return 0;
}
