/* SPDX-License-Identifier: MIT */
/*
 * Run a child program and capture its standard output, for the tests
 * that compare programs' answers (conformance, differential) or embed a
 * child's TAP lines: the one copy of the timed read, on the start and
 * wait of tools/spawn_piped.h.
 */
#ifndef MEMBARRIER_TEST_CHILD_H
#define MEMBARRIER_TEST_CHILD_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "spawn_piped.h"

/*
 * Read the child pid's output from fd into out, NUL-terminated (what
 * does not fit is read and dropped, so the child never blocks on a full
 * pipe), until end of file; a child still running at deadline
 * (test_now_ns()) is killed. Closes fd and reaps the child. Returns its
 * wait status, or -1 when it timed out.
 */
static inline int child_collect(pid_t pid, int fd, char *out, size_t size,
				uint64_t deadline)
{
	size_t len = 0;
	int timed_out = 0, status;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = test_now_ns();
		char spill[512];
		ssize_t r;

		if (now >= deadline ||
		    poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) == 0) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (len < size - 1)
			r = read(fd, out + len, size - 1 - len);
		else
			r = read(fd, spill, sizeof(spill));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (len < size - 1)
			len += (size_t)r;
	}
	out[len] = '\0';
	close(fd);
	status = spawn_wait(pid);
	return timed_out ? -1 : status;
}

/*
 * Run argv[0] (a path: no search) with argv; its standard output into
 * out, as child_collect(); standard error is ours. A child still running
 * after timeout_ms is killed. Returns its wait status, or -1 when it
 * could not be started or timed out.
 */
static inline int child_capture(char *const argv[], char *out, size_t size,
				int timeout_ms)
{
	uint64_t deadline = test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd;
	pid_t pid;

	if (size == 0)
		return -1;
	pid = spawn_piped(argv, NULL, &fd);
	if (pid < 0)
		return -1;
	return child_collect(pid, fd, out, size, deadline);
}

/*
 * Fork a child that runs fn(fd, arg) and exits with what it returns, fd
 * the write end of a pipe; what it writes there lands in out, as
 * child_collect(). The child bounds its own run (alarm()); one still
 * running after a minute is killed all the same. Returns its wait
 * status, or -1 when it could not be started or was killed so.
 */
static inline int child_fork_capture(int (*fn)(int fd, void *arg), void *arg,
				     char *out, size_t size)
{
	uint64_t deadline = test_now_ns() + 60 * UINT64_C(1000000000);
	int fds[2];
	pid_t pid;

	if (size == 0 || pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(fn(fds[1], arg));
	}
	close(fds[1]);
	return child_collect(pid, fds[0], out, size, deadline);
}

#endif /* MEMBARRIER_TEST_CHILD_H */
