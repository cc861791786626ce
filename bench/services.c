// SPDX-License-Identifier: MIT
/*
 * bench services: each service's fast path against its baseline, same
 * run, as ratios:
 *   light fence            vs an empty loop (a compiler barrier each)
 *   biased-lock owner pair vs an uncontended pthread_mutex lock/unlock
 *   per-CPU counter add    vs an atomic fetch-add on one shared counter,
 *                          two threads (bench/rseq.c)
 *   code publish           vs a plain PRIVATE_EXPEDITED
 * Rounds alternate the two sides; the figure is the median ratio.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/biased_lock.h>
#include <membarrier/fence.h>
#include <membarrier/jit.h>

#include "tool.h"
#include "bench.h"
#include "rseq_bench.h"

#define ROUNDS 15

typedef double (*timed_fn)(unsigned long n);

static double per_op(uint64_t t0, unsigned long n)
{
	return (double)(tool_now_ns() - t0) / (double)n;
}

/*
 * TIMED_LOOP(name, body): double name(n), ns per run of body over n
 * runs. A macro, so that each body is compiled into a loop of its own:
 * no call through a pointer inside the measurement.
 */
#define TIMED_LOOP(name, ...)						\
static double name(unsigned long n)					\
{									\
	uint64_t t0 = tool_now_ns();					\
									\
	for (unsigned long i = 0; i < n; i++) {				\
		__VA_ARGS__;						\
	}								\
	return per_op(t0, n);						\
}

static struct mbbias bias;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static volatile long protected_counter;
static unsigned char code[64];

TIMED_LOOP(empty_loop, membarrier_compiler_barrier())
/* Measured alone: no heavy fence pairs with these. */
TIMED_LOOP(light_loop, mbfence_light())
TIMED_LOOP(owner_pairs, mbbias_owner_lock(&bias); protected_counter++;
	   mbbias_owner_unlock(&bias))
TIMED_LOOP(mutex_pairs, pthread_mutex_lock(&mutex); protected_counter++;
	   pthread_mutex_unlock(&mutex))
TIMED_LOOP(publishes, mbjit_publish(code, code, sizeof(code)))
TIMED_LOOP(plain_barriers, membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))

/* Median over rounds of a(n) / b(n), alternating which runs first. */
static double ratio(timed_fn a, timed_fn b, unsigned long n, double *na,
		    double *nb)
{
	double r[ROUNDS], x[ROUNDS], y[ROUNDS];

	a(n / 10);
	b(n / 10);
	for (int k = 0; k < ROUNDS; k++) {
		if (k % 2) {
			y[k] = b(n);
			x[k] = a(n);
		} else {
			x[k] = a(n);
			y[k] = b(n);
		}
		r[k] = x[k] / y[k];
	}
	*na = bench_median(x, ROUNDS);
	*nb = bench_median(y, ROUNDS);
	return bench_median(r, ROUNDS);
}

static void line(const char *item, const char *a, const char *b, double na,
		 double nb, double r, const char *limit, int pass)
{
	printf("bench=services item=%s %s_ns=%.3f %s_ns=%.3f ratio=%.3f %s "
	       "pass=%s\n", item, a, na, b, nb, r, limit, pass ? "yes" : "no");
	fflush(stdout);
}

int bench_services(int argc, char **argv)
{
	unsigned long seconds10 = 10;	/* tenths of a second, rseq part */
	double na, nb, r;

	for (int i = 1; i < argc; i++) {
		if (tool_opt_ulong(argc, argv, &i, "--tenths", &seconds10))
			continue;
		tool_error("usage: membarrier bench services [--tenths N]");
		return 2;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		tool_error("REGISTER_PRIVATE_EXPEDITED failed; the plain barrier "
			   "baseline will fail");
	/* Light fence / empty loop: the light side costs nothing. */
	r = ratio(light_loop, empty_loop, 5000000, &na, &nb);
	line("light_fence", "light", "empty", na, nb, r, "limit=1.05", r <= 1.05);

	/* Biased lock owner pair / uncontended mutex pair: inverse ratio. */
	mbbias_init(&bias);
	r = ratio(mutex_pairs, owner_pairs, 2000000, &na, &nb);
	line("biased_lock", "mutex", "owner", na, nb, r,
	     "speedup_min=3", r >= 3);
	mbbias_destroy(&bias);

	/* Per-CPU counter / shared atomic counter, two threads. */
	bench_services_rseq((double)seconds10 / 10);

	/* Code publishing / plain barrier. */
	r = ratio(publishes, plain_barriers, 2000, &na, &nb);
	line("code_publish", "publish", "private_expedited", na, nb, r,
	     "note=publish_is_SYNC_CORE_plus_icache", 1);
	return 0;
}
