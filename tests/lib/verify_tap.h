/* SPDX-License-Identifier: MIT */
/*
 * tools/verify.c's interruption check as one TAP line, for the tests
 * that run it on a call of theirs (t-interrupts, t-rcu-order).
 */
#ifndef MEMBARRIER_TEST_VERIFY_TAP_H
#define MEMBARRIER_TEST_VERIFY_TAP_H

#include <string.h>

#include "lib/tap.h"
#include "verify.h"

/*
 * ok: each of c's calls, named what, interrupted the observed thread on
 * another CPU, more often than the control windows without a call did.
 */
static inline void verify_tap_interrupts(const char *what,
					 struct verify_call *c)
{
	struct verify_result r;
	int ret = verify_interrupts_call(c, &r);

	if (ret) {
		tap_ok(0, "%s: the call failed: %s", what, strerror(-ret));
		return;
	}
	tap_ok(r.passed, "%s interrupted a thread running on another CPU in "
	       "%d/%d calls (control, no call: %d)", what, r.hits, r.calls,
	       r.control_hits);
}

#endif /* MEMBARRIER_TEST_VERIFY_TAP_H */
