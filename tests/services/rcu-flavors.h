/* SPDX-License-Identifier: MIT */
/*
 * What the RCU tests share: each flavor's calls behind one table, so that
 * a test runs against both flavors (and a deliberately broken one built
 * from the same entries), the length of a timed run, the SIGALRM bail-out
 * and the wait for a child.
 */
#ifndef MEMBARRIER_TEST_RCU_FLAVORS_H
#define MEMBARRIER_TEST_RCU_FLAVORS_H

#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier/rcu.h>
#include <membarrier/rcu_fence.h>

#include "lib/tap.h"

struct flavor {
	const char *name;
	int (*reg)(void);
	void (*unreg)(void);
	void (*lock)(void);
	void (*unlock)(void);
	int (*ongoing)(void);
	void (*sync)(void);
	void (*call)(struct mbrcu_head *head, void (*func)(struct mbrcu_head *));
	void (*barrier)(void);
	struct mbrcu_gp *gp;
};

/* The read side is inline: these give it an address. */
static inline void lock_default(void) { mbrcu_read_lock(); }
static inline void unlock_default(void) { mbrcu_read_unlock(); }
static inline int ongoing_default(void) { return mbrcu_read_ongoing(); }
static inline void lock_fence(void) { mbrcu_fence_read_lock(); }
static inline void unlock_fence(void) { mbrcu_fence_read_unlock(); }
static inline int ongoing_fence(void) { return mbrcu_fence_read_ongoing(); }

#define FLAVOR_MBRCU {							\
	.name = "mbrcu", .reg = mbrcu_register_thread,			\
	.unreg = mbrcu_unregister_thread, .lock = lock_default,		\
	.unlock = unlock_default, .ongoing = ongoing_default,		\
	.sync = mbrcu_synchronize, .call = mbrcu_call,			\
	.barrier = mbrcu_barrier, .gp = &mbrcu_gp_state,		\
}
#define FLAVOR_MBRCU_FENCE {						\
	.name = "mbrcu_fence", .reg = mbrcu_fence_register_thread,	\
	.unreg = mbrcu_fence_unregister_thread, .lock = lock_fence,	\
	.unlock = unlock_fence, .ongoing = ongoing_fence,		\
	.sync = mbrcu_fence_synchronize, .call = mbrcu_fence_call,	\
	.barrier = mbrcu_fence_barrier, .gp = &mbrcu_fence_gp_state,	\
}

/* RCU_TORTURE_SECONDS, default 0.3; half of it under qemu-user (slow). */
static inline double rcu_test_seconds(void)
{
	const char *s = getenv("RCU_TORTURE_SECONDS");
	double v = s ? strtod(s, NULL) : 0;

	if (!(v > 0))
		v = 0.3;
	return tap_qemu_user() ? v / 2 : v;
}

/* SIGALRM handler: a TAP bail-out, then exit 1. */
static inline void rcu_test_timeout(int sig)
{
	static const char msg[] = "Bail out! timed out\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* A child's exit status, 128 + the signal that ended it, or -1. */
static inline int rcu_test_wait_child(pid_t pid)
{
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif /* MEMBARRIER_TEST_RCU_FLAVORS_H */
