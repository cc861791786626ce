// SPDX-License-Identifier: MIT
/*
 * bench concurrent: N threads calling membarrier(PRIVATE_EXPEDITED) at
 * once, through the library (which shares barriers among concurrent
 * callers, src/core/share.c) against the raw system call (which queues
 * them behind the kernel's mutex, one round of IPIs each).
 *
 * For N = 1, 2, 4, 8 callers: calls completed (returned) per second,
 * each way, in rounds that alternate the two; ratio is the median of
 * the per-round ratios library / raw. Targets: ratio >= 0.97 with one
 * caller (sharing costs nothing alone), >= 3 with eight.
 *
 * load1 is the 1-minute load average as the line is printed: on a
 * loaded machine the ratios say little, since the raw call's barrier
 * skips the CPUs that run other processes' threads (no IPI there), and
 * the callers seldom run at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "tool.h"
#include "bench.h"

#define MAX_CALLERS	8
#define ROUNDS_MAX	15

struct run {
	int use_lib;
	int stop, go;
	_Alignas(64) unsigned long calls[MAX_CALLERS][8];	/* a line each */
	int failed;
};

struct caller {
	struct run *run;
	int i;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	struct run *r = c->run;
	unsigned long n = 0;

	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		membarrier_arch_relax();
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		long ret = r->use_lib ?
			membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) :
			syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED,
				0, 0);

		if (ret) {
			__atomic_store_n(&r->failed, errno, __ATOMIC_RELAXED);
			break;
		}
		n++;
	}
	r->calls[c->i][0] = n;
	return NULL;
}

/* Calls completed per second by n callers for budget_ns; -1 on failure. */
static double rate(int n, int use_lib, uint64_t budget_ns)
{
	static struct run r;
	struct caller c[MAX_CALLERS];
	pthread_t t[MAX_CALLERS];
	unsigned long total = 0;
	uint64_t t0, t1;
	int started = 0;

	memset(&r, 0, sizeof(r));
	r.use_lib = use_lib;
	for (int i = 0; i < n; i++) {
		c[i].run = &r;
		c[i].i = i;
		if (pthread_create(&t[i], NULL, caller_main, &c[i]))
			break;
		started++;
	}
	t0 = tool_now_ns();
	/* Release: the reset above before the callers start. */
	__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
	while (tool_now_ns() - t0 < budget_ns)
		usleep(1000);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);	/* orders the counts */
	t1 = tool_now_ns();
	if (started < n || r.failed)
		return -1;
	for (int i = 0; i < n; i++)
		total += r.calls[i][0];
	return (double)total * 1e9 / (double)(t1 - t0);
}

int bench_concurrent(int argc, char **argv)
{
	static const int callers[] = { 1, 2, 4, 8 };
	unsigned long ms = 200, rounds = 11;
	double lib[ROUNDS_MAX], raw[ROUNDS_MAX], ratio[ROUNDS_MAX];

	for (int i = 1; i < argc; i++) {
		if (tool_opt_ulong(argc, argv, &i, "--ms", &ms) ||
		    tool_opt_ulong(argc, argv, &i, "--rounds", &rounds))
			continue;
		tool_error("usage: membarrier bench concurrent [--ms N] "
			   "[--rounds N]");
		return 2;
	}
	if (!ms || !rounds || rounds > ROUNDS_MAX) {
		tool_error("bench concurrent: need ms >= 1 and 1 <= rounds "
			   "<= %d", ROUNDS_MAX);
		return 2;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		tool_error("REGISTER_PRIVATE_EXPEDITED: %s", strerror(errno));
		return 1;
	}
	for (unsigned int k = 0; k < sizeof(callers) / sizeof(callers[0]); k++) {
		int n = callers[k];
		double target = n == 1 ? 0.97 : n == 8 ? 3.0 : 0, r, load;

		for (unsigned long j = 0; j < rounds; j++) {
			/* Alternate which goes first, so drift favours neither. */
			int lib_first = (int)(j % 2 == 0);

			if (lib_first)
				lib[j] = rate(n, 1, ms * 1000000ull);
			raw[j] = rate(n, 0, ms * 1000000ull);
			if (!lib_first)
				lib[j] = rate(n, 1, ms * 1000000ull);
			if (lib[j] < 0 || raw[j] < 0) {
				tool_error("bench concurrent: a call failed");
				return 1;
			}
			ratio[j] = lib[j] / raw[j];
		}
		r = bench_median(ratio, rounds);
		printf("bench=concurrent cmd=PRIVATE_EXPEDITED backend=%s "
		       "callers=%d ms=%lu rounds=%lu lib_per_s=%.0f "
		       "syscall_per_s=%.0f ratio=%.3f", membarrier_backend_name(
			       membarrier_backend_of(
				       MEMBARRIER_CMD_PRIVATE_EXPEDITED)),
		       n, ms, rounds, bench_median(lib, rounds),
		       bench_median(raw, rounds), r);
		if (target > 0)
			printf(" target=%.2f pass=%s", target,
			       r >= target ? "yes" : "no");
		if (getloadavg(&load, 1) == 1)
			printf(" load1=%.2f", load);
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
