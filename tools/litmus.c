// SPDX-License-Identifier: MIT
/*
 * membarrier litmus: the ordering table, tested on this machine.
 *
 * Two threads on two CPUs run a litmus test many times. One, the caller,
 * issues a fence F0; the other, the target, a fence F1. The kernel's
 * comment in kernel/sched/membarrier.c draws two scenarios; both are
 * posed here in shapes whose forbidden outcome x86-TSO (and arm64) can
 * produce when the fences are mere compiler barriers, so that every run
 * shows the test would see the violation it rules out.
 *
 * Scenario A, store buffering (the caller stores before the call; the
 * target's accesses after the IPI must see it):
 *
 *   caller (CPU0)           target (CPU1)
 *   x = 1                   y = 1
 *   F0                      F1
 *   r0 = y                  r1 = x
 *
 *   forbidden: r0 == 0 && r1 == 0
 *
 * Scenario B, the "R" shape (the target stores before the IPI; the
 * caller's loads after the call must see it):
 *
 *   caller (CPU0)           target (CPU1)
 *   y = 2                   x = 1
 *   F0                      F1
 *   r0 = x                  y = 1
 *
 *   forbidden: y == 2 (finally) && r0 == 0
 *
 * In B, y == 2 means the target's store to y was ordered before the
 * caller's; then the target's earlier x = 1 must be visible to the
 * caller's load after F0. With F0 = membarrier() and F1 = barrier() both
 * outcomes are forbidden; with barrier() on both sides both are allowed
 * and observable (the control).
 *
 * --callers N: N - 1 more threads of the caller's process call the
 * same membarrier command in a loop throughout, so that the caller's
 * calls share barriers with theirs (src/core/share.c): a shared barrier
 * must give the caller the same guarantee as its own.
 *
 * The control is sized by outcomes: it runs until it has seen K
 * forbidden outcomes (--control-forbidden, default 1), or --control-max
 * rounds (default 100 times --iterations), or --control-seconds (default
 * 60), and the ordered cells of the same scenario then run for at least
 * as many rounds as the control took: the run first shows how many
 * rounds the test needs to see the violation, then gives the fence under
 * test at least that many. A fixed count cannot do: the rate varies by
 * orders of magnitude between runs of the same machine. On this 2-vCPU
 * guest, scenario B's control needed 1 to 512 rounds in 243 of 250 runs
 * and 1,008 to 76,450 in the other 7, whose outcomes alternate between
 * one side wholly first and the other (the steering below works, the
 * overlap window has all but closed: the two vCPUs' placement on the
 * host, presumably); 5,000 fixed rounds saw nothing in 1 of 10 runs.
 * --control-forbidden 0 gives every cell, the control included,
 * --iterations rounds. A control that saw nothing makes the run
 * inconclusive (exit status 4), not failed: it proves nothing either way.
 *
 * Timing: a start gate per round. The caller publishes the round; the
 * target, once it sees it, says it has arrived; only then does the
 * caller publish a start time (mbi_arch_cycles()) a little ahead, so
 * that both threads are running when it comes, even when the machine is
 * loaded and either may have been descheduled before the gate. Both spin
 * to it, then each waits a random extra delay; the caller's delay has an
 * offset that the rounds steer: later after a round in which the caller
 * ran wholly before the target, earlier after the reverse, so that the
 * two sides keep overlapping whatever the machine's timing skew. The target's delay spans twice the caller's fence
 * cost, so that its accesses land before, during and after the call.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "arch/arch.h"

#include "cpus.h"
#include "tool.h"

enum fence { FENCE_BARRIER, FENCE_MB, FENCE_MEMBARRIER, NR_FENCES };

static const char *const fence_names[NR_FENCES] = {
	"barrier", "smp_mb", "membarrier",
};

/* What FENCE_MEMBARRIER issues, and the registration it needs. */
static const struct litmus_cmd {
	const char *name;
	int cmd, register_cmd;
	int other_process;	/* the target is another, registered process */
} litmus_cmds[] = {
	{ "private", MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0 },
	{ "sync-core", MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
	  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0 },
	{ "rseq", MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0 },
	{ "global-expedited", MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	  MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 1 },
	{ "global", MEMBARRIER_CMD_GLOBAL, 0, 1 },
};

static const struct litmus_cmd *litmus_cmd = &litmus_cmds[0];

