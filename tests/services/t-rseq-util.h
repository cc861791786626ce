/* SPDX-License-Identifier: MIT */
/*
 * Shared by the rseq per-CPU tests (t-rseq-counter, t-rseq-list,
 * t-rseq-swap, t-rseq-fence-cpu).
 *
 * Each test runs its body in four child processes, one per
 * configuration: the kernel backend and the emulated one (the library
 * reads MEMBARRIER_BACKEND once, on its first call), each with the rseq area glibc
 * registered and with glibc's registration turned off
 * (GLIBC_TUNABLES=glibc.pthread.rseq=0), where the library registers its
 * own. The parent re-numbers the children's TAP lines, labelled.
 */
#ifndef MEMBARRIER_T_RSEQ_UTIL_H
#define MEMBARRIER_T_RSEQ_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * RT_INJECT: widen every critical section of this program by a delay
 * loop of rt_inject_loops iterations between its read of the active
 * pointer and its commit (the header's test hooks), so that the window a
 * fence must close is long enough to be hit on purpose.
 */
#ifdef RT_INJECT
static unsigned int rt_inject_loops;
#if defined(__x86_64__)
#define MBRSEQ_INJECT_ASM					\
	"movl %[inject], %%r11d\n\t"				\
	"testl %%r11d, %%r11d\n\t"				\
	"jz 333f\n"						\
	"222:\n\t"						\
	"decl %%r11d\n\t"					\
	"jnz 222b\n"						\
	"333:\n\t"
#define MBRSEQ_INJECT_CLOBBER	, "r11"
#elif defined(__aarch64__)
#define MBRSEQ_INJECT_ASM					\
	"ldr w9, %[inject]\n\t"					\
	"cbz w9, 333f\n"					\
	"222:\n\t"						\
	"subs w9, w9, #1\n\t"					\
	"b.ne 222b\n"						\
	"333:\n\t"
#define MBRSEQ_INJECT_CLOBBER	, "x9"
#elif defined(__riscv)
#define MBRSEQ_INJECT_ASM					\
	"lw t6, %[inject]\n\t"					\
	"beqz t6, 333f\n"					\
	"222:\n\t"						\
	"addiw t6, t6, -1\n\t"					\
	"bnez t6, 222b\n"					\
	"333:\n\t"
#define MBRSEQ_INJECT_CLOBBER	, "t6"
#endif
#define MBRSEQ_INJECT_INPUT	, [inject] "m"(rt_inject_loops)
#endif

#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/rseq.h>

#include "lib/tap.h"

struct rt_config {
	const char *label;
	const char *backend;	/* MEMBARRIER_BACKEND */
	int own_area;		/* glibc's registration turned off */
};

static const struct rt_config rt_configs[] = {
	{ "kernel, libc area", "kernel", 0 },
	{ "emulated, libc area", "emulated", 0 },
	{ "kernel, own area", "kernel", 1 },
	{ "emulated, own area", "emulated", 1 },
};

#define RT_NR_CONFIGS	(sizeof(rt_configs) / sizeof(rt_configs[0]))
#define RT_ENV		"MBRSEQ_TEST_CONFIG"

static inline uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void rt_spin_ns(uint64_t ns)
{
	uint64_t t0 = rt_now_ns();

	while (rt_now_ns() - t0 < ns)
		membarrier_arch_relax();
}

/*
 * A timed workload: spin for at least ns, then on until each of n
 * workers did min operations (its count a long at first + i * stride
 * bytes, stored atomically), RT_RUN_CAP_NS in all at most. Under load a
 * new thread can get no CPU for a whole run of hundreds of milliseconds
 * (a plain 300 ms run of t-rseq-counter's control made no add at all in
 * 4 of 200 runs here, load average 20 on 2 CPUs): a run without work
 * proves nothing and a control without work sees nothing.
 */
#define RT_RUN_CAP_NS	3000000000ull

static inline int rt_worked(const long *first, size_t stride, int n, long min)
{
	for (int i = 0; i < n; i++) {
		const long *c = (const long *)((const char *)first + i * stride);

		if (__atomic_load_n(c, __ATOMIC_RELAXED) < min)
			return 0;
	}
	return 1;
}

static inline void rt_run_until(uint64_t ns, const long *first, size_t stride,
				int n, long min)
{
	uint64_t t0 = rt_now_ns();

	rt_spin_ns(ns);
	while (!rt_worked(first, stride, n, min) &&
	       rt_now_ns() - t0 < RT_RUN_CAP_NS)
		rt_spin_ns(1000000);
}

/* The CPUs this process may run on, up to max; their number. */
static inline int rt_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static inline int rt_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Restore the whole affinity set of the process to the caller. */
static inline void rt_unpin(void)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE];
	int n = rt_cpus(cpus, CPU_SETSIZE);

	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(cpus[i], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static inline void rt_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err) {
		printf("Bail out! pthread_create: %s\n", strerror(err));
		exit(1);
	}
}

