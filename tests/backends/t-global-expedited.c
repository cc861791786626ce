// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED on the emulated backend, across processes: the
 * registry of registered processes is robust to a process that stops or
 * dies (even by SIGKILL while a caller waits on it), to pid reuse, to
 * execve() (which clears the registration), keeps fork()'s inheritance,
 * also through the raw fork system call, and a process registers once
 * however many of its threads register at the same time. Runs in a
 * private /dev/shm (t-global.h). Ordering across processes is tested by
 * t-global-litmus; the registry's defences by t-global-registry.
 */
#include <pthread.h>
#include <sys/syscall.h>

#include "backends/t-global.h"

/* One GLOBAL_EXPEDITED from this process: its duration in ms, or -1. */
static double timed_call(void)
{
	uint64_t t = tg_now_ns();

	if (membarrier(GE, 0, 0))
		return -1;
	return (double)(tg_now_ns() - t) / 1e6;
}


static void exec_sleep(void)
{
	execlp("sleep", "sleep", "30", (char *)NULL);
	_exit(127);
}

static int report_fd = -1;

/* Fork through the raw system call (no fork handler), then exit. */
static void raw_fork_then_exit(void)
{
	long c = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);

	if (c == 0) {
		char v;

		/* The first membarrier call moves the registration here. */
		v = membarrier(GE, 0, 0) == 0 &&
		    membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) == REG_GE ?
		    'y' : 'n';
		if (write(report_fd, &v, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	_exit(0);
}

static void fork_then_exit(void)
{
	pid_t c = fork();

	if (c == 0) {
		char v = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) ==
			 REG_GE ? 'y' : 'n';

		if (write(report_fd, &v, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	_exit(0);
}

/* Read "pid verdict" from a grandchild through report_fd's pipe. */
static pid_t grandchild(void (*body)(void), char *verdict)
{
	int p[2], st;
	pid_t c, g = -1;
	char buf[64];

	if (pipe(p))
		return -1;
	c = fork();
	if (c == 0) {
		close(p[0]);
		report_fd = p[1];
		if (membarrier(REG_GE, 0, 0))
			_exit(1);
		body();
	}
	close(p[1]);
	*verdict = 'n';
	if (read(p[0], verdict, 1) != 1)
		*verdict = 'n';
	close(p[0]);
	waitpid(c, &st, 0);
	/* The grandchild is ours now (reparented to the subreaper). */
	snprintf(buf, sizeof(buf), "/proc/%d/task/%d/children", getpid(), getpid());
	{
		FILE *f = fopen(buf, "r");
		int pid;

		while (f && fscanf(f, "%d", &pid) == 1)
			g = pid;
		if (f)
			fclose(f);
	}
	(void)c;
	return g;
}

static void *register_thread(void *arg)
{
	(void)arg;
	return (void *)(long)membarrier(REG_GE, 0, 0);
}

/* In a child: 8 threads register at once; one agent, one slot. */
static int concurrent_registrations(void)
{
	pid_t c = fork();
	int status;

	if (c == 0) {
		pthread_t t[8];
		long bad = 0;
		int agents = 0, slots = 0;
		struct tg_reg r;

		for (int i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, register_thread, NULL);
		for (int i = 0; i < 8; i++) {
			void *v;

			pthread_join(t[i], &v);
			bad += (long)v != 0;
		}
		{
			char path[64], comm[32];

			for (int tid = 1; tid < 4194304 && agents < 3; tid++) {
				FILE *f;

				snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
				f = fopen(path, "r");
				if (!f)
					continue;
				if (fgets(comm, sizeof(comm), f) &&
				    !strncmp(comm, "membarrier-gexp", 15))
					agents++;
				fclose(f);
				if (tid > getpid() + 64)
					break;
			}
		}
		if (tg_open(0, &r) == 0) {
			for (uint32_t i = 0; i < r.hdr->nslots; i++)
				slots += (uint32_t)r.slot[i].owner == (uint32_t)getpid() &&
					 tg_held(&r, i);
			tg_close(&r);
		}
		_exit(bad == 0 && agents == 1 && slots == 1 ? 0 : 1);
	}
	waitpid(c, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * More registered processes than are asked one by one, and a caller
 * that cannot walk (sched_setaffinity refused): one walker per call
 * walks the CPUs for it, the others sleep on. Returns how many agents
 * were asked in CALLS calls, or -1 (-2: no seccomp filter here).
 */
static int walkers_woken(void)
{
	enum { N = 20, CALLS = 20 };
	pid_t kids[N], c;
	long before[N];
	int status, ok = 1, woken = 0;

	for (int i = 0; i < N; i++) {
		kids[i] = tg_start(NULL);
		ok &= kids[i] > 0;
	}
	tg_age_registry();
	for (int i = 0; i < N; i++)
		before[i] = tg_requests(0, kids[i]);
	c = fork();
	if (c == 0) {
		if (tg_no_affinity())
			_exit(3);
		for (int i = 0; i < CALLS; i++)
			if (membarrier(GE, 0, 0))
				_exit(1);
		_exit(0);
	}
	waitpid(c, &status, 0);
	for (int i = 0; i < N; i++) {
		woken += tg_requests(0, kids[i]) != before[i];
		tg_kill(kids[i]);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 3)
		return -2;
	return ok && WEXITSTATUS(status) == 0 ? woken : -1;
}

int main(int argc, char **argv)
{
	pid_t b;
	double ms;
	int i;

	(void)argc;
	tg_private_shm(argv, "mode=1777,size=16m");
	if (membarrier_backend_of(GE) != MEMBARRIER_BACKEND_EMULATED)
		tap_skip_all("GLOBAL_EXPEDITED is not emulated here");
	alarm(120);
	if (syscall(SYS_prctl, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0))
		tap_diag("no subreaper: the fork tests cannot find the grandchild");

	/* A registered process answers; the caller is not registered. */
	b = tg_start(NULL);
	tap_ok(b > 0 && tg_slot_of(0, b) >= 0,
	       "a registered child holds a slot of the registry");
	tg_age_registry();
	ms = timed_call();
	tap_ok(ms >= 0, "GLOBAL_EXPEDITED from an unregistered caller (%.3f ms)", ms);

	/* Stopped: it cannot answer; the call returns 0 (cost: bench). The
	 * stop takes effect when b next runs: wait for it, so that the call
	 * finds b stopped, not still running and silent. */
	kill(b, SIGSTOP);
	waitpid(b, NULL, WUNTRACED);
	ms = timed_call();
	tap_ok(ms >= 0, "a registered process stopped by SIGSTOP: the call "
	       "returns 0 (%.3f ms)", ms);
	ms = timed_call();
	tap_diag("and the next call: %.3f ms", ms);
	kill(b, SIGCONT);

	/* SIGKILL while the caller waits on it. */
	{
		pid_t caller = fork();
		int status;

		if (caller == 0)
			_exit(timed_call() >= 0 ? 0 : 1);
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
		waitpid(caller, &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "SIGKILL of a registered process mid-barrier: the "
		       "waiting call returns 0");
	}
	tap_ok(tg_slot_of(0, b) < 0 && tg_call_from_child() == 0,
	       "after its death its slot is free, and calls return 0");

	/* Pid reuse: a stale slot naming a live, unrelated process. */
	{
		struct tg_reg r;
		int cleared = 0;

		/* Only a caller that asks the registered processes one by
		 * one frees a stale slot; one that met a silent process
		 * walks without asking for SILENT_MS, and the callers below
		 * are forks of this process: wait that out. */
		usleep((SILENT_MS + 50) * 1000);
		if (tg_open(0, &r) == 0) {
			for (i = 0; i < (int)r.hdr->nslots; i++)
				if (!(uint32_t)r.slot[i].owner && !tg_held(&r, i))
					break;
			r.slot[i].owner = (uint64_t)7 << 32 | (uint32_t)getppid();
			__atomic_add_fetch(&r.hdr->count, 1, __ATOMIC_RELEASE);
			ms = tg_call_from_child() == 0 ? 0 : -1;
			cleared = !(uint32_t)r.slot[i].owner;
			tg_close(&r);
		}
		tap_ok(ms >= 0 && cleared, "a stale slot naming a live process "
		       "(pid reuse) is ignored and freed");
	}

	/* execve() clears the registration: its lock goes with it. */
	b = tg_start(exec_sleep);
	usleep(100000);
	tap_ok(b > 0 && tg_slot_of(0, b) < 0 && tg_call_from_child() == 0,
	       "after execve() the process is no longer registered");
	tg_kill(b);

	if (tap_qemu_user()) {
		tap_skip("qemu-user aborts on fork from a multithreaded guest",
			 "fork() inherits the registration");
		tap_skip("qemu-user", "the raw fork system call too");
		tap_skip("qemu-user", "concurrent registrations");
		return tap_done();
	}
	/* fork() inherits it: the grandchild holds a slot of its own. */
	{
		char v;
		pid_t g = grandchild(fork_then_exit, &v);

		tap_ok(g > 0 && v == 'y' && tg_wait_slot(0, g, 2000) >= 0,
		       "fork() inherits the registration: the child holds its "
		       "own slot after the parent exited");
		tap_ok(tg_call_from_child() == 0, "and calls return 0");
		tg_kill(g);
	}
	/* The raw fork system call runs no fork handler. */
	{
		char v;
		pid_t g = grandchild(raw_fork_then_exit, &v);

		tap_ok(g > 0 && v == 'y' && tg_slot_of(0, g) >= 0,
		       "a child of the raw fork system call holds a slot of its "
		       "own after its first call");
		tg_kill(g);
	}
	tap_ok(concurrent_registrations(), "8 threads registering at once: one "
	       "agent thread, one slot");
	{
		int w = walkers_woken();

		if (w == -2)
			tap_skip("no seccomp filter here", "a caller that cannot walk");
		else
			tap_ok(w >= 1 && w <= 3, "a caller that cannot walk, 20 "
			       "registered, 20 calls: %d agents asked (walkers for "
			       "the CPUs, not one per process)", w);
	}
	return tap_done();
}
