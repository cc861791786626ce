// SPDX-License-Identifier: MIT
/*
 * The emulated backend keeps the kernel's model of disturbance
 * (kernel/sched/membarrier.c): it may interrupt what runs on a CPU during
 * the call and nothing else, and it still orders every thread.
 *
 * Ordering, through each hazard: a store-buffering litmus (scenario A of
 * kernel/sched/membarrier.c) between the caller and a target thread whose
 * only fence is a compiler barrier, for PRIVATE_EXPEDITED, SYNC_CORE and
 * RSEQ, with the target spinning into the call or asleep in nanosleep()
 * across it (then ordered by the scheduler's barrier when it wakes), and
 * with a crowd present: sleeping, runnable and spinning threads, a thread
 * stopped under ptrace, threads being created and exiting, a handler on
 * every signal, no /proc, no file descriptor left. The forbidden outcome
 * must never appear; the control, the same litmus with a compiler barrier
 * for the call in the same run, must show it (the hardware can: x86-TSO
 * and arm64 both reorder a store with a later load).
 *
 *   caller                       target
 *   x = 1                        [spins, or sleeps across the call]
 *   membarrier()                 y = 1
 *   r0 = y                       barrier()
 *                                r1 = x
 *   forbidden: r0 == 0 && r1 == 0
 *
 * Disturbance: threads sleeping in nanosleep, epoll_wait, poll, select,
 * sigwait and sleep() see no EINTR, no early return and no signal over
 * HAZARD_BARRIERS (10,000) barriers; the control sends each one signal
 * and sees each counted. exec during barriers: none of 1,000 exec'd
 * /bin/true is killed; the control raises the old hazard by hand (a
 * signal left pending across execve) and sees the image killed.
 *
 * Runs itself under MEMBARRIER_BACKEND=emulated (re-executing if needed),
 * with MEMBARRIER_EMUL_TLB as given (t-emulated.sh runs both). A watchdog
 * (alarm) turns any hang into a failure. No timing is asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "lib/tap.h"
#include "cpus.h"

#define PE MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define SC MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
#define RS MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ

static const int barrier_cmds[] = { PE, SC, RS };
#define NR_CMDS (sizeof(barrier_cmds) / sizeof(barrier_cmds[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : def;
}

static int cmd_served(int cmd)
{
	return membarrier_backend_of(cmd) == MEMBARRIER_BACKEND_EMULATED;
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	if (pthread_create(&t, &a, fn, arg)) {
		perror("pthread_create");
		exit(1);
	}
	pthread_attr_destroy(&a);
	return t;
}

/* ---- the crowd: threads in every state the kernel never waits for ---- */

static volatile int crowd_stop;

/* What each member does until crowd_stop. */
enum crowd_role { CROWD_SLEEPER, CROWD_RUNNABLE, CROWD_SPINNER, CROWD_CHURN };

static void *crowd_short_lived(void *arg)
{
	return arg;
}

static void crowd_step(enum crowd_role role)
{
	struct timespec ts = { 0, 1000000 };

	switch (role) {
	case CROWD_SLEEPER:
		nanosleep(&ts, NULL);
		break;
	case CROWD_RUNNABLE:
		sched_yield();
		break;
	case CROWD_SPINNER:
		membarrier_arch_relax();
		break;
	case CROWD_CHURN:
		pthread_join(start(crowd_short_lived, NULL), NULL);
		break;
	}
}

/* A member of the crowd: arg is its role. */
static void *crowd_member(void *arg)
{
	while (!crowd_stop)
		crowd_step((enum crowd_role)(intptr_t)arg);
	return NULL;
}

#define CROWD_ROLE(role)	((void *)(intptr_t)(role))

struct crowd {
	pthread_t t[8];
	int n;
};

static void crowd_start(struct crowd *c, int churn)
{
	crowd_stop = 0;
	c->n = 0;
	for (int i = 0; i < 3; i++)
		c->t[c->n++] = start(crowd_member, CROWD_ROLE(CROWD_SLEEPER));
	c->t[c->n++] = start(crowd_member, CROWD_ROLE(CROWD_RUNNABLE));
	c->t[c->n++] = start(crowd_member, CROWD_ROLE(CROWD_SPINNER));
	if (churn)
		c->t[c->n++] = start(crowd_member, CROWD_ROLE(CROWD_CHURN));
}