/* ---- child side ---- */

static inline const struct rt_config *rt_child_config(void)
{
	const char *s = getenv(RT_ENV);
	unsigned long i;

	if (!s)
		return NULL;
	i = strtoul(s, NULL, 10);
	return i < RT_NR_CONFIGS ? &rt_configs[i] : NULL;
}

/*
 * The checks every configuration starts with: rseq and the RSEQ fence
 * served here, by the expected registrar and backend; skips otherwise.
 */
static inline void rt_child_setup(const struct rt_config *cfg)
{
	const char *who;
	int ret, backend;

	ret = mbrseq_thread_init();
	if (ret) {
		printf("1..0 # SKIP no rseq area for this thread (%s)\n",
		       strerror(-ret));
		exit(0);
	}
	backend = membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ);
	if (backend == MEMBARRIER_BACKEND_NONE)
		tap_skip_all("PRIVATE_EXPEDITED_RSEQ is not served here");
	who = mbrseq_registrar();
	tap_ok(!strcmp(who, cfg->own_area ? "libmembarrier" : "libc") &&
	       !strcmp(membarrier_backend_name(backend), cfg->backend),
	       "rseq area registered by %s, RSEQ fence on the %s backend",
	       who, membarrier_backend_name(backend));
}

/* ---- parent side ---- */

/* One child line, re-numbered under our plan and labelled. */
static inline void rt_embed_line(const char *label, char *line)
{
	char *desc, *skip;
	int pass;

	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "1..0 # SKIP ", 12)) {
		tap_skip(line + 12, "[%s] whole configuration", label);
		return;
	}
	if (!strncmp(line, "1..", 3))
		return;
	if (line[0] == '#') {
		printf("# [%s]%s\n", label, line + 1);
		return;
	}
	pass = !strncmp(line, "ok ", 3);
	if (!pass && strncmp(line, "not ok ", 7)) {
		printf("# [%s] %s\n", label, line);
		return;
	}
	desc = strstr(line, " - ");
	desc = desc ? desc + 3 : line;
	skip = strstr(desc, " # SKIP ");
	if (pass && skip) {
		*skip = '\0';
		tap_skip(skip + 8, "[%s] %s", label, desc);
		return;
	}
	tap_ok(pass, "[%s] %s", label, desc);
}

static inline void rt_run_child(const char *self, unsigned int idx)
{
	const struct rt_config *cfg = &rt_configs[idx];
	int fds[2], status, before = tap_count;
	char buf[16], line[1024];
	FILE *in;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds)) {
		tap_ok(0, "[%s] pipe: %s", cfg->label, strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		snprintf(buf, sizeof(buf), "%u", idx);
		setenv(RT_ENV, buf, 1);
		setenv("MEMBARRIER_BACKEND", cfg->backend, 1);
		if (cfg->own_area)
			setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execl(self, self, (char *)NULL);
		printf("Bail out! exec %s: %s\n", self, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in))
		rt_embed_line(cfg->label, line);
	if (in)
		fclose(in);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		tap_ok(0, "[%s] child killed by signal %d", cfg->label,
		       WTERMSIG(status));
	else if (WEXITSTATUS(status) && tap_count == before)
		tap_ok(0, "[%s] child exit status %d", cfg->label,
		       WEXITSTATUS(status));
}

/*
 * main() of every rseq test: in a child, run body under the
 * configuration; in the parent, run every configuration, or, where this
 * process has no rseq at all (qemu-user, old kernels), run no_rseq (may
 * be NULL) and skip with the reason.
 */
