// SPDX-License-Identifier: MIT
/*
 * The emulated backend's hazards, each with its test (DESIGN.md): threads
 * exiting mid-round; threads blocking the signal; a thread stopped by
 * SIGSTOP under ptrace; concurrent callers sharing rounds; fork during a
 * round; a program's own handler on the signal; EINTR; errno; async-signal
 * safety; more threads than one batch; no /proc. Every barrier call must
 * return 0 within a bound, whatever the other threads do.
 *
 * Runs itself under MEMBARRIER_BACKEND=emulated (re-executing if needed);
 * MEMBARRIER_EMUL_TLB=0 by default, so that the plain barrier takes the
 * signal path too. A watchdog (alarm) turns any hang into a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/fence.h>

#include "lib/tap.h"

#define SC MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
#define PE MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define BOUND_NS 3000000000ull	/* no call may take longer */

static volatile int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Call cmd n times: 0 if all succeeded; worst call time in *worst. */
static int calls(int cmd, int n, uint64_t *worst)
{
	*worst = 0;
	for (int i = 0; i < n; i++) {
		uint64_t t = now_ns();

		if (membarrier(cmd, 0, 0))
			return errno;
		t = now_ns() - t;
		if (t > *worst)
			*worst = t;
	}
	return 0;
}

static void *spin(void *arg)
{
	(void)arg;
	while (!stop)
		membarrier_arch_relax();
	return NULL;
}

static void *spin_blocking_signal(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, membarrier_emulation_signal());
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return spin(arg);
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

/* ---- threads exiting mid-round ---- */

static void *short_lived(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!stop)
		pthread_join(start(short_lived, NULL), NULL);
	return NULL;
}

static void test_exiting_threads(void)
{
	pthread_t t[2];
	uint64_t w1, w2;
	int e1, e2;

	stop = 0;
	for (int i = 0; i < 2; i++)
		t[i] = start(churn, NULL);
	e1 = calls(SC, 300, &w1);
	e2 = calls(PE, 300, &w2);
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	tap_ok(!e1 && !e2 && w1 < BOUND_NS && w2 < BOUND_NS,
	       "threads exiting mid-round: 600 calls succeed, worst %.1f ms",
	       (double)(w1 > w2 ? w1 : w2) / 1e6);
}

/* ---- a thread blocking the signal ---- */

static void test_blocked_signal(void)
{
	pthread_t t;
	uint64_t w1, w2;
	int e1, e2;

	stop = 0;
	t = start(spin_blocking_signal, NULL);
	e1 = calls(SC, 20, &w1);
	e2 = calls(PE, 20, &w2);
	stop = 1;
	pthread_join(t, NULL);
	tap_ok(!e1 && !e2 && w1 < BOUND_NS && w2 < BOUND_NS,
	       "a running thread blocking signal %d: calls return, worst %.1f ms",
	       membarrier_emulation_signal(),
	       (double)(w1 > w2 ? w1 : w2) / 1e6);
}

/* ---- a thread stopped by SIGSTOP (under ptrace, so only it stops) ---- */

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static volatile pid_t spinner_tid;

static void *spin_tid(void *arg)
{
	spinner_tid = gettid_();
	return spin(arg);
}

static void test_stopped_thread(void)
{
	int go[2], done[2];
	char c = 0;
	pthread_t t;
	pid_t tracer;
	uint64_t w;
	int e;

	if (tap_qemu_user()) {
		tap_skip("qemu-user cannot run this (ptrace, fork of a threaded "
			 "guest, or /proc unmounted under it)", "%s", "a thread stopped by SIGSTOP");
		return;
	}

	stop = 0;
	spinner_tid = 0;
	t = start(spin_tid, NULL);
	while (!spinner_tid)
		sched_yield();
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (pipe(go) || pipe(done))
		exit(1);
	tracer = fork();
	if (tracer == 0) {
		pid_t tid = spinner_tid;
		int status;

		if (ptrace(PTRACE_SEIZE, tid, 0, 0) ||
		    syscall(SYS_tgkill, getppid(), tid, SIGSTOP) ||
		    waitpid(tid, &status, __WALL) != tid) {
			c = 'x';
			if (write(go[1], &c, 1) < 0)
				_exit(1);
			_exit(1);
		}
		c = WIFSTOPPED(status) ? 's' : 'x';
		if (write(go[1], &c, 1) < 0 || read(done[0], &c, 1) < 0)
			_exit(1);
		/* Resume it with SIGSTOP suppressed, then let it go. */
		ptrace(PTRACE_DETACH, tid, 0, 0);
		_exit(0);
	}
	if (read(go[0], &c, 1) != 1 || c != 's') {
		tap_skip("ptrace is not permitted here", "a thread stopped by SIGSTOP");
	} else {
		e = calls(SC, 5, &w);
		tap_ok(!e && w < BOUND_NS,
		       "a thread stopped by SIGSTOP: calls return, worst %.1f ms",
		       (double)w / 1e6);
	}
	if (write(done[1], &c, 1) < 0)
		exit(1);
	waitpid(tracer, NULL, 0);
	stop = 1;
	pthread_join(t, NULL);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
}

