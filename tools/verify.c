// SPDX-License-Identifier: MIT
/*
 * Verifications that only a real barrier passes (membarrier doctor).
 *
 * A store-buffering litmus cannot catch a membarrier that returns 0 and
 * orders nothing: the call's own latency hides the reordering. What a
 * real expedited barrier does, and a lie cannot, is interrupt the threads
 * running elsewhere (an IPI, a signal, a TLB-flush IPI, a preemption)
 * during the call, or abort their rseq critical sections.
 *
 * Interruption: a thread pinned to another CPU reads the cycle counter in
 * a tight loop and records every gap longer than a threshold (it was not
 * running user code then). The caller, pinned to its own CPU, makes K
 * calls at random moments, each once the thread is seen running, and
 * notes each call's [start, end]; a call "interrupted" the thread if a
 * gap begins inside its window. A sample
 * counts only if the thread was running when the call began (no gap
 * covers the start): a barrier rightly leaves alone a thread that is not
 * running. The control takes K windows of the same lengths without a
 * call. A real barrier hits (nearly) every sample; a lie hits about as
 * often as the control (judge(): Fisher's exact test).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "arch/arch.h"

#include "cpus.h"
#include "rseq_probe.h"
#include "tool.h"
#include "verify.h"

#define MAX_GAPS 8192		/* the ring's size, a power of two */
#define CALLS 120

/*
 * Shared with the spinning thread (or process: MAP_SHARED). The gaps are
 * a ring: gap number k (counting from 0) is at k % MAX_GAPS, n counts
 * every gap ever recorded, so the newest MAX_GAPS are kept however long
 * the check runs on however loaded a machine (a full array would stop
 * recording, and every later sample would read as a miss).
 */
struct gaps {
	unsigned long long threshold;		/* cycles */
	int stop, ready;
	unsigned long n;			/* gaps recorded, monotonic */
	unsigned long long now;			/* the thread's heartbeat */
	unsigned long long start[MAX_GAPS], end[MAX_GAPS];
};

static int other_cpu[2] = { -1, -1 };
static cpu_set_t saved_cpus;

/* The caller pins itself for a check, then gets its CPU set back. */
static void pin_caller(void)
{
	sched_getaffinity(0, sizeof(saved_cpus), &saved_cpus);
}

static void unpin_caller(void)
{
	sched_setaffinity(0, sizeof(saved_cpus), &saved_cpus);
}

int verify_pick_cpus(void)
{
	return cpus_pick_two(other_cpu);
}

/*
 * The spinner's loop is built without ThreadSanitizer's instrumentation:
 * with it, each store is a call into the runtime that updates shadow
 * clocks, and the loop itself stalls past the gap threshold. Beside a
 * busy loop on the same CPU the control windows were hit 60 to 96 times
 * in 120 (0 to 4 without it), and a loaded CI run failed the check under
 * TSan. The ring's readers stay instrumented; TSan then sees no writes
 * to the ring and checks nothing of it, which the other builds cover.
 */
__attribute__((no_sanitize("thread")))
static void spin_recording(struct gaps *g)
{
	unsigned long long last, now;

	cpus_pin_self(other_cpu[1]);
	/* Release: pinned before the caller, acquiring ready, measures. */
	__atomic_store_n(&g->ready, 1, __ATOMIC_RELEASE);
	last = mbi_arch_cycles();
	while (!__atomic_load_n(&g->stop, __ATOMIC_RELAXED)) {
		now = mbi_arch_cycles();
		if (now - last > g->threshold) {
			/* Plain: only this thread writes n. */
			unsigned long k = g->n;

			/* Releases: the count so far (n = k) before this
			 * gap overwrites the slot of gap k - MAX_GAPS; pair
			 * with the acquire loads of the slot in
			 * sample_window(): a reader that read a new value
			 * then sees n >= k and discards what it read. (No
			 * fences: TSan does not model them.) */
			__atomic_store_n(&g->start[k % MAX_GAPS], last, __ATOMIC_RELEASE);
			__atomic_store_n(&g->end[k % MAX_GAPS], now, __ATOMIC_RELEASE);
			/* Release: the gap before its count; pairs with the
			 * acquire of n in sample_window(). */
			__atomic_store_n(&g->n, k + 1, __ATOMIC_RELEASE);
		}
		/* Release: the gaps recorded so far, before the heartbeat;
		 * pairs with the acquire of now in sample_window(). */
		__atomic_store_n(&g->now, now, __ATOMIC_RELEASE);
		last = now;
	}
}

