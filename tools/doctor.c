// SPDX-License-Identifier: MIT
/*
 * membarrier doctor: what does membarrier really give here?
 *
 * The platform (kernel, QUERY, seccomp), the backend and mechanism of
 * each command, a verification of each backend in use by something only
 * a real barrier does (tools/verify.c: running threads interrupted, rseq
 * critical sections aborted) plus the litmus, the measured cost of each
 * command with 0 and N running threads, and a verdict with advice.
 * Exit status 1 when a backend in use fails its verification, 0 else.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "arch/arch.h"

#include "bench.h"
#include "tool.h"
#include "verify.h"

#define MAX_ITEMS 16

struct check {
	const char *name;
	int cmd;
	const char *status;	/* "pass", "fail", "skip" */
	char detail[200];
};

struct cost {
	int cmd, threads;
	double ns;
};

struct report {
	struct utsname uts;
	int kernel_query, query, registrations;
	struct tool_seccomp seccomp;
	struct check checks[MAX_ITEMS];
	int nchecks, failed;
	struct cost costs[MAX_ITEMS * 2];
	int ncosts, running;
	char advice[MAX_ITEMS][240];
	int nadvice;
};

static const int barrier_cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	MEMBARRIER_CMD_GLOBAL,
};

#define NR_BARRIERS (int)(sizeof(barrier_cmds) / sizeof(barrier_cmds[0]))

static int served(int cmd)
{
	return membarrier_backend_of(cmd) != MEMBARRIER_BACKEND_NONE;
}

static void advise(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void advise(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nadvice == MAX_ITEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->advice[r->nadvice++], sizeof(r->advice[0]), fmt, ap);
	va_end(ap);
}

static struct check *add_check(struct report *r, const char *name, int cmd)
{
	struct check *c = &r->checks[r->nchecks++];

	c->name = name;
	c->cmd = cmd;
	c->status = "skip";
	c->detail[0] = '\0';
	return c;
}

static void record(struct report *r, struct check *c, int ret,
		   const struct verify_result *v, const char *what)
{
	if (ret == -ENODEV || ret == -ENOSYS) {
		snprintf(c->detail, sizeof(c->detail), "%s",
			 ret == -ENODEV ? "needs two CPUs" : "no rseq area here");
		return;
	}
	if (ret) {
		c->status = "fail";
		snprintf(c->detail, sizeof(c->detail), "call failed: %s",
			 strerror(-ret));
		r->failed++;
		return;
	}
	c->status = v->passed ? "pass" : "fail";
	snprintf(c->detail, sizeof(c->detail),
		 "%d/%d calls %s (control, no call: %d/%d)", v->hits, v->calls,
		 what, v->control_hits, v->calls);
	r->failed += !v->passed;
}

/* The litmus in a child process: its exit status is the verdict. */
static void check_litmus(struct report *r)
{
	struct check *c = add_check(r, "litmus", MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status;
	pid_t pid;

	if (n <= 0)
		return;
	self[n] = '\0';
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(2);
		execl(self, self, "litmus", "--iterations", "20000",
		      "--control-seconds", "20", (char *)NULL);
		_exit(2);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == TOOL_LITMUS_NO_CPUS) {
		snprintf(c->detail, sizeof(c->detail), "needs two CPUs");
		return;
	}
	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == TOOL_LITMUS_INCONCLUSIVE) {
		/* Nothing reordered, but a blind control proves nothing. */
		snprintf(c->detail, sizeof(c->detail), "inconclusive: a control "
			 "saw no reordering (this machine shows none now)");
		return;
	}
	c->status = WIFEXITED(status) && !WEXITSTATUS(status) ? "pass" : "fail";
	snprintf(c->detail, sizeof(c->detail), "store buffering (A) and R (B), "
		 "20000 iterations each, with their controls");
	r->failed += strcmp(c->status, "pass") != 0;
}

static void verify_all(struct report *r)
{
	static const int interrupting[] = {
		MEMBARRIER_CMD_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	};
	struct verify_result v;

	verify_pick_cpus();
	for (unsigned int i = 0; i < sizeof(interrupting) / sizeof(interrupting[0]); i++) {
		int cmd = interrupting[i];
		struct check *c = add_check(r, "interrupts running threads", cmd);

		if (!served(cmd)) {
			snprintf(c->detail, sizeof(c->detail), "not served here");
			continue;
		}
		record(r, c, verify_interrupts(cmd, &v), &v,
		       "interrupted a thread running on another CPU");
	}
	{
		int cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ;
		struct check *c = add_check(r, "aborts rseq critical sections", cmd);

		if (served(cmd))
			record(r, c, verify_rseq_abort(&v), &v,
			       "aborted the running critical section");
		else
			snprintf(c->detail, sizeof(c->detail), "not served here");
	}
	{
		struct check *c = add_check(r, "grace period", MEMBARRIER_CMD_GLOBAL);

		snprintf(c->detail, sizeof(c->detail), "%s",
			 served(MEMBARRIER_CMD_GLOBAL) ?
			 "waits for every CPU to switch context; nothing to "
			 "observe from user space (measured below)" :
			 "not served here");
	}
	check_litmus(r);
}