static inline int rt_main(void (*body)(const struct rt_config *),
			  void (*no_rseq)(void))
{
	const struct rt_config *cfg = rt_child_config();
	char self[4096];
	ssize_t n;
	int ret;

	if (cfg) {
		alarm(60);
		rt_child_setup(cfg);
		body(cfg);
		return tap_done();
	}
	ret = mbrseq_thread_init();
	if (ret) {
		if (no_rseq)
			no_rseq();
		tap_skip(strerror(-ret), "rseq unavailable here (kernel without "
			 "rseq, qemu-user or a seccomp filter): every configuration");
		return tap_done();
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		tap_skip_all("cannot find /proc/self/exe to re-execute");
	self[n] = '\0';
	for (unsigned int i = 0; i < RT_NR_CONFIGS; i++)
		rt_run_child(self, i);
	return tap_done();
}

#ifdef RT_INJECT
/* ---- the swap harness (t-rseq-swap, t-rseq-fence-cpu) ---- */

/*
 * Incrementers add 1 through the active copy without pause; the caller
 * swaps, round after round: publish the other copy on target (-1: every
 * CPU), fence (or not: the controls), snapshot the now-inactive slots,
 * wait longer than a widened section, check they did not change (a
 * change is an increment that landed in the inactive copy after the
 * fence: "late"), then drain them into total and zero them. At the end
 * total, plus both copies, must equal the increments the threads made.
 */
#define RT_FENCE_NONE	(-2)	/* fence: none (control) */
#define RT_FENCE_SWAP	(-3)	/* fence: mbrseq_swap()'s own */

struct rt_swap {
	int target;		/* CPU to publish on, -1 every CPU */
	int fence;		/* CPU to fence, -1 every CPU, or RT_FENCE_* */
	int pin;		/* CPU for the incrementers, -1 none */
	int threads;
	uint64_t widen_ns;	/* section length, 0: not widened */
	uint64_t run_ns;
	int control;		/* rt_swap_control(): publish just after a
				 * commit (see rt_await_commit()) */
	/* results */
	long rounds, late, errors, stray;
	long fresh;		/* a control's rounds begun just after a commit */
	long fresh_late;	/* those that saw a late increment */
	long long counted, total;
	long slow_fences;	/* rounds whose fence outlasted a section */
	uint64_t fence_ns;	/* time in publish and fence, all rounds */
	uint64_t slow_ns;	/* a control's fence, when too slow to run */
};

struct rt_incr {
	pthread_t tid;
	struct mbrseq_percpu *pc;
	const struct rt_swap *s;
	long long n;
	long errors, stray;
};

static int rt_stop;

static void *rt_incrementer(void *arg)
{
	struct rt_incr *t = arg;
	int pin = t->s->pin;

	if (pin >= 0 && rt_pin(pin))
		t->errors++;
	while (!__atomic_load_n(&rt_stop, __ATOMIC_RELAXED)) {
		int cpu = mbrseq_percpu_add(t->pc, 0, 1);

		if (cpu < 0)
			t->errors++;
		else	/* atomic: rt_await_commit() reads it */
			__atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELAXED);
		if (pin >= 0 && cpu != pin)
			t->stray++;
	}
	return NULL;
}

/* Loops of the injected delay per microsecond, measured once. */
static double rt_loops_per_us(void)
{
	static double cached;
	struct mbrseq_percpu *pc;
	uint64_t best = UINT64_MAX;

	if (cached > 0)
		return cached;
	pc = mbrseq_percpu_create();
	rt_inject_loops = 1000000;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = rt_now_ns(), d;

		mbrseq_percpu_add(pc, 0, 1);
		d = rt_now_ns() - t0;
		if (d < best)
			best = d;
	}
	rt_inject_loops = 0;
	mbrseq_percpu_destroy(pc);
	cached = 1e6 / ((double)best / 1000.0);
	return cached;
}

static intptr_t *rt_inactive(struct mbrseq_percpu *pc, int cpu)
{
	return mbrseq_percpu_slot(pc, 1 - mbrseq_percpu_active(pc, cpu), cpu);
}

static int rt_swap_step(struct mbrseq_percpu *pc, const struct rt_swap *s)
{
	int ret;

	if (s->fence == RT_FENCE_SWAP)
		return mbrseq_swap(pc, s->target);
	ret = mbrseq_publish(pc, s->target);
	if (ret || s->fence == RT_FENCE_NONE)
		return ret;
	return mbrseq_fence(s->fence);
}

static long long rt_commits(const struct rt_incr *t, int threads)
{
	long long n = 0;

	for (int i = 0; i < threads; i++)
		n += __atomic_load_n(&t[i].n, __ATOMIC_RELAXED);
	return n;
}

/*
 * A control's round starts just after an incrementer committed, so
 * that its next section is under way when this thread publishes: under
 * load the incrementer is often not running at all, and a publish
 * then finds no section to outrun (here, load average 20: 20 ms runs
 * without this saw no late increment in 51 of 60, the three controls on
 * both backends; a t-rseq-swap control of 3 runs of 200 ms, none in 86
 * rounds). A commit counts if seen within 10 us of the last look
 * that did not see it: both threads were running just now (this one,
 * preempted, would find an old commit on its return). At most 20 ms,
 * then the round goes on anyway.
 */