static void crowd_join(struct crowd *c)
{
	crowd_stop = 1;
	for (int i = 0; i < c->n; i++)
		pthread_join(c->t[i], NULL);
}

/* ---- the litmus ---- */

struct litmus {
	_Alignas(64) int x;
	_Alignas(64) int y;
	_Alignas(64) int r1;
	_Alignas(64) unsigned long go, done;
	_Alignas(64) int asleep;	/* the target is in nanosleep */
	int sleep_mode;			/* this run's target sleeps */
	long sleep_ns;			/* its sleep: sleep_ns / 4 + [0, sleep_ns) */
	unsigned int spin_max;		/* upper bound of its delay */
	volatile int quit;
	int cpu;
};

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *litmus_target(void *arg)
{
	struct litmus *l = arg;
	unsigned long seen = 0;
	unsigned int seed = 0x9e3779b9u;

	cpus_pin_self(l->cpu);
	prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	for (;;) {
		unsigned long g;

		/* Acquire pairs with the caller's release of go. */
		while ((g = __atomic_load_n(&l->go, __ATOMIC_ACQUIRE)) == seen)
			if (l->quit)
				return NULL;
			else
				membarrier_arch_relax();
		seen = g;
		if (l->sleep_mode) {
			struct timespec ts = { 0, l->sleep_ns / 4 + (long)(rnd(&seed) %
					       (unsigned long)l->sleep_ns) };

			STORE(l->asleep, 1);
			nanosleep(&ts, NULL);
			STORE(l->asleep, 0);
		} else {
			for (unsigned int d = rnd(&seed) % l->spin_max; d; d--)
				membarrier_arch_relax();
		}
		STORE(l->y, 1);
		membarrier_compiler_barrier();	/* the target's only fence */
		STORE(l->r1, LOAD(l->x));
		/* Release pairs with the caller's acquire of done. */
		__atomic_store_n(&l->done, g, __ATOMIC_RELEASE);
	}
}

struct litmus_result {
	unsigned long iterations, forbidden, slept_through;
};

/* n iterations; cmd 0 is the control (a compiler barrier). */
static int litmus_run(int cmd, int sleep_mode, unsigned long n,
		      struct litmus_result *res)
{
	static struct litmus l;
	int cpus[2];
	unsigned int seed = 12345;
	uint64_t cost = 1000;
	pthread_t t;

	memset(&l, 0, sizeof(l));
	memset(res, 0, sizeof(*res));
	if (cpus_pick_two(cpus))
		cpus[0] = cpus[1] = -1;
	if (cmd) {			/* the call's cost sizes the delays */
		uint64_t t0 = now_ns();

		for (int i = 0; i < 20; i++)
			if (membarrier(cmd, 0, 0))
				return -errno;
		cost = (now_ns() - t0) / 20;
	}
	l.sleep_mode = sleep_mode;
	/* Asleep from before the call to about its end, or later. */
	l.sleep_ns = (long)(cost * 2 + 50000);
	if (l.sleep_ns > 100000000)
		l.sleep_ns = 100000000;
	l.spin_max = cmd ? (unsigned int)(cost / 10 + 64) : 64;
	l.cpu = cpus[1];
	cpus_pin_self(cpus[0]);
	t = start(litmus_target, &l);
	for (unsigned long i = 1; i <= n; i++) {
		int r0, before, after;

		STORE(l.x, 0);
		STORE(l.y, 0);
		/* Release pairs with the target's acquire: x, y reset. */
		__atomic_store_n(&l.go, i, __ATOMIC_RELEASE);
		/* Past the target's latency to see go (a cache miss); in sleep
		 * mode, until it is in nanosleep (or already through it). */
		for (unsigned int d = rnd(&seed) % 512; d; d--)
			membarrier_compiler_barrier();
		while (sleep_mode && !LOAD(l.asleep) &&
		       __atomic_load_n(&l.done, __ATOMIC_ACQUIRE) != i)
			membarrier_arch_relax();
		before = LOAD(l.asleep);
		STORE(l.x, 1);
		if (cmd) {
			if (membarrier(cmd, 0, 0)) {
				l.quit = 1;
				pthread_join(t, NULL);
				return -errno;
			}
		} else {
			membarrier_compiler_barrier();
		}
		r0 = LOAD(l.y);
		after = LOAD(l.asleep);
		/* Acquire pairs with the target's release of done. */
		while (__atomic_load_n(&l.done, __ATOMIC_ACQUIRE) != i)
			membarrier_arch_relax();
		res->iterations++;
		res->forbidden += r0 == 0 && LOAD(l.r1) == 0;
		res->slept_through += before && after;
	}
	l.quit = 1;
	pthread_join(t, NULL);
	cpus_pin_self(-1);
	return 0;
}

