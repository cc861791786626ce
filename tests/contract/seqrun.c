// SPDX-License-Identifier: MIT
/*
 * seqrun: run a sequence of membarrier calls and process events, print
 * one result per call. Built twice from this file:
 *   seqrun-lib  calls membarrier() from libmembarrier;
 *   seqrun-raw  (-DSEQRUN_RAW) issues the raw system call and does not
 *               link the library: the kernel's answer, the oracle.
 *
 * Steps (one argument each):
 *   C:CMD[:FLAGS[:CPU]]  call; prints the return value or the errno name
 *                        (CMD, FLAGS, CPU: C integers, e.g. 0x80, -1)
 *   fork                 the child runs the steps up to the matching
 *                        "end" and exits; the parent waits for it, then
 *                        goes on after "end"
 *   end                  closes a fork
 *   exec                 execve() this program with the remaining steps
 *   threads:N            start N threads that spin until the process exits
 *
 * Exit status: 0, or 2 for a malformed step or a failed event.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SEQRUN_RAW
#include <sys/syscall.h>
#define RUNNER_NAME "raw"
static int call(int cmd, unsigned int flags, int cpu_id)
{
	return (int)syscall(SYS_membarrier, cmd, flags, cpu_id);
}
#else
#include <membarrier.h>
#define RUNNER_NAME "lib"
static int call(int cmd, unsigned int flags, int cpu_id)
{
	return membarrier(cmd, flags, cpu_id);
}
#endif

static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EINTR: return "EINTR";
	case EACCES: return "EACCES";
	default: return NULL;
	}
}

static int parse_long(const char *s, char **end, long *v)
{
	errno = 0;
	*v = strtol(s, end, 0);
	return errno || *end == s;
}

static int do_call(const char *step)
{
	long v[3] = { 0, 0, 0 };
	const char *p = step + 2;
	char *end;
	int ret;

	for (int i = 0; i < 3; i++) {
		if (parse_long(p, &end, &v[i]))
			return -1;
		if (*end == '\0')
			break;
		if (*end != ':' || i == 2)
			return -1;
		p = end + 1;
	}
	errno = 0;
	ret = call((int)v[0], (unsigned int)v[1], (int)v[2]);
	if (ret < 0) {
		const char *name = errno_name(errno);

		if (name)
			printf("%s\n", name);
		else
			printf("E%d\n", errno);
	} else {
		printf("%d\n", ret);
	}
	fflush(stdout);
	return 0;
}

static void *spin(void *arg)
{
	volatile unsigned long *n = arg;

	for (;;)
		(*n)++;
	return NULL;
}

static int start_threads(const char *step)
{
	static unsigned long counters[64];
	long n;
	char *end;

	if (parse_long(step + 8, &end, &n) || *end || n < 0 || n > 64)
		return -1;
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, spin, &counters[i]))
			return -1;
		pthread_detach(t);
	}
	return 0;
}

/* Index of the "end" closing the fork at argv[i], or -1. */
static int matching_end(int argc, char **argv, int i)
{
	for (int depth = 0, j = i + 1; j < argc; j++) {
		if (!strcmp(argv[j], "fork"))
			depth++;
		else if (!strcmp(argv[j], "end") && depth-- == 0)
			return j;
	}
	return -1;
}

static int run(int argc, char **argv, int from);

static int do_fork(int argc, char **argv, int i)
{
	int end = matching_end(argc, argv, i), status;
	pid_t pid;

	if (end < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Child: steps i+1 .. end-1 only. */
		_exit(run(end, argv, i + 1));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	return end;
}

static int do_exec(int argc, char **argv, int i)
{
	char **args = calloc((size_t)(argc - i + 1), sizeof(*args));

	if (!args)
		return -1;
	args[0] = argv[0];
	for (int j = i + 1; j < argc; j++)
		args[j - i] = argv[j];
	fflush(stdout);
	execv("/proc/self/exe", args);
	return -1;
}

static int run(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		const char *s = argv[i];
		int bad;

		if (!strncmp(s, "C:", 2)) {
			bad = do_call(s);
		} else if (!strncmp(s, "threads:", 8)) {
			bad = start_threads(s);
		} else if (!strcmp(s, "fork")) {
			int end = do_fork(argc, argv, i);

			bad = end < 0;
			if (!bad)
				i = end;
		} else if (!strcmp(s, "exec")) {
			bad = do_exec(argc, argv, i);
		} else {
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "seqrun-%s: step '%s' failed\n",
				RUNNER_NAME, s);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int status = run(argc, argv, 1);

	fflush(stdout);
	/* _exit: spinning threads must not run during exit handlers. */
	_exit(status);
}
