// SPDX-License-Identifier: MIT
/*
 * PRIVATE_EXPEDITED_RSEQ aborts a running rseq critical section before
 * the call returns.
 *
 * A thread on another CPU runs a critical section (tools/rseq_probe.h,
 * rseq_probe_commit) that loads a generation, then spins until the caller
 * says go, then commits the generation it loaded. Each round the caller
 * stores a new generation, calls membarrier, then says go. A barrier that
 * aborted the section before returning makes it restart and load the new
 * generation; one that returned first lets it commit the old one: a stale
 * commit (tools/verify.c, verify_rseq_stale). The kernel's membarrier
 * aborts in its IPI before returning, and the emulated one preempts the
 * section's thread (the CPU walk) before returning: a preempted section
 * restarts at its abort handler before it runs again. So a real barrier
 * never shows a stale commit: nothing here is timing.
 *
 * Controls in the same run: the same rounds without a call, and with
 * FLAG_CPU naming the caller's CPU (not the section's), must show stale
 * commits (else the test could not see a barrier that aborts nothing, or
 * one that ignores FLAG_CPU). Each control round is stale unless the
 * section was preempted inside its few-microsecond window; a control
 * fails only if all ROUNDS rounds were, which a preemption rate of even
 * 1 in 2 per round makes a 2^-200 event.
 *
 * Runs on whatever backend MEMBARRIER_BACKEND selects.
 */
#include <errno.h>
#include <string.h>
#include <sys/rseq.h>
#include <unistd.h>

#include <membarrier.h>

#include "lib/tap.h"
#include "verify.h"

#define RSEQ_CMD MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ
#define ROUNDS 200

struct rseq_call {
	unsigned int flags;
	int cpu;
};

static int call(void *arg)
{
	const struct rseq_call *c = arg;

	return membarrier(RSEQ_CMD, c->flags, c->cpu) ? -errno : 0;
}

static int rounds(unsigned int flags, int cpu)
{
	struct rseq_call c = { flags, cpu };

	return verify_rseq_stale(call, &c, ROUNDS);
}

int main(void)
{
	int ret, stale;

	if (__rseq_size == 0)
		tap_skip_all("the C library registered no rseq area "
			     "(kernel without rseq, qemu-user, or glibc.pthread.rseq=0)");
	if (!(membarrier(MEMBARRIER_CMD_QUERY, 0, 0) & RSEQ_CMD))
		tap_skip_all("PRIVATE_EXPEDITED_RSEQ is not offered here");
	if (verify_pick_cpus())
		tap_skip_all("one CPU: the section would share the caller's");
	ret = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0);
	tap_ok(ret == 0, "REGISTER_PRIVATE_EXPEDITED_RSEQ (backend %s)",
	       membarrier_backend_name(membarrier_backend_of(RSEQ_CMD)));
	/* A hang fails the test. Each round waits for the section's thread
	 * to be scheduled on its CPU: at a load average of 30 on 2 CPUs the
	 * 800 rounds took over 120 s (killed then, after 4 of 5 results). */
	alarm(900);

	stale = verify_rseq_stale(NULL, NULL, ROUNDS);
	tap_ok(stale > 0, "control, no call: the section committed what it "
	       "read before in %d/%d rounds (the test sees a missing abort)",
	       stale, ROUNDS);
	stale = rounds(0, 0);
	tap_ok(stale == 0, "every call aborted the section before it returned "
	       "(stale commits: %d/%d)", stale, ROUNDS);
	stale = rounds(MEMBARRIER_CMD_FLAG_CPU, verify_cpu(1));
	tap_ok(stale == 0, "FLAG_CPU on the section's CPU (%d): aborted before "
	       "the return (stale: %d/%d)", verify_cpu(1), stale, ROUNDS);
	stale = rounds(MEMBARRIER_CMD_FLAG_CPU, verify_cpu(0));
	tap_ok(stale > 0, "FLAG_CPU on the caller's CPU (%d): the section's "
	       "CPU is left alone (stale: %d/%d)", verify_cpu(0), stale, ROUNDS);
	return tap_done();
}
