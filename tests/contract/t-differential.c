// SPDX-License-Identifier: MIT
/*
 * Differential: the library (whatever backend MEMBARRIER_BACKEND selects)
 * against the running kernel's raw system call, over a sweep of command
 * values and flags, and over random (cmd, flags, cpu_id) sequences that
 * interleave registrations and barriers. Each sequence runs in a fresh
 * process on each side (seqrun-lib, seqrun-raw); every answer must match.
 *
 * The oracle, step by step: the kernel where it serves the command; the
 * contract where it does not. QUERY's answer describes what the library
 * serves, so its oracle is the commands that do not fail with EINVAL
 * (probed one by one in a fresh process); a command the kernel lacks
 * (an older kernel, tests/lib/sandbox.c --kernel=V) has no kernel answer
 * to compare: t-conformance checks it against the documented values. No
 * skip for a kernel that lacks commands: every other step is compared.
 *
 * DIFF_SEED=N replays a run; DIFF_SEQUENCES=N sets how many sequences.
 */
#include <errno.h>
#include <limits.h>
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

#define MAX_OUT (1 << 20)

static char runner_dir[PATH_MAX];
static long kernel_query;	/* the raw QUERY mask */
static char contract_query[32];	/* the commands that do not fail EINVAL */
static int contract_mask = -1;	/* the same as a number, or -1 */

/* Run seqrun-WHICH with argv steps; its whole output into out. */
static int run(const char *which, char **steps, int n, char *out)
{
	char path[PATH_MAX + 32];
	char **argv = calloc((size_t)n + 2, sizeof(*argv));
	int status;

	snprintf(path, sizeof(path), "%s/seqrun-%s", runner_dir, which);
	argv[0] = path;
	memcpy(argv + 1, steps, (size_t)n * sizeof(*argv));
	status = child_capture(argv, out, MAX_OUT, 120000);	/* never hang */
	free(argv);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
	       0 : -1;
}

/* A command the kernel lacks: a valid single bit missing from its QUERY. */
static int kernel_lacks(int cmd)
{
	return cmd > 0 && !(cmd & (cmd - 1)) && cmd <= 512 && kernel_query >= 0 &&
	       !(kernel_query & cmd);
}

/* Compare outputs line by line (one per call step; every step is a call
 * but the leading threads:N), each with its oracle; report the first
 * difference. */
static int compare(const char *name, char **steps, const char *lib, const char *raw)
{
	int i = strncmp(steps[0], "C:", 2) ? 1 : 0;

	for (; *lib || *raw; i++) {
		size_t a = strcspn(lib, "\n"), b = strcspn(raw, "\n"), w = b;
		const char *want = raw;
		unsigned int flags = 0;
		int cmd = -1;

		sscanf(steps[i], "C:%d:%u", &cmd, &flags);
		if (cmd == 0 && flags == 0) {
			want = contract_query;
			w = strlen(want);
		} else if (cmd > 0 && !(cmd & (cmd - 1)) && cmd <= 512 &&
			   contract_mask >= 0 && !(contract_mask & cmd)) {
			/* Not offered by the library here: EINVAL, always. */
			want = "EINVAL";
			w = strlen(want);
		}
		if ((want != raw || !kernel_lacks(cmd)) &&
		    (a != w || strncmp(lib, want, a))) {
			tap_diag("%s: step %d (%s): library %.*s, %s %.*s",
				 name, i + 1, steps[i], (int)a, lib,
				 want == raw ? "kernel" : "contract", (int)w, want);
			return 0;
		}
		lib += a + (lib[a] == '\n');
		raw += b + (raw[b] == '\n');
	}
	return 1;
}

static int check(const char *name, char **steps, int n)
{
	static char lib[MAX_OUT], raw[MAX_OUT];

	if (run("lib", steps, n, lib) || run("raw", steps, n, raw)) {
		tap_diag("%s: a runner failed", name);
		return 0;
	}
	return compare(name, steps, lib, raw);
}

static char *step(int cmd, unsigned int flags, int cpu)
{
	char *s = malloc(48);

	snprintf(s, 48, "C:%d:%u:%d", cmd, flags, cpu);
	return s;
}

