// SPDX-License-Identifier: MIT
// The public headers compile as C++ (one translation unit includes them
// all) and their inline fast paths link and run from C++: each result is
// checked, so a header whose inline code misbehaves in C++ fails here.
#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/biased_lock.h>
#include <membarrier/fence.h>
#include <membarrier/jit.h>
#include <membarrier/rcu.h>
#include <membarrier/rcu_hash.h>
#include <membarrier/rcu_list.h>
#include <membarrier/rcu_fence.h>
#include <membarrier/rseq.h>
#include <membarrier/rseq_cid.h>

#include <cerrno>
#include <cstdio>

static int n, failed;

static void ok(bool pass, const char *what)
{
	std::printf("%sok %d - %s\n", pass ? "" : "not ", ++n, what);
	failed += !pass;
}

int main()
{
	struct mbbias lock;
	int query = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	ok(query >= 0 && (query & ~0x3ff) == 0,
	   "membarrier(QUERY) from C++: a mask of commands");
	ok(membarrier(MEMBARRIER_CMD_QUERY, 1, 0) == -1 && errno == EINVAL,
	   "membarrier(QUERY, bad flags) from C++: EINVAL");
	mbfence_light();
	ok(mbfence_heavy() == 0 ||
	   membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
	   MEMBARRIER_BACKEND_NONE, "mbfence_light() and mbfence_heavy() from C++");
	if (mbbias_init(&lock) == 0) {
		int before = mbbias_revoked(&lock);

		mbbias_owner_lock(&lock);
		mbbias_owner_unlock(&lock);
		mbbias_lock(&lock);
		mbbias_unlock(&lock);
		ok(mbbias_revoked(&lock) == 1 && (before == 0 ||
		   membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
		   MEMBARRIER_BACKEND_NONE),
		   "biased lock from C++: owner path, then revoked by mbbias_lock");
		mbbias_destroy(&lock);
	} else {
		ok(false, "mbbias_init() from C++");
	}
	if (mbrcu_register_thread() == 0) {
		mbrcu_read_lock();
		int inside = mbrcu_read_ongoing();
		mbrcu_read_unlock();
		ok(inside && !mbrcu_read_ongoing(),
		   "RCU read side inline from C++");
		mbrcu_unregister_thread();
	} else {
		ok(false, "mbrcu_register_thread() from C++");
	}
	if (struct mbrseq_cid_counter *c = mbrseq_cid_counter_create()) {
		mbrseq_cid_counter_add(c, 1);
		ok(mbrseq_cid_counter_sum(c) == 1,
		   "concurrency-id counter inline from C++");
		mbrseq_cid_counter_destroy(c);
	} else {
		ok(false, "mbrseq_cid_counter_create() from C++");
	}
	std::printf("1..%d\n", n);
	return failed ? 1 : 0;
}
