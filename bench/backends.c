// SPDX-License-Identifier: MIT
/*
 * bench backends: the cost of each barrier command against the number of
 * spinning threads (0, 1, 2, 4, 8) and of sleeping threads (0, 64), for
 * each backend: the kernel, the emulation (TLB shootdown for the plain
 * barrier where sound), and the emulation without it (MEMBARRIER_EMUL_TLB=0:
 * the CPU walk for every command). Each backend runs in a child process (the backend is chosen
 * per process, on its first call); the summary gives the ratio the limit bounds:
 * emulated / kernel PRIVATE_EXPEDITED with one spinning thread, <= 5.
 * It also shows that the light side stays a compiler barrier: the cost of
 * mbfence_light() in a loop against an empty loop, per backend.
 *
 * GLOBAL_EXPEDITED across processes (bench=backends-global): its cost
 * with 1, 256 and --global-max (2,000 by default) registered processes
 * that sleep, with one that is stopped, with a spinning thread on every
 * CPU, on the kernel (the baseline) and the emulation; ratios to the
 * kernel and to one registered process. As root the emulation's run
 * gets a private /dev/shm (the machine's registry is left alone).
 *
 * Then the disturbance rows (row=...): the median (p50) and worst single
 * call of SYNC_CORE, RSEQ and PRIVATE_EXPEDITED with 1, 1,024 and 10,000
 * threads asleep in read(), with as many spinning threads as CPUs, and
 * with 4 threads in sigwait() blocking every signal; each row's ratio to
 * the kernel's in the same run. What the emulation must keep: cost that
 * follows CPUs, not threads (1,024 sleepers at most 5x one; no cliff to
 * 10,000), p50 at most 1 ms with spinners, nothing added by sigwaiters.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/fence.h>

#include "tool.h"
#include "bench.h"

static const int cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	MEMBARRIER_CMD_GLOBAL,
};

static const int spinning[] = { 0, 1, 2, 4, 8 };
static const int sleeping[] = { 0, 64 };

static double loop_ns(int light, unsigned long n)
{
	uint64_t t0 = tool_now_ns();

	for (unsigned long i = 0; i < n; i++) {
		if (light)	/* measured alone: nothing pairs with it */
			mbfence_light();
		else
			membarrier_compiler_barrier();
	}
	return (double)(tool_now_ns() - t0) / (double)n;
}

/* ---- the disturbance rows ---- */

enum row_kind { ROW_SLEEP, ROW_SPIN, ROW_SIGWAIT };

static const struct row {
	const char *name;
	enum row_kind kind;
	int threads;		/* 0 for spinning: as many as CPUs */
} rows[] = {
	{ "sleep1", ROW_SLEEP, 1 },
	{ "sleep1024", ROW_SLEEP, 1024 },
	{ "sleep10000", ROW_SLEEP, 10000 },
	{ "spin-cpus", ROW_SPIN, 0 },
	{ "sigwait4", ROW_SIGWAIT, 4 },
};

static const int row_cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED,
};

struct crowd {
	pthread_t *t;
	int n, pipe[2], ready;
	volatile int stop;
};

/* A crowd thread about to wait (or spin): counted, so that the rows
 * start once every thread has reached its state. */
static void crowd_ready(struct crowd *c)
{
	__atomic_fetch_add(&c->ready, 1, __ATOMIC_RELAXED);
}

