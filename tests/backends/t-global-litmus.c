// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED orders another process: store buffering across two
 * processes, in a private /dev/shm (t-global.h), on each path a caller
 * takes:
 *
 *   caller (CPU0, process A)     target (CPU1, registered process B)
 *   x = 1                        y = 1
 *   F0                           barrier()
 *   r0 = y                       r1 = x
 *
 *   forbidden: r0 == 0 && r1 == 0
 *
 * F0 = membarrier(GLOBAL_EXPEDITED) must never show it; F0 = barrier()
 * (the control, same run, same harness) must, so the test can see what
 * it rules out. Paths: (1) few registered processes, each asked for a
 * round of its own; (2) the same while B is stopped and resumed at
 * random (SIGSTOP/SIGCONT from a third process): a stopped B is not
 * waited for, and must still be ordered when it resumes; (3) a caller
 * that cannot move between CPUs (sched_setaffinity refused by a seccomp
 * filter) with more registered processes than are asked one by one:
 * walkers walk the CPUs for it.
 *
 * The target's accesses are spread over the caller's by a random delay
 * on each side, twice the fence's cost on B's side.
 */
#include <sched.h>

#include "backends/t-global.h"

#define ITER (getenv("T_LITMUS_ITER") ? atoi(getenv("T_LITMUS_ITER")) : 4000)

struct shared {
	_Alignas(64) volatile int x;
	_Alignas(64) volatile int y;
	_Alignas(64) uint32_t go;	/* iteration number, published by A */
	uint32_t delay_b;	/* spin count before B's accesses */
	_Alignas(64) uint32_t ack;	/* iteration B finished */
	int r1;
};

static struct shared *sh;

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void spin(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

static void target(void)
{
	pin(1);
	for (uint32_t i = 1;; i++) {
		while (__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) != i)
			;
		spin(__atomic_load_n(&sh->delay_b, __ATOMIC_RELAXED) *
		     (uint32_t)(random() % 16) / 8);
		sh->y = 1;
		__asm__ __volatile__("" ::: "memory");
		sh->r1 = sh->x;
		__atomic_store_n(&sh->ack, i, __ATOMIC_RELEASE);
	}
}

static uint32_t calibrate(void)
{
	uint64_t t = tg_now_ns();
	uint32_t n = 0;

	for (int i = 0; i < 50; i++)
		membarrier(GE, 0, 0);
	t = (tg_now_ns() - t) / 50;
	/* spins per fence, roughly: 1 spin ~ 1 ns */
	n = t > 200000 ? 200000 : (uint32_t)t;
	return n < 100 ? 100 : n;
}

/* One run in the caller process: forbidden outcomes seen, in n runs or
 * until enough are (a control searches, it never retries). */
static int run(int fence, uint32_t base, int n, int enough, int *runs)
{
	static uint32_t i;	/* the target counts on across runs */
	int forbidden = 0, k;

	for (k = 0; k < n && forbidden < enough; k++) {
		int r0;

		i++;
		sh->x = 0;
		sh->y = 0;
		__atomic_store_n(&sh->go, i, __ATOMIC_RELEASE);
		spin(base * (uint32_t)(random() % 8) / 8);
		sh->x = 1;
		if (fence)
			membarrier(GE, 0, 0);
		else
			__asm__ __volatile__("" ::: "memory");
		r0 = sh->y;
		while (__atomic_load_n(&sh->ack, __ATOMIC_ACQUIRE) != i)
			;
		forbidden += r0 == 0 && sh->r1 == 0;
	}
	*runs = k;
	return forbidden;
}

/* In the caller process (a child): control then membarrier, reported
 * through fd: the forbidden outcomes of each, the runs the control took,
 * the milliseconds each took. */
static void caller(int fd, int no_affinity)
{
	int n[5], runs;
	uint64_t t0;
	uint32_t base;

	pin(0);
	if (no_affinity && tg_no_affinity())
		_exit(3);
	base = calibrate();
	/* The control: accesses close together on both sides (B starts a
	 * cache miss after A's go). */
	__atomic_store_n(&sh->delay_b, 128, __ATOMIC_RELAXED);
	t0 = tg_now_ns();
	n[0] = run(0, 512, 50 * ITER, 5, &n[2]);
	n[3] = (int)((tg_now_ns() - t0) / 1000000);
	/* membarrier: B's accesses spread over twice the fence's cost. */
	__atomic_store_n(&sh->delay_b, base * 2, __ATOMIC_RELAXED);
	t0 = tg_now_ns();
	n[1] = run(1, base / 4 + 1, ITER, ITER, &runs);
	n[4] = (int)((tg_now_ns() - t0) / 1000000);
	if (write(fd, n, sizeof(n)) != sizeof(n))
		_exit(1);
	_exit(0);
}

static pid_t stopper(pid_t b)
{
	pid_t s = tg_fork();

	if (s == 0) {
		for (;;) {
			usleep(1000 + (unsigned int)(random() % 4000));
			kill(b, SIGSTOP);
			usleep((unsigned int)(random() % 2000));
			kill(b, SIGCONT);
		}
	}
	return s;
}

static void one(const char *what, int stopped, int extra, int no_affinity)
{
	static pid_t more[20];
	int p[2], n[5] = { -1, -1, -1, -1, -1 }, status;
	pid_t b, a, s = -1;

	memset((void *)sh, 0, sizeof(*sh));
	b = tg_start(target);
	for (int i = 0; i < extra; i++)
		more[i] = tg_start(NULL);
	tg_age_registry();
	if (stopped)
		s = stopper(b);
	if (pipe(p))
		return;
	a = tg_fork();
	if (a == 0)
		caller(p[1], no_affinity);
	close(p[1]);
	if (read(p[0], n, sizeof(n)) != sizeof(n))
		n[0] = n[1] = n[2] = n[3] = n[4] = -1;
	close(p[0]);
	waitpid(a, &status, 0);
	tg_kill(s);
	if (stopped)
		kill(b, SIGCONT);
	tg_kill(b);
	for (int i = 0; i < extra; i++)
		tg_kill(more[i]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		tap_skip("no seccomp filter here", "%s", what);
		tap_skip("no seccomp filter here", "%s: control", what);
		return;
	}
	tap_ok(n[1] == 0, "%s: membarrier, %d forbidden outcomes in %d (%d ms)",
	       what, n[1], ITER, n[4]);
	tap_ok(n[0] > 0, "%s: control (barrier) shows the reordering (%d seen "
	       "in %d runs, %d at most; %d ms)", what, n[0], n[2], 50 * ITER, n[3]);
}

int main(int argc, char **argv)
{
	(void)argc;
	tg_private_shm(argv, "mode=1777,size=16m");
	if (membarrier_backend_of(GE) != MEMBARRIER_BACKEND_EMULATED)
		tap_skip_all("GLOBAL_EXPEDITED is not emulated here");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tap_skip_all("one CPU: nothing runs beside the caller");
	if (tap_qemu_user())
		tap_skip_all("qemu-user: no cross-process TLB shootdown or walk to test");
	/* A hang fails the test. Loaded (load average 30 on 2 CPUs) a run
	 * took 270 s, one over 600: each GLOBAL_EXPEDITED waits for the
	 * target's agent to be scheduled, 12 ms a call, 45 ms while the
	 * target is stopped and resumed. */
	alarm(1200);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	one("few registered: a round per process", 0, 0, 0);
	one("the target stopped and resumed at random", 1, 0, 0);
	one("a caller that cannot move, 17 more registered: walkers", 0, 17, 1);
	return tap_done();
}
