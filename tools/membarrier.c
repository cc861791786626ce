// SPDX-License-Identifier: MIT
/*
 * membarrier: what membarrier(2) really gives on this machine.
 */
#include <string.h>

#include <membarrier.h>

#include "tool.h"

static const struct subcommand {
	const char *name;
	tool_main_fn *run;
	const char *help;
} subcommands[] = {
	{ "doctor", tool_doctor,
	  "what membarrier really gives here: backends verified, costs,\n"
	  "                verdict and advice [--json]" },
	{ "status", tool_status,
	  "commands, the backend serving each, registrations, seccomp" },
	{ "litmus", tool_litmus,
	  "store-buffering litmus tests of the ordering guarantee\n"
	  "                [--iterations N] [--scenario A|B]" },
	{ "bench", tool_bench,
	  "benchmarks, as key=value lines, ratios in the same run:\n"
	  "                bench core|backends|services|rcu|concurrent|startup" },
	{ "run", tool_run,
	  "-- CMD [ARGS]: run a program with the library in place of the\n"
	  "                system call (LD_PRELOAD shim)" },
	{ "stat", tool_stat,
	  "-- CMD [ARGS]: run a program as run does, then print its calls\n"
	  "                per command: backend, mechanism, latency p50/p99/max" },
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: membarrier COMMAND [ARGS]\n\n"
		"libmembarrier %s: membarrier(2) with its exact contract on "
		"every machine.\n\ncommands:\n", membarrier_version());
	for (unsigned int i = 0; i < NR_SUBCOMMANDS; i++)
		fprintf(out, "  %-12s %s\n", subcommands[i].name,
			subcommands[i].help);
	fprintf(out, "\nenvironment: MEMBARRIER_BACKEND=auto|kernel|emulated, "
		"MEMBARRIER_REGISTER_AT_LOAD=0|1,\n  "
		"MEMBARRIER_EMUL_TLB=0|1, MEMBARRIER_STATS=1|PATH\n");
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h"))
		return usage(stdout, 0);
	for (unsigned int i = 0; i < NR_SUBCOMMANDS; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	tool_error("unknown command '%s'", argv[1]);
	return usage(stderr, 2);
}
