// SPDX-License-Identifier: MIT
/*
 * Misuse the documentation forbids: in a library built with
 * MEMBARRIER_DEBUG (make check-debug) each aborts with a message naming
 * it; in a normal build, the checks that cost nothing on a fast path
 * return EINVAL (or, for mbrcu_call(), drop the call) instead of
 * corrupting or crashing later. Each misuse runs in a child; the control
 * is the correct call, which must pass the same checks.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier/jit.h>
#include <membarrier/rcu.h>
#include <membarrier/rseq.h>

#include "lib/tap.h"

#ifdef MEMBARRIER_DEBUG
#define CHECKED 1
#else
#define CHECKED 0
#endif

static char *page;

static int jit_wraps(void)
{
	return mbjit_publish(page, page, SIZE_MAX) == -EINVAL ? 0 : 1;
}

static int jit_unmapped(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	munmap(p, (size_t)ps);
	return mbjit_publish(p, p, 16) == -EINVAL ? 0 : 1;
}

static int rcu_null_callback(void)
{
	static struct mbrcu_head head;

	mbrcu_call(&head, NULL);
	mbrcu_barrier();	/* the worker would run the NULL callback */
	return 0;
}

/* One slot further: another CPU's slot (checked before rseq is asked). */
static int rseq_offset(void)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();

	return mbrseq_percpu_add(pc, MBRSEQ_SLOT_SIZE, 1) == -EINVAL ? 0 : 1;
}

static int rseq_offset_misaligned(void)
{
	struct mbrseq_percpu *pc = mbrseq_percpu_create();
	struct mbrseq_node *node;

	return mbrseq_percpu_pop(pc, 3, &node) == -EINVAL && !node ? 0 : 1;
}

static const struct {
	const char *name, *message;
	int (*run)(void);
} cases[] = {
	{ "mbjit_publish of SIZE_MAX bytes", "wraps", jit_wraps },
	{ "mbjit_publish of an unmapped range", "not mapped", jit_unmapped },
	{ "mbrcu_call(head, NULL)", "NULL callback", rcu_null_callback },
	{ "mbrseq_percpu_add at an offset past the slot", "mbrseq offset",
	  rseq_offset },
	{ "mbrseq_percpu_pop at a misaligned offset", "mbrseq offset",
	  rseq_offset_misaligned },
};

/* Run fn in a child: its exit status, or 128 + signal; stderr in err. */
static int in_child(int (*fn)(void), char *err, size_t size)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		_exit(fn());
	}
	close(fds[1]);
	for (size_t got = 0;; got += (size_t)n) {
		n = got < size - 1 ? read(fds[0], err + got, size - 1 - got) : 0;
		if (n <= 0) {
			err[got] = '\0';
			break;
		}
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	char err[1024];

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = in_child(cases[i].run, err, sizeof(err));

		if (CHECKED)
			tap_ok(st == 128 + SIGABRT && strstr(err, "misuse") &&
			       strstr(err, cases[i].message),
			       "checked: %s aborts naming it (status %d: %s)",
			       cases[i].name, st, err);
		else
			tap_ok(st == 0, "%s: EINVAL or dropped, no crash "
			       "(status %d)", cases[i].name, st);
	}
	/* The control: a correct call passes the checks. */
	{
		int r = mbjit_publish(page, page, 4096);

		tap_ok(r != -EINVAL, "control: mbjit_publish of a mapped page "
		       "is not EINVAL (%d)", r);
	}
	return tap_done();
}
