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
	struct mbrcu_reader *(*reader)(void);	/* this thread's record */
};

/*
 * The read side is inline: these give it an address (and the thread's
 * record pointer, initial-exec TLS, a function).
 */
#define FLAVOR_ACCESSORS(P, S)						\
static inline void lock_##S(void) { P##_read_lock(); }			\
static inline void unlock_##S(void) { P##_read_unlock(); }		\
static inline int ongoing_##S(void) { return P##_read_ongoing(); }	\
static inline struct mbrcu_reader *reader_##S(void)			\
{									\
	return P##_tls_reader;						\
}
FLAVOR_ACCESSORS(mbrcu, default)
FLAVOR_ACCESSORS(mbrcu_fence, fence)

/* Flavor P's entries; S names its accessors. */
#define FLAVOR_OF(P, S) {						\
	.name = #P, .reg = P##_register_thread,				\
	.unreg = P##_unregister_thread, .lock = lock_##S,		\
	.unlock = unlock_##S, .ongoing = ongoing_##S,			\
	.sync = P##_synchronize, .call = P##_call,			\
	.barrier = P##_barrier, .gp = &P##_gp_state,			\
	.reader = reader_##S,						\
}
#define FLAVOR_MBRCU		FLAVOR_OF(mbrcu, default)
#define FLAVOR_MBRCU_FENCE	FLAVOR_OF(mbrcu_fence, fence)

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
