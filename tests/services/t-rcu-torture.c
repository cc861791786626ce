// SPDX-License-Identifier: MIT
/*
 * RCU torture: readers check that nothing they dereference is ever
 * poisoned, freed or reused while they hold it; writers replace objects
 * and reclaim the old ones with synchronize + poison + free, or with
 * call_rcu, or both, with barriers now and then. Thread counts vary, and
 * so do critical sections (nested, spinning, yielding the CPU) and reader
 * registrations (threads unregister and register again). Under
 * AddressSanitizer (make check-asan) a use after free aborts on the spot.
 *
 * The checks can fail: the same workload with a synchronize that does not
 * wait for readers (only the heavy fence) is caught, in a child process
 * (this program again, with --broken).
 *
 * Each configuration runs RCU_TORTURE_SECONDS (default 0.3; make regtest
 * sets more), on the backend chosen here, then again in a child with
 * MEMBARRIER_BACKEND=emulated, and in a child inside a seccomp filter that
 * makes membarrier fail with ENOSYS (the emulated backend serves it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/fence.h>
#include <membarrier/rcu.h>
#include <membarrier/rcu_fence.h>

#include "lib/tap.h"
#include "services/rcu-flavors.h"
#include "tool.h"

#define MAGIC	UINT64_C(0x70a7c0de5eed1234)
#define POISON	UINT64_C(0xdeaddeaddeaddead)
#define NSLOTS	16

struct tobj {
	uint64_t magic;
	struct tobj *self;
	uint64_t gen;			/* unique: reuse shows as a change */
	struct mbrcu_head rcu;
};

/* The deliberately broken synchronize: a heavy fence, no wait. */
static void broken_sync(void)
{
	mbfence_heavy();
}

static const struct flavor mbrcu = FLAVOR_MBRCU;
static const struct flavor mbrcu_fence = FLAVOR_MBRCU_FENCE;

/* mbrcu with the broken synchronize: the control. */
static const struct flavor broken = {
	.name = "broken", .reg = mbrcu_register_thread,
	.unreg = mbrcu_unregister_thread, .lock = lock_default,
	.unlock = unlock_default, .sync = broken_sync, .call = mbrcu_call,
	.barrier = mbrcu_barrier,
};

enum reclaim { SYNC, CALL, MIXED };

struct config {
	const struct flavor *fl;
	int readers, writers;
	enum reclaim reclaim;
	int churn;			/* readers unregister, register again */
};

static const struct config configs[] = {
	{ &mbrcu, 1, 1, SYNC, 0 },
	{ &mbrcu, 4, 2, MIXED, 1 },
	{ &mbrcu, 8, 3, CALL, 0 },
	{ &mbrcu, 3, 4, MIXED, 1 },
	{ &mbrcu_fence, 2, 2, MIXED, 1 },
};

/* The configurations rerun on the other backends. */
static const struct config other_backends[] = {
	{ &mbrcu, 2, 1, SYNC, 0 },
	{ &mbrcu, 4, 2, MIXED, 1 },
};

struct run {
	const struct config *c;
	struct tobj *slots[NSLOTS];
	int stop;
	uint64_t gen;
	unsigned long errors, reads, writes;
	int stop_on_error;
};