/* Cycles per microsecond, from the monotonic clock. */
static double cycles_per_us(void)
{
	unsigned long long c0 = mbi_arch_cycles();
	uint64_t t0 = tool_now_ns();

	usleep(10000);
	return (double)(mbi_arch_cycles() - c0) * 1000.0 /
	       (double)(tool_now_ns() - t0);
}

enum sample { SAMPLE_MISS, SAMPLE_HIT, SAMPLE_VOID };

/*
 * The longest the caller waits for the thread to run, before a window
 * and after it: a sample is void if the thread does not. Loaded (load
 * average 20 to 30 on 2 CPUs) the thread was preempted about 100 times
 * a second and often waited over 20 ms for its CPU: with 20 ms here, 405
 * of 480 tries of a check were void, leaving 75 valid samples (60 are
 * needed) after 130 s. Waiting is cheaper than a void try.
 */
#define WAIT_MS 200

/*
 * Sample the window [a, b]: void if the thread was not running at a (a
 * gap covers it) or has not run since b (no heartbeat past b within
 * WAIT_MS); hit if a gap begins inside the window; miss otherwise.
 * The ring is read from the newest gap back to the first that ended by
 * a (gaps are recorded in order: all older ones ended earlier); void too
 * if the gaps to read were overwritten meanwhile (a lap of the ring).
 */
static enum sample sample_window(const struct gaps *g, unsigned long long a,
			    unsigned long long b, double cyc_per_us)
{
	unsigned long long limit = b + (unsigned long long)(cyc_per_us * 1000 *
							    WAIT_MS);
	enum sample s = SAMPLE_VOID;	/* read the whole ring: cannot tell */
	unsigned long n, k, oldest;

	/* Acquires pair with the spinner's releases of now and n. */
	while (__atomic_load_n(&g->now, __ATOMIC_ACQUIRE) <= b)
		if (mbi_arch_cycles() > limit)
			return SAMPLE_VOID;
	n = __atomic_load_n(&g->n, __ATOMIC_ACQUIRE);
	if (n == 0)
		return SAMPLE_MISS;
	for (k = n - 1; ; k--) {	/* gap number k */
		unsigned long long start, end;

		oldest = k;
		/* Acquires pair with the releases of the slot (above). */
		start = __atomic_load_n(&g->start[k % MAX_GAPS], __ATOMIC_ACQUIRE);
		end = __atomic_load_n(&g->end[k % MAX_GAPS], __ATOMIC_ACQUIRE);
		if (end <= a)
			s = SAMPLE_MISS;
		else if (start < a)
			s = SAMPLE_VOID;
		else if (start < b)
			s = SAMPLE_HIT;
		else if (k == 0)
			s = SAMPLE_MISS;	/* every gap since the start read */
		else if (n - k < MAX_GAPS)
			continue;
		break;
	}
	/* The slots' acquire loads above order this read of n after them:
	 * a count that reached oldest + MAX_GAPS means the slot of gap
	 * oldest may hold a newer gap: discard the sample. */
	if (__atomic_load_n(&g->n, __ATOMIC_RELAXED) - oldest >= MAX_GAPS)
		return SAMPLE_VOID;
	return s;
}

/*
 * Wait (up to WAIT_MS) until the thread is running: its heartbeat is
 * fresher than two gap thresholds. On a loaded machine the thread is
 * often queued behind others, and a window opened then is void: waiting
 * keeps the valid samples many, for the calls and the control alike.
 */
static void wait_running(const struct gaps *g, double cyc_per_us)
{
	unsigned long long t0 = mbi_arch_cycles();
	unsigned long long limit = (unsigned long long)(cyc_per_us * 1000 *
							WAIT_MS);

	for (;;) {
		unsigned long long t = mbi_arch_cycles();

		/* Relaxed: a hint only; sample_window() decides. */
		if ((long long)(t - __atomic_load_n(&g->now, __ATOMIC_RELAXED)) <
			    (long long)(2 * g->threshold) || t - t0 > limit)
			return;
		membarrier_arch_relax();
	}
}

/*
 * The caller's side: CALLS valid samples with a call, then as many control
 * windows of the same lengths without one (at most 4x attempts each),
 * each opened when the observed thread runs.
 */
static int measure(struct gaps *g, const struct verify_call *c,
		   struct verify_result *r, double cyc_per_us)
{
	unsigned long long win[CALLS];
	unsigned int seed = 12345;
	int valid = 0, ret;