static unsigned long scale(unsigned long n)
{
	return n * env_ulong("HAZARD_SCALE", 100) / 100;
}

/*
 * The litmus through one hazard: each command, the target spinning and
 * asleep; with the control's result in the same run. Returns 0 if every
 * forbidden count is 0.
 */
static int litmus_through(const char *hazard)
{
	int bad = 0;

	for (unsigned int c = 0; c < NR_CMDS; c++) {
		int cmd = barrier_cmds[c];

		if (!cmd_served(cmd))
			continue;
		for (int sleep_mode = 0; sleep_mode < 2; sleep_mode++) {
			struct litmus_result r;
			int e = litmus_run(cmd, sleep_mode, scale(sleep_mode ? 50 : 100), &r);

			if (e || r.forbidden)
				bad = 1;
			tap_diag("%s: %s, target %s: %lu iterations, %lu forbidden, "
				 "%lu with the target asleep across the call%s",
				 hazard, membarrier_cmd_name(cmd),
				 sleep_mode ? "asleep" : "spinning", r.iterations,
				 r.forbidden, r.slept_through, e ? " (a call failed)" : "");
		}
	}
	return bad;
}

/* The control: the hardware shows the forbidden outcome without the call. */
static void test_control(void)
{
	struct litmus_result r = { 0, 0, 0 };
	unsigned long total = 0;

	for (int round = 0; round < 20 && !r.forbidden; round++) {
		litmus_run(0, 0, 50000, &r);
		total += r.iterations;
	}
	tap_ok(r.forbidden > 0, "control: a compiler barrier for the call shows "
	       "the forbidden outcome (%lu of %lu iterations)", r.forbidden, total);
}

static void test_litmus_crowd(void)
{
	struct crowd c;

	crowd_start(&c, 1);
	tap_ok(!litmus_through("crowd"), "litmus through every command with "
	       "sleeping, runnable, spinning and exiting threads present: no "
	       "forbidden outcome, target spinning or asleep");
	crowd_join(&c);
}

/* ---- a thread stopped under ptrace ---- */

static volatile pid_t stopped_tid;

static void *spin_tid(void *arg)
{
	stopped_tid = (pid_t)syscall(SYS_gettid);
	(void)arg;
	return crowd_member(CROWD_ROLE(CROWD_SPINNER));
}

static void test_stopped_thread(void)
{
	int go[2], done[2], ok;
	char c = 0;
	pthread_t t;
	pid_t tracer;

	if (tap_qemu_user()) {
		tap_skip("qemu-user cannot ptrace a guest thread", "a stopped thread");
		return;
	}
	crowd_stop = 0;
	stopped_tid = 0;
	t = start(spin_tid, NULL);
	while (!stopped_tid)
		sched_yield();
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (pipe(go) || pipe(done))
		exit(1);
	tracer = fork();
	if (tracer == 0) {
		pid_t tid = stopped_tid;
		int status;

		/* Only the parent writes done: if it dies (its alarm), the
		 * read below ends instead of holding the test's output open
		 * for good (a parent killed under load left it so). */
		close(done[1]);
		close(go[0]);
		c = 'x';
		if (!ptrace(PTRACE_SEIZE, tid, 0, 0) &&
		    !syscall(SYS_tgkill, getppid(), tid, SIGSTOP) &&
		    waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status))
			c = 's';
		if (write(go[1], &c, 1) < 0 || read(done[0], &c, 1) < 0)
			_exit(1);
		ptrace(PTRACE_DETACH, tid, 0, 0);
		_exit(0);
	}
	if (read(go[0], &c, 1) != 1 || c != 's') {
		tap_skip("ptrace is not permitted here", "a stopped thread");
	} else {
		ok = !litmus_through("stopped thread");
		tap_ok(ok, "a thread stopped under ptrace: every call returns, no "
		       "forbidden outcome");
	}
	if (write(done[1], &c, 1) < 0)
		exit(1);
	waitpid(tracer, NULL, 0);
	crowd_stop = 1;
	pthread_join(t, NULL);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}

