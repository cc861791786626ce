// SPDX-License-Identifier: MIT
/*
 * Conformance: every command, flag and cpu_id edge, each registration and
 * its effect, fork and exec, multithreaded registration.
 *
 * Each case is a sequence of steps (see seqrun.c) run in a fresh process
 * twice: through the library (seqrun-lib) and on the raw system call
 * without the library (seqrun-raw). Each case then gives two results:
 *   documented    the library's answers equal the values in the table,
 *                 which are membarrier(2)'s and kernel/sched/membarrier.c's;
 *   differential  the library's answers equal the running kernel's, for
 *                 cases whose every command the kernel serves here.
 *
 * The table's expected tokens: a number, an errno name, Q (the QUERY
 * mask the contract gives: exactly the commands that do not fail with
 * EINVAL, probed one by one in a fresh process; not QUERY's own answer).
 * QUERY's answer is compared with that mask in the differential too: it
 * describes what the library serves, which is the kernel's set only when
 * the kernel serves everything (the emulation may serve more, or less:
 * GLOBAL needs a walk over every CPU, impossible under taskset -c 0). Where the library does not offer a command
 * (QUERY lacks it), cases that need it are skipped, saying so; where
 * nothing serves even QUERY (MEMBARRIER_BACKEND=kernel with the call
 * blocked), every answer must be the blocked call's errno.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>

#include "lib/child.h"
#include "lib/tap.h"

#define MAX_STEPS	128
#define TOK		24
#define RUNNER_TIMEOUT_MS	120000

struct conf_case {
	const char *name;
	const char *steps;
	const char *expect;
};

/* Hand-written cases: the documented behaviour, value by value. */
static const struct conf_case cases[] = {
	{ "QUERY returns the mask of supported commands", "C:0", "Q" },
	{ "GLOBAL needs no registration", "C:1 C:1", "0 0" },
	{ "GLOBAL_EXPEDITED needs no registration (caller unregistered)",
	  "C:2 C:4 C:2", "0 0 0" },
	{ "PRIVATE_EXPEDITED: EPERM before its registration, 0 after",
	  "C:8 C:16 C:8 C:8", "EPERM 0 0 0" },
	{ "PRIVATE_EXPEDITED_SYNC_CORE: EPERM before, 0 after",
	  "C:32 C:64 C:32", "EPERM 0 0" },
	{ "PRIVATE_EXPEDITED_RSEQ: EPERM before, 0 after",
	  "C:128 C:256 C:128", "EPERM 0 0" },
	{ "barriers before and after REGISTER_GLOBAL_EXPEDITED",
	  "C:1 C:2 C:8 C:32 C:128 C:4 C:1 C:2 C:8 C:32 C:128",
	  "0 0 EPERM EPERM EPERM 0 0 0 EPERM EPERM EPERM" },
	{ "barriers before and after REGISTER_PRIVATE_EXPEDITED",
	  "C:1 C:2 C:8 C:32 C:128 C:16 C:1 C:2 C:8 C:32 C:128",
	  "0 0 EPERM EPERM EPERM 0 0 0 0 EPERM EPERM" },
	{ "barriers before and after REGISTER_PRIVATE_EXPEDITED_SYNC_CORE",
	  "C:1 C:2 C:8 C:32 C:128 C:64 C:1 C:2 C:8 C:32 C:128",
	  "0 0 EPERM EPERM EPERM 0 0 0 EPERM 0 EPERM" },
	{ "barriers before and after REGISTER_PRIVATE_EXPEDITED_RSEQ",
	  "C:1 C:2 C:8 C:32 C:128 C:256 C:1 C:2 C:8 C:32 C:128",
	  "0 0 EPERM EPERM EPERM 0 0 0 EPERM EPERM 0" },
	{ "repeated REGISTER_GLOBAL_EXPEDITED is idempotent",
	  "C:4 C:4 C:4 C:512", "0 0 0 4" },
	{ "repeated REGISTER_PRIVATE_EXPEDITED is idempotent",
	  "C:16 C:16 C:16 C:512", "0 0 0 16" },
	{ "repeated REGISTER_PRIVATE_EXPEDITED_SYNC_CORE is idempotent",
	  "C:64 C:64 C:64 C:512", "0 0 0 80" },
	{ "repeated REGISTER_PRIVATE_EXPEDITED_RSEQ is idempotent",
	  "C:256 C:256 C:256 C:512", "0 0 0 272" },
	{ "GET_REGISTRATIONS after each registration",
	  "C:512 C:4 C:512 C:16 C:512 C:64 C:512 C:256 C:512",
	  "0 0 4 0 20 0 84 0 340" },
	{ "GET_REGISTRATIONS after each registration, reverse order",
	  "C:256 C:512 C:64 C:512 C:16 C:512 C:4 C:512",
	  "0 272 0 336 0 336 0 340" },
	{ "quirk: SYNC_CORE registration reports REGISTER_PRIVATE_EXPEDITED, "
	  "yet PRIVATE_EXPEDITED stays EPERM",
	  "C:64 C:512 C:8 C:32 C:16 C:8 C:512", "0 80 EPERM 0 0 0 80" },
	{ "quirk: RSEQ registration reports REGISTER_PRIVATE_EXPEDITED, "
	  "yet PRIVATE_EXPEDITED stays EPERM",
	  "C:256 C:512 C:8 C:128 C:32", "0 272 EPERM 0 EPERM" },
	{ "fork: the child inherits every registration",
	  "C:16 C:64 C:256 C:4 fork C:512 C:8 C:32 C:128 C:2 end C:512",
	  "0 0 0 0 340 0 0 0 0 340" },
	{ "fork: the child's registrations stay in the child",
	  "fork C:256 C:512 C:128 end C:512 C:128", "0 272 0 0 EPERM" },
	{ "exec clears every registration",
	  "C:4 C:16 C:64 C:256 exec C:512 C:8 C:32 C:128 C:2",
	  "0 0 0 0 0 EPERM EPERM EPERM 0" },
	{ "exec in a forked child clears the child's, not the parent's",
	  "C:16 fork exec C:512 C:8 end C:512 C:8", "0 0 EPERM 16 0" },
	{ "registration from a multithreaded process",
	  "threads:2 C:512 C:16 C:8 C:64 C:32 C:256 C:128 C:4 C:2 C:512",
	  "0 0 0 0 0 0 0 0 0 340" },
	{ "barriers with running threads, registered before they start",
	  "C:16 C:64 C:256 threads:3 C:8 C:32 C:128 C:128:1:0 C:2 C:1",
	  "0 0 0 0 0 0 0 0 0" },
	{ "fork from a multithreaded process inherits registrations",
	  "threads:2 C:16 fork C:512 C:8 threads:1 C:8 end C:8",
	  "0 16 0 0 0" },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- running a sequence ---- */

static char runner_dir[PATH_MAX];

static int split(char *s, char **out, int max)
{
	int n = 0;

	for (char *tok = strtok(s, " "); tok && n < max; tok = strtok(NULL, " "))
		out[n++] = tok;
	return n;
}

/*
 * Run seqrun-WHICH with the steps; fill out[] with one token per call.
 * Returns the number of tokens, or -1 (diagnostic printed).
 */
static int run_seq(const char *which, char **steps, int nsteps,
		   char out[][TOK], int max)
{
	char path[PATH_MAX + 32], tool[PATH_MAX + 32], buf[8192];
	char *lines[MAX_STEPS], *argv[MAX_STEPS + 5];
	int status, n;

	int a = 0;

	/*
	 * CONFORMANCE_RUNNER=preload: the library's side is an unmodified
	 * program (the raw runner) under `membarrier run`, the shim.
	 */
	if (!strcmp(which, "lib") && getenv("CONFORMANCE_RUNNER") &&
	    !strcmp(getenv("CONFORMANCE_RUNNER"), "preload")) {
		snprintf(tool, sizeof(tool), "%s/../bin/membarrier", runner_dir);
		argv[a++] = tool;
		argv[a++] = (char *)"run";
		argv[a++] = (char *)"--";
		which = "raw";
	}
	snprintf(path, sizeof(path), "%s/seqrun-%s", runner_dir, which);
	argv[a++] = path;
	for (int i = 0; i < nsteps; i++)
		argv[a++] = steps[i];
	argv[a] = NULL;
	status = child_capture(argv, buf, sizeof(buf), RUNNER_TIMEOUT_MS);
	if (status < 0) {
		tap_diag("seqrun-%s: timed out after %d ms", which,
			 RUNNER_TIMEOUT_MS);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		tap_diag("seqrun-%s: exit status %d", which, status);
		return -1;
	}
	n = 0;
	for (char *l = strtok(buf, "\n"); l && n < MAX_STEPS; l = strtok(NULL, "\n"))
		lines[n++] = l;
	if (n > max)
		return -1;
	for (int i = 0; i < n; i++)
		snprintf(out[i], TOK, "%s", lines[i]);
	return n;
}

/* ---- expectations ---- */

struct env {
	int query;		/* library QUERY mask, or -1 */
	char query_err[TOK];	/* errno name when it fails */
	int kernel_query;	/* raw QUERY mask, or -1 */
	int contract_query;	/* commands that do not fail with EINVAL */
};

static struct env env;

static int parse_call(const char *step, long v[3])
{
	char *end;

	v[0] = v[1] = v[2] = 0;
	if (strncmp(step, "C:", 2))
		return 0;
	v[0] = strtol(step + 2, &end, 0);
	if (*end == ':')
		v[1] = strtol(end + 1, &end, 0);
	if (*end == ':')
		v[2] = strtol(end + 1, &end, 0);
	return 1;
}

static int is_command(long cmd)
{
	return cmd >= 0 && cmd <= MEMBARRIER_CMD_GET_REGISTRATIONS &&
	       !(cmd & (cmd - 1));
}

static int flags_valid(long cmd, long flags)
{
	return flags == 0 || (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ &&
			      flags == MEMBARRIER_CMD_FLAG_CPU);
}

/*
 * A case needs a command if it calls it with valid flags: it then depends
 * on the command being offered. Returns the first one missing from mask,
 * or -1.
 */
static long missing_command(char **steps, int n, int mask)
{
	for (int i = 0; i < n; i++) {
		long v[3];

		if (!parse_call(steps[i], v) || !is_command(v[0]) || !v[0])
			continue;
		if (flags_valid(v[0], v[1]) && !(mask & v[0]))
			return v[0];
	}
	return -1;
}

/* The differential applies where the running kernel has every command
 * the case uses, whichever backend serves the library. */
static int kernel_serves_all(char **steps, int n)
{
	if (env.kernel_query < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		long v[3];

		if (!parse_call(steps[i], v) || !is_command(v[0]) || !v[0])
			continue;
		if (!(env.kernel_query & v[0]))
			return 0;
	}
	return 1;
}

static void expected_token(const char *e, char *out)
{
	if (env.query < 0)
		snprintf(out, TOK, "%s", env.query_err);
	else if (!strcmp(e, "Q"))
		snprintf(out, TOK, "%d", env.contract_query);
	else
		snprintf(out, TOK, "%s", e);
}

static void print_steps(char **steps, int n, char got[][TOK], int ngot,
			const char *label)
{
	char line[2048];
	size_t len = 0;

	for (int i = 0, k = 0; i < n && len < sizeof(line) - 64; i++) {
		long v[3];

		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", steps[i]);
		if (parse_call(steps[i], v))
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						"=%s", k < ngot ? got[k++] : "?");
	}
	tap_diag("%s:%s", label, line);
}