static int rt_await_commit(const struct rt_incr *t, int threads)
{
	long long n0 = rt_commits(t, threads), n;
	uint64_t t0 = rt_now_ns(), last = t0, now;

	do {
		n = rt_commits(t, threads);
		now = rt_now_ns();
		if (n != n0 && now - last < 10000)
			return 1;
		n0 = n;
		last = now;
	} while (now - t0 < 20000000);
	return 0;
}

/*
 * Rounds go on for run_ns, and to at least 20 rounds and 20 commits
 * unless that takes RT_RUN_CAP_NS (the emulated fence waits for runnable
 * threads to be scheduled: under load, 5 * run_ns gave t-rseq-fence-cpu
 * 4 rounds where it needs 5; and widened sections seldom run to their
 * end: one run of 200 ms had none). A control's, until the first late increment (the verdict
 * is then known), or RT_CONTROL_FRESH rounds that began just after a
 * commit, or RT_RUN_CAP_NS.
 *
 * RT_CONTROL_FRESH: how often a round begun just after a commit sees
 * a late increment, measured here (40 to 50 controls of each kind, load
 * average 20 to 50 on 2 CPUs): publish without the fence 45 of 114
 * rounds (emulated backend) and 42 of 85 (kernel); publish on A, fence
 * on B 22 of 80 (emulated: its fence on one CPU is slow under load, the
 * sections widened) and 37 of 55 (kernel); publish on A, no fence 36 of
 * 63 and 35 of 54. Most controls end at their first or second such
 * round, but the rate is not the same in every control: with two
 * processes spinning beside make check (load average 4 to 7), two of
 * five make check runs saw controls miss all of the 48 rounds this
 * limit once was (stretches in which other processes' wake-ups keep
 * aborting the incrementer's sections). 2,604 controls of t-rseq-swap
 * and t-rseq-fence-cpu beside a loaded .ci/run (load average 4.6):
 * 1,560 needed 1 round, 33 more than 30, 22 more than 40, 8 more than
 * 60, 3 more than 80 (110, 113, 124). That tail falls only about
 * 2.3-fold per 20 rounds, so the limit is set where it cannot be
 * reached by chance (0.0012 / 2.3^46 past 1,000 rounds, nothing in
 * practice): in effect a control runs until it sees its violation or
 * RT_RUN_CAP_NS ends it, and then skips, naming the load. It fails
 * only after 1,000 rounds begun just after a commit, all missing (a
 * control that cannot see, on any machine fast enough to run them).
 */
#ifndef RT_CONTROL_FRESH
#define RT_CONTROL_FRESH	1000
#endif

static int rt_more_rounds(const struct rt_swap *s, const struct rt_incr *incr,
			  uint64_t t)
{
	if (s->control)
		return !s->late && s->fresh < RT_CONTROL_FRESH &&
		       t < RT_RUN_CAP_NS;
	return t < s->run_ns ||
	       ((s->rounds < 20 || rt_commits(incr, s->threads) < 20) &&
		t < RT_RUN_CAP_NS);
}

static void rt_swap_rounds(struct mbrseq_percpu *pc, struct rt_swap *s,
			   const struct rt_incr *incr)
{
	int lo = s->target < 0 ? 0 : s->target;
	int hi = s->target < 0 ? pc->nr_cpus : s->target + 1;
	intptr_t *snap = calloc((size_t)pc->nr_cpus, sizeof(*snap));
	uint64_t wait = 2 * s->widen_ns + 20000;
	uint64_t t0 = rt_now_ns();

	while (rt_more_rounds(s, incr, rt_now_ns() - t0)) {
		int fresh = s->control && rt_await_commit(incr, s->threads);
		long late = s->late;
		uint64_t f = rt_now_ns();

		if (rt_swap_step(pc, s)) {
			s->errors++;
			break;
		}
		f = rt_now_ns() - f;
		s->fence_ns += f;
		s->slow_fences += f > s->widen_ns;
		for (int c = lo; c < hi; c++)
			snap[c] = __atomic_load_n(rt_inactive(pc, c),
						  __ATOMIC_RELAXED);
		rt_spin_ns(wait);
		for (int c = lo; c < hi; c++) {
			intptr_t *p = rt_inactive(pc, c);
			intptr_t v = __atomic_load_n(p, __ATOMIC_RELAXED);

			s->late += v != snap[c];
			s->total += v;
			__atomic_store_n(p, 0, __ATOMIC_RELAXED);
		}
		s->fresh += fresh;
		s->fresh_late += fresh && s->late > late;
		s->rounds++;
	}
	free(snap);
}