static void measure_costs(struct report *r)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int counts[2] = { 0, ncpu > 1 ? (int)ncpu - 1 : 1 };

	r->running = counts[1];
	for (int k = 0; k < 2; k++) {
		struct bench_crew crew;

		bench_crew_start(&crew, counts[k], 0);
		for (int i = 0; i < NR_BARRIERS; i++) {
			unsigned long n;
			int cmd = barrier_cmds[i];

			if (!served(cmd))
				continue;
			r->costs[r->ncosts].cmd = cmd;
			r->costs[r->ncosts].threads = counts[k];
			r->costs[r->ncosts++].ns = bench_cost(cmd,
				cmd == MEMBARRIER_CMD_GLOBAL ? 60000000 : 30000000, &n);
		}
		bench_crew_stop(&crew);
	}
}

/* ---- verdict ---- */

static void conclude(struct report *r)
{
	int kq = r->kernel_query, fatal = membarrier_kernel_fatal();

	if (fatal)
		advise(r, "a seccomp filter would kill the caller (or raise "
		       "SIGSYS) for membarrier commands 0x%x, learned in a child "
		       "process: the library never makes those calls and the "
		       "emulated backend serves them; to use the kernel's, allow "
		       "membarrier (syscall %d) in the profile", fatal,
		       MBI_ARCH_NR_membarrier);
	else if (kq < 0 && r->seccomp.mode == 2)
		advise(r, "membarrier is blocked by a seccomp filter (%s): the "
		       "emulated backend serves the commands; to use the "
		       "kernel's, allow membarrier (syscall %d) in the profile",
		       kq == -EPERM ? "EPERM" : "ENOSYS",
		       MBI_ARCH_NR_membarrier);
	else if (kq < 0)
		advise(r, "the kernel has no membarrier (%s): the emulated "
		       "backend serves the commands", strerror(-kq));
	else if ((kq & 0x3fe) != 0x3fe)
		advise(r, "the kernel lacks some commands (QUERY 0x%x): the "
		       "emulated backend serves those", kq);
	if (membarrier_backend_of(MEMBARRIER_CMD_GLOBAL_EXPEDITED) ==
	    MEMBARRIER_BACKEND_EMULATED)
		advise(r, "GLOBAL_EXPEDITED is emulated: it orders the registered "
		       "processes of this user (uid %u) only; ordering other "
		       "users' processes is impossible without privilege. A "
		       "process of the same user can disturb them, as under the "
		       "kernel's command", (unsigned int)geteuid());
	for (int i = 0; i < r->nchecks; i++) {
		const struct check *c = &r->checks[i];
		int b = membarrier_backend_of(c->cmd);

		if (strcmp(c->status, "fail"))
			continue;
		if (b == MEMBARRIER_BACKEND_KERNEL)
			advise(r, "the kernel's %s claims to work but failed: %s. "
			       "It orders nothing here: run programs with "
			       "MEMBARRIER_BACKEND=emulated",
			       membarrier_cmd_name(c->cmd), c->name);
		else if (!strcmp(membarrier_mechanism(c->cmd), "TLB shootdown"))
			advise(r, "the TLB shootdown does not interrupt running "
			       "threads here: set MEMBARRIER_EMUL_TLB=0");
		else
			advise(r, "the emulated %s failed: %s; please report it",
			       membarrier_cmd_name(c->cmd), c->name);
	}
	if (!r->failed)
		advise(r, "membarrier() is real here: every backend in use "
		       "passed its verification");
}

/* ---- output ---- */

static const char *mask_names(int mask, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int bit = 0; bit < 10; bit++)
		if (mask & (1 << bit))
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? " " : "",
						membarrier_cmd_name(1 << bit));
	return buf;
}