/* Each variable on its own cache line. */
struct litmus_mem {
	_Alignas(64) int x;
	_Alignas(64) int y;
	_Alignas(64) int r0;
	_Alignas(64) int r1;
	_Alignas(64) unsigned long round;	/* caller -> target */
	_Alignas(64) unsigned long arrived;	/* target -> caller: at the gate */
	_Alignas(64) unsigned long go;		/* caller -> target: start set */
	unsigned long long start;		/* cycles, for this round */
	_Alignas(64) unsigned long done;	/* target -> caller */
	_Alignas(64) int error;			/* a fence failed: errno */
	int ready;				/* the target process is set up */
};

struct litmus_shape {
	const char *name;
	const char *shape;
	void (*caller)(struct litmus_mem *m, enum fence f);
	void (*target)(struct litmus_mem *m, enum fence f);
	int (*outcome)(const struct litmus_mem *m);	/* 0..3 */
	int forbidden;					/* outcome index */
	int caller_first, target_first;	/* outcomes: one side ran wholly first */
	const char *outcome_names[4];
};

struct litmus_cell {
	const struct litmus_shape *shape;
	enum fence caller_fence, target_fence;
	unsigned long iterations;	/* rounds at most; then rounds run */
	unsigned long until;		/* stop at this many forbidden (0: never) */
	uint64_t deadline_ns;		/* with until: stop then (tool_now_ns) */
	unsigned long long caller_jitter, target_jitter;	/* cycles */
	struct litmus_mem *mem;
	unsigned long counts[4];
	int cpus[2];
	int block_signal;	/* the target blocks the emulation's signal */
};

static void fence(struct litmus_mem *m, enum fence f)
{
	switch (f) {
	case FENCE_BARRIER:
		membarrier_compiler_barrier();
		break;
	case FENCE_MB:
		/* The fence under test: pairs with the other side's fence. */
		membarrier_arch_mb();
		break;
	case FENCE_MEMBARRIER:
		if (membarrier(litmus_cmd->cmd, 0, 0))
			MEMBARRIER_STORE_SHARED(m->error, errno);
		break;
	default:
		break;
	}
}

/* A store, the fence, a load: both sides of A, and B's caller. */
static void store_fence_load(struct litmus_mem *m, enum fence f, int *a,
			     int v, int *b, int *r)
{
	MEMBARRIER_STORE_SHARED(*a, v);
	fence(m, f);
	*r = MEMBARRIER_LOAD_SHARED(*b);
}

static void sb_caller(struct litmus_mem *m, enum fence f)
{
	store_fence_load(m, f, &m->x, 1, &m->y, &m->r0);
}

static void sb_target(struct litmus_mem *m, enum fence f)
{
	store_fence_load(m, f, &m->y, 1, &m->x, &m->r1);
}

static int sb_outcome(const struct litmus_mem *m)
{
	return m->r0 << 1 | m->r1;
}

static void r_caller(struct litmus_mem *m, enum fence f)
{
	store_fence_load(m, f, &m->y, 2, &m->x, &m->r0);
}

static void r_target(struct litmus_mem *m, enum fence f)
{
	MEMBARRIER_STORE_SHARED(m->x, 1);
	fence(m, f);
	MEMBARRIER_STORE_SHARED(m->y, 1);
}

static int r_outcome(const struct litmus_mem *m)
{
	return (m->y == 2) << 1 | m->r0;
}

static const struct litmus_shape shapes[] = {
	{ "A", "SB", sb_caller, sb_target, sb_outcome, 0, 1, 2,
	  { "r0=0,r1=0", "r0=0,r1=1", "r0=1,r1=0", "r0=1,r1=1" } },
	{ "B", "R", r_caller, r_target, r_outcome, 2, 0, 3,
	  { "y=1,r0=0", "y=1,r0=1", "y=2,r0=0", "y=2,r0=1" } },
};

#define NR_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* The caller's last round value: no more rounds. */
#define LITMUS_END	(~0ul)