	r->hits = r->control_hits = 0;
	for (int tries = 0; valid < CALLS && tries < 4 * CALLS; tries++) {
		unsigned long long t0, t1;
		enum sample s;

		usleep(100 + rand_r(&seed) % 300);
		wait_running(g, cyc_per_us);
		t0 = mbi_arch_cycles();
		ret = c->call(c->arg);
		if (ret)
			return ret;
		t1 = mbi_arch_cycles();
		s = sample_window(g, t0, t1, cyc_per_us);
		if (s == SAMPLE_VOID)
			continue;
		win[valid++] = t1 - t0;
		r->hits += s == SAMPLE_HIT;
	}
	r->calls = valid;
	for (int i = 0, tries = 0; i < valid && tries < 4 * CALLS; tries++) {
		unsigned long long t0;
		enum sample s;

		usleep(100 + rand_r(&seed) % 300);
		wait_running(g, cyc_per_us);
		t0 = mbi_arch_cycles();
		while (mbi_arch_cycles() - t0 < win[i])
			membarrier_arch_relax();
		s = sample_window(g, t0, t0 + win[i], cyc_per_us);
		if (s == SAMPLE_VOID)
			continue;
		r->control_hits += s == SAMPLE_HIT;
		r->control_calls = ++i;
	}
	return 0;
}

static struct gaps *gaps_new(double cyc_per_us, double threshold_us)
{
	struct gaps *g = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (g == MAP_FAILED)
		return NULL;
	memset(g, 0, sizeof(*g));
	g->threshold = (unsigned long long)(cyc_per_us * threshold_us);
	return g;
}

/* C(n, k) as a double (n <= 2 * CALLS: at most about 1e71). */
static double choose(int n, int k)
{
	double c = 1;

	if (k < 0 || k > n)
		return 0;
	for (int i = 1; i <= k; i++)
		c = c * (n - k + i) / i;
	return c;
}

/*
 * P(X >= h) for X hypergeometric: h + c hits among n + m windows, n of
 * them drawn (Fisher's exact test, one-sided).
 */
static double hits_tail(int n, int h, int m, int c)
{
	double tail = 0;

	for (int x = h; x <= n && x <= h + c; x++)
		tail += choose(h + c, x) * choose(n + m - h - c, n - x);
	return tail / choose(n + m, n);
}

/*
 * Enough valid samples, nearly all hit, and more hits than chance gives:
 * a call that interrupts nothing is "hit" as often as the control windows
 * of the same lengths (timer ticks, other load; often when calls are
 * long, as the CPU walk's are under load). Fisher's exact test: were the
 * call windows and the control windows alike, the hits would fall among
 * the call windows as often as this with probability under 1e-4. (A
 * bound of the control's rate, its count plus three deviations, failed
 * a real barrier once the control hit two thirds of its windows, as it
 * did loaded: 120/120 against 84.)
 */
static void judge(struct verify_result *r)
{
	r->passed = r->calls >= CALLS / 2 && r->hits * 10 >= r->calls * 9 &&
		    hits_tail(r->calls, r->hits, r->control_calls,
			      r->control_hits) < 1e-4;
}

/* The spinner: a thread of this process, or a child process. */
static void *spinner_thread(void *arg)
{
	const struct verify_call *c = arg;

	if (c->spinner_setup)
		c->spinner_setup();
	spin_recording(c->gaps);
	return NULL;
}

/*
 * Did each c->call() interrupt a thread (or, c->other_process, a child
 * process) running on another CPU? The spinner runs c->spinner_setup()
 * first (a registration). 0 or -errno; the verdict in r.
 */
int verify_interrupts_call(struct verify_call *c, struct verify_result *r)
{
	double cyc_per_us = cycles_per_us();
	pthread_t t;
	pid_t pid = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	if (other_cpu[1] < 0)
		return -ENODEV;
	c->gaps = gaps_new(cyc_per_us, c->gap_us > 0 ? c->gap_us : 0.5);
	if (!c->gaps)
		return -ENOMEM;
	if (c->other_process) {
		pid = fork();
		if (pid == 0) {
			spinner_thread(c);
			_exit(0);
		}
	} else if (pthread_create(&t, NULL, spinner_thread, c)) {
		munmap(c->gaps, sizeof(struct gaps));
		return -EAGAIN;
	}
	pin_caller();
	cpus_pin_self(other_cpu[0]);
	/* Acquire pairs with the spinner's release of ready. */
	while (!__atomic_load_n(&c->gaps->ready, __ATOMIC_ACQUIRE))
		usleep(100);
	usleep(2000);
	ret = measure(c->gaps, c, r, cyc_per_us);
	__atomic_store_n(&c->gaps->stop, 1, __ATOMIC_RELAXED);
	if (c->other_process)
		waitpid(pid, NULL, 0);
	else
		pthread_join(t, NULL);
	unpin_caller();
	munmap(c->gaps, sizeof(struct gaps));
	c->gaps = NULL;
	judge(r);
	return ret;
}

