// SPDX-License-Identifier: MIT
/*
 * When the library registers the private expedited commands its
 * services need (and only those the kernel serves: the emulation's
 * prepare nothing and wait for first use, with the emulation's facts):
 * by default on its first call if no thread was created yet (the
 * kernel's cheap path), MEMBARRIER_REGISTER_AT_LOAD=1 before main(),
 * MEMBARRIER_REGISTER_AT_LOAD=0 or a first call made once a thread
 * exists not before a service needs its command, and then that one only.
 * The program's own record stays empty, so the contract is unchanged.
 *
 * The kernel's raw GET_REGISTRATIONS (6.3+) shows what was registered,
 * before the library's first call and after it. Each mode runs in its
 * own process (the mode is decided at load); their TAP lines become this
 * test's diagnostics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/fence.h>

#include "lib/child.h"
#include "lib/tap.h"

enum mode { FIRST_CALL, AT_LOAD, NEVER, THREADED, NR_MODES };

static const char *const mode_names[NR_MODES] = {
	"first call", "at load", "never before use", "first call from a threaded process",
};

/* Each mode's environment: MEMBARRIER_REGISTER_AT_LOAD, or NULL unset. */
static const char *const mode_env[NR_MODES] = { NULL, "1", "0", NULL };

static long raw(int cmd)
{
	long r = syscall(SYS_membarrier, cmd, 0, 0);

	return r < 0 ? -errno : r;
}

static void *idle(void *arg)
{
	return arg;
}

/* The checks of one mode, in a process whose first library call is here. */
static void check(enum mode m)
{
	const char *mode = mode_names[m];
	const int reg_pe = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
	long kq = raw(MEMBARRIER_CMD_QUERY), before = -1, after;
	int gr = kq >= 0 && (kq & MEMBARRIER_CMD_GET_REGISTRATIONS);
	int first, expect = 0, kernel_expect = 0, at_first, fence, regs;
	pthread_t t;

	if (gr)
		before = raw(MEMBARRIER_CMD_GET_REGISTRATIONS);
	if (m == THREADED)
		tap_ok(!pthread_create(&t, NULL, idle, NULL) &&
		       !pthread_join(t, NULL), "%s: a thread came and went", mode);
	first = membarrier_library_registrations();	/* the first call */

	/* What the library can register here, and what of it the kernel does. */
	for (int reg = reg_pe;
	     reg <= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ; reg <<= 2) {
		int b = membarrier_backend_of(reg);

		expect |= b != MEMBARRIER_BACKEND_NONE ? reg : 0;
		kernel_expect |= b == MEMBARRIER_BACKEND_KERNEL ? reg : 0;
	}
	at_first = m == FIRST_CALL || m == AT_LOAD ? kernel_expect : 0;

	if (!gr) {
		tap_skip("the kernel lacks GET_REGISTRATIONS (before 6.3)",
			 "%s: the kernel's record", mode);
	} else {
		tap_ok(before == (m == AT_LOAD ? kernel_expect : 0),
		       "%s: the kernel's record before the first call = 0x%lx",
		       mode, before);
		after = raw(MEMBARRIER_CMD_GET_REGISTRATIONS);
		tap_ok(after == at_first,
		       "%s: the kernel's record after it = 0x%lx", mode, after);
	}
	tap_ok(first == at_first,
	       "%s: membarrier_library_registrations() = 0x%x (the kernel "
	       "serves 0x%x of 0x%x)", mode, first, kernel_expect, expect);
	tap_ok(membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) == 0,
	       "%s: the program's record is empty", mode);
	errno = 0;
	tap_ok(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == -1 &&
	       errno == EPERM,
	       "%s: PRIVATE_EXPEDITED still EPERM for the program", mode);
	if (at_first & reg_pe)
		tap_ok(raw(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0,
		       "%s: the raw call succeeds: the kernel is registered", mode);
	fence = mbfence_heavy();
	regs = membarrier_library_registrations();
	tap_ok(fence == 0 && regs == (at_first | (expect & reg_pe)),
	       "%s: a heavy fence registers its command, and only that one "
	       "(0x%x)", mode, regs);
	tap_ok(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
	       membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) ==
	       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED &&
	       membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0,
	       "%s: the program's own registration works as documented", mode);
}

/* Run mode m in a fresh image: its TAP lines become our diagnostics. */
static void run_child(enum mode m)
{
	char out[8192], self[] = "/proc/self/exe", flag[] = "--child", arg[16];
	char *args[] = { self, flag, arg, NULL };
	int status;

	snprintf(arg, sizeof(arg), "%d", (int)m);
	if (mode_env[m])
		setenv("MEMBARRIER_REGISTER_AT_LOAD", mode_env[m], 1);
	else
		unsetenv("MEMBARRIER_REGISTER_AT_LOAD");
	status = child_capture(args, out, sizeof(out), 60000);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		printf("# %s: %s\n", mode_names[m], l);
	tap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "%s: the child passed", mode_names[m]);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--child")) {
		int m = atoi(argv[2]);

		if (m < 0 || m >= NR_MODES)
			return 2;
		check((enum mode)m);
		return tap_done();
	}
	for (int m = 0; m < NR_MODES; m++)
		run_child((enum mode)m);
	return tap_done();
}