static void *target_thread(void *arg)
{
	struct litmus_cell *c = arg;
	struct litmus_mem *m = c->mem;
	unsigned long long seed = 0x9e3779b97f4a7c15ull;

	cpus_pin_self(c->cpus[1]);
	if (c->block_signal && membarrier_emulation_signal()) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, membarrier_emulation_signal());
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	for (unsigned long n = 1;; n++) {
		unsigned long r;

		/* Acquire pairs with the caller's release of round n (or
		 * of the end). */
		while ((r = __atomic_load_n(&m->round, __ATOMIC_ACQUIRE)) != n &&
		       r != LITMUS_END)
			membarrier_arch_relax();
		if (r == LITMUS_END)
			break;
		/* Release pairs with the caller's acquire of arrived. */
		__atomic_store_n(&m->arrived, n, __ATOMIC_RELEASE);
		/* Acquire pairs with the caller's release of go: start. */
		while (__atomic_load_n(&m->go, __ATOMIC_ACQUIRE) != n)
			membarrier_arch_relax();
		cpus_spin_until(m->start +
				cpus_xorshift(&seed) % c->target_jitter);
		c->shape->target(m, c->target_fence);
		/* Release pairs with the caller's acquire of done. */
		__atomic_store_n(&m->done, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Time the caller's fence, in cycles (median of a few). */
static unsigned long long fence_cost(struct litmus_mem *m, enum fence f)
{
	unsigned long long best = ~0ull;

	for (int i = 0; i < 64; i++) {
		unsigned long long t = mbi_arch_cycles();

		fence(m, f);
		t = mbi_arch_cycles() - t;
		if (t < best)
			best = t;
	}
	return best;
}

/* Head start for the target, spinning at the gate, to see the start. */
#define LITMUS_LEAD_CYCLES	4000ull
#define LITMUS_BASE_JITTER	256ull
/* The caller's offset: its step per round and its bound, in cycles. */
#define LITMUS_OFFSET_STEP	32ll
#define LITMUS_OFFSET_MAX	100000ll

/*
 * The target side: a thread of this process, or, for the commands that
 * reach other processes, a child process registered for them, sharing
 * the litmus memory (MAP_SHARED).
 */
struct litmus_target {
	pthread_t thread;
	pid_t pid;
};

static int target_start(struct litmus_cell *c, struct litmus_target *t)
{
	if (!litmus_cmd->other_process)
		return pthread_create(&t->thread, NULL, target_thread, c) ? -EAGAIN : 0;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		if (litmus_cmd->register_cmd &&
		    membarrier(litmus_cmd->register_cmd, 0, 0))
			_exit(2);
		/* Release: registered before the parent, acquiring ready,
		 * starts the rounds. */
		__atomic_store_n(&c->mem->ready, 1, __ATOMIC_RELEASE);
		target_thread(c);
		_exit(0);
	}
	/* Acquire pairs with the child's release of ready. */
	while (!__atomic_load_n(&c->mem->ready, __ATOMIC_ACQUIRE)) {
		int status;

		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			return -EPERM;	/* the child could not register */
		usleep(100);
	}
	return 0;
}

static void target_join(struct litmus_target *t)
{
	if (!litmus_cmd->other_process)
		pthread_join(t->thread, NULL);
	else
		waitpid(t->pid, NULL, 0);
}

static int run_cell(struct litmus_cell *c)
{
	struct litmus_mem *m = c->mem;
	unsigned long long seed = 0x2545f4914f6cdd1dull;
	struct litmus_target t;
	long long offset = 0;
	int ret, o;

	memset(m, 0, sizeof(*m));
	memset(c->counts, 0, sizeof(c->counts));
	c->caller_jitter = LITMUS_BASE_JITTER;
	c->target_jitter = LITMUS_BASE_JITTER + 2 * fence_cost(m, c->caller_fence);
	if (m->error)
		return -m->error;
	ret = target_start(c, &t);
	if (ret)
		return ret;
	cpus_pin_self(c->cpus[0]);
	for (unsigned long n = 1; n <= c->iterations; n++) {
		m->x = 0;
		m->y = 0;
		m->r0 = 0;
		m->r1 = 0;
		/* Release: the reset above is visible before round n starts. */
		__atomic_store_n(&m->round, n, __ATOMIC_RELEASE);
		/* Acquire pairs with the target's release of arrived. */
		while (__atomic_load_n(&m->arrived, __ATOMIC_ACQUIRE) != n)
			membarrier_arch_relax();
		m->start = mbi_arch_cycles() + LITMUS_LEAD_CYCLES;
		/* Release: the start time is visible before go. */
		__atomic_store_n(&m->go, n, __ATOMIC_RELEASE);
		cpus_spin_until(m->start + offset +
				cpus_xorshift(&seed) % c->caller_jitter);
		c->shape->caller(m, c->caller_fence);
		/* Acquire pairs with the target's release: its results. */
		while (__atomic_load_n(&m->done, __ATOMIC_ACQUIRE) != n)
			membarrier_arch_relax();
		o = c->shape->outcome(m);
		c->counts[o]++;
		if (o == c->shape->caller_first && offset < LITMUS_OFFSET_MAX)
			offset += LITMUS_OFFSET_STEP;
		else if (o == c->shape->target_first &&
			 offset > -(long long)LITMUS_LEAD_CYCLES / 2)
			offset -= LITMUS_OFFSET_STEP;
		if (c->until && (c->counts[c->shape->forbidden] >= c->until ||
				 (n % 1024 == 0 && tool_now_ns() > c->deadline_ns))) {
			c->iterations = n;
			break;
		}
	}
	/* Release, as for a round: the target sees the end and exits. */
	__atomic_store_n(&m->round, LITMUS_END, __ATOMIC_RELEASE);
	target_join(&t);
	return m->error ? -m->error : 0;
}

/* The table's verdict for a pair: ordered iff one side is membarrier() or
 * both are smp_mb(). */
static int ordered(enum fence a, enum fence b)
{
	return a == FENCE_MEMBARRIER || b == FENCE_MEMBARRIER ||
	       (a == FENCE_MB && b == FENCE_MB);
}

static void report(const struct litmus_cell *c, const char *verdict)
{
	const struct litmus_shape *s = c->shape;

	printf("scenario=%s shape=%s caller=%s target=%s iterations=%lu "
	       "forbidden=%lu", s->name, s->shape,
	       fence_names[c->caller_fence], fence_names[c->target_fence],
	       c->iterations, c->counts[s->forbidden]);
	for (int o = 0; o < 4; o++)
		printf(" [%s]=%lu", s->outcome_names[o], c->counts[o]);
	printf(" expect=%s result=%s\n",
	       ordered(c->caller_fence, c->target_fence) ? "none" : "some",
	       verdict);
}

/* The worse of two of check_cell()'s verdicts (exit statuses, tool.h). */
static int litmus_worse(int a, int b)
{
	static const int rank[] = { [0] = 0, [TOOL_LITMUS_INCONCLUSIVE] = 1,
				    [TOOL_LITMUS_REORDERED] = 2,
				    [TOOL_LITMUS_ERROR] = 3 };

	return rank[a] > rank[b] ? a : b;
}

/*
 * One cell of the table. Ordered cells must show no forbidden outcome.
 * The control (barrier/barrier) must show one: else the run proves
 * nothing. Other unordered cells are reported; the hardware may or may
 * not exhibit them (x86-TSO forbids B with smp_mb() on the caller).
 */
static int check_cell(struct litmus_cell *c)
{
	int is_ordered = ordered(c->caller_fence, c->target_fence);
	int control = c->caller_fence == FENCE_BARRIER &&
		      c->target_fence == FENCE_BARRIER;
	unsigned long seen;
	int ret = run_cell(c);

	if (ret) {
		tool_error("litmus %s: fence failed: %s", c->shape->name,
			   strerror(-ret));
		return TOOL_LITMUS_ERROR;
	}
	seen = c->counts[c->shape->forbidden];
	if (is_ordered && seen) {
		report(c, "FAIL-reordered");
		return TOOL_LITMUS_REORDERED;
	}
	if (control && !seen) {
		report(c, "inconclusive-control-saw-nothing");
		return TOOL_LITMUS_INCONCLUSIVE;
	}
	report(c, is_ordered ? "ok" : seen ? "ok-seen" : "ok-not-seen");
	return 0;
}

/* --callers: the other callers of the command, until stopped. */
#define MAX_CALLERS 16

static struct {
	pthread_t t[MAX_CALLERS];
	int n, stop;
} others;

static void *other_caller(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&others.stop, __ATOMIC_RELAXED))
		membarrier(litmus_cmd->cmd, 0, 0);
	return NULL;
}