static void check_case(const char *name, const char *steps_str,
		       const char *expect_str)
{
	char sbuf[4096], ebuf[4096], *steps[MAX_STEPS], *expect[MAX_STEPS];
	char lib[MAX_STEPS][TOK], raw[MAX_STEPS][TOK], want[TOK];
	int n, ne, ncalls = 0, nlib, nraw, ok = 1;
	long missing;

	snprintf(sbuf, sizeof(sbuf), "%s", steps_str);
	snprintf(ebuf, sizeof(ebuf), "%s", expect_str);
	n = split(sbuf, steps, MAX_STEPS);
	ne = split(ebuf, expect, MAX_STEPS);
	for (int i = 0; i < n; i++)
		ncalls += !strncmp(steps[i], "C:", 2);
	if (ncalls != ne) {
		tap_ok(0, "%s: table error, %d calls, %d expected values", name,
		       ncalls, ne);
		return;
	}
	if (tap_qemu_user() && strstr(steps_str, "threads:") &&
	    strstr(strstr(steps_str, "threads:"), "fork")) {
		tap_skip("qemu-user aborts on fork from a multithreaded guest",
			 "documented: %s", name);
		tap_skip("qemu-user aborts on fork from a multithreaded guest",
			 "differential: %s", name);
		return;
	}
	missing = env.query < 0 ? -1 : missing_command(steps, n, env.query);
	if (missing >= 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s is not offered here",
			 membarrier_cmd_name((int)missing));
		tap_skip(why, "documented: %s", name);
		tap_skip(why, "differential: %s", name);
		return;
	}

	nlib = run_seq("lib", steps, n, lib, MAX_STEPS);
	for (int i = 0; nlib == ncalls && i < ncalls; i++) {
		expected_token(expect[i], want);
		ok &= !strcmp(lib[i], want);
	}
	if (!tap_ok(nlib == ncalls && ok, "documented: %s", name)) {
		print_steps(steps, n, lib, nlib < 0 ? 0 : nlib, "library");
		tap_diag("expected: %s%s", expect_str,
			 env.query < 0 ? " (each: QUERY's errno)" : "");
	}

	if (!kernel_serves_all(steps, n)) {
		tap_skip("the kernel does not serve every command of this case",
			 "differential: %s", name);
		return;
	}
	nraw = run_seq("raw", steps, n, raw, MAX_STEPS);
	ok = nraw == nlib && nlib == ncalls;
	for (int i = 0, k = 0; ok && i < n; i++) {
		long v[3];

		if (!parse_call(steps[i], v))
			continue;
		/* QUERY's oracle is the contract (above), not the kernel's. */
		if (v[0] == 0 && v[1] == 0 && env.query >= 0) {
			char q[TOK];

			snprintf(q, TOK, "%d", env.contract_query);
			ok &= !strcmp(lib[k], q);
		} else {
			ok &= !strcmp(lib[k], raw[k]);
		}
		k++;
	}
	if (!tap_ok(ok, "differential: %s", name)) {
		print_steps(steps, n, lib, nlib < 0 ? 0 : nlib, "library");
		print_steps(steps, n, raw, nraw < 0 ? 0 : nraw, "kernel ");
	}
}

