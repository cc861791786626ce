// SPDX-License-Identifier: MIT
/*
 * membarrier stat -- CMD ARGS: run an unmodified program through the
 * shim (membarrier run) with MEMBARRIER_STATS naming a private file, and
 * print, once it has exited, what each of its processes reported there
 * (src/core/stats.c: per command, calls, backend, mechanism, latency
 * p50/p99/max, calls served by a shared barrier, errors), then the time
 * elapsed, as perf stat does. The exit status is the program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

/* Copy what the program's processes wrote to path onto stderr. */
static void print_reports(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), any = 0;

	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			fwrite(buf, 1, (size_t)n, stderr);
			any = 1;
		}
		close(fd);
	}
	if (!any)
		fprintf(stderr, "\n libmembarrier stats: no report (the program "
			"did not exit normally, or does not load the library)\n");
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int tool_stat(int argc, char **argv)
{
	char path[] = "/tmp/membarrier-stat-XXXXXX";
	int first = 1, fd, status;
	uint64_t t0;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	if (first >= argc) {
		tool_error("usage: membarrier stat -- CMD [ARGS]");
		return 2;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		tool_error("stat: cannot create %s: %s", path, strerror(errno));
		return 2;
	}
	close(fd);
	t0 = tool_now_ns();
	pid = fork();
	if (pid == 0) {
		char **args = calloc((size_t)(argc - first) + 4, sizeof(*args));

		if (!args)
			_exit(126);
		args[0] = "membarrier";
		args[1] = "run";
		args[2] = "--";
		memcpy(args + 3, argv + first,
		       (size_t)(argc - first) * sizeof(*args));
		setenv("MEMBARRIER_STATS", path, 1);
		execv("/proc/self/exe", args);
		tool_error("stat: cannot run the tool again: %s",
			   strerror(errno));
		_exit(126);
	}
	if (pid < 0) {
		tool_error("stat: fork: %s", strerror(errno));
		unlink(path);
		return 2;
	}
	/* As perf stat: the terminal's interrupt is the program's. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	print_reports(path);
	fprintf(stderr, "%16.9f seconds time elapsed\n\n",
		(double)(tool_now_ns() - t0) / 1e9);
	unlink(path);
	return exit_status(status);
}