static void print_text(const struct report *r)
{
	char buf[512];

	printf("membarrier doctor (libmembarrier %s, %s)\n\n",
	       membarrier_version(), MBI_ARCH_NAME);
	printf("kernel:      %s %s\n", r->uts.sysname, r->uts.release);
	if (r->kernel_query >= 0)
		printf("QUERY:       0x%03x %s\n", r->kernel_query,
		       mask_names(r->kernel_query, buf, sizeof(buf)));
	else
		printf("QUERY:       fails: %s\n", strerror(-r->kernel_query));
	printf("seccomp:     mode %d, %d filter(s)\n", r->seccomp.mode,
	       r->seccomp.filters);
	printf("library:     QUERY 0x%03x\n\n", r->query < 0 ? 0 : r->query);
	printf("%-38s %-9s %s\n", "command", "backend", "mechanism");
	for (int idx = 1; idx < MEMBARRIER_NR_CMDS; idx++) {
		int cmd = 1 << (idx - 1);

		printf("%-38s %-9s %s\n", membarrier_cmd_name(cmd),
		       membarrier_backend_name(membarrier_backend_of(cmd)),
		       membarrier_mechanism(cmd));
	}
	printf("\nverification\n");
	for (int i = 0; i < r->nchecks; i++)
		printf("  %-4s  %-28s %-30s %s\n", r->checks[i].status,
		       membarrier_cmd_name(r->checks[i].cmd), r->checks[i].name,
		       r->checks[i].detail);
	printf("\ncost per call (ns)            %12s %12s\n", "0 running",
	       "N running");
	for (int i = 0; i < NR_BARRIERS; i++) {
		double c0 = -1, cn = -1;

		for (int k = 0; k < r->ncosts; k++)
			if (r->costs[k].cmd == barrier_cmds[i]) {
				if (r->costs[k].threads == 0)
					c0 = r->costs[k].ns;
				else
					cn = r->costs[k].ns;
			}
		if (c0 >= 0)
			printf("  %-28s %12.0f %12.0f\n",
			       membarrier_cmd_name(barrier_cmds[i]), c0, cn);
	}
	printf("  (N = %d spinning threads)\n\nverdict: %s\n", r->running,
	       r->failed ? "FAIL" : "OK");
	for (int i = 0; i < r->nadvice; i++)
		printf("  - %s\n", r->advice[i]);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct report *r)
{
	printf("{\"version\":");
	json_str(membarrier_version());
	printf(",\"arch\":");
	json_str(MBI_ARCH_NAME);
	printf(",\"kernel\":");
	json_str(r->uts.release);
	printf(",\"kernel_query\":%d,\"query\":%d,\"seccomp\":{\"mode\":%d,"
	       "\"filters\":%d},\"commands\":[", r->kernel_query, r->query,
	       r->seccomp.mode, r->seccomp.filters);
	for (int idx = 0; idx < MEMBARRIER_NR_CMDS; idx++) {
		int cmd = idx ? 1 << (idx - 1) : 0;

		printf("%s{\"name\":", idx ? "," : "");
		json_str(membarrier_cmd_name(cmd));
		printf(",\"value\":%d,\"backend\":", cmd);
		json_str(membarrier_backend_name(membarrier_backend_of(cmd)));
		printf(",\"mechanism\":");
		json_str(membarrier_mechanism(cmd));
		putchar('}');
	}
	printf("],\"verifications\":[");
	for (int i = 0; i < r->nchecks; i++) {
		printf("%s{\"command\":", i ? "," : "");
		json_str(membarrier_cmd_name(r->checks[i].cmd));
		printf(",\"check\":");
		json_str(r->checks[i].name);
		printf(",\"result\":");
		json_str(r->checks[i].status);
		printf(",\"detail\":");
		json_str(r->checks[i].detail);
		putchar('}');
	}
	printf("],\"costs_ns\":[");
	for (int i = 0; i < r->ncosts; i++) {
		printf("%s{\"command\":", i ? "," : "");
		json_str(membarrier_cmd_name(r->costs[i].cmd));
		printf(",\"running_threads\":%d,\"ns\":%.0f}", r->costs[i].threads,
		       r->costs[i].ns);
	}
	printf("],\"verdict\":");
	json_str(r->failed ? "FAIL" : "OK");
	printf(",\"advice\":[");
	for (int i = 0; i < r->nadvice; i++) {
		if (i)
			putchar(',');
		json_str(r->advice[i]);
	}
	printf("]}\n");
}

int tool_doctor(int argc, char **argv)
{
	static const int regs[] = {
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
	};
	static struct report r;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
			continue;
		}
		tool_error("usage: membarrier doctor [--json]");
		return 2;
	}
	uname(&r.uts);
	r.kernel_query = membarrier_kernel_query();
	r.query = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	tool_seccomp(&r.seccomp);
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (served(regs[i]))
			membarrier(regs[i], 0, 0);
	r.registrations = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
	verify_all(&r);
	measure_costs(&r);
	conclude(&r);
	if (json)
		print_json(&r);
	else
		print_text(&r);
	return r.failed ? 1 : 0;
}
