// SPDX-License-Identifier: MIT
/*
 * bench core: the cost of the library's dispatch.
 *
 * membarrier(PRIVATE_EXPEDITED) through the library against the raw
 * system call, in a single-threaded process (where the kernel returns
 * at once, so the dispatch is the largest possible share), in rounds
 * that rotate the order, reporting the median of the per-round ratios:
 * 101 rounds by default, under a second (on a 2-vCPU guest with a noisy
 * host, 31 rounds gave medians 3% apart from run to run, 101 about 1%).
 *
 * ratio: against syscall(SYS_membarrier, ...), the raw call as programs
 * make it. ratio_vs_inline: against the syscall instruction inlined in
 * the loop, which no function can match where the kernel's return-stack
 * mitigations (AMD SRSO "Safe RET") make the first user-space return
 * after a system call mispredict; glibc's syscall() pays the same.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "arch/arch.h"

#include "tool.h"
#include "bench.h"

#define ROUNDS_MAX 101

typedef double (*timer_fn)(unsigned long calls);

static double time_lib(unsigned long calls)
{
	uint64_t t = tool_now_ns();

	for (unsigned long i = 0; i < calls; i++)
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	return (double)(tool_now_ns() - t) / (double)calls;
}

/* The raw system call as programs issue it today (liburcu, .NET, ...). */
static double time_syscall(unsigned long calls)
{
	uint64_t t = tool_now_ns();

	for (unsigned long i = 0; i < calls; i++)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	return (double)(tool_now_ns() - t) / (double)calls;
}

/* The bare instruction inlined in the loop: no call, no return. */
static double time_inline(unsigned long calls)
{
	uint64_t t = tool_now_ns();

	for (unsigned long i = 0; i < calls; i++)
		mbi_syscall3(MBI_ARCH_NR_membarrier,
					 MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	return (double)(tool_now_ns() - t) / (double)calls;
}

#define LIMIT 1.03

int bench_core(int argc, char **argv)
{
	static const timer_fn timers[3] = { time_lib, time_syscall, time_inline };
	static double ns[3][ROUNDS_MAX], ratio[ROUNDS_MAX], ratio_inline[ROUNDS_MAX];
	unsigned long calls = 20000, rounds = ROUNDS_MAX;
	double r;

	for (int i = 1; i < argc; i++) {
		if (tool_opt_ulong(argc, argv, &i, "--calls", &calls) ||
		    tool_opt_ulong(argc, argv, &i, "--rounds", &rounds))
			continue;
		tool_error("usage: membarrier bench core [--calls N] [--rounds N]");
		return 2;
	}
	if (!calls || !rounds || rounds > ROUNDS_MAX) {
		tool_error("bench core: need calls >= 1 and 1 <= rounds <= %d",
			   ROUNDS_MAX);
		return 2;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		tool_error("REGISTER_PRIVATE_EXPEDITED: %s", strerror(errno));
		return 1;
	}
	for (int k = 0; k < 3; k++)	/* warm up */
		timers[k](calls);
	for (unsigned long n = 0; n < rounds; n++) {
		/* Rotate the order so that drift favours none of the three. */
		for (int k = 0; k < 3; k++) {
			int which = (int)((n + (unsigned long)k) % 3);

			ns[which][n] = timers[which](calls);
		}
		ratio[n] = ns[0][n] / ns[1][n];
		ratio_inline[n] = ns[0][n] / ns[2][n];
	}
	r = bench_median(ratio, rounds);
	printf("bench=core cmd=PRIVATE_EXPEDITED threads=1 backend=%s "
	       "calls=%lu rounds=%lu lib_ns=%.1f syscall_ns=%.1f inline_ns=%.1f "
	       "ratio=%.4f ratio_vs_inline=%.4f limit=%.2f pass=%s\n",
	       membarrier_backend_name(
		       membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED)),
	       calls, rounds, bench_median(ns[0], rounds),
	       bench_median(ns[1], rounds), bench_median(ns[2], rounds), r,
	       bench_median(ratio_inline, rounds), LIMIT,
	       r <= LIMIT ? "yes" : "no");
	return 0;
}
