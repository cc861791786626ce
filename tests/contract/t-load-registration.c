// SPDX-License-Identifier: MIT
/*
 * Registration at load: the library registers the private expedited
 * commands its services need before main() runs (single-threaded), and
 * remembers the result; only those the kernel serves (the emulation's
 * prepare nothing and wait for first use, with the emulation's facts);
 * the program's own record stays empty, so the contract is unchanged. MEMBARRIER_REGISTER_AT_LOAD=0 turns it off.
 *
 * The kernel's raw GET_REGISTRATIONS (6.3+) shows what was registered.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>

#include "lib/child.h"
#include "lib/tap.h"


static long raw(int cmd)
{
	long r = syscall(SYS_membarrier, cmd, 0, 0);

	return r < 0 ? -errno : r;
}

/* Checks for one process; prefix tells the mode. */
static void check(int at_load)
{
	const char *mode = at_load ? "at load" : "load registration off";
	long kq = raw(MEMBARRIER_CMD_QUERY), kregs;
	int mine = membarrier_library_registrations();
	int expect = 0, kernel_expect = 0;

	/* What the library can register here, and what of it the kernel does. */
	for (int reg = MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
	     reg <= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ; reg <<= 2) {
		int b = membarrier_backend_of(reg);

		expect |= b != MEMBARRIER_BACKEND_NONE ? reg : 0;
		kernel_expect |= b == MEMBARRIER_BACKEND_KERNEL ? reg : 0;
	}

	if (kq < 0 || !(kq & MEMBARRIER_CMD_GET_REGISTRATIONS)) {
		tap_skip("the kernel lacks GET_REGISTRATIONS (before 6.3)",
			 "%s: the kernel's record", mode);
		kregs = -1;
	} else {
		kregs = raw(MEMBARRIER_CMD_GET_REGISTRATIONS);
		tap_ok(kregs == (at_load ? kernel_expect : 0),
		       "%s: the kernel's record before main() = 0x%lx", mode, kregs);
	}
	tap_ok(mine == (at_load ? kernel_expect : 0),
	       "%s: membarrier_library_registrations() = 0x%x (the kernel "
	       "serves 0x%x of 0x%x)", mode, mine, kernel_expect, expect);
	tap_ok(membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) == 0,
	       "%s: the program's record is empty", mode);
	errno = 0;
	tap_ok(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == -1 &&
	       errno == EPERM,
	       "%s: PRIVATE_EXPEDITED still EPERM for the program", mode);
	if (at_load && (kernel_expect & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		tap_ok(raw(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0,
		       "%s: the raw call succeeds: the kernel is registered", mode);
	tap_ok(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
	       membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0) ==
	       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED &&
	       membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0,
	       "%s: the program's own registration works as documented", mode);
}

int main(int argc, char **argv)
{
	char out[8192], self[] = "/proc/self/exe", flag[] = "--child";
	char *args[] = { self, flag, NULL };
	int status;

	if (argc > 1 && !strcmp(argv[1], "--child")) {
		check(0);
		return tap_done();
	}
	check(1);
	/* Again in a fresh image, load-time registration off; its TAP
	 * lines become our diagnostics. */
	setenv("MEMBARRIER_REGISTER_AT_LOAD", "0", 1);
	status = child_capture(args, out, sizeof(out), 60000);
	unsetenv("MEMBARRIER_REGISTER_AT_LOAD");
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		printf("# child: %s\n", l);
	tap_ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the child with MEMBARRIER_REGISTER_AT_LOAD=0 passed");
	return tap_done();
}
