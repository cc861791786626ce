// SPDX-License-Identifier: MIT
/*
 * What only a real barrier does: every call interrupts a thread running
 * on another CPU (tools/verify.c, the method of membarrier doctor).
 *
 * A store-buffering litmus can miss a barrier that is only a local fence
 * (the call's own latency hides the reordering, and a loaded machine
 * hides it more). An expedited barrier, instead, always interrupts the
 * threads that run elsewhere during the call (an IPI, a TLB-flush IPI, a
 * signal, a context switch): a thread spinning on another CPU records
 * every gap in its execution, and a call hits if a gap begins inside it.
 * The control, in the same run, takes windows of the same lengths without
 * a call: a barrier that interrupts nothing hits about as often as it.
 * The verdict (verify.c, judge) asks for 90% hits of at least 60 valid
 * samples, and more hits than the control's (Fisher's exact test at
 * 1e-4: 120/120 passes against a control of up to 107/120, a barrier
 * that interrupts nothing does not); a real barrier hits every sample.
 * (A false failure needs 12 of 120 samples missed by a barrier that
 * interrupts by construction: none in the runs measured, loaded or not.
 * The spinner keeps its gaps in a ring, as a full array would read every
 * later sample as a miss on a machine loaded long enough.)
 *
 * Checked: membarrier()'s PRIVATE_EXPEDITED, its SYNC_CORE kind and
 * GLOBAL_EXPEDITED (observing a registered child process), GLOBAL where
 * the CPU walk serves it (the kernel's is a grace period: it interrupts
 * nothing), the heavy fence, and a biased lock's revocation. Runs on
 * whatever backend MEMBARRIER_BACKEND selects. INTERRUPTS_ONLY="private
 * sync-core global-expedited global heavy bias" runs only those checks
 * (make check-mutants gives each mutant the ones that concern it).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/biased_lock.h>
#include <membarrier/fence.h>

#include "cpus.h"
#include "lib/tap.h"
#include "lib/verify_tap.h"



static int wanted(const char *name)
{
	const char *only = getenv("INTERRUPTS_ONLY");
	size_t n = strlen(name);

	if (!only || !*only)
		return 1;
	for (const char *p = only; (p = strstr(p, name)); p += n)
		if ((p == only || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return 1;
	return 0;
}

static int call_cmd(void *arg)
{
	return membarrier(*(const int *)arg, 0, 0) ? -errno : 0;
}

static int call_heavy(void *arg)
{
	(void)arg;
	return mbfence_heavy();
}

/* A fresh lock each time: its first mbbias_lock() revokes the bias. */
static int call_revoke(void *arg)
{
	struct mbbias *l = arg;
	int ret = mbbias_init(l);

	if (ret)
		return ret;
	mbbias_lock(l);
	mbbias_unlock(l);
	mbbias_destroy(l);
	return 0;
}

static void register_global(void)
{
	if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0))
		_exit(1);
}

static int served(int cmd)
{
	return membarrier_backend_of(cmd) != MEMBARRIER_BACKEND_NONE;
}

static void check_cmd(int cmd, int reg, int other_process)
{
	struct verify_call c = { .call = call_cmd, .arg = &cmd,
				 .other_process = other_process };
	char what[96];

	snprintf(what, sizeof(what), "%s (%s, %s)", membarrier_cmd_name(cmd),
		 membarrier_backend_name(membarrier_backend_of(cmd)),
		 membarrier_mechanism(cmd));
	if (!served(cmd)) {
		tap_skip("not served here", "%s", what);
		return;
	}
	if (reg && membarrier(reg, 0, 0)) {
		tap_ok(0, "%s: registration failed: %s", what, strerror(errno));
		return;
	}
	if (other_process)
		c.spinner_setup = register_global;
	verify_tap_interrupts(what, &c);
}

/* This thread's migrations so far (/proc/thread-self/sched), or -1. */
static long migrations(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/thread-self/sched", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "se.nr_migrations", 16))
			n = strtol(strchr(line, ':') + 1, NULL, 10);
	fclose(f);
	return n;
}

/*
 * The CPU walk's calls are milliseconds long (a migration waits for the
 * target CPU's scheduler), so other load interrupts the observed thread
 * in the control windows too. What the walk does, and a walk that skips
 * a CPU does not, is run the caller on every other CPU it may use: each
 * call migrates the pinned caller at least once per other CPU; without a
 * call, a pinned thread never migrates (the control).
 */
static void check_walk(void)
{
	const int calls = 40;
	cpu_set_t set;
	long before, control;
	int others, short_calls = 0;

	sched_getaffinity(0, sizeof(set), &set);
	others = CPU_COUNT(&set) - 1;
	cpus_pin_self(verify_cpu(0));
	if (migrations() < 0) {
		tap_skip("no /proc/thread-self/sched", "GLOBAL (CPU walk)");
		return;
	}
	before = migrations();
	usleep(20000);
	control = migrations() - before;
	for (int i = 0; i < calls; i++) {
		before = migrations();
		if (membarrier(MEMBARRIER_CMD_GLOBAL, 0, 0)) {
			tap_ok(0, "GLOBAL (CPU walk): %s", strerror(errno));
			return;
		}
		short_calls += migrations() - before < others;
	}
	sched_setaffinity(0, sizeof(set), &set);
	tap_ok(short_calls == 0 && control == 0, "GLOBAL (CPU walk) ran the "
	       "caller on each of the %d other CPUs in every call (calls that "
	       "missed one: %d/%d; control, pinned without a call: %ld "
	       "migrations)", others, short_calls, calls, control);
}

int main(void)
{
	struct mbbias lock;
	struct verify_call heavy = { .call = call_heavy };
	struct verify_call revoke = { .call = call_revoke, .arg = &lock };

	if (verify_pick_cpus())
		tap_skip_all("one CPU: no thread runs elsewhere during a call");
	if (tap_qemu_user())
		tap_skip_all("qemu-user: the control's thread is interrupted "
			     "with no call at all (qemu's own host signals)");
	/* A hang fails the test. Loaded (load average 20 to 30 on 2 CPUs,
	 * other pinned tests beside it) one check took up to 160 s, and
	 * five of them outlasted 300 s. */
	alarm(1200);
	if (wanted("private"))
		check_cmd(MEMBARRIER_CMD_PRIVATE_EXPEDITED,
			  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0);
	if (wanted("sync-core"))
		check_cmd(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
			  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0);
	if (!wanted("global-expedited"))
		;
	else if (tap_qemu_user())
		tap_skip("qemu-user: fork from a threaded guest", "GLOBAL_EXPEDITED");
	else
		check_cmd(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 1);
	if (!wanted("global"))
		;
	else if (served(MEMBARRIER_CMD_GLOBAL) &&
		 !strcmp(membarrier_mechanism(MEMBARRIER_CMD_GLOBAL), "CPU walk"))
		check_walk();
	else
		tap_skip("a grace period interrupts nothing", "GLOBAL (%s)",
			 membarrier_mechanism(MEMBARRIER_CMD_GLOBAL));
	if (!served(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
		tap_skip("no heavy fence here", "mbfence_heavy(), mbbias_lock()");
	} else {
		if (wanted("heavy"))
			verify_tap_interrupts("mbfence_heavy()", &heavy);
		if (wanted("bias"))
			verify_tap_interrupts("a biased lock's revocation "
					      "(mbbias_lock)", &revoke);
	}
	return tap_done();
}