/* ---- generated cases ---- */

static const int all_cmds[MEMBARRIER_NR_CMDS] = {
	0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
};

#define REGISTER_ALL "C:4 C:16 C:64 C:256"

static int append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return r;
}

/* Every command with every kind of non-zero flags, before and after
 * registering everything: EINVAL, but FLAG_CPU on RSEQ. */
static void flags_cases(void)
{
	static const unsigned int bad_flags[] = {
		1, 2, 3, 4, 0x80, 0x100, 0x80000000u, 0xffffffffu,
	};

	for (int after = 0; after <= 1; after++)
		for (int c = 0; c < MEMBARRIER_NR_CMDS; c++) {
			char steps[2048] = "", expect[1024] = "", name[160];
			int cmd = all_cmds[c];

			if (after)
				append(steps, sizeof(steps), REGISTER_ALL " ");
			if (after)
				append(expect, sizeof(expect), "0 0 0 0 ");
			for (unsigned int f = 0; f < sizeof(bad_flags) / sizeof(bad_flags[0]); f++) {
				int rseq_cpu = cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ &&
					       bad_flags[f] == MEMBARRIER_CMD_FLAG_CPU;

				append(steps, sizeof(steps), "C:%d:%u:0 ", cmd, bad_flags[f]);
				append(expect, sizeof(expect), "%s ",
				       !rseq_cpu ? "EINVAL" : after ? "0" : "EPERM");
			}
			/* Nothing above may have registered anything. */
			append(steps, sizeof(steps), "C:512");
			append(expect, sizeof(expect), "%s", after ? "340" : "0");
			snprintf(name, sizeof(name), "flags on %s, %s registration",
				 membarrier_cmd_name(cmd), after ? "after" : "before");
			check_case(name, steps, expect);
		}
}