struct worker {
	struct run *run;
	unsigned int seed;
	pthread_t tid;
};

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static int stopped(struct run *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

static void error(struct run *r)
{
	__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
	if (r->stop_on_error)
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
}

/* The object as a reader holds it: unpoisoned, itself, same generation. */
static int intact(struct tobj *p, uint64_t gen)
{
	return __atomic_load_n(&p->magic, __ATOMIC_RELAXED) == MAGIC &&
	       __atomic_load_n(&p->self, __ATOMIC_RELAXED) == p &&
	       __atomic_load_n(&p->gen, __ATOMIC_RELAXED) == gen;
}

static void read_one(struct run *r, unsigned int *seed)
{
	const struct flavor *fl = r->c->fl;
	struct tobj *p, *q;
	unsigned int spin = rnd(seed) % 64;
	uint64_t gen;

	fl->lock();
	p = mbrcu_dereference(r->slots[rnd(seed) % NSLOTS]);
	gen = __atomic_load_n(&p->gen, __ATOMIC_RELAXED);
	if (!intact(p, gen))
		error(r);
	if (rnd(seed) % 4 == 0) {		/* nested */
		fl->lock();
		q = mbrcu_dereference(r->slots[rnd(seed) % NSLOTS]);
		if (!intact(q, __atomic_load_n(&q->gen, __ATOMIC_RELAXED)))
			error(r);
		fl->unlock();
	}
	for (unsigned int i = 0; i < spin; i++)
		if (!intact(p, gen))
			error(r);
	if (rnd(seed) % 512 == 0)		/* a long critical section */
		sched_yield();
	if (!intact(p, gen))
		error(r);
	fl->unlock();
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	unsigned long n = 0;

	r->c->fl->reg();
	while (!stopped(r)) {
		read_one(r, &w->seed);
		if (r->c->churn && ++n % 4096 == 0) {
			r->c->fl->unreg();
			r->c->fl->reg();
		}
		__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
	}
	r->c->fl->unreg();
	return NULL;
}

static void poison_free(struct tobj *p)
{
	__atomic_store_n(&p->magic, POISON, __ATOMIC_RELAXED);
	__atomic_store_n(&p->self, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&p->gen, UINT64_MAX, __ATOMIC_RELAXED);
	free(p);
}

static void poison_free_cb(struct mbrcu_head *h)
{
	poison_free(mbrcu_container_of(h, struct tobj, rcu));
}

static struct tobj *new_obj(struct run *r)
{
	struct tobj *p = malloc(sizeof(*p));

	if (!p)
		abort();
	p->magic = MAGIC;
	p->self = p;
	p->gen = __atomic_add_fetch(&r->gen, 1, __ATOMIC_RELAXED);
	return p;
}

static void write_one(struct run *r, unsigned int *seed)
{
	const struct flavor *fl = r->c->fl;
	struct tobj *old = mbrcu_xchg_pointer(&r->slots[rnd(seed) % NSLOTS],
					      new_obj(r));
	enum reclaim how = r->c->reclaim;

	if (how == MIXED)
		how = rnd(seed) % 2 ? SYNC : CALL;
	if (how == SYNC) {
		fl->sync();
		poison_free(old);
	} else {
		fl->call(&old->rcu, poison_free_cb);
		if (rnd(seed) % 256 == 0)
			fl->barrier();
	}
}

static void *writer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	while (!stopped(r)) {
		write_one(r, &w->seed);
		__atomic_fetch_add(&r->writes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Run c for seconds: the number of errors readers saw. */
static unsigned long torture(const struct config *c, double seconds,
			     int stop_on_error, struct run *r)
{
	int nr = c->readers + c->writers;
	struct worker *w = calloc((size_t)nr, sizeof(*w));

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->stop_on_error = stop_on_error;
	if (!w)
		abort();
	for (int i = 0; i < NSLOTS; i++)
		r->slots[i] = new_obj(r);
	for (int i = 0; i < nr; i++) {
		w[i].run = r;
		w[i].seed = (unsigned int)i * 7919u + 1;
		if (pthread_create(&w[i].tid, NULL, i < c->readers ? reader :
				   writer, &w[i])) {
			printf("Bail out! pthread_create failed\n");
			exit(1);
		}
	}
	for (double t = 0; t < seconds && !stopped(r); t += 0.01)
		sleep_s(0.01);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr; i++)
		pthread_join(w[i].tid, NULL);
	c->fl->barrier();
	for (int i = 0; i < NSLOTS; i++)
		poison_free(r->slots[i]);
	free(w);
	return r->errors;
}

static const char *reclaim_name(enum reclaim how)
{
	return how == SYNC ? "synchronize" : how == CALL ? "call_rcu" :
	       "synchronize+call_rcu";
}

static int run_configs(const struct config *cs, size_t n, const char *where,
		       int tap)
{
	double secs = rcu_test_seconds();
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct config *c = &cs[i];
		struct run r;
		unsigned long errors = torture(c, secs, 0, &r);

		failed |= errors != 0;
		if (tap)
			tap_ok(!errors, "%s%s: %d readers, %d writers, %s%s, "
			       "%gs: %lu reads, %lu writes, %lu errors", where,
			       c->fl->name, c->readers, c->writers,
			       reclaim_name(c->reclaim),
			       c->churn ? ", re-registering" : "", secs,
			       r.reads, r.writes, errors);
		else
			printf("# %s%s %d/%d %s: %lu reads, %lu writes, %lu "
			       "errors\n", where, c->fl->name, c->readers,
			       c->writers, reclaim_name(c->reclaim), r.reads,
			       r.writes, errors);
	}
	return failed;
}

/*
 * Run argv (NULL-terminated) with MEMBARRIER_BACKEND=backend if set, its
 * stderr on /dev/null if quiet: its status. A new program, not a fork
 * that goes on: neither qemu-user nor ThreadSanitizer lets the child of
 * a threaded process start threads.
 */
static int spawn_wait(const char *const *argv, const char *backend,
		      int quiet)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = quiet ? open("/dev/null", O_WRONLY) : -1;

		if (null >= 0)
			dup2(null, STDERR_FILENO);
		if (backend)
			setenv("MEMBARRIER_BACKEND", backend, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return rcu_test_wait_child(pid);
}

/*
 * This program in its other-backend mode, in a child, behind prefix (a
 * sandbox command) if any: one TAP line for its configurations.
 */
static void run_other(const char *what, const char *sandbox, const char *backend)
{
	char dir[PATH_MAX], self[PATH_MAX + 32];
	const char *argv[8];
	int n = 0, status;

	if (tool_exe_dir(dir, sizeof(dir))) {
		tap_skip("/proc/self/exe unreadable", "%s", what);
		return;
	}
	snprintf(self, sizeof(self), "%s/t-rcu-torture", dir);
	if (sandbox) {
		argv[n++] = sandbox;
		argv[n++] = "--enosys";
		argv[n++] = "--";
	}
	argv[n++] = self;
	argv[n++] = "--other-backend";
	argv[n] = NULL;
	status = spawn_wait(argv, backend, 0);
	if (status == 77)
		tap_skip("the emulated backend does not serve PRIVATE_EXPEDITED "
			 "here", "%s", what);
	else
		tap_ok(status == 0, "%s (status %d)", what, status);
}

/* A child's mode: the configurations, on the emulated backend only. */
static int other_backend(void)
{
	int b = membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED);

	if (b != MEMBARRIER_BACKEND_EMULATED)
		return 77;
	alarm(600);
	return run_configs(other_backends, sizeof(other_backends) /
			   sizeof(other_backends[0]), "emulated: ", 0);
}