/* ---- concurrent callers share rounds ---- */

static int sleeper_pipe[2];
static volatile pid_t sleeper_tid;
static volatile int sleeper_eintr;

/* Blocked in read(): SA_RESTART must hide every handshake signal. */
static void *sleeper(void *arg)
{
	char c;
	ssize_t r;

	(void)arg;
	sleeper_tid = gettid_();
	r = read(sleeper_pipe[0], &c, 1);
	if (r < 0 && errno == EINTR)
		sleeper_eintr = 1;
	return NULL;
}

static long ctxt_switches(pid_t tid)
{
	char path[64], buf[4096], *p;
	long n = 0;
	int fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "voluntary_ctxt_switches:");
	if (p)
		n = strtol(p + 24, NULL, 10);
	return n;
}

static void *caller(void *arg)
{
	uint64_t w;

	*(int *)arg = calls(SC, 300, &w);
	return NULL;
}

static void test_shared_rounds_and_eintr(void)
{
	pthread_t s, c[4];
	int err[4] = { 0 }, bad = 0;
	long before, after;

	if (pipe(sleeper_pipe))
		exit(1);
	sleeper_tid = 0;
	sleeper_eintr = 0;
	s = start(sleeper, NULL);
	while (!sleeper_tid)
		sched_yield();
	usleep(10000);
	before = ctxt_switches(sleeper_tid);
	for (int i = 0; i < 4; i++)
		c[i] = start(caller, &err[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(c[i], NULL);
		bad |= err[i];
	}
	after = ctxt_switches(sleeper_tid);
	if (write(sleeper_pipe[1], "x", 1) != 1)
		exit(1);
	pthread_join(s, NULL);
	tap_ok(!bad, "4 concurrent callers x 300 calls succeed");
	/*
	 * A caller sends no signal to a thread whose signal is already on its
	 * way: the sleeper wakes at most once per call (resends after 2 ms
	 * aside), fewer when calls overlap.
	 */
	tap_ok(before >= 0 && after - before <= 1200 + 1200 / 4,
	       "concurrent callers share rounds: the sleeping thread woke %ld "
	       "times for 1200 calls", after - before);
	tap_ok(!sleeper_eintr, "a thread blocked in read() never sees EINTR");
	close(sleeper_pipe[0]);
	close(sleeper_pipe[1]);
}

/* ---- fork during a round ---- */

static void *loop_caller(void *arg)
{
	int *err = arg;

	while (!stop)
		if (membarrier(SC, 0, 0))
			*err = errno;
	return NULL;
}

static void test_fork_during_round(void)
{
	int err = 0, bad = 0;
	pthread_t t;

	if (tap_qemu_user()) {
		tap_skip("qemu-user aborts on fork from a multithreaded guest",
			 "fork during rounds");
		return;
	}
	stop = 0;
	t = start(loop_caller, &err);
	for (int i = 0; i < 40; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			/* Registrations inherited; the child's own rounds work. */
			int ok = membarrier(SC, 0, 0) == 0 &&
				 membarrier(PE, 0, 0) == 0 &&
				 membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) ==
				 (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
				  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE);
			_exit(ok ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	stop = 1;
	pthread_join(t, NULL);
	tap_ok(!bad && !err, "fork during rounds: 40 children ran their own "
	       "barriers (%d failed), the parent's succeeded", bad);
}

/* ---- errno, async-signal safety ---- */

static volatile int handler_failures, handler_calls;

static void alarm_handler(int sig)
{
	int saved = errno;

	(void)sig;
	if (membarrier(SC, 0, 0) || membarrier(PE, 0, 0))
		handler_failures++;
	handler_calls++;
	errno = saved;
}

static void *errno_keeper(void *arg)
{
	int *bad = arg;

	errno = 77;
	while (!stop)
		if (errno != 77)
			*bad = 1;
	return NULL;
}

static void test_errno_and_signal_safety(void)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	struct sigaction sa;
	int bad_errno = 0, fails = 0;
	uint64_t t0;
	pthread_t t;

	stop = 0;
	t = start(errno_keeper, &bad_errno);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_ns();
	while (now_ns() - t0 < 300000000ull) {
		errno = 1234;
		if (membarrier(SC, 0, 0))
			fails++;
		else if (errno != 1234)
			bad_errno = 1;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_DFL);
	stop = 1;
	pthread_join(t, NULL);
	tap_ok(!bad_errno, "errno is preserved, in callers and in signaled threads");
	tap_ok(!fails && !handler_failures && handler_calls > 0,
	       "membarrier() from a signal handler interrupting membarrier(): "
	       "%d handler calls, no failure, no deadlock", handler_calls);
}

/* ---- more threads than one batch ---- */

static void *park(void *arg)
{
	(void)arg;
	while (!stop)
		usleep(1000);
	return NULL;
}

static void test_many_threads(void)
{
	enum { N = 300 };
	static pthread_t t[N];
	uint64_t w;
	int e;

	stop = 0;
	for (int i = 0; i < N; i++)
		t[i] = start(park, NULL);
	e = calls(SC, 10, &w);
	stop = 1;
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	tap_ok(!e && w < BOUND_NS, "%d sleeping threads (more than a batch): "
	       "calls succeed, worst %.1f ms", N, (double)w / 1e6);
}

/* ---- a program's own handler on the signal ---- */

static void programs_handler(int sig)
{
	(void)sig;
}

/* In a fresh image (argv[1] == "--own-handler"): the program installs its
 * handler on the signal first, then registers. */
static int own_handler_child(void)
{
	struct sigaction sa, now;
	int sig = membarrier_emulation_signal(), r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = programs_handler;
	sigaction(sig, &sa, NULL);
	r = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
	sigaction(sig, NULL, &now);
	return r == -1 && errno == EBUSY && now.sa_handler == programs_handler ?
	       0 : 1;
}

/* MEMBARRIER_SIGNAL=12: the program's handler on SIGRTMAX-3 is no conflict. */
static int other_signal_child(void)
{
	struct sigaction sa;
	uint64_t w;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = programs_handler;
	sigaction(SIGRTMAX - 3, &sa, NULL);
	if (membarrier_emulation_signal() != SIGUSR2 ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		return 1;
	stop = 0;
	start(spin, NULL);
	return calls(SC, 20, &w) == 0 && w < BOUND_NS ? 0 : 1;
}

static void test_own_handler(char **argv)
{
	pid_t pid;
	int status;

	if (tap_qemu_user()) {
		tap_skip("qemu-user forks unreliably once the guest has had "
			 "threads", "a program's own handler on the signal");
		return;
	}
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], (char *)"--own-handler", NULL };

		setenv("MEMBARRIER_REGISTER_AT_LOAD", "0", 1);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "a program's handler on the signal: registration fails with "
	       "EBUSY and says why, the handler is kept");

	/* The remedy: MEMBARRIER_SIGNAL picks another signal. */
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], (char *)"--other-signal", NULL };

		setenv("MEMBARRIER_REGISTER_AT_LOAD", "0", 1);
		setenv("MEMBARRIER_SIGNAL", "12", 1);	/* SIGUSR2 */
		execv("/proc/self/exe", args);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "MEMBARRIER_SIGNAL=12: the handshake uses SIGUSR2, and the "
	       "program keeps its handler on the default signal");

	pid = fork();
	if (pid == 0) {
		struct sigaction sa;

		/* Take over the handler the library installed at load. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = programs_handler;
		sigaction(membarrier_emulation_signal(), &sa, NULL);
		/* The library's services must still order every thread. */
		stop = 0;
		start(spin, NULL);
		_exit(mbfence_heavy() == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "with the signal taken over after load, the heavy fence still "
	       "orders (fallback)");
}