/* Values that are not commands: EINVAL, with or without flags. */
static void invalid_command_cases(void)
{
	static const long bad[] = {
		3, 5, 6, 7, 9, 10, 12, 17, 24, 48, 96, 192, 384, 768, 1023,
		1024, 2048, 1 << 15, 1 << 30, INT_MAX, -1, -2, -512, INT_MIN,
	};

	for (int after = 0; after <= 1; after++) {
		char steps[4096] = "", expect[2048] = "", name[128];

		if (after) {
			append(steps, sizeof(steps), REGISTER_ALL " ");
			append(expect, sizeof(expect), "0 0 0 0 ");
		}
		for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			append(steps, sizeof(steps), "C:%ld C:%ld:1:0 ", bad[i], bad[i]);
			append(expect, sizeof(expect), "EINVAL EINVAL ");
		}
		append(steps, sizeof(steps), "C:512");
		append(expect, sizeof(expect), "%s", after ? "340" : "0");
		snprintf(name, sizeof(name), "invalid commands, %s registration",
			 after ? "after" : "before");
		check_case(name, steps, expect);
	}
}

/* Without FLAG_CPU, cpu_id is ignored by every command. */
static void cpu_ignored_cases(void)
{
	static const int cpus[] = { -1, 1, 4096, INT_MAX, INT_MIN };

	for (int c = 0; c < MEMBARRIER_NR_CMDS; c++) {
		char steps[1024] = REGISTER_ALL, expect[512] = "0 0 0 0", name[128];
		int cmd = all_cmds[c];
		const char *want = cmd == 0 ? "Q" : cmd == 512 ? "340" : "0";

		for (unsigned int i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
			append(steps, sizeof(steps), " C:%d:0:%d", cmd, cpus[i]);
			append(expect, sizeof(expect), " %s", want);
		}
		snprintf(name, sizeof(name), "cpu_id ignored without FLAG_CPU: %s",
			 membarrier_cmd_name(cmd));
		check_case(name, steps, expect);
	}
}

