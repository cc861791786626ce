// SPDX-License-Identifier: MIT
/*
 * Backend selection, once per process: the kernel's part on the first
 * call, the emulation's part on the first call that needs it.
 *
 * Per command: the kernel where it serves the command, otherwise the
 * emulation (emul.c) where it can, otherwise nothing (the call then fails
 * as the kernel fails). MEMBARRIER_BACKEND=kernel forbids the emulation;
 * MEMBARRIER_BACKEND=emulated uses it for every command it can serve;
 * MEMBARRIER_BACKEND=auto (or unset) is the default. A command that a
 * seccomp filter would answer by killing or by SIGSYS (kernel.c) is never
 * made: it counts as one the kernel lacks.
 *
 * By default the load makes no system call and reads no file: the
 * kernel's part is decided on the first call, from whichever thread
 * makes it. It reads /proc/self/status (is a seccomp filter in force?),
 * asks QUERY (in a child first if a filter is in force) and, if the
 * process is still single-threaded then, registers the services'
 * commands. The emulation is set up on first use of a command it serves
 * (mbi_get_full_config()), never at load.
 *
 * Why the services register early where it is cheap (the advice of the
 * membarrier maintainers: Mathieu Desnoyers, "Re: rseq + membarrier
 * programming model", LKML, December 2021, register early and remember
 * the result): while the mm has one user, a registration costs the
 * kernel nothing (sync_runqueues_membarrier_state() in
 * kernel/sched/membarrier.c); with a second thread it waits for an RCU
 * grace period, 8-19 ms per command measured on a 2-CPU guest. A process
 * with threads by its first call registers each command instead on the
 * first service barrier that needs it (mbi_service_register()), and only
 * that one. The registrations are the library's own: the program's
 * record (registration.c) stays empty until the program registers.
 *
 * MEMBARRIER_REGISTER_AT_LOAD=1 makes that first call at load, before
 * main(): the status read, QUERY and the three registrations, about 20
 * microseconds on that guest, most of it the status read (it creates the
 * process's /proc entry), which every process would pay whether or not
 * it ever issues a barrier. MEMBARRIER_REGISTER_AT_LOAD=0 never registers
 * before a service needs the command.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>

#include "backend/emul/emul.h"
#include "backend/kernel/kernel.h"
#include "core/core.h"

struct mbi_config mbi_config MBI_LOAD_DATA;
unsigned int mbi_service_regs MBI_LOAD_DATA;

static enum mbi_mode parse_mode(void)
{
	const char *s = secure_getenv("MEMBARRIER_BACKEND");

	if (!s || !*s || !strcmp(s, "auto"))
		return MBI_MODE_AUTO;
	if (!strcmp(s, "kernel"))
		return MBI_MODE_KERNEL;
	if (!strcmp(s, "emulated"))
		return MBI_MODE_EMULATED;
	fprintf(stderr, "libmembarrier: MEMBARRIER_BACKEND=%s is not one of "
		"auto, kernel, emulated; using auto\n", s);
	return MBI_MODE_AUTO;
}

static int kernel_serves(const struct mbi_config *c, int cmd)
{
	if (c->kernel_query < 0 || (c->kernel_fatal & cmd))
		return 0;
	return cmd == MEMBARRIER_CMD_QUERY || (c->kernel_query & cmd);
}

/* Does some command need the emulation (or, mode emulated, all)? */
static int wants_emulation(const struct mbi_config *c)
{
	if (c->mode == MBI_MODE_KERNEL)
		return 0;
	if (c->mode == MBI_MODE_EMULATED)
		return 1;
	for (int idx = 1; idx < MEMBARRIER_NR_CMDS; idx++)
		if (!kernel_serves(c, mbi_cmd_of_index(idx)))
			return 1;
	return 0;
}

/* emulated: the emulation's mask, or -1 while it is not set up. */
static int pick(const struct mbi_config *c, int emulated, int cmd)
{
	int emul_ok = cmd == MEMBARRIER_CMD_QUERY ? emulated != 0 :
		      (emulated & cmd) != 0;

	if (c->mode != MBI_MODE_EMULATED && kernel_serves(c, cmd))
		return MEMBARRIER_BACKEND_KERNEL;
	if (emulated < 0 && c->mode != MBI_MODE_KERNEL)
		return MBI_BACKEND_PENDING;
	if (emul_ok)
		return MEMBARRIER_BACKEND_EMULATED;
	return MEMBARRIER_BACKEND_NONE;
}

/* A blocked call fails whole; a missing command: EINVAL. */
static int unserved_errno(const struct mbi_config *c, int cmd)
{
	int blocked = c->kernel_query < 0 ? -c->kernel_query : 0;

	if (c->mode == MBI_MODE_EMULATED)
		return EINVAL;
	if (blocked)
		return blocked;
	return c->kernel_fatal & cmd ? ENOSYS : EINVAL;
}

/*
 * Fill the entries that are still PENDING (all, the first time), with
 * emulated the emulation's mask or -1 before it is set up. Each entry is
 * stored last, with release: it pairs with the acquire of mbi_backend_at().
 */