static int call_cmd(void *arg)
{
	return membarrier(*(int *)arg, 0, 0) ? -errno : 0;
}

static void register_global(void)
{
	if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0))
		_exit(1);
}

/*
 * Interruption check for cmd (PRIVATE_EXPEDITED and its kinds: a thread
 * of this process; GLOBAL_EXPEDITED: a thread of a registered child).
 */
int verify_interrupts(int cmd, struct verify_result *r)
{
	struct verify_call c = { .call = call_cmd, .arg = &cmd };

	if (cmd == MEMBARRIER_CMD_GLOBAL_EXPEDITED) {
		c.other_process = 1;
		c.spinner_setup = register_global;
	}
	return verify_interrupts_call(&c, r);
}

/*
 * ---- rseq: no critical section that began before a call commits after
 * it returned ----
 *
 * A thread on the other CPU runs rseq_probe_commit(): it loads gen, says
 * it is in the section, spins until go, commits the gen it loaded. Each
 * round, once it is in the section, the caller stores gen + 1, calls,
 * then sets go. A barrier that aborted the section before returning makes
 * it restart and load gen + 1; one that returned first (or aborted
 * nothing) lets the section see go and commit the old gen: stale. Only an
 * abort counts (a preemption is one too, which errs on the side of
 * passing); nothing here depends on timing, so a real barrier never
 * shows a stale commit.
 */
static struct {
	int gen, in_cs, go, committed, quit;
	unsigned long commits;
} cs;

#define CS_GET(x) __atomic_load_n(&cs.x, __ATOMIC_ACQUIRE)
#define CS_SET(x, v) __atomic_store_n(&cs.x, (v), __ATOMIC_RELEASE)

static void *cs_thread(void *arg)
{
	struct rseq *rs;

	(void)arg;
	cpus_pin_self(other_cpu[1]);
	rs = rseq_probe_area();
	while (!CS_GET(quit)) {
		int done = rseq_probe_commit(rs, &cs.gen, &cs.in_cs, &cs.go,
					     &cs.committed);

		CS_SET(in_cs, 0);
		if (!done)
			continue;		/* aborted: enter again */
		/* Release: committed and in_cs = 0 before the count. */
		CS_SET(commits, cs.commits + 1);
		while (CS_GET(go) && !CS_GET(quit))
			membarrier_arch_relax();
	}
	return NULL;
}

static void wait_cs(int *word, int value)
{
	for (unsigned int spins = 0; __atomic_load_n(word, __ATOMIC_ACQUIRE) != value;
	     spins++)
		if (spins > 1000)
			sched_yield();
}

int verify_cpu(int which)
{
	return other_cpu[which & 1];
}

int verify_rseq_stale(int (*call)(void *arg), void *arg, int rounds)
{
	int stale = 0, ret = 0;
	pthread_t t;

	if (other_cpu[1] < 0)
		return -ENODEV;
	memset(&cs, 0, sizeof(cs));
	pin_caller();
	cpus_pin_self(other_cpu[0]);
	if (pthread_create(&t, NULL, cs_thread, NULL)) {
		unpin_caller();
		return -EAGAIN;
	}
	for (int i = 0; i < rounds && !ret; i++) {
		unsigned long before = CS_GET(commits);
		int g = CS_GET(gen) + 1;

		wait_cs(&cs.in_cs, 1);
		CS_SET(gen, g);
		ret = call ? call(arg) : 0;
		CS_SET(go, 1);
		while (CS_GET(commits) == before)
			sched_yield();
		stale += CS_GET(committed) != g;
		CS_SET(go, 0);
	}
	CS_SET(quit, 1);
	CS_SET(go, 1);
	pthread_join(t, NULL);
	unpin_caller();
	return ret ? ret : stale;
}

static int call_rseq(void *arg)
{
	(void)arg;
	return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) ? -errno : 0;
}

int verify_rseq_abort(struct verify_result *r)
{
	const int rounds = 200;
	int stale, control;

	memset(r, 0, sizeof(*r));
	if (!__rseq_size)
		return -ENOSYS;
	if (other_cpu[1] < 0)
		return -ENODEV;
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0))
		return -errno;
	stale = verify_rseq_stale(call_rseq, NULL, rounds);
	if (stale < 0)
		return stale;
	control = verify_rseq_stale(NULL, NULL, rounds);
	if (control < 0)
		return control;
	r->calls = rounds;
	r->hits = rounds - stale;
	r->control_hits = rounds - control;
	r->passed = stale == 0 && control > 0;
	return 0;
}
