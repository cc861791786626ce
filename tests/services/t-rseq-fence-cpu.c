// SPDX-License-Identifier: MIT
/*
 * FLAG_CPU: the RSEQ fence on one CPU orders that CPU's critical
 * sections, and only those.
 *
 * An incrementer pinned to CPU A adds through the active copy without
 * pause; this thread, pinned to CPU B, swaps CPU A's copy alone,
 * round after round, and checks that nothing lands in A's inactive slot
 * after the fence (see the harness in t-rseq-util.h). The sections are
 * widened by a delay loop between their read of the active pointer and
 * their commit, so one is under way at nearly every swap.
 *
 *   mbrseq_swap(pc, A)            fence on A (FLAG_CPU):   nothing late
 *   publish on A, fence on B      the wrong CPU (control): late increments
 *   publish on A, no fence        (control):               late increments
 */
#define RT_INJECT
#include "t-rseq-util.h"

#define RUN_NS		200000000ull
#define WIDEN_NS	200000ull

/* Every verdict needs the incrementer to have run and swaps to have
 * happened: "nothing late" over no increments proves nothing, and a
 * control can only show late increments if there were increments. */
static int ran(const struct rt_swap *s)
{
	return s->rounds > 0 && s->counted > 0;
}

static void report(const char *what, const struct rt_swap *s, int pass)
{
	pass = pass && ran(s);
	tap_ok(pass, "%s: %ld swaps, %ld late increments, %lld counted, "
	       "%lld found (%ld errors, %ld on another CPU)", what, s->rounds,
	       s->late, s->counted, s->total, s->errors, s->stray);
}

static void body(const struct rt_config *cfg)
{
	int cpus[2];
	struct rt_swap s = { .threads = 1, .run_ns = RUN_NS };
	struct rt_swap real, wrong, none;
	char why[160];

	(void)cfg;
	if (rt_cpus(cpus, 2) < 2) {
		tap_skip("this process may run on one CPU only",
			 "FLAG_CPU: needs two CPUs");
		return;
	}
	if (rt_pin(cpus[1])) {
		tap_skip("cannot pin threads", "FLAG_CPU: needs two CPUs");
		return;
	}
	s.target = s.pin = cpus[0];
	s.fence = RT_FENCE_SWAP;
	real = wrong = none = s;

	rt_swap_run(&real);
	report("swap on CPU A, fence FLAG_CPU A, real sections", &real,
	       rt_swap_clean(&real));

	s.widen_ns = WIDEN_NS;
	rt_swap_run(&s);
	report("swap on CPU A, fence FLAG_CPU A, sections widened to 200 us",
	       &s, rt_swap_clean(&s));

	wrong.widen_ns = WIDEN_NS;
	wrong.fence = cpus[1];
	if (rt_swap_control(&wrong, why, sizeof(why))) {
		tap_skip(why, "control: publish on CPU A, fence FLAG_CPU B");
	} else {
		report("control: publish on CPU A, fence FLAG_CPU B: A's "
		       "increments land in its inactive copy", &wrong,
		       wrong.late > 0);
		tap_diag("control sections widened to %llu us",
			 (unsigned long long)wrong.widen_ns / 1000);
	}

	none.widen_ns = WIDEN_NS;
	none.fence = RT_FENCE_NONE;
	if (rt_swap_control(&none, why, sizeof(why)))
		tap_skip(why, "control: publish on CPU A, no fence");
	else
		report("control: publish on CPU A, no fence: increments land "
		       "in the inactive copy", &none, none.late > 0);
	tap_diag("CPU A = %d, CPU B = %d (the swapper's)", cpus[0], cpus[1]);
}

int main(void)
{
	return rt_main(body, NULL);
}