static void others_start(unsigned long callers)
{
	for (unsigned long i = 1; i < callers && others.n < MAX_CALLERS; i++)
		if (!pthread_create(&others.t[others.n], NULL, other_caller,
				    NULL))
			others.n++;
}

static void others_stop(void)
{
	__atomic_store_n(&others.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < others.n; i++)
		pthread_join(others.t[i], NULL);
}

static int pick_cmd(const char *name)
{
	for (unsigned int i = 0; i < sizeof(litmus_cmds) / sizeof(litmus_cmds[0]); i++)
		if (!strcmp(name, litmus_cmds[i].name)) {
			litmus_cmd = &litmus_cmds[i];
			return 0;
		}
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: membarrier litmus [--iterations N] "
		"[--scenario A|B|all] [--table]\n"
		"         [--cmd private|sync-core|rseq|global-expedited|global] "
		"[--target-blocks-signal]\n"
		"         [--callers N] (N concurrent callers, 1..%d)\n"
		"         [--control-forbidden K] [--control-max N] "
		"[--control-seconds S]\n",
		MAX_CALLERS);
	return 2;
}

int tool_litmus(int argc, char **argv)
{
	struct litmus_mem *mem;
	unsigned long iterations = 200000, callers = 1;
	unsigned long control_forbidden = 1, control_max = 0;
	unsigned long control_seconds = 60;
	const char *scenario = "all";
	int table = 0, worst = 0, block_signal = 0;
	struct litmus_cell c;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (tool_opt_ulong(argc, argv, &i, "--iterations", &iterations) ||
		    tool_opt_ulong(argc, argv, &i, "--callers", &callers) ||
		    tool_opt_ulong(argc, argv, &i, "--control-forbidden",
				   &control_forbidden) ||
		    tool_opt_ulong(argc, argv, &i, "--control-max", &control_max) ||
		    tool_opt_ulong(argc, argv, &i, "--control-seconds",
				   &control_seconds))
			continue;
		if ((v = tool_opt_value(argc, argv, &i, "--scenario")))
			scenario = v;
		else if ((v = tool_opt_value(argc, argv, &i, "--cmd"))) {
			if (pick_cmd(v))
				return usage();
		} else if (!strcmp(argv[i], "--table"))
			table = 1;
		else if (!strcmp(argv[i], "--target-blocks-signal"))
			block_signal = 1;
		else
			return usage();
	}
	if (!control_max)
		control_max = iterations > ~0ul / 100 ? ~0ul : 100 * iterations;
	if (iterations == 0 || callers == 0 || callers > MAX_CALLERS ||
	    control_seconds == 0 || control_seconds > 86400 ||
	    (strcmp(scenario, "all") &&
				strcmp(scenario, "A") && strcmp(scenario, "B")))
		return usage();
	memset(&c, 0, sizeof(c));
	if (cpus_pick_two(c.cpus)) {
		tool_error("litmus needs two CPUs to run on; this process may "
			   "use fewer");
		return TOOL_LITMUS_NO_CPUS;
	}
	if (!litmus_cmd->other_process && membarrier(litmus_cmd->register_cmd, 0, 0)) {
		tool_error("%s failed: %s",
			   membarrier_cmd_name(litmus_cmd->register_cmd),
			   strerror(errno));
		return 2;
	}
	mem = mmap(NULL, sizeof(*mem), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	c.mem = mem;
	c.block_signal = block_signal;
	printf("cpus=%d,%d cmd=%s backend=%s target=%s callers=%lu%s\n",
	       c.cpus[0], c.cpus[1], membarrier_cmd_name(litmus_cmd->cmd),
	       membarrier_backend_name(membarrier_backend_of(litmus_cmd->cmd)),
	       litmus_cmd->other_process ? "another-process" : "thread",
	       callers, block_signal ? " target-blocks-signal=1" : "");
	others_start(callers);
	for (unsigned int s = 0; s < NR_SHAPES; s++) {
		if (strcmp(scenario, "all") && strcmp(scenario, shapes[s].name))
			continue;
		/* Rounds the ordered cells run: set by the control. */
		unsigned long ordered_rounds = iterations;

		c.shape = &shapes[s];
		for (int f0 = 0; f0 < NR_FENCES; f0++)
			for (int f1 = 0; f1 < NR_FENCES; f1++) {
				int ret;

				/* Default: the control and the table's
				 * membarrier()/barrier() cell. */
				if (!table && f1 != FENCE_BARRIER)
					continue;
				if (!table && f0 == FENCE_MB)
					continue;
				c.caller_fence = f0;
				c.target_fence = f1;
				c.iterations = iterations;
				c.until = 0;
				if (f0 == FENCE_BARRIER && f1 == FENCE_BARRIER &&
				    control_forbidden) {
					c.iterations = control_max;
					c.until = control_forbidden;
					c.deadline_ns = tool_now_ns() +
						control_seconds * 1000000000ull;
				} else if (ordered(f0, f1))
					c.iterations = ordered_rounds;
				ret = check_cell(&c);
				/* The control runs first (f0 = f1 = barrier). */
				if (c.until && c.iterations > ordered_rounds)
					ordered_rounds = c.iterations;
				worst = litmus_worse(worst, ret);
				fflush(stdout);
			}
	}
	others_stop();
	return worst;
}
