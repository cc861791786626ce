// SPDX-License-Identifier: MIT
/*
 * membarrier bench startup: what loading the library costs a process
 * that never issues a barrier.
 *
 * A program that does nothing (libexec/membarrier/startup-main) is
 * spawned (posix_spawn, then waitpid) with LD_PRELOAD naming in turn an
 * empty shared library (the baseline: the loader's cost of any library),
 * libmembarrier.so (the library this tool runs on), the preload shim, and
 * the library again with MEMBARRIER_REGISTER_AT_LOAD=1 (its first call
 * made at load: the status read, QUERY and the three registrations).
 * Each round spawns all four, in an order that rotates with the round,
 * so that drift on a shared machine hits them alike; each time is the
 * median over the rounds, and the costs are differences against the
 * baseline of the same run. Two clocks: the wall clock of spawn to reap,
 * and the child's CPU time (user + system, from wait4()), which waiting
 * for a CPU on a loaded machine does not inflate; the costs judged
 * against the budgets are CPU time:
 *
 *   bench=startup rounds=N empty_wall_us=.. empty_cpu_us=.. lib_.. shim_..
 *   bench=startup lib_wall_cost_us=.. shim_wall_cost_us=..
 *   bench=startup lib_cost_us=L shim_cost_us=S lib_budget_us=20
 *     shim_budget_us=50 verdict=within|over
 *   bench=startup register_at_load=1 lib_cost_us=..
 * (the last is what registering before main() would cost every process;
 * it has no budget, as it is not the default)
 */
#include <dlfcn.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>

#include "tool.h"
#include "bench.h"

extern char **environ;

#define LIB_BUDGET_US	20.0
#define SHIM_BUDGET_US	50.0

/* at_load: the library with MEMBARRIER_REGISTER_AT_LOAD=1. */
enum { CASE_EMPTY, CASE_LIB, CASE_SHIM, CASE_AT_LOAD, NR_CASES };

static const char *const case_names[NR_CASES] = { "empty", "lib", "shim",
						  "at_load" };

/* The helpers sit in ../libexec/membarrier beside the tool's bin/. */
static int helper_path(char *buf, size_t size, const char *name)
{
	char dir[PATH_MAX];

	if (tool_exe_dir(dir, sizeof(dir)) ||
	    (size_t)snprintf(buf, size, "%s/../libexec/membarrier/%s", dir,
			     name) >= size)
		return -1;
	return access(buf, R_OK);
}

/* This process's libmembarrier.so: the one measured. */
static int library_path(char *buf, size_t size)
{
	Dl_info info;

	if (!dladdr((void *)membarrier_version, &info) || !info.dli_fname ||
	    (size_t)snprintf(buf, size, "%s", info.dli_fname) >= size)
		return -1;
	return 0;
}

/*
 * environ without LD_PRELOAD (nor MEMBARRIER_REGISTER_AT_LOAD), plus
 * LD_PRELOAD=lib and, for at_load, MEMBARRIER_REGISTER_AT_LOAD=1;
 * NULL-terminated.
 */
static char **env_with(const char *lib, int at_load, char *slot, size_t size)
{
	static char on[] = "MEMBARRIER_REGISTER_AT_LOAD=1";
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], on, sizeof(on) - 2))
			env[k++] = environ[i];
	if (at_load)
		env[k++] = on;
	if ((size_t)snprintf(slot, size, "LD_PRELOAD=%s", lib) >= size) {
		free(env);
		return NULL;
	}
	env[k] = slot;
	return env;
}

static double tv_us(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

/*
 * One spawn and wait: wall-clock and CPU microseconds (the child's user
 * + system time, which the kernel keeps exact in sum: cputime_adjust()),
 * or -1 if the program failed.
 */
static int spawn_us(const char *prog, char **env, double *wall, double *cpu)
{
	char *argv[] = { (char *)prog, NULL };
	uint64_t t0 = tool_now_ns();
	struct rusage ru;
	int status;
	pid_t pid;

	if (posix_spawn(&pid, prog, NULL, NULL, argv, env))
		return -1;
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	*wall = (double)(tool_now_ns() - t0) / 1000.0;
	*cpu = tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime);
	return 0;
}