static void select_backends(struct mbi_config *c, int emulated)
{
	int query = 0, pending = 0;

	for (int idx = 0; idx < MEMBARRIER_NR_CMDS; idx++) {
		int cmd = mbi_cmd_of_index(idx), b = c->backend[idx];

		if (c->initialized && b != MBI_BACKEND_PENDING) {
			query |= b != MEMBARRIER_BACKEND_NONE ? cmd : 0;
			continue;
		}
		b = pick(c, emulated, cmd);
		pending |= b == MBI_BACKEND_PENDING;
		query |= b != MEMBARRIER_BACKEND_NONE ? cmd : 0;
		c->unserved_errno[idx] = unserved_errno(c, cmd);
		if (idx == 0)	/* Nothing serves QUERY: bad arguments fail
				 * as the call does. */
			c->invalid_errno = b == MEMBARRIER_BACKEND_NONE &&
					   c->kernel_query < 0 ?
					   unserved_errno(c, cmd) : EINVAL;
		__atomic_store_n(&c->backend[idx], (unsigned char)b,
				 __ATOMIC_RELEASE);
	}
	c->query_mask = query;
	if (!pending)	/* Release pairs with the acquire in the readers. */
		__atomic_store_n(&c->complete, 1, __ATOMIC_RELEASE);
}

/* The fast path's candidates: barriers the kernel serves. */
static void fill_fast(struct mbi_config *c)
{
	for (int cmd = 1; cmd <= MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ;
	     cmd <<= 1)
		if (!mbi_registration_of(cmd) &&
		    c->backend[mbi_cmd_index(cmd)] == MEMBARRIER_BACKEND_KERNEL)
			c->kernel_barriers |= (unsigned int)cmd;
}

/*
 * A registration and its barrier on one backend: where the kernel would
 * kill either, it serves neither (the emulated barrier needs the
 * emulated registration, and the other way round).
 */
