// SPDX-License-Identifier: MIT
/*
 * The active/inactive swap (rseq.h): after mbrseq_swap() returns, no
 * increment lands in the now-inactive copy, and every increment is
 * counted exactly once.
 *
 * Threads increment through the active copy without pause while this
 * thread swaps every CPU's copy and fences, round after round, then
 * snapshots the inactive copy, waits, checks it did not change, and
 * drains it (the off-CPU work the swap exists for). Once with the real
 * critical sections, once with sections widened by a delay loop between
 * their read of the active pointer and their commit (so that one is
 * under way at nearly every swap).
 *
 * Controls, same run: publishing the other copy without the fence must
 * let increments land in the inactive copy after the snapshot.
 */
#define RT_INJECT
#include "t-rseq-util.h"

#define THREADS		3
#define RUN_NS		200000000ull
#define WIDEN_NS	100000ull

static void report(const char *what, const struct rt_swap *s, int pass)
{
	tap_ok(pass, "%s: %ld swaps, %ld late increments, %lld counted, "
	       "%lld found (%ld errors)", what, s->rounds, s->late, s->counted,
	       s->total, s->errors);
}

static void body(const struct rt_config *cfg)
{
	struct rt_swap s = {
		.target = -1, .fence = RT_FENCE_SWAP, .pin = -1,
		.threads = THREADS, .run_ns = RUN_NS,
	};
	struct rt_swap widened = s, control = s, control_real = s;
	int cpus[2];
	char why[160];

	(void)cfg;
	rt_swap_run(&s);
	report("swap + fence on every CPU, real sections", &s, rt_swap_clean(&s));

	widened.widen_ns = WIDEN_NS;
	rt_swap_run(&widened);
	report("swap + fence on every CPU, sections widened to 100 us",
	       &widened, rt_swap_clean(&widened));

	/* Real sections are a few nanoseconds long: the window without a
	 * fence is the publisher's store buffer and one section; shown, not
	 * required. */
	control_real.fence = RT_FENCE_NONE;
	rt_swap_run(&control_real);
	tap_diag("control with real sections: %ld of %ld swaps saw a late "
		 "increment; %lld counted, %lld found", control_real.late,
		 control_real.rounds, control_real.counted, control_real.total);

	/*
	 * The control needs a section under way on another CPU while this
	 * thread publishes: on a loaded machine, more threads than CPUs
	 * seldom give that. One incrementer, and this thread, pinned apart.
	 */
	control.widen_ns = WIDEN_NS;
	control.fence = RT_FENCE_NONE;
	if (rt_cpus(cpus, 2) == 2 && !rt_pin(cpus[1])) {
		control.threads = 1;
		control.pin = cpus[0];
	}
	if (rt_swap_control(&control, why, sizeof(why)))
		tap_skip(why, "control: publish without the fence, widened "
			 "sections");
	else
		report("control: publish without the fence, widened sections: "
		       "increments land in the inactive copy", &control,
		       control.late > 0);
	rt_unpin();
}

int main(void)
{
	return rt_main(body, NULL);
}
