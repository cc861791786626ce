// SPDX-License-Identifier: MIT
/*
 * membarrier status: what the kernel offers, what the library serves and
 * with which backend, this process's registrations, and seccomp.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "arch/arch.h"

#include "tool.h"

static void print_kernel(void)
{
	struct utsname u;
	int kq = membarrier_kernel_query();

	if (uname(&u) == 0)
		printf("kernel:         %s %s %s\n", u.sysname, u.release,
		       u.machine);
	if (kq >= 0) {
		printf("kernel QUERY:   0x%03x = ", kq);
		tool_print_mask(stdout, kq, " ");
		putchar('\n');
	} else {
		printf("kernel QUERY:   fails with %s (%s)\n",
		       kq == -ENOSYS ? "ENOSYS" : kq == -EPERM ? "EPERM" : "?",
		       strerror(-kq));
	}
}

/* Commands the filter would kill for: never made, served by emulation. */
static void print_fatal(void)
{
	int fatal = membarrier_kernel_fatal();

	if (!fatal)
		return;
	printf("seccomp kills:  ");
	if (fatal == (MEMBARRIER_CMD_GET_REGISTRATIONS << 1) - 1)
		printf("every command, QUERY included");
	else
		tool_print_mask(stdout, fatal, " ");
	printf("\n                (learned in a child process: the kernel "
	       "would kill the caller\n                or raise SIGSYS; the "
	       "library never makes these calls and serves\n                "
	       "them by emulation where it can)\n");
}

static void print_seccomp(void)
{
	struct tool_seccomp sc;
	static const char *const modes[] = { "disabled", "strict", "filter" };

	tool_seccomp(&sc);
	if (sc.mode < 0) {
		printf("seccomp:        unknown (no Seccomp: in /proc/self/status)\n");
		return;
	}
	printf("seccomp:        %s (Seccomp: %d, filters: %d)\n",
	       sc.mode <= 2 ? modes[sc.mode] : "?", sc.mode, sc.filters);
	print_fatal();
}

static void print_commands(void)
{
	int query = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	int kq = membarrier_kernel_query();

	printf("\n%-38s %5s  %-7s %-9s %s\n", "command", "value", "kernel",
	       "served by", "mechanism");
	for (int idx = 0; idx < MEMBARRIER_NR_CMDS; idx++) {
		int cmd = idx ? 1 << (idx - 1) : 0;
		int in_kernel = kq >= 0 && (cmd == 0 || (kq & cmd));
		int all = (MEMBARRIER_CMD_GET_REGISTRATIONS << 1) - 1;
		int fatal = cmd ? membarrier_kernel_fatal() & cmd :
			    membarrier_kernel_fatal() == all;

		printf("%-38s %5d  %-7s %-9s %s\n", membarrier_cmd_name(cmd), cmd,
		       fatal ? "kills" : in_kernel ? "yes" : "no",
		       membarrier_backend_name(membarrier_backend_of(cmd)),
		       membarrier_mechanism(cmd));
	}
	if (query >= 0) {
		printf("\nQUERY (library): 0x%03x = ", query);
		tool_print_mask(stdout, query, " ");
		putchar('\n');
	} else {
		printf("\nQUERY (library): fails: %s\n", strerror(errno));
	}
}

static void print_registrations(void)
{
	int mine = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
	long raw;

	printf("registrations:  ");
	if (mine >= 0)
		tool_print_mask(stdout, mine, " ");
	else
		printf("GET_REGISTRATIONS fails: %s", strerror(errno));
	printf(" (this process, as GET_REGISTRATIONS reports them)\n");
	printf("library's own:  ");
	tool_print_mask(stdout, membarrier_library_registrations(), " ");
	printf(" (registered by the library for its services; not in the above)\n");
	/* Never issue the raw call where it is blocked: it may raise SIGSYS. */
	if (!(membarrier_kernel_query() > 0 &&
	      (membarrier_kernel_query() & MEMBARRIER_CMD_GET_REGISTRATIONS)) ||
	    (membarrier_kernel_fatal() & MEMBARRIER_CMD_GET_REGISTRATIONS))
		return;
	raw = mbi_syscall3(MBI_ARCH_NR_membarrier,
				       MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
	printf("kernel's view:  ");
	if (raw >= 0)
		tool_print_mask(stdout, (int)raw, " ");
	else
		printf("raw GET_REGISTRATIONS fails: %s", strerror((int)-raw));
	printf(" (raw system call: both sets)\n");
}

int tool_status(int argc, char **argv)
{
	const char *mode = getenv("MEMBARRIER_BACKEND");

	(void)argv;
	if (argc > 1) {
		tool_error("status takes no arguments");
		return 2;
	}
	printf("libmembarrier:  %s (%s), pid %d\n", membarrier_version(),
	       MBI_ARCH_NAME, (int)getpid());
	print_kernel();
	print_seccomp();
	printf("selection:      MEMBARRIER_BACKEND=%s\n",
	       mode && *mode ? mode : "auto (unset)");
	print_commands();
	print_registrations();
	return 0;
}