static void report(unsigned long rounds, const double *wall,
		   const double *cpu)
{
	double lib = cpu[CASE_LIB] - cpu[CASE_EMPTY];
	double shim = cpu[CASE_SHIM] - cpu[CASE_EMPTY];
	double at_load = cpu[CASE_AT_LOAD] - cpu[CASE_EMPTY];

	printf("bench=startup rounds=%lu", rounds);
	for (int c = 0; c < NR_CASES; c++)
		printf(" %s_wall_us=%.1f %s_cpu_us=%.1f", case_names[c],
		       wall[c], case_names[c], cpu[c]);
	printf("\nbench=startup lib_wall_cost_us=%.1f shim_wall_cost_us=%.1f\n",
	       wall[CASE_LIB] - wall[CASE_EMPTY],
	       wall[CASE_SHIM] - wall[CASE_EMPTY]);
	printf("bench=startup lib_cost_us=%.1f shim_cost_us=%.1f "
	       "lib_budget_us=%.0f shim_budget_us=%.0f verdict=%s\n", lib, shim,
	       LIB_BUDGET_US, SHIM_BUDGET_US,
	       lib <= LIB_BUDGET_US && shim <= SHIM_BUDGET_US ? "within" : "over");
	printf("bench=startup register_at_load=1 lib_cost_us=%.1f\n", at_load);
}

static int parse(int argc, char **argv, unsigned long *rounds)
{
	for (int i = 1; i < argc; i++) {
		if (tool_opt_ulong(argc, argv, &i, "--rounds", rounds))
			continue;
		tool_error("usage: membarrier bench startup [--rounds N]");
		return -1;
	}
	if (*rounds < 3 || *rounds > 100000) {
		tool_error("--rounds: 3..100000");
		return -1;
	}
	return 0;
}

int bench_startup(int argc, char **argv)
{
	char prog[PATH_MAX], libs[NR_CASES][PATH_MAX];
	char slots[NR_CASES][PATH_MAX + 16];
	char **envs[NR_CASES] = { NULL };
	unsigned long rounds = 300;
	double wall[NR_CASES], cpu[NR_CASES];
	double *t[NR_CASES] = { NULL }, *u[NR_CASES] = { NULL };
	int ret = 1;

	if (parse(argc, argv, &rounds))
		return 2;
	if (helper_path(prog, sizeof(prog), "startup-main") ||
	    helper_path(libs[CASE_EMPTY], PATH_MAX,
			"libmembarrier-startup-empty.so") ||
	    library_path(libs[CASE_LIB], PATH_MAX) ||
	    library_path(libs[CASE_AT_LOAD], PATH_MAX) ||
	    tool_shim_path(libs[CASE_SHIM], PATH_MAX)) {
		tool_error("bench startup: its helpers (libexec/membarrier/"
			   "startup-main, ...) or the shim are not installed");
		return 2;
	}
	for (int c = 0; c < NR_CASES; c++) {
		envs[c] = env_with(libs[c], c == CASE_AT_LOAD, slots[c],
				   sizeof(slots[c]));
		t[c] = calloc(rounds, sizeof(double));
		u[c] = calloc(rounds, sizeof(double));
		if (!envs[c] || !t[c] || !u[c])
			goto out;
	}
	for (unsigned long r = 0; r < rounds; r++)
		for (int k = 0; k < NR_CASES; k++) {
			int c = (int)((r + (unsigned long)k) % NR_CASES);

			if (spawn_us(prog, envs[c], &t[c][r], &u[c][r])) {
				tool_error("bench startup: %s with LD_PRELOAD=%s "
					   "failed", prog, libs[c]);
				goto out;
			}
		}
	for (int c = 0; c < NR_CASES; c++) {
		wall[c] = bench_median(t[c], rounds);
		cpu[c] = bench_median(u[c], rounds);
	}
	report(rounds, wall, cpu);
	ret = 0;
out:
	for (int c = 0; c < NR_CASES; c++) {
		free(envs[c]);
		free(t[c]);
		free(u[c]);
	}
	return ret;
}
