// SPDX-License-Identifier: MIT
/*
 * bench-rcu-liburcu: the liburcu rows of "membarrier bench rcu", in a
 * program of their own (see bench/rcu.c). Each flavor's read side is
 * inlined (_LGPL_SOURCE), as liburcu's own benchmarks build it; qsbr
 * readers announce a quiescent state every 1024 reads, as liburcu's
 * test_urcu_qsbr does. Writers are not registered.
 */
#define _LGPL_SOURCE
#include <stdio.h>

#include <urcu/urcu-mb.h>
#include <urcu/urcu-memb.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/urcu-signal.h>

#include "rcu_bench.h"

#define RB_NAME			memb
#define RB_REGISTER()		urcu_memb_register_thread()
#define RB_UNREGISTER()		urcu_memb_unregister_thread()
#define RB_READ_LOCK()		urcu_memb_read_lock()
#define RB_READ_UNLOCK()	urcu_memb_read_unlock()
#define RB_DEREFERENCE(p)	rcu_dereference(p)
#define RB_XCHG(pp, v)		rcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	urcu_memb_synchronize_rcu()
#include "rcu_bench.h"

#define RB_NAME			mb
#define RB_REGISTER()		urcu_mb_register_thread()
#define RB_UNREGISTER()		urcu_mb_unregister_thread()
#define RB_READ_LOCK()		urcu_mb_read_lock()
#define RB_READ_UNLOCK()	urcu_mb_read_unlock()
#define RB_DEREFERENCE(p)	rcu_dereference(p)
#define RB_XCHG(pp, v)		rcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	urcu_mb_synchronize_rcu()
#include "rcu_bench.h"

#define RB_NAME			signal
#define RB_REGISTER()		urcu_signal_register_thread()
#define RB_UNREGISTER()		urcu_signal_unregister_thread()
#define RB_READ_LOCK()		urcu_signal_read_lock()
#define RB_READ_UNLOCK()	urcu_signal_read_unlock()
#define RB_DEREFERENCE(p)	rcu_dereference(p)
#define RB_XCHG(pp, v)		rcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	urcu_signal_synchronize_rcu()
#include "rcu_bench.h"

#define RB_NAME			qsbr
#define RB_REGISTER()		urcu_qsbr_register_thread()
#define RB_UNREGISTER()		urcu_qsbr_unregister_thread()
#define RB_READ_LOCK()		urcu_qsbr_read_lock()
#define RB_READ_UNLOCK()	urcu_qsbr_read_unlock()
#define RB_DEREFERENCE(p)	rcu_dereference(p)
#define RB_XCHG(pp, v)		rcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	urcu_qsbr_synchronize_rcu()
#define RB_QS(n)							\
	do {								\
		if (!((n) & 1023))					\
			urcu_qsbr_quiescent_state();			\
	} while (0)
#include "rcu_bench.h"

static const struct rb_impl impls[] = {
	{ "liburcu-memb", memb_reader, memb_writer, 0 },
	{ "liburcu-mb", mb_reader, mb_writer, 0 },
	{ "liburcu-signal", signal_reader, signal_writer, 0 },
	{ "liburcu-qsbr", qsbr_reader, qsbr_writer, 0 },
};

int main(int argc, char **argv)
{
	struct rb_params p;
	struct rb_result res;
	int ret = rb_parse(argc, argv, &p, "usage: bench-rcu-liburcu "
			   "[--readers R] [--writers W] [--seconds S]"), failed = 0;

	if (ret)
		return ret;
	for (unsigned int i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (rb_run(&impls[i], &p, &res))
			return 1;
		rb_print(&impls[i], &p, &res);
		failed |= res.errors != 0;
	}
	return failed;
}
