// SPDX-License-Identifier: MIT
/*
 * Backend selection, once per process: the kernel's part when the
 * library loads, the emulation's part on the first call that needs it.
 *
 * Per command: the kernel where it serves the command, otherwise the
 * emulation (emul.c) where it can, otherwise nothing (the call then fails
 * as the kernel fails). MEMBARRIER_BACKEND=kernel forbids the emulation;
 * MEMBARRIER_BACKEND=emulated uses it for every command it can serve;
 * MEMBARRIER_BACKEND=auto (or unset) is the default. A command that a
 * seccomp filter would answer by killing or by SIGSYS (kernel.c) is never
 * made: it counts as one the kernel lacks.
 *
 * At load the library makes only the system calls it needs to know the
 * kernel and to register (below): it reads /proc/self/status, asks QUERY
 * (in a child first if a filter is in force), and registers. The
 * emulation is set up on first use (mbi_get_full_config()), never at
 * load, so that a process that never needs it never pays for it.
 *
 * Then, following the advice of the membarrier maintainers (Mathieu
 * Desnoyers, "Re: rseq + membarrier programming model", LKML, December
 * 2021: register from a library constructor, and remember the result):
 * the expedited commands the library's services need are registered now
 * where the kernel serves them, while the process is most likely still
 * single-threaded (the kernel's cheap path: with a second user of the
 * mm, sync_runqueues_membarrier_state() in kernel/sched/membarrier.c
 * waits for an RCU grace period, 8-19 ms per command measured on a
 * 2-CPU guest, against microseconds here), and the result is
 * remembered. These registrations are the
 * library's own: the program's registration record (registration.c) stays
 * empty until the program registers. MEMBARRIER_REGISTER_AT_LOAD=0 turns
 * this off, and with it everything at load: the status read, QUERY and
 * the registrations wait for the first call (the status read is most of
 * the load's cost: it creates the process's /proc entry).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The fast path: barriers the kernel serves without flags. */
static void fill_fast(struct mbi_config *c)
{
	for (int cmd = 1; cmd < MBI_FAST_SIZE; cmd <<= 1) {
		int barrier = !mbi_registration_of(cmd);

		if (barrier && c->backend[mbi_cmd_index(cmd)] ==
			       MEMBARRIER_BACKEND_KERNEL)
			c->fast[cmd] = MBI_FAST_KERNEL | mbi_ready_bit_for(cmd);
	}
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

static int register_at_load_enabled(void)
{
	const char *s = secure_getenv("MEMBARRIER_REGISTER_AT_LOAD");

	return !s || strcmp(s, "0") != 0;
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
	if (register_at_load_enabled())
		register_services();
}

/*
 * pthread_once() without its futex wake when nobody waits (a system call
 * at every load): 0 not run, 1 running, 2 running with waiters, 3 done.
 * The release of the final exchange pairs with the acquires of waiters.
 */
static void run_once(uint32_t *state, void (*fn)(void))
{
	uint32_t s = 0;

	if (__atomic_compare_exchange_n(state, &s, 1, 0, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
		fn();
		if (__atomic_exchange_n(state, 3, __ATOMIC_RELEASE) == 2)
			mbi_futex_wake(state, INT_MAX);
		return;
	}
	while (s != 3) {
		if (s == 1 && !__atomic_compare_exchange_n(state, &s, 2, 0,
				__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
			continue;
		mbi_futex_wait(state, 2, 0);
		s = __atomic_load_n(state, __ATOMIC_ACQUIRE);
	}
}

void mbi_init_slow(void)
{
	static uint32_t once MBI_LOAD_DATA;

	run_once(&once, init_once);
}

/* This thread is deciding the PENDING entries (a handler may interrupt). */
static __thread int completing;

/* Re-entrant: the emulation's facts are gathered without a lock (emul.h)
 * and the entries decided again are decided the same. */
static void complete(void)
{
	mbi_emul_init();
	select_backends(&mbi_config, mbi_emul_supported());
}

static void complete_once(void)
{
	completing = 1;
	/* The flag before the work, for a handler on this thread. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	complete();
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	completing = 0;
}

/*
 * On first use, from any thread or a signal handler: a handler that
 * interrupted its own thread's first use decides again, itself, rather
 * than wait for the thread it interrupted (which would never resume).
 */
const struct mbi_config *mbi_get_full_config(void)
{
	static uint32_t once MBI_LOAD_DATA;
	const struct mbi_config *c = mbi_get_config();

	/* Acquire pairs with the release in select_backends(). */
	if (__atomic_load_n(&c->complete, __ATOMIC_ACQUIRE))
		return c;
	if (completing)
		complete();
	else
		run_once(&once, complete_once);
	return c;
}

/*
 * Runs at load (dlopen or program start), before main() in the latter.
 * Without registration at load, nothing is needed before the first
 * call, which initializes (the fast table is still zero: dispatch()).
 */
__attribute__((constructor)) static void mbi_load(void)
{
	if (register_at_load_enabled())
		mbi_get_config();
}
