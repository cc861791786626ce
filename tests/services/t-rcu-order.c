// SPDX-License-Identifier: MIT
/*
 * RCU's grace period runs the heavy fence its litmus needs, through the
 * real mbrcu_* API (include/membarrier/rcu.h, litmus 1, store buffering):
 *
 *	CPU0 (reader)			CPU1 (updater)
 *	ctr = gp			p = new
 *	mbfence_light()			mbfence_heavy()
 *	r0 = p				r1 = ctr
 *
 *	forbidden: r0 == old && r1 == 0
 *
 * A reader seen quiescent (ctr == 0) is settled only by a heavy fence
 * that reaches it (on TSO machines the fence is run lazily, for such
 * readers only; elsewhere it opens every grace period). The reordering
 * itself is a nanosecond window that a loaded machine rarely shows; what
 * the fence does, and its absence does not, is interrupt the reader's
 * CPU (tools/verify.c): a registered, quiescent reader spins on another
 * CPU and each mbrcu_synchronize() must interrupt it, against the control
 * windows of the same lengths without a call. The mutants of make
 * check-mutants (rcu-fence-local, rcu-lazy-fence, rcu-idle-done) are the
 * fence's absence: each fails this test.
 *
 * Not measured here: the fences due for readers busy in critical sections
 * where the machine is not TSO (the opening one, message passing, and the
 * closing one, litmus 2): the spinner cannot hold a critical section and
 * record its gaps at once.
 */
#include <string.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/rcu.h>

#include "lib/tap.h"
#include "lib/verify_tap.h"

static int call_synchronize(void *arg)
{
	(void)arg;
	mbrcu_synchronize();
	return 0;
}

static void register_reader(void)
{
	if (mbrcu_register_thread())
		_exit(1);
}

int main(void)
{
	struct verify_call idle = { .call = call_synchronize,
				    .spinner_setup = register_reader };

	if (verify_pick_cpus())
		tap_skip_all("one CPU: no reader runs elsewhere");
	if (tap_qemu_user())
		tap_skip_all("qemu-user: the control's reader is interrupted "
			     "with no call at all (qemu's own host signals)");
	if (membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
	    MEMBARRIER_BACKEND_NONE)
		tap_skip_all("no heavy fence here");
	alarm(120);
	verify_tap_interrupts("mbrcu_synchronize() with a quiescent reader "
			      "(litmus 1: the fence settles it)", &idle);
	return tap_done();
}
