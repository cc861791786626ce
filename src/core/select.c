// SPDX-License-Identifier: MIT
/*
 * Backend selection, once per process, when the library loads.
 *
 * Per command: the kernel where it serves the command, otherwise the
 * emulation (emul.c) where it can, otherwise nothing (the call then fails
 * as the kernel fails). MEMBARRIER_BACKEND=kernel forbids the emulation;
 * MEMBARRIER_BACKEND=emulated uses it for every command it can serve;
 * MEMBARRIER_BACKEND=auto (or unset) is the default.
 *
 * Then, following the advice of the membarrier maintainers (seed 002):
 * the expedited commands the library's services need are registered now,
 * while the process is most likely still single-threaded (the kernel's
 * cheap path), and the result is remembered. These registrations are the
 * library's own: the program's registration record (registration.c) stays empty
 * until the program registers. MEMBARRIER_REGISTER_AT_LOAD=0 turns this
 * off; services then register on first use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/emul/emul.h"
#include "backend/kernel/kernel.h"
#include "core/core.h"

struct mbi_config mbi_config;
unsigned int mbi_service_regs;

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

static int kernel_serves(int kernel_query, int cmd)
{
	if (kernel_query < 0)
		return 0;
	return cmd == MEMBARRIER_CMD_QUERY || (kernel_query & cmd);
}

/* The emulation is set up only where some command needs it. */
static int emulation_mask(const struct mbi_config *c)
{
	int all = MBI_ALL_CMDS_MASK & ~MEMBARRIER_CMD_QUERY;

	if (c->mode == MBI_MODE_KERNEL)
		return 0;
	if (c->mode == MBI_MODE_AUTO && c->kernel_query >= 0 &&
	    (c->kernel_query & all) == all)
		return 0;
	mbi_emul_init();
	return mbi_emul_supported();
}

static int pick(const struct mbi_config *c, int emulated, int cmd)
{
	int emul_ok = cmd == MEMBARRIER_CMD_QUERY ? emulated != 0 :
		      (emulated & cmd) != 0;

	if (c->mode != MBI_MODE_EMULATED && kernel_serves(c->kernel_query, cmd))
		return MEMBARRIER_BACKEND_KERNEL;
	if (emul_ok)
		return MEMBARRIER_BACKEND_EMULATED;
	return MEMBARRIER_BACKEND_NONE;
}

static void select_backends(struct mbi_config *c)
{
	int blocked = c->kernel_query < 0 ? -c->kernel_query : 0;
	int emulated = emulation_mask(c);

	c->query_mask = 0;
	for (int idx = 0; idx < MEMBARRIER_NR_CMDS; idx++) {
		int cmd = mbi_cmd_of_index(idx);

		c->backend[idx] = (unsigned char)pick(c, emulated, cmd);
		if (c->backend[idx] != MEMBARRIER_BACKEND_NONE)
			c->query_mask |= cmd;
		else	/* A blocked call fails whole; a missing command: EINVAL. */
			c->unserved_errno[idx] = blocked && c->mode !=
						 MBI_MODE_EMULATED ? blocked : EINVAL;
	}
	for (int cmd = 1; cmd < MBI_FAST_SIZE; cmd <<= 1) {
		int barrier = !mbi_registration_of(cmd);

		if (barrier && c->backend[mbi_cmd_index(cmd)] ==
			       MEMBARRIER_BACKEND_KERNEL)
			c->fast[cmd] = MBI_FAST_KERNEL | mbi_ready_bit_for(cmd);
	}
	/* Where nothing serves even QUERY, bad arguments fail as the call does. */
	c->invalid_errno = c->backend[0] == MEMBARRIER_BACKEND_NONE && blocked ?
			   blocked : EINVAL;
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

static void register_services(void)
{
	static const int cmds[] = {
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
	};

	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		mbi_service_register(cmds[i]);
}

static void init_once(void)
{
	struct mbi_config *c = &mbi_config;

	c->mode = parse_mode();
	c->kernel_query = limit_kernel(mbi_kernel_probe());
	select_backends(c);
	/* Release pairs with the acquire in mbi_get_config(). */
	__atomic_store_n(&c->initialized, 1, __ATOMIC_RELEASE);
	if (register_at_load_enabled())
		register_services();
}

void mbi_init_slow(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init_once);
}

/* Runs at load (dlopen or program start), before main() in the latter. */
__attribute__((constructor)) static void mbi_load(void)
{
	mbi_get_config();
}