/* ---- no /proc ---- */

static void test_no_proc(void)
{
	pid_t pid;
	int status;

	if (tap_qemu_user()) {
		tap_skip("qemu-user cannot run this (ptrace, fork of a threaded "
			 "guest, or /proc unmounted under it)", "%s", "without /proc");
		return;
	}
	pid = fork();

	if (pid == 0) {
		uint64_t w;

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/proc", MNT_DETACH))
			_exit(3);
		stop = 0;
		start(spin, NULL);
		_exit(calls(SC, 5, &w) == 0 && w < BOUND_NS ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		tap_skip("cannot unmount /proc in a private namespace here",
			 "without /proc");
	else
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "without /proc the fallback orders every thread");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--own-handler"))
		return own_handler_child();
	if (argc > 1 && !strcmp(argv[1], "--other-signal"))
		return other_signal_child();
	if (!getenv("MEMBARRIER_BACKEND")) {
		setenv("MEMBARRIER_BACKEND", "emulated", 1);
		if (!getenv("MEMBARRIER_EMUL_TLB"))
			setenv("MEMBARRIER_EMUL_TLB", "0", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	if (membarrier_backend_of(SC) != MEMBARRIER_BACKEND_EMULATED)
		tap_skip_all("SYNC_CORE is not emulated here");
	alarm(240);	/* a hang fails the test */
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0)) {
		tap_ok(0, "registration: %s", strerror(errno));
		return tap_done();
	}
	tap_diag("signal %d, TLB shootdown %s", membarrier_emulation_signal(),
		 getenv("MEMBARRIER_EMUL_TLB") ? getenv("MEMBARRIER_EMUL_TLB") : "auto");
	test_exiting_threads();
	test_blocked_signal();
	test_stopped_thread();
	test_shared_rounds_and_eintr();
	test_fork_during_round();
	test_errno_and_signal_safety();
	test_many_threads();
	test_own_handler(argv);
	test_no_proc();
	return tap_done();
}