static void *crowd_sleep(void *arg)
{
	struct crowd *c = arg;
	char b;

	crowd_ready(c);
	while (read(c->pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void *crowd_spin(void *arg)
{
	struct crowd *c = arg;

	crowd_ready(c);
	while (!c->stop)
		membarrier_arch_relax();
	return NULL;
}

/* Every signal blocked (the signal-thread pattern); SIGUSR1 ends it. */
static void *crowd_sigwait(void *arg)
{
	struct crowd *c = arg;
	sigset_t all;
	int sig;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	crowd_ready(c);
	while (!c->stop)
		sigwait(&all, &sig);
	return NULL;
}

static int crowd_start(struct crowd *c, const struct row *r)
{
	void *(*fn)(void *) = r->kind == ROW_SLEEP ? crowd_sleep :
			      r->kind == ROW_SPIN ? crowd_spin : crowd_sigwait;
	int want = r->threads ? r->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	pthread_attr_t a;

	c->n = 0;
	c->ready = 0;
	c->stop = 0;
	c->t = calloc((size_t)want, sizeof(*c->t));
	if (!c->t || pipe(c->pipe))
		return -1;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 32 * 1024);
	while (c->n < want && !pthread_create(&c->t[c->n], &a, fn, c))
		c->n++;
	pthread_attr_destroy(&a);
	while (__atomic_load_n(&c->ready, __ATOMIC_RELAXED) < c->n)
		usleep(1000);
	usleep(20000);		/* from "ready" into the wait itself */
	return 0;
}

static void crowd_stop(struct crowd *c)
{
	c->stop = 1;
	close(c->pipe[1]);	/* EOF wakes every reader */
	for (int i = 0; i < c->n; i++) {
		pthread_kill(c->t[i], SIGUSR1);
		pthread_join(c->t[i], NULL);
	}
	close(c->pipe[0]);
	free(c->t);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* p50 and worst of single calls, for about budget_ns (at most 2,000). */
static int single_calls(int cmd, uint64_t budget_ns, uint64_t *p50,
			uint64_t *worst, int *n)
{
	static uint64_t v[2000];
	uint64_t start = tool_now_ns();

	*n = 0;
	do {
		uint64_t t0 = tool_now_ns();

		if (membarrier(cmd, 0, 0))
			return -1;
		v[(*n)++] = tool_now_ns() - t0;
	} while (*n < 2000 && tool_now_ns() - start < budget_ns);
	qsort(v, (size_t)*n, sizeof(v[0]), cmp_u64);
	*p50 = v[*n / 2];
	*worst = v[*n - 1];
	return 0;
}

static void disturbance_rows(const char *label, uint64_t budget_ns)
{
	/* SIGUSR1 ends the sigwaiters; elsewhere it must do nothing. */
	signal(SIGUSR1, SIG_IGN);
	for (unsigned int r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct crowd c;

		if (crowd_start(&c, &rows[r]))
			continue;
		for (unsigned int k = 0; k < sizeof(row_cmds) / sizeof(row_cmds[0]); k++) {
			uint64_t p50, worst;
			int n;

			if (membarrier_backend_of(row_cmds[k]) == MEMBARRIER_BACKEND_NONE ||
			    single_calls(row_cmds[k], budget_ns, &p50, &worst, &n))
				continue;
			printf("bench=backends backend=%s row=%s threads=%d cmd=%s "
			       "calls=%d p50_ns=%llu worst_ns=%llu\n", label,
			       rows[r].name, c.n, membarrier_cmd_name(row_cmds[k]), n,
			       (unsigned long long)p50, (unsigned long long)worst);
			fflush(stdout);
		}
		crowd_stop(&c);
	}
}

/* In the child: every command, every crew, on this process's backend. */
static int rows_only;	/* --rows: only the disturbance rows */

static int child(const char *label, uint64_t budget_ns)
{
	static const int regs[] = {
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
		MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
	};
	double empty[5], light[5];

	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		membarrier(regs[i], 0, 0);
	if (rows_only) {
		disturbance_rows(label, budget_ns);
		return 0;
	}
	for (int k = 0; k < 5; k++) {
		empty[k] = loop_ns(0, 2000000);
		light[k] = loop_ns(1, 2000000);
	}
	printf("bench=backends backend=%s light_fence_ns=%.3f empty_loop_ns=%.3f "
	       "light_ratio=%.3f\n", label, bench_median(light, 5),
	       bench_median(empty, 5), bench_median(light, 5) / bench_median(empty, 5));
	for (unsigned int s = 0; s < sizeof(sleeping) / sizeof(sleeping[0]); s++)
		for (unsigned int p = 0; p < sizeof(spinning) / sizeof(spinning[0]); p++) {
			struct bench_crew crew;

			bench_crew_start(&crew, spinning[p], sleeping[s]);
			for (unsigned int c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
				unsigned long n;
				double ns;

				if (membarrier_backend_of(cmds[c]) == MEMBARRIER_BACKEND_NONE)
					continue;
				ns = bench_cost(cmds[c], budget_ns, &n);
				printf("bench=backends backend=%s cmd=%s spinning=%d "
				       "sleeping=%d calls=%lu ns_per_call=%.0f\n", label,
				       membarrier_cmd_name(cmds[c]), spinning[p],
				       sleeping[s], n, ns);
				fflush(stdout);
			}
			bench_crew_stop(&crew);
		}
	disturbance_rows(label, budget_ns);
	return 0;
}

/* ---- GLOBAL_EXPEDITED with many registered processes ---- */

/* Fork n registered children that sleep; their pids in pids[]. */
static int spawn_registered(pid_t *pids, int n)
{
	int p[2], made = 0;
	char c;

	if (pipe(p))
		return 0;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(p[0]);
			c = membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) ?
			    'n' : 'y';
			if (write(p[1], &c, 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		if (pids[i] < 0)
			break;
		if (read(p[0], &c, 1) == 1 && c == 'y')
			made++;
	}
	close(p[0]);
	close(p[1]);
	return made;
}

static void reap(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

static void global_row(const char *label, int registered, const char *state,
		       uint64_t budget_ns)
{
	unsigned long n;
	double ns = bench_cost(MEMBARRIER_CMD_GLOBAL_EXPEDITED, budget_ns, &n);

	printf("bench=backends-global backend=%s registered=%d state=%s calls=%lu "
	       "ns_per_call=%.0f\n", label, registered, state, n, ns);
	fflush(stdout);
}

static int global_child(const char *label, uint64_t budget_ns, int max)
{
	int sizes[] = { 1, 256, max }, have = 0;
	pid_t *pids = calloc((size_t)max + 1, sizeof(pid_t));

	if (!pids)
		return 1;
	if (strcmp(label, "kernel") && geteuid() == 0 &&
	    (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	     mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777,size=64m")))
		printf("bench=backends-global note=no-private-dev-shm\n");
	if (membarrier_backend_of(MEMBARRIER_CMD_GLOBAL_EXPEDITED) ==
	    MEMBARRIER_BACKEND_NONE)
		return 0;
	for (int s = 0; s < 3; s++) {
		uint64_t t0 = tool_now_ns();
		int got = spawn_registered(pids + have, sizes[s] - have);

		if (got < sizes[s] - have) {
			printf("bench=backends-global backend=%s note=only-%d-registered\n",
			       label, have + got);
			have += got;
			break;
		}
		printf("bench=backends-global backend=%s registered=%d "
		       "registration_ms=%.0f\n", label, sizes[s],
		       (double)(tool_now_ns() - t0) / 1e6);
		have = sizes[s];
		/* A new registry is walked for its first 1.25 s: let it age. */
		usleep(1400000);
		global_row(label, have, "sleeping", budget_ns);
		if (s == 0) {
			struct bench_crew crew;

			kill(pids[0], SIGSTOP);
			global_row(label, 1, "stopped", budget_ns);
			kill(pids[0], SIGCONT);
			bench_crew_start(&crew, 2, 0);
			global_row(label, 1, "sleeping+2-spinning-threads", budget_ns);
			bench_crew_stop(&crew);
		}
	}
	{
		struct bench_crew crew;

		bench_crew_start(&crew, 2, 0);
		global_row(label, have, "sleeping+2-spinning-threads", budget_ns);
		bench_crew_stop(&crew);
	}
	reap(pids, have);
	free(pids);
	return 0;
}

struct variant {
	const char *label, *backend, *tlb;
};

static const struct variant variants[] = {
	{ "kernel", "kernel", NULL },
	{ "emulated", "emulated", NULL },
	{ "emulated-walk", "emulated", "0" },
};

/* GLOBAL_EXPEDITED rows of one backend: registered, state, cost. */
struct grow {
	int registered;
	char state[48];
	double ns;
};

struct gtable {
	struct grow row[16];
	int n;
};

static void keep_global_row(struct gtable *t, const char *line)
{
	const char *r = strstr(line, " registered="), *s = strstr(line, " state="),
		   *c = strstr(line, " ns_per_call=");
	struct grow *g;

	if (!t || !r || !s || !c || t->n == 16)
		return;
	g = &t->row[t->n++];
	g->registered = atoi(r + 12);
	sscanf(s + 7, "%47s", g->state);
	g->ns = strtod(c + 13, NULL);
}

static double global_cost(const struct gtable *t, int registered, const char *state)
{
	for (int i = 0; i < t->n; i++)
		if (t->row[i].registered == registered && !strcmp(t->row[i].state, state))
			return t->row[i].ns;
	return -1;
}

/* Ratios: emulated against the kernel, and against 1 registered. */
static void global_summary(const struct gtable *k, const struct gtable *e)
{
	double one = global_cost(e, 1, "sleeping");

	for (int i = 0; i < e->n; i++) {
		const struct grow *g = &e->row[i];
		double kn = global_cost(k, g->registered, g->state);

		printf("bench=backends-global summary=1 registered=%d state=%s "
		       "kernel_ns=%.0f emulated_ns=%.0f ratio_to_kernel=%.1f "
		       "ratio_to_one_registered=%.2f\n", g->registered, g->state,
		       kn, g->ns, kn > 0 ? g->ns / kn : -1, one > 0 ? g->ns / one : -1);
	}
}

#define NR_VARIANTS (sizeof(variants) / sizeof(variants[0]))
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))
#define NR_ROW_CMDS (sizeof(row_cmds) / sizeof(row_cmds[0]))

/* p50 of each row and command, per variant (0: not measured). */
static double row_p50[NR_VARIANTS][NR_ROWS][NR_ROW_CMDS];

static const char *kv(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? p + strlen(key) : NULL;
}

static void keep_row(int v, const char *line)
{
	const char *row = kv(line, " row="), *cmd = kv(line, " cmd="),
		   *p50 = kv(line, " p50_ns=");

	if (!row || !cmd || !p50)
		return;
	for (unsigned int r = 0; r < NR_ROWS; r++)
		for (unsigned int k = 0; k < NR_ROW_CMDS; k++) {
			const char *rn = rows[r].name,
				   *cn = membarrier_cmd_name(row_cmds[k]);

			if (!strncmp(row, rn, strlen(rn)) && row[strlen(rn)] == ' ' &&
			    !strncmp(cmd, cn, strlen(cn)) && cmd[strlen(cn)] == ' ')
				row_p50[v][r][k] = strtod(p50, NULL);
		}
}

/* Each row against the kernel's, and the bounds the emulation keeps. */
static void row_summary(void)
{
	for (unsigned int v = 1; v < NR_VARIANTS; v++)
		for (unsigned int k = 0; k < NR_ROW_CMDS; k++) {
			double one = row_p50[v][0][k];

			for (unsigned int r = 0; r < NR_ROWS; r++) {
				double x = row_p50[v][r][k], kern = row_p50[0][r][k];

				if (x <= 0)
					continue;
				printf("bench=backends summary=row backend=%s row=%s cmd=%s "
				       "p50_ns=%.0f kernel_p50_ns=%.0f ratio_kernel=%.1f "
				       "ratio_sleep1=%.2f\n", variants[v].label,
				       rows[r].name, membarrier_cmd_name(row_cmds[k]), x,
				       kern, kern > 0 ? x / kern : -1,
				       one > 0 ? x / one : -1);
			}
		}
}

/* What run_variant() keeps of a child's lines. */
struct kept {
	int v;			/* the variant's index, for keep_row() */
	double *pe_spin1;
	struct gtable *t;
};

/* From a child's line: the PRIVATE_EXPEDITED cost with one spinner, and
 * the GLOBAL_EXPEDITED rows. */
static void keep_line(const char *line, void *arg)
{
	struct kept *k = arg;

	if (strstr(line, " cmd=PRIVATE_EXPEDITED spinning=1 sleeping=0 "))
		*k->pe_spin1 = strtod(strstr(line, "ns_per_call=") + 12, NULL);
	if (!strstr(line, "summary="))
		keep_global_row(k->t, line);
	keep_row(k->v, line);
}

/* Run one backend's child; keep its PRIVATE_EXPEDITED/1-spinner cost,
 * or (global_max set) its GLOBAL_EXPEDITED rows in *t. */
static int run_variant(const struct variant *v, const char *self, const char *ms,
		       double *pe_spin1, const char *global_max, struct gtable *t)
{
	char *argv[] = { (char *)self, "bench", "backends", "--child",
			 (char *)v->label, "--ms", (char *)ms, NULL, NULL, NULL };
	const char *env[] = { "MEMBARRIER_BACKEND", v->backend,
			      "MEMBARRIER_EMUL_TLB", v->tlb, NULL };
	struct kept k = { (int)(v - variants), pe_spin1, t };
	int status;

	if (rows_only)
		argv[7] = "--rows";
	if (global_max) {
		argv[3] = "--global-child";
		argv[7] = "--global-max";
		argv[8] = (char *)global_max;
	}
	*pe_spin1 = -1;
	status = bench_run_child(argv, env, keep_line, &k);
	return status >= 0 && WIFEXITED(status) && !WEXITSTATUS(status) ?
		0 : -1;
}

int bench_backends(int argc, char **argv)
{
	unsigned long ms = 60, global_max = 2000;
	const char *child_label = NULL, *global_label = NULL;
	int only_global = 0;
	double pe[3];
	char self[4096], msbuf[32];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (tool_opt_ulong(argc, argv, &i, "--ms", &ms))
			continue;
		if (tool_opt_ulong(argc, argv, &i, "--global-max", &global_max))
			continue;
		if (!strcmp(argv[i], "--only-global")) {
			only_global = 1;
			continue;
		}
		if (!strcmp(argv[i], "--rows")) {
			rows_only = 1;
			continue;
		}
		if ((v = tool_opt_value(argc, argv, &i, "--child"))) {
			child_label = v;
			continue;
		}
		tool_error("usage: membarrier bench backends [--ms N] [--rows] "
			   "[--global-max N] [--only-global]");
		return 2;
	}
	if (!ms) {
		tool_error("bench backends: --ms must be at least 1");
		return 2;
	}
	if (global_max < 257)
		global_max = 257;
	if (child_label)
		return child(child_label, (uint64_t)ms * 1000000u);
	if (global_label)
		return global_child(global_label, (uint64_t)ms * 1000000u,
				    (int)global_max);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	snprintf(msbuf, sizeof(msbuf), "%lu", ms);
	for (int v = 0; v < 3; v++)
		if (only_global ||
		    run_variant(&variants[v], self, msbuf, &pe[v], NULL, NULL))
			pe[v] = -1;
	if (pe[0] > 0 && pe[1] > 0)
		printf("bench=backends summary=1 cmd=PRIVATE_EXPEDITED spinning=1 "
		       "kernel_ns=%.0f emulated_ns=%.0f emulated_walk_ns=%.0f "
		       "ratio=%.2f ratio_walk=%.2f limit=5 pass=%s\n", pe[0], pe[1],
		       pe[2], pe[1] / pe[0], pe[2] > 0 ? pe[2] / pe[0] : -1,
		       pe[1] / pe[0] <= 5 ? "yes" : "no");
	else if (!only_global && !rows_only)
		printf("bench=backends summary=1 note=the-kernel-backend-is-unavailable-here\n");
	if (!rows_only) {
		static struct gtable gt[2];
		char maxbuf[32];
		double unused;

		snprintf(maxbuf, sizeof(maxbuf), "%lu", global_max);
		for (int v = 0; v < 2; v++)
			run_variant(&variants[v], self, msbuf, &unused, maxbuf, &gt[v]);
		global_summary(&gt[0], &gt[1]);
	}
	row_summary();
	return 0;
}
