/* SPDX-License-Identifier: MIT */
/*
 * Start a program whose standard output comes back through a pipe, and
 * wait for it: the one copy of fork, pipe, exec and wait that the
 * benchmarks' children (bench/bench.c) and the tests' captured children
 * (tests/lib/child.h) share.
 */
#ifndef MEMBARRIER_TOOL_SPAWN_PIPED_H
#define MEMBARRIER_TOOL_SPAWN_PIPED_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Run argv[0] (a path: no search) with argv in a child whose standard
 * output is a pipe, with the NAME, VALUE pairs of env (NULL-terminated,
 * or NULL) set in the child only; standard error is ours. Its pid, with
 * the pipe's read end in *out; -1 when it could not be started.
 */
static inline pid_t spawn_piped(char *const argv[], const char *const env[],
				int *out)
{
	int fds[2];
	pid_t pid;

	fflush(stdout);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		for (int i = 0; env && env[i] && env[i + 1]; i += 2)
			setenv(env[i], env[i + 1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	*out = fds[0];
	return pid;
}

/* The wait status of child pid, or -1. */
static inline int spawn_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

#endif /* MEMBARRIER_TOOL_SPAWN_PIPED_H */
