// SPDX-License-Identifier: MIT
/*
 * The library's first call decides the backends (src/core/select.c); a
 * signal handler that calls the library while its own thread is in that
 * first call must not wait for it, since the interrupted call never
 * resumes until the handler returns. In each of ROUNDS fresh children
 * (the library not yet called), a second thread sends SIGUSR1 to the
 * main thread as fast as it can; once its handler has run, the main
 * thread makes its first call, membarrier(QUERY), and the handler calls
 * membarrier(QUERY) too while that call runs. A
 * child that hangs is killed by its alarm: a failure, and the remaining
 * rounds are not run. Each child reports how many handler runs began
 * inside the first call; if none did in any child (one CPU, or a loaded
 * machine that never ran the sender then), the test skips, since it then
 * proved nothing. Both backends: the emulated one decides more on its
 * first use (its facts).
 *
 * Then fork(): a child has only the thread that forked, so a first call
 * that another thread was in never ends there; the child must start it
 * again. In each round the main thread's handler, once it runs inside the
 * first call's run (select.c's init_run owned by this thread) and before
 * the config is published (mbi_config.initialized, after which a child
 * needs no run at all), parks there: both found in the library's symbol
 * table (tests/lib/libsym.h). The sender thread then forks, and the
 * fork's child makes its own first call, which must return (its alarm
 * kills it otherwise).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>

#include "core/core.h"
#include "lib/child.h"
#include "lib/libsym.h"
#include "lib/tap.h"

#define ROUNDS		20
#define HANG_SECONDS	20

static volatile sig_atomic_t in_first, during, handled, handler_failed;
static volatile int started, stop, forking, parked, fork_done, fork_status;
static pthread_t main_thread;
/* select.c's init_run (its first word: the running thread's
 * pthread_self(), 0 before, 1 after) and mbi_config. */
static const uintptr_t *init_owner;
static const struct mbi_config *config;

/* This thread runs the first call's run and has not published yet. */
static int in_unpublished_run(void)
{
	return __atomic_load_n(init_owner, __ATOMIC_ACQUIRE) ==
	       (uintptr_t)pthread_self() &&
	       !__atomic_load_n(&config->initialized, __ATOMIC_ACQUIRE);
}

/* fork mode: the first handler run inside the first call parks there
 * until the sender has forked and reaped its child. */
static void park(void)
{
	static int once;

	if (once)
		return;
	once = 1;
	__atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&fork_done, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* The sender's fork: the child's own first call must return. */
static void fork_and_call(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(HANG_SECONDS / 2);
		_exit(membarrier(MEMBARRIER_CMD_QUERY, 0, 0) > 0 ? 0 : 4);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	fork_status = status;
	__atomic_store_n(&fork_done, 1, __ATOMIC_RELEASE);
}

/* Calls the library only while the first call runs: before, it must stay
 * uncalled; after, a call proves nothing. */
static void on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	handled = handled + 1;
	if (!in_first)
		return;
	during = during + 1;
	if (forking) {
		if (in_unpublished_run())
			park();
	} else if (membarrier(MEMBARRIER_CMD_QUERY, 0, 0) <= 0)
		handler_failed = 1;
	errno = saved;
}

static void *sender(void *arg)
{
	(void)arg;
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&parked, __ATOMIC_ACQUIRE)) {
			fork_and_call();
			break;
		}
		pthread_kill(main_thread, SIGUSR1);
	}
	return NULL;
}

/*
 * The child: its first call under the flood; writes "during handled".
 * fork mode: "parked status" (the fork's child's wait status, or -1).
 */
static int child(int fd, void *arg)
{
	int fork_mode = *(int *)arg;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pthread_t t;
	char line[64];
	int r, n;

	alarm(HANG_SECONDS);
	forking = fork_mode;
	sigemptyset(&sa.sa_mask);
	main_thread = pthread_self();
	if (sigaction(SIGUSR1, &sa, NULL) ||
	    pthread_create(&t, NULL, sender, NULL))
		return 3;
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE) || handled < 3)
		;	/* the flood has begun */
	in_first = 1;
	r = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);	/* the first call */
	in_first = 0;
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (fork_mode)
		n = snprintf(line, sizeof(line), "%d %d\n", parked, fork_status);
	else
		n = snprintf(line, sizeof(line), "%d %d\n", (int)during,
			     (int)handled);
	if (write(fd, line, (size_t)n) != n)
		return 3;
	return r > 0 && !handler_failed ? 0 : 4;
}

/* One child: 0 passed, -1 failed (hung, wrong answer); its two numbers. */
static int one_round(int fork_mode, int *during_out, int *handled_out)
{
	char buf[64];
	int status = child_fork_capture(child, &fork_mode, buf, sizeof(buf));

	if (status < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tap_diag("child: %s %d", WIFSIGNALED(status) ? "killed by signal"
			 : "exit status", WIFSIGNALED(status) ? WTERMSIG(status)
			 : WEXITSTATUS(status));
		return -1;
	}
	if (sscanf(buf, "%d %d", during_out, handled_out) != 2)
		return -1;
	return 0;
}

static int run_backend(const char *backend)
{
	int total_during = 0, total_handled = 0, landed = 0;

	/* The library reads it on the first call: the children's. */
	setenv("MEMBARRIER_BACKEND", backend, 1);
	for (int i = 0; i < ROUNDS; i++) {
		int d = 0, h = 0;

		if (one_round(0, &d, &h)) {
			tap_ok(0, "%s: a child's first call under the signal "
			       "flood (round %d; a hang is killed after %d s)",
			       backend, i, HANG_SECONDS);
			return -1;
		}
		total_during += d;
		total_handled += h;
		landed += d > 0;
	}
	if (!landed) {
		tap_skip("no signal landed inside a first call here",
			 "%s: handlers inside the first call", backend);
		return 0;
	}
	tap_ok(1, "%s: %d first calls returned, %d of them interrupted by "
	       "handlers that called the library (%d handler runs inside "
	       "first calls, %d in all)", backend, ROUNDS, landed,
	       total_during, total_handled);
	return 0;
}

static void run_fork(void)
{
	const char *why = NULL;
	int parked_rounds = 0;

	init_owner = libsym_object("init_run", NULL, &why);
	config = init_owner ? libsym_object("mbi_config", NULL, &why) : NULL;
	if (!config) {
		tap_skip(why, "fork: a fork during another thread's first call");
		return;
	}
	setenv("MEMBARRIER_BACKEND", "auto", 1);
	for (int i = 0; i < ROUNDS; i++) {
		int p = 0, st = 0;

		if (one_round(1, &p, &st)) {
			tap_ok(0, "fork: round %d failed", i);
			return;
		}
		if (!p)
			continue;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			tap_ok(0, "fork: the child of a fork made while another "
			       "thread was in its first call (round %d): %s %d",
			       i, WIFSIGNALED(st) ? "killed by signal" :
			       "exit status", WIFSIGNALED(st) ? WTERMSIG(st) :
			       WEXITSTATUS(st));
			return;
		}
		parked_rounds++;
	}
	if (!parked_rounds) {
		tap_skip("no signal landed inside a first call here",
			 "fork: a fork during another thread's first call");
		return;
	}
	tap_ok(1, "fork: %d forks made while another thread was in its first "
	       "call: each child's own first call returned", parked_rounds);
}

int main(void)
{
	if (run_backend("auto") == 0 && run_backend("emulated") == 0)
		run_fork();
	return tap_done();
}