/*
 * Sections much longer than this rarely run to their end on a loaded
 * machine (a preemption aborts them, and they start over).
 */
#define RT_WIDEN_MAX_NS	2000000ull

static unsigned int rt_loops_for(uint64_t ns)
{
	return ns ? (unsigned int)(rt_loops_per_us() * (double)ns / 1000.0) : 0;
}

/*
 * A late increment can only be seen if a section outlasts the fence: a
 * control times 20 of its fences, the incrementers running, and widens
 * the sections to twice their mean where they were shorter (up to
 * RT_WIDEN_MAX_NS). Past that, the control cannot run here (the
 * emulated fence can take milliseconds, e.g. under TSan, whose own
 * thread takes the handshake signal late): -1 with s->slow_ns the mean.
 */
static int rt_widen_past_fence(struct rt_swap *s)
{
	uint64_t t0 = rt_now_ns(), mean;

	if (s->fence < -1)	/* none, or mbrseq_swap()'s (not a control) */
		return 0;
	for (int i = 0; i < 20; i++)
		if (mbrseq_fence(s->fence)) {
			s->errors++;
			return -1;
		}
	mean = (rt_now_ns() - t0) / 20;
	if (2 * mean <= s->widen_ns)
		return 0;
	if (2 * mean > RT_WIDEN_MAX_NS) {
		s->slow_ns = mean;
		return -1;
	}
	s->widen_ns = 2 * mean;
	rt_inject_loops = rt_loops_for(s->widen_ns);
	return 0;
}

static void rt_swap_run(struct rt_swap *s)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	struct rt_incr *t = calloc((size_t)s->threads, sizeof(*t));

	s->rounds = s->late = s->errors = s->stray = s->slow_fences = 0;
	s->fresh = s->fresh_late = 0;
	s->counted = s->total = 0;
	s->fence_ns = s->slow_ns = 0;
	rt_inject_loops = rt_loops_for(s->widen_ns);
	__atomic_store_n(&rt_stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < s->threads; i++) {
		t[i].pc = pc;
		t[i].s = s;
		rt_start(&t[i].tid, rt_incrementer, &t[i]);
	}
	if (!s->control || !rt_widen_past_fence(s))
		rt_swap_rounds(pc, s, t);
	__atomic_store_n(&rt_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < s->threads; i++) {
		pthread_join(t[i].tid, NULL);
		s->counted += t[i].n;
		s->errors += t[i].errors;
		s->stray += t[i].stray;
	}
	s->total += mbrseq_percpu_sum(pc, -1, 0);
	rt_inject_loops = 0;
	free(t);
	mbrseq_percpu_destroy(pc);
}

/* A run whose fence holds: nothing late, every increment once. */
static inline int rt_swap_clean(const struct rt_swap *s)
{
	return s->late == 0 && s->total == s->counted && !s->errors &&
	       !s->stray && s->rounds >= 5 && s->counted > 0;
}

/*
 * A control: one run, each round starting just after a commit
 * (rt_await_commit()), its sections widened past its fence
 * (rt_widen_past_fence()). 0 when it has a verdict (late > 0: it saw
 * the violation; else it missed it in RT_CONTROL_FRESH rounds), or -1
 * with the reason in why: its fence is too slow here, or in
 * RT_RUN_CAP_NS the incrementer and this thread were too seldom
 * running at once (the machine's load, not the code under test).
 */
static inline int rt_swap_control(struct rt_swap *s, char *why, size_t n)
{
	s->control = 1;
	rt_swap_run(s);
	tap_diag("control: %ld of %ld rounds begun just after a commit saw a "
		 "late increment, %ld rounds in all", s->fresh_late, s->fresh,
		 s->rounds);
	if (s->slow_ns) {
		snprintf(why, n, "the fence takes %llu us here: sections "
			 "twice as long (past %llu us) seldom run to their end",
			 (unsigned long long)s->slow_ns / 1000,
			 RT_WIDEN_MAX_NS / 1000);
		return -1;
	}
	if (!s->late && s->fresh < RT_CONTROL_FRESH && !s->errors) {
		snprintf(why, n, "in %llu s, %ld of %d rounds began with the "
			 "incrementer running (load)",
			 RT_RUN_CAP_NS / 1000000000ull, s->fresh,
			 RT_CONTROL_FRESH);
		return -1;
	}
	return 0;
}

#endif /* RT_INJECT */

#endif /* MEMBARRIER_T_RSEQ_UTIL_H */