/* ---- a handler on every signal (as qemu-user installs) ---- */

static volatile int handled;

static void count_signal(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED);
}

static void test_every_signal_taken(void)
{
	struct sigaction sa, old[_NSIG];
	int advertised = membarrier(MEMBARRIER_CMD_QUERY, 0, 0), failed = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_signal;
	for (int s = 1; s < _NSIG; s++)
		sigaction(s, &sa, &old[s]);
	handled = 0;
	for (int bit = 1; bit < 1 << 10; bit <<= 1)
		if ((advertised & bit) && bit != MEMBARRIER_CMD_GLOBAL &&
		    bit != MEMBARRIER_CMD_GLOBAL_EXPEDITED &&
		    membarrier(bit, 0, 0) < 0)
			failed |= bit;
	tap_ok(!failed, "a handler on every signal: every command QUERY "
	       "advertises (0x%x) succeeds (failed: 0x%x)", advertised, failed);
	tap_ok(!litmus_through("handler on every signal") && handled == 0,
	       "a handler on every signal: no forbidden outcome, and the "
	       "handlers ran %d times", handled);
	for (int s = 1; s < _NSIG; s++)
		sigaction(s, &old[s], NULL);
}

/* ---- no /proc, no file descriptor left (a child each) ---- */

static int child_status(pid_t pid)
{
	int status;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_no_proc(void)
{
	pid_t pid;
	int st;

	if (tap_qemu_user()) {
		tap_skip("qemu-user needs /proc for itself", "without /proc");
		return;
	}
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/proc", MNT_DETACH))
			_exit(3);
		_exit(litmus_through("no /proc") ? 1 : 0);
	}
	st = child_status(pid);
	if (st == 3)
		tap_skip("cannot unmount /proc in a private namespace here",
			 "without /proc");
	else
		tap_ok(st == 0, "without /proc: no forbidden outcome, every call "
		       "returns 0");
}

/*
 * In a fresh image (argv[1] == "--no-fd"): every descriptor taken before
 * the first barrier, so that the emulation's first use finds none either.
 */
static int no_fd_child(void)
{
	struct rlimit rl;
	int bad = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (open("/dev/null", O_RDONLY) >= 0)
		;
	for (unsigned int c = 0; c < NR_CMDS; c++) {
		int cmd = barrier_cmds[c];

		errno = EMFILE;
		if (membarrier(cmd << 1, 0, 0) || errno != EMFILE)
			bad |= 1;
		for (int i = 0; i < 100; i++) {
			errno = EMFILE;
			if (membarrier(cmd, 0, 0) || errno != EMFILE)
				bad |= 2;
		}
	}
	if (!bad && litmus_through("no file descriptor left"))
		bad |= 4;
	return bad;
}

static void test_no_fd_left(char **argv)
{
	pid_t pid;
	int st;

	if (tap_qemu_user()) {
		tap_skip("qemu-user itself needs file descriptors to start a guest "
			 "thread (it aborts at the limit)", "no file descriptor left");
		return;
	}
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "--no-fd", (char *)NULL);
		_exit(127);
	}
	st = child_status(pid);
	tap_ok(st == 0, "no file descriptor left from the first use on: every "
	       "registration and barrier returns 0 with errno kept, no forbidden "
	       "outcome (status %d)", st);
}

/* ---- EINTR: threads sleeping in every kind of wait ---- */

enum wait_kind { W_NANOSLEEP, W_EPOLL, W_POLL, W_SELECT, W_SLEEP, W_SIGWAIT, NR_WAITS };

static const char *const wait_names[NR_WAITS] = {
	"nanosleep", "epoll_wait", "poll", "select", "sleep()", "sigwait",
};

struct waiter {
	enum wait_kind kind;
	pthread_t t;
	int interrupted;	/* EINTR, early return, or a signal received */
	int started;
};

static volatile int waiters_stop;

static void control_handler(int sig)
{
	(void)sig;		/* no SA_RESTART: the wait returns EINTR */
}

