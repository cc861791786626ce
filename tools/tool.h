/* SPDX-License-Identifier: MIT */
/* The membarrier tool: subcommands and the helpers they share. */
#ifndef MEMBARRIER_TOOL_H
#define MEMBARRIER_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A subcommand's entry point (and a benchmark's, bench/bench.h): its
 * arguments from its own name on; returns the process exit status.
 */
typedef int tool_main_fn(int argc, char **argv);

tool_main_fn tool_status, tool_litmus, tool_bench, tool_run, tool_stat,
	tool_doctor;

/* membarrier litmus's exit statuses besides 0 (doctor reads them too). */
enum {
	TOOL_LITMUS_REORDERED = 1,	/* an ordered cell saw the outcome */
	TOOL_LITMUS_ERROR = 2,		/* bad usage, or a fence failed */
	TOOL_LITMUS_NO_CPUS = 3,	/* fewer than two CPUs to run on */
	TOOL_LITMUS_INCONCLUSIVE = 4,	/* a control saw nothing */
};

/* The preload shim's path (run.c): 0, or -1 when it is not found. */
int tool_shim_path(char *buf, size_t size);

/* Monotonic time in nanoseconds. */
uint64_t tool_now_ns(void);

/* Print the names of the commands in mask, separated by sep. */
void tool_print_mask(FILE *out, int mask, const char *sep);

/* Seccomp mode of this process (0 none, 1 strict, 2 filter), filters. */
struct tool_seccomp {
	int mode;		/* -1 if /proc/self/status does not say */
	int filters;		/* -1 if unknown */
};
void tool_seccomp(struct tool_seccomp *s);

/*
 * The value of option name at argv[*i] ("--name=VALUE" or "--name VALUE"),
 * advancing *i past it; NULL if argv[*i] is another option. Exits 2 when
 * the value is missing.
 */
const char *tool_opt_value(int argc, char **argv, int *i, const char *name);

/*
 * Parse "--name=VALUE" or "--name VALUE" at argv[*i] into an unsigned
 * long; returns 1 if argv[*i] was this option, 0 if not, exits on a bad
 * value.
 */
int tool_opt_ulong(int argc, char **argv, int *i, const char *name,
		   unsigned long *value);

/* The directory of this program's executable (.../bin): 0, or -1. */
int tool_exe_dir(char *buf, size_t size);

/* Print "membarrier: MESSAGE" to stderr. */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MEMBARRIER_TOOL_H */