/* Every value from -2 to 1100 and every single bit, flags 0, 1, 2. */
static void sweep(int registered)
{
	char **steps = malloc(sizeof(char *) * 8000);
	int n = 0;
	char name[64];

	if (registered) {
		steps[n++] = step(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
		steps[n++] = step(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
		steps[n++] = step(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0);
		steps[n++] = step(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
	}
	for (int cmd = -2; cmd <= 1100; cmd++)
		for (unsigned int f = 0; f <= 2; f++) {
			/* GLOBAL is a grace period on the kernel: once is enough. */
			if (cmd == MEMBARRIER_CMD_GLOBAL && f == 0)
				continue;
			steps[n++] = step(cmd, f, cmd & 3);
		}
	for (int bit = 11; bit < 31; bit++)
		steps[n++] = step(1 << bit, 0, 0);
	steps[n++] = step(INT_MIN, 0, 0);
	steps[n++] = step(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
	snprintf(name, sizeof(name), "sweep of %d calls, %s", n,
		 registered ? "after every registration" : "unregistered");
	tap_ok(check(name, steps, n), "%s", name);
	for (int i = 0; i < n; i++)
		free(steps[i]);
	free(steps);
}

static unsigned long long rng;

static unsigned int next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned int)(rng >> 11);
}

static int random_cmd(void)
{
	static const int cmds[] = { 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };
	unsigned int r = next() % 100;

	if (r < 85) {
		int cmd = cmds[next() % 11];

		/* Keep GLOBAL (a kernel grace period) rare. */
		return cmd == 1 && next() % 4 ? 8 : cmd;
	}
	if (r < 95)
		return (int)(next() % 2048) - 8;
	return (int)next() ^ (int)(next() << 1);
}

static unsigned int random_flags(int cmd)
{
	unsigned int r = next() % 100;

	if (r < 70)
		return 0;
	if (r < 90)
		return cmd == 128 || next() % 2 ? 1 : 2;
	return next();
}

static int random_cpu(void)
{
	switch (next() % 6) {
	case 0: return 0;
	case 1: return 1;
	case 2: return -1;
	case 3: return (int)(next() % 4096);
	case 4: return -(int)(next() % 4096);
	default: return (int)next();
	}
}

static void random_sequences(int count)
{
	for (int s = 0; s < count; s++) {
		char *steps[80], name[64];
		int n = 0, threads = next() % 3;

		if (threads) {
			steps[n] = malloc(16);
			snprintf(steps[n++], 16, "threads:%d", threads);
		}
		while (n < 64) {
			int cmd = random_cmd();

			steps[n++] = step(cmd, random_flags(cmd), random_cpu());
		}
		steps[n++] = step(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
		snprintf(name, sizeof(name), "random sequence %d (%d threads)", s,
			 threads);
		tap_ok(check(name, steps, n), "%s", name);
		for (int i = 0; i < n; i++)
			free(steps[i]);
	}
}

/* QUERY's oracle: its errno if it fails, else the commands that do not
 * fail with EINVAL (one call each, flags 0, in a fresh process). */
static void probe_contract(void)
{
	static char out[MAX_OUT];
	char *probe[10], *query = (char *)"C:0:0:0";
	int mask = 0, n = 0;
	char *line;

	if (run("lib", &query, 1, out)) {
		snprintf(contract_query, sizeof(contract_query), "?");
		return;
	}
	if (out[0] == 'E') {
		snprintf(contract_query, sizeof(contract_query), "%.*s",
			 (int)strcspn(out, "\n"), out);
		return;
	}
	for (int c = 1; c <= 512; c <<= 1)
		probe[n++] = step(c, 0, 0);
	if (!run("lib", probe, n, out))
		for (int i = 0, c = 1; i < n && (line = out); i++, c <<= 1) {
			size_t len = strcspn(out, "\n");

			if (strncmp(line, "EINVAL", len > 6 ? len : 6))
				mask |= c;
			memmove(out, out + len + (out[len] == '\n'),
				strlen(out + len) + 1);
		}
	for (int i = 0; i < n; i++)
		free(probe[i]);
	snprintf(contract_query, sizeof(contract_query), "%d", mask);
	contract_mask = mask;
	tap_diag("kernel QUERY %ld; QUERY's oracle (commands that do not fail "
		 "with EINVAL): %s", kernel_query, contract_query);
}

int main(void)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *seed = getenv("DIFF_SEED"), *count = getenv("DIFF_SEQUENCES");
	long kq;

	if (len <= 0)
		tap_skip_all("cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(runner_dir, sizeof(runner_dir), "%s", self);
	*strrchr(runner_dir, '/') = '\0';
	{
		/* The oracle is the raw call, whatever the library was told. */
		static char q[MAX_OUT];
		char *query = (char *)"C:0";

		kq = run("raw", &query, 1, q) || q[0] == 'E' ? -1 :
		     strtol(q, NULL, 10);
	}
	if (kq < 0)
		tap_skip_all("the raw system call fails here: no kernel oracle");
	kernel_query = kq;
	probe_contract();
	rng = seed ? strtoull(seed, NULL, 0) : (unsigned long long)time(NULL);
	if (!rng)
		rng = 1;
	tap_diag("backend of PRIVATE_EXPEDITED: %s; DIFF_SEED=%llu",
		 membarrier_backend_name(membarrier_backend_of(8)), rng);
	sweep(0);
	sweep(1);
	random_sequences(count ? atoi(count) : 40);
	return tap_done();
}