static void test_sandbox(void)
{
	static const char what[] = "torture inside a seccomp filter that makes "
				   "membarrier fail with ENOSYS";
	char dir[PATH_MAX], sandbox[PATH_MAX + 16];
	const char *probe[] = { sandbox, "--enosys", "--", "/bin/true", NULL };

	if (tool_exe_dir(dir, sizeof(dir))) {
		tap_skip("/proc/self/exe unreadable", "%s", what);
		return;
	}
	snprintf(sandbox, sizeof(sandbox), "%s/sandbox", dir);
	if (access(sandbox, X_OK) || spawn_wait(probe, NULL, 0)) {
		tap_skip("seccomp filters cannot be installed here", "%s", what);
		return;
	}
	run_other(what, sandbox, NULL);
}

/*
 * The broken synchronize, in a child running this program with --broken
 * (its sanitizer reports go to /dev/null): it exits CAUGHT when a
 * reader's checks see the broken synchronize, 0 when nothing is seen
 * within the time given; AddressSanitizer ends it at the first use after
 * free (status 1), ThreadSanitizer at exit once it reported the race
 * between a reader and the free (status 66).
 */
#define CAUGHT 3

static int broken_mode(void)
{
	static const struct config c = { &broken, 4, 2, SYNC, 0 };
	struct run r;

	alarm(60);
	return torture(&c, 5, 1, &r) ? CAUGHT : 0;
}

static void test_broken(void)
{
	static const char what[] = "the checks catch a synchronize that does "
				   "not wait for readers";
	char dir[PATH_MAX], self[PATH_MAX + 32];
	const char *argv[] = { self, "--broken", NULL };
	int status;

	if (tool_exe_dir(dir, sizeof(dir))) {
		tap_skip("/proc/self/exe unreadable", "%s", what);
		return;
	}
	snprintf(self, sizeof(self), "%s/t-rcu-torture", dir);
	status = spawn_wait(argv, NULL, 1);
	tap_ok(status != 0 && status != 127 && status != 128 + SIGALRM,
	       "%s (child status %d: %s)", what, status, status == CAUGHT ?
	       "a reader saw poison or reuse" : status == 127 ? "could not "
	       "run" : status == 128 + SIGALRM ? "timed out" : status ?
	       "ended by a sanitizer's report, or a fault" : "not caught");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--other-backend"))
		return other_backend();
	if (argc > 1 && !strcmp(argv[1], "--broken"))
		return broken_mode();
	if (membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
	    MEMBARRIER_BACKEND_NONE)
		tap_skip_all("no backend serves PRIVATE_EXPEDITED here");
	signal(SIGALRM, rcu_test_timeout);
	alarm((unsigned int)(120 + 40 * rcu_test_seconds()));
	tap_diag("backend: %s", membarrier_backend_name(membarrier_backend_of(
		MEMBARRIER_CMD_PRIVATE_EXPEDITED)));
	run_configs(configs, sizeof(configs) / sizeof(configs[0]), "", 1);
	run_other("torture on MEMBARRIER_BACKEND=emulated", NULL, "emulated");
	test_sandbox();
	test_broken();
	return tap_done();
}