/* One wait: 1 if it failed (EINTR) or, for sigwait, took a signal. */
static int wait_call(enum wait_kind k, int epfd)
{
	struct epoll_event ev;
	struct timespec ts = { 0, 200000000 };
	struct timeval tv = { 0, 200000 };
	sigset_t all;
	int sig;

	switch (k) {
	case W_NANOSLEEP:
		return nanosleep(&ts, NULL) != 0;
	case W_EPOLL:
		return epoll_wait(epfd, &ev, 1, 200) < 0;
	case W_POLL:
		return poll(NULL, 0, 200) < 0;
	case W_SELECT:
		return select(0, NULL, NULL, NULL, &tv) < 0;
	case W_SLEEP:
		return sleep(1) != 0;
	case W_SIGWAIT:
		/* Every signal blocked, waiting on all (signal-thread pattern):
		 * SIGUSR2 is the test's own "stop"; any other one counts. */
		sigfillset(&all);
		sigwait(&all, &sig);
		return sig != SIGUSR2;
	default:
		return 0;
	}
}

/* One wait of about 200 ms (sleep(): 1 s): 1 if it was cut short. */
static int wait_once(enum wait_kind k, int epfd)
{
	uint64_t t0 = now_ns();
	int ret = wait_call(k, epfd);

	if (k == W_SIGWAIT)
		return ret;
	return ret || now_ns() - t0 < (k == W_SLEEP ? 900000000ull : 180000000ull);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (w->kind == W_SIGWAIT) {
		sigset_t all;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
	while (!waiters_stop)
		if (wait_once(w->kind, epfd))
			__atomic_fetch_add(&w->interrupted, 1, __ATOMIC_RELAXED);
	close(epfd);
	return NULL;
}

static void waiters_start(struct waiter *w)
{
	waiters_stop = 0;
	for (int k = 0; k < NR_WAITS; k++) {
		w[k].kind = (enum wait_kind)k;
		w[k].interrupted = 0;
		w[k].started = 0;
		w[k].t = start(waiter_main, &w[k]);
	}
	for (int k = 0; k < NR_WAITS; k++)
		while (!__atomic_load_n(&w[k].started, __ATOMIC_ACQUIRE))
			sched_yield();
	usleep(50000);		/* into their waits */
}

static void waiters_stop_all(struct waiter *w)
{
	waiters_stop = 1;
	for (int k = 0; k < NR_WAITS; k++) {
		if (w[k].kind == W_SIGWAIT)
			pthread_kill(w[k].t, SIGUSR2);
		pthread_join(w[k].t, NULL);
	}
}

static void test_eintr(void)
{
	struct sigaction sa;
	struct waiter w[NR_WAITS];
	unsigned long n = env_ulong("HAZARD_BARRIERS", 10000), calls = 0;
	int seen_all = 1, clean = 1, failed = 0;
	uint64_t t0;
	char counts[256] = "";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = control_handler;
	sigaction(SIGUSR1, &sa, NULL);
	waiters_start(w);
	/* The control: one signal each, and each wait must count it. */
	for (int k = 0; k < NR_WAITS; k++)
		pthread_kill(w[k].t, SIGUSR1);
	t0 = now_ns();
	for (int k = 0; k < NR_WAITS; k++)
		while (!__atomic_load_n(&w[k].interrupted, __ATOMIC_RELAXED) &&
		       now_ns() - t0 < 5000000000ull)
			usleep(1000);
	for (int k = 0; k < NR_WAITS; k++) {
		if (!__atomic_load_n(&w[k].interrupted, __ATOMIC_RELAXED)) {
			seen_all = 0;
			strcat(counts, " ");
			strcat(counts, wait_names[k]);
		}
		__atomic_store_n(&w[k].interrupted, 0, __ATOMIC_RELAXED);
	}
	tap_ok(seen_all, "control: one signal to each waiter is counted in "
	       "nanosleep, epoll_wait, poll, select, sleep() and sigwait%s%s",
	       seen_all ? "" : "; not counted:", counts);
	counts[0] = '\0';
	for (unsigned long i = 0; i < n; i++) {
		int cmd = barrier_cmds[i % NR_CMDS];

		if (!cmd_served(cmd))
			continue;
		failed |= membarrier(cmd, 0, 0) != 0;
		calls++;
	}
	waiters_stop_all(w);
	for (int k = 0; k < NR_WAITS; k++) {
		size_t len = strlen(counts);

		clean &= w[k].interrupted == 0;
		snprintf(counts + len, sizeof(counts) - len, "%s%s %d",
			 k ? ", " : "", wait_names[k], w[k].interrupted);
	}
	tap_ok(clean && !failed, "%lu barriers (PRIVATE_EXPEDITED, SYNC_CORE, "
	       "RSEQ in turn, those emulated): no EINTR, early return or signal: "
	       "%s", calls, counts);
	signal(SIGUSR1, SIG_DFL);
}

/* ---- exec during barriers ---- */

static void *barrier_loop(void *arg)
{
	(void)arg;
	for (unsigned int i = 0;; i++)
		membarrier(barrier_cmds[i % NR_CMDS], 0, 0);
	return NULL;
}

/*
 * n children: one thread issues barriers while the main thread execs
 * /bin/true; how many images were killed. The control (exe set) makes the
 * old hazard by hand, deterministically: a signal pending, blocked, across
 * execve, into an image that unblocks it (exe --unblock) and dies of it.
 */
static int exec_killed(int n, const char *exe)
{
	int killed = 0;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			if (exe) {
				sigset_t set;

				sigemptyset(&set);
				sigaddset(&set, SIGRTMAX - 3);
				pthread_sigmask(SIG_BLOCK, &set, NULL);
				raise(SIGRTMAX - 3);
				execl(exe, exe, "--unblock", (char *)NULL);
			} else {
				start(barrier_loop, NULL);
				usleep(100);
				execl("/bin/true", "true", (char *)NULL);
			}
			_exit(127);
		}
		killed += child_status(pid) >= 128;
	}
	return killed;
}