static int fatal_pairs(int fatal)
{
	static const int pairs[][2] = {
		{ MEMBARRIER_CMD_GLOBAL_EXPEDITED,
		  MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED },
		{ MEMBARRIER_CMD_PRIVATE_EXPEDITED,
		  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED },
		{ MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
		  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE },
		{ MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ },
	};

	for (unsigned int i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (fatal & (pairs[i][0] | pairs[i][1]))
			fatal |= pairs[i][0] | pairs[i][1];
	return fatal;
}

/*
 * MEMBARRIER_KERNEL_MASK=M: treat the kernel as one whose QUERY answers
 * (its answer & M), as an older kernel or a nohz_full one would: the
 * tests use it to mix backends per command (e.g. 0x1ff: Linux before 6.3,
 * no GET_REGISTRATIONS; 0x7f: before 5.10, no RSEQ; 0x3fe: nohz_full).
 */
static int limit_kernel(int query)
{
	const char *s = secure_getenv("MEMBARRIER_KERNEL_MASK");
	char *end;
	long m;

	if (!s || !*s || query < 0)
		return query;
	m = strtol(s, &end, 0);
	if (*end || m < 0) {
		fprintf(stderr, "libmembarrier: MEMBARRIER_KERNEL_MASK=%s is not "
			"a mask; ignored\n", s);
		return query;
	}
	return query & (int)m;
}

/* MEMBARRIER_REGISTER_AT_LOAD: when the services register (above). */
enum load_policy { LOAD_FIRST_CALL, LOAD_NEVER, LOAD_AT_LOAD };

static enum load_policy parse_load_policy(void)
{
	const char *s = secure_getenv("MEMBARRIER_REGISTER_AT_LOAD");

	if (!s || !*s)
		return LOAD_FIRST_CALL;
	if (!strcmp(s, "0"))
		return LOAD_NEVER;
	if (!strcmp(s, "1"))
		return LOAD_AT_LOAD;
	fprintf(stderr, "libmembarrier: MEMBARRIER_REGISTER_AT_LOAD=%s is not "
		"0 or 1; ignored\n", s);
	return LOAD_FIRST_CALL;
}

/* Read once (the constructor, or the first call if it comes first): one
 * warning. Two threads that race here read the same environment. */
static enum load_policy load_policy(void)
{
	static int policy = -1;
	int p = __atomic_load_n(&policy, __ATOMIC_RELAXED);

	if (p < 0) {
		p = (int)parse_load_policy();
		__atomic_store_n(&policy, p, __ATOMIC_RELAXED);
	}
	return (enum load_policy)p;
}

/*
 * Register the services now? At load, yes; on the first call, if no
 * thread was ever created (glibc clears __libc_single_threaded at the
 * first pthread_create() and never sets it again): a thread made by a
 * raw clone() escapes it, and then a registration merely costs its
 * grace period.
 */
static int register_now(enum load_policy p)
{
	if (p == LOAD_NEVER)
		return 0;
	return p == LOAD_AT_LOAD || __libc_single_threaded;
}

/*
 * The service registrations that the kernel serves: registering early
 * is what buys the kernel's cheap path. Those that the emulation would
 * serve prepare nothing (emul.c) and wait for first use, as the
 * emulation's facts do (a registration decided now would gather them at
 * load: /proc/cpuinfo, the CPU lists, affinity calls).
 */
static void register_services(void)
{
	static const int cmds[] = {
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
	};

	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		/* Acquire pairs with the release in select_backends(). */
		if (__atomic_load_n(&mbi_config.backend[mbi_cmd_index(cmds[i])],
				    __ATOMIC_ACQUIRE) == MEMBARRIER_BACKEND_KERNEL)
			mbi_service_register(cmds[i]);
}

static void init_once(void)
{
	struct mbi_config *c = &mbi_config;
	struct mbi_kernel_facts k;

	c->mode = parse_mode();
	mbi_kernel_probe(&k);
	c->kernel_query = limit_kernel(k.query);
	c->kernel_fatal = fatal_pairs(k.fatal);
	c->kernel_traps = k.traps;
	select_backends(c, wants_emulation(c) ? -1 : 0);
	fill_fast(c);
	/* Release pairs with the acquire in mbi_get_config(). */
	__atomic_store_n(&c->initialized, 1, __ATOMIC_RELEASE);
	mbi_fast_update();
	if (register_now(load_policy()))
		register_services();
}

/*
 * pthread_once() for calls that may come from a signal handler, without
 * its futex wake when nobody waits. owner is 0 before the run, the
 * running thread's pthread_self() during it, ONCE_DONE after; waiters is
 * 0, WAITING once a thread sleeps on it, or ONCE_WOKEN after the run. The
 * claim and the runner's identity are one atomic store, so a handler
 * that interrupts its own thread's run, at any instruction, knows it: it
 * runs fn itself (each fn here is re-entrant and decides the same values
 * again), where waiting for the thread it interrupted would never end.
 */
struct once {
	uintptr_t owner;
	uint32_t waiters;
};

#define ONCE_DONE	((uintptr_t)1)	/* no pthread_t: a TCB address */
#define WAITING		1u
#define ONCE_WOKEN	2u

static void run_once(struct once *o, void (*fn)(void))
{
	uintptr_t me = (uintptr_t)pthread_self(), cur = 0;

	if (__atomic_compare_exchange_n(&o->owner, &cur, me, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
		fn();
		/* Release pairs with the acquire loads of owner below. */
		__atomic_store_n(&o->owner, ONCE_DONE, __ATOMIC_RELEASE);
		if (__atomic_exchange_n(&o->waiters, ONCE_WOKEN,
					__ATOMIC_RELEASE) == WAITING)
			mbi_futex_wake(&o->waiters, INT_MAX);
		return;
	}
	if (cur == me) {	/* a handler on the running thread */
		fn();
		return;
	}
	while (cur != ONCE_DONE) {
		uint32_t w = 0;

		if (__atomic_compare_exchange_n(&o->waiters, &w, WAITING, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE) ||
		    w == WAITING)
			mbi_futex_wait(&o->waiters, WAITING, 0);
		cur = __atomic_load_n(&o->owner, __ATOMIC_ACQUIRE);
	}
}

static struct once init_run MBI_LOAD_DATA, complete_run MBI_LOAD_DATA;

/*
 * A fork() child has only the forking thread: a run that another thread
 * was in never ends there, so the child starts it again (and decides the
 * same values: the fns are re-entrant).
 */
static void once_atfork_child(struct once *o)
{
	if (__atomic_load_n(&o->owner, __ATOMIC_RELAXED) != ONCE_DONE) {
		__atomic_store_n(&o->owner, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&o->waiters, 0, __ATOMIC_RELAXED);
	}
}

static void select_atfork_child(void)
{
	once_atfork_child(&init_run);
	once_atfork_child(&complete_run);
}

/*
 * The first call, from any thread or a signal handler. init_once() is
 * re-entrant: the status read and the probe's page are its own
 * (kernel.c), and the interrupted run, when it resumes, decides the same
 * values again.
 */
void mbi_init_slow(void)
{
	run_once(&init_run, init_once);
}

/* Re-entrant: the emulation's facts are gathered without a lock (emul.h)
 * and the entries decided again are decided the same. */
static void complete(void)
{
	mbi_emul_init();
	select_backends(&mbi_config, mbi_emul_supported());
}

/* On first use of the emulation, from any thread or a signal handler. */
const struct mbi_config *mbi_get_full_config(void)
{
	const struct mbi_config *c = mbi_get_config();

	/* Acquire pairs with the release in select_backends(). */
	if (!__atomic_load_n(&c->complete, __ATOMIC_ACQUIRE))
		run_once(&complete_run, complete);
	return c;
}

/*
 * Runs at load (dlopen or program start), before main() in the latter.
 * By default nothing is needed before the first call, which initializes
 * (the fast path's gate is still shut: dispatch()).
 */
__attribute__((constructor)) static void mbi_load(void)
{
	pthread_atfork(NULL, NULL, select_atfork_child);
	if (load_policy() == LOAD_AT_LOAD)
		mbi_get_config();
}