/* FLAG_CPU on RSEQ: any cpu_id before registration is EPERM; after, in
 * range it targets that CPU, out of range or offline it is a no-op, and
 * negative means every CPU: all succeed. */
static void flag_cpu_cases(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	long cpus[] = {
		0, 1, ncpu - 1, ncpu, ncpu + 1, 4096, 1 << 20, INT_MAX,
		-1, -2, -4096, INT_MIN,
	};

	for (int after = 0; after <= 1; after++) {
		char steps[2048] = "", expect[1024] = "", name[128];

		if (after) {
			append(steps, sizeof(steps), "C:256 threads:2 ");
			append(expect, sizeof(expect), "0 ");
		}
		for (unsigned int i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
			append(steps, sizeof(steps), "C:128:1:%ld ", cpus[i]);
			append(expect, sizeof(expect), "%s ", after ? "0" : "EPERM");
		}
		steps[strlen(steps) - 1] = '\0';
		expect[strlen(expect) - 1] = '\0';
		snprintf(name, sizeof(name),
			 "FLAG_CPU on PRIVATE_EXPEDITED_RSEQ, cpu_id sweep, %s",
			 after ? "registered, threads running" : "unregistered");
		check_case(name, steps, expect);
	}
}

/* ---- environment ---- */

static const char *getenv_or(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

/* The commands that do not fail with EINVAL, one call each (flags 0). */
static void probe_commands(void)
{
	char buf[MAX_STEPS][TOK], *steps[MEMBARRIER_NR_CMDS];
	char ans[MAX_STEPS][TOK];
	int n = 0;

	for (int c = 1; c <= MEMBARRIER_CMD_GET_REGISTRATIONS; c <<= 1) {
		snprintf(buf[n], TOK, "C:%d", c);
		steps[n] = buf[n];
		n++;
	}
	env.contract_query = 0;
	if (env.query < 0 || run_seq("lib", steps, n, ans, MAX_STEPS) != n)
		return;
	for (int i = 0; i < n; i++)
		if (strcmp(ans[i], "EINVAL"))
			env.contract_query |= 1 << i;
	tap_diag("commands that do not fail with EINVAL: %d", env.contract_query);
}

static void probe_env(void)
{
	char *q = (char *)"C:0";
	char lib[1][TOK], raw[1][TOK];
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		tap_skip_all("cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(runner_dir, sizeof(runner_dir), "%s", self);
	*strrchr(runner_dir, '/') = '\0';

	if (run_seq("lib", &q, 1, lib, 1) != 1) {
		tap_ok(0, "the library's sequence runner works");
		exit(tap_done());
	}
	/* The raw runner dies of SIGSYS under a trapping filter. */
	if (run_seq("raw", &q, 1, raw, 1) != 1)
		snprintf(raw[0], TOK, "E-killed");
	env.query = lib[0][0] == 'E' ? -1 : atoi(lib[0]);
	snprintf(env.query_err, TOK, "%s", lib[0]);
	env.kernel_query = raw[0][0] == 'E' ? -1 : atoi(raw[0]);
	tap_diag("MEMBARRIER_BACKEND=%s MEMBARRIER_REGISTER_AT_LOAD=%s "
		 "CONFORMANCE_RUNNER=%s", getenv_or("MEMBARRIER_BACKEND"),
		 getenv_or("MEMBARRIER_REGISTER_AT_LOAD"),
		 getenv_or("CONFORMANCE_RUNNER"));
	tap_diag("library QUERY: %s; kernel QUERY: %s", lib[0], raw[0]);
	probe_commands();
}

int main(void)
{
	const char *want_errno = getenv("CONFORMANCE_EXPECT_ERRNO");

	probe_env();
	if (want_errno && *want_errno)
		tap_ok(env.query < 0 && !strcmp(env.query_err, want_errno),
		       "every call fails with %s (QUERY: %s)", want_errno,
		       env.query_err);
	for (unsigned int i = 0; i < NR_CASES; i++)
		check_case(cases[i].name, cases[i].steps, cases[i].expect);
	flags_cases();
	invalid_command_cases();
	cpu_ignored_cases();
	flag_cpu_cases();
	return tap_done();
}
