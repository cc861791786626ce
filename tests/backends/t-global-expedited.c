// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED on the emulated backend, across processes: the
 * registry of registered processes is robust to a process that dies (even
 * by SIGKILL while a caller waits on it), to pid reuse, to execve()
 * (which clears the registration) and keeps fork()'s inheritance.
 * Ordering across processes is tested by `membarrier litmus --cmd
 * global-expedited` (t-emulated.sh); this test is about liveness.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>

#include "lib/tap.h"

#define GE MEMBARRIER_CMD_GLOBAL_EXPEDITED
#define REG_GE MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
#define SLOTS 256
#define SLOT_SIZE 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One GLOBAL_EXPEDITED: its duration in ms, or -1 on failure. */
static double timed_call(void)
{
	uint64_t t = now_ns();

	if (membarrier(GE, 0, 0))
		return -1;
	return (double)(now_ns() - t) / 1e6;
}

/* The registry, as a test sees it: slot i's pid, and whether it is held. */
static int registry_fd = -1;
static char *registry;

static int open_registry(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/shm/libmembarrier-%u.v1", getuid());
	registry_fd = open(path, O_RDWR);
	if (registry_fd < 0)
		return -1;
	registry = mmap(NULL, SLOTS * SLOT_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, registry_fd, 0);
	return registry == MAP_FAILED ? -1 : 0;
}

static int32_t *slot_pid(int i)
{
	return (int32_t *)(registry + i * SLOT_SIZE);
}

static int slot_held(int i)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = i, .l_len = 1 };

	return fcntl(registry_fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* Slot registered (held) by pid, or -1. */
static int find_slot(pid_t pid)
{
	for (int i = 0; i < SLOTS; i++)
		if (*slot_pid(i) == pid && slot_held(i))
			return i;
	return -1;
}

/* A registered child: registers, reports, then runs body. */
static pid_t registered_child(int report_fd, void (*body)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		char ok = membarrier(REG_GE, 0, 0) == 0 ? 'y' : 'n';

		if (write(report_fd, &ok, 1) != 1)
			_exit(1);
		body();
		_exit(0);
	}
	return pid;
}

static void idle(void)
{
	for (;;)
		pause();
}

static void exec_sleep(void)
{
	execlp("sleep", "sleep", "30", (char *)NULL);
	_exit(127);
}

static pid_t grandchild;

static void fork_then_exit(void)
{
	int p[2];
	char c;

	if (pipe(p))
		_exit(1);
	grandchild = fork();
	if (grandchild == 0) {
		/* The child of a registered process is registered too. */
		c = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) == REG_GE ?
		    'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		idle();
	}
	if (read(p[0], &c, 1) != 1)
		_exit(1);
	/* Report the grandchild's pid and verdict, then exit. */
	printf("%d %c\n", (int)grandchild, c);
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	int rep[2];
	char ok;
	pid_t b;
	double ms;

	(void)argc;
	if (!getenv("MEMBARRIER_BACKEND")) {
		setenv("MEMBARRIER_BACKEND", "emulated", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	if (membarrier_backend_of(GE) != MEMBARRIER_BACKEND_EMULATED)
		tap_skip_all("GLOBAL_EXPEDITED is not emulated here");
	alarm(120);
	if (pipe(rep))
		return 1;

	/* A registered process answers; the caller is not registered. */
	b = registered_child(rep[1], idle);
	if (read(rep[0], &ok, 1) != 1 || ok != 'y' || open_registry()) {
		tap_ok(0, "a child registers GLOBAL_EXPEDITED");
		return tap_done();
	}
	tap_ok(find_slot(b) >= 0, "the registered child holds a registry slot");
	ms = timed_call();
	tap_ok(ms >= 0 && ms < 200, "GLOBAL_EXPEDITED from an unregistered "
	       "caller: %.2f ms", ms);

	/* Stopped: it cannot answer; the call still returns, ordered. */
	kill(b, SIGSTOP);
	ms = timed_call();
	tap_ok(ms >= 0 && ms < 3000, "a registered process stopped by SIGSTOP: "
	       "the call returns (%.1f ms)", ms);

	/* SIGKILL while the caller waits on it. */
	{
		pid_t caller = fork();
		int status;

		if (caller == 0)
			_exit(timed_call() >= 0 ? 0 : 1);
		usleep(20000);
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
		waitpid(caller, &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "SIGKILL of a registered process mid-barrier: the "
		       "waiting call returns 0");
	}
	ms = timed_call();
	tap_ok(ms >= 0 && ms < 50, "after its death its slot is skipped "
	       "(%.2f ms)", ms);

	/* Pid reuse: a stale slot naming a live, unrelated process. */
	for (int i = 0; i < SLOTS; i++)
		if (*slot_pid(i) == 0) {
			*slot_pid(i) = getppid();
			ms = timed_call();
			tap_ok(ms >= 0 && ms < 50 && *slot_pid(i) == 0,
			       "a stale slot naming a live process (pid reuse) "
			       "is ignored and freed (%.2f ms)", ms);
			break;
		}

	/* execve() clears the registration: its lock goes with it. */
	b = registered_child(rep[1], exec_sleep);
	if (read(rep[0], &ok, 1) != 1 || ok != 'y')
		tap_ok(0, "a child registers, then execs");
	usleep(50000);
	ms = timed_call();
	tap_ok(find_slot(b) < 0 && ms >= 0 && ms < 50,
	       "after execve() the process is no longer registered (%.2f ms)", ms);
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);

	/* fork() inherits it: the grandchild holds a slot of its own. */
	if (tap_qemu_user()) {
		tap_skip("qemu-user aborts on fork from a multithreaded guest",
			 "fork() inherits the registration");
	} else {
		int out[2], gpid = 0;
		char buf[64] = "", verdict = 'n';
		pid_t c;

		if (pipe(out))
			return 1;
		c = fork();
		if (c == 0) {
			dup2(out[1], 1);
			if (membarrier(REG_GE, 0, 0))
				_exit(1);
			fork_then_exit();
		}
		close(out[1]);
		if (read(out[0], buf, sizeof(buf) - 1) > 0)
			sscanf(buf, "%d %c", &gpid, &verdict);
		waitpid(c, NULL, 0);
		usleep(20000);
		tap_ok(gpid > 0 && verdict == 'y' && find_slot(gpid) >= 0 &&
		       find_slot(c) < 0,
		       "fork() inherits the registration: the child holds its own "
		       "slot after the parent exited");
		ms = timed_call();
		tap_ok(ms >= 0 && ms < 200, "and answers (%.2f ms)", ms);
		if (gpid > 0)
			kill(gpid, SIGKILL);
	}
	return tap_done();
}