/* The control's image: unblock every signal, then exit 0 if still alive. */
static int unblock_child(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return 0;
}

static void test_exec(const char *self)
{
	int n = (int)env_ulong("HAZARD_EXECS", 1000), killed, control;

	if (tap_qemu_user()) {
		tap_skip("fork of a threaded guest is unreliable under qemu-user",
			 "exec during barriers");
		return;
	}
	control = exec_killed(10, self);
	tap_ok(control == 10, "control: a signal pending across execve kills "
	       "the exec'd image (%d of 10)", control);
	killed = exec_killed(n, NULL);
	tap_ok(killed == 0, "exec during barriers: %d of %d exec'd /bin/true "
	       "killed", killed, n);
}

#define TIMED(call) do {							\
	uint64_t t0_ = now_ns();						\
	call;									\
	tap_diag("%s: %.1f s", #call, (double)(now_ns() - t0_) / 1e9);	\
} while (0)

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;

	if (!getenv("MEMBARRIER_BACKEND")) {
		setenv("MEMBARRIER_BACKEND", "emulated", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	if (!cmd_served(PE))
		tap_skip_all("PRIVATE_EXPEDITED is not emulated here");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tap_skip_all("the litmus needs two CPUs");
	/* _exit: no exit-time work (LeakSanitizer's needs descriptors). */
	if (argc > 1 && !strcmp(argv[1], "--no-fd"))
		_exit(no_fd_child());
	if (argc > 1 && !strcmp(argv[1], "--unblock"))
		return unblock_child();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	/* A hang fails the test. Loaded (load average 20 to 30 on 2 CPUs)
	 * a run outlasted 600 s. */
	alarm(1200);
	for (unsigned int c = 0; c < NR_CMDS; c++)
		if (cmd_served(barrier_cmds[c]))
			membarrier(barrier_cmds[c] << 1, 0, 0);
	tap_diag("TLB shootdown %s; PRIVATE_EXPEDITED by %s, SYNC_CORE by %s, "
		 "RSEQ by %s",
		 getenv("MEMBARRIER_EMUL_TLB") ? getenv("MEMBARRIER_EMUL_TLB") : "auto",
		 membarrier_mechanism(PE), membarrier_mechanism(SC),
		 membarrier_mechanism(RS));
	TIMED(test_control());
	TIMED(test_litmus_crowd());
	TIMED(test_stopped_thread());
	TIMED(test_every_signal_taken());
	TIMED(test_no_proc());
	TIMED(test_no_fd_left(argv));
	TIMED(test_eintr());
	TIMED(test_exec(self));
	return tap_done();
}
