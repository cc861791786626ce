// SPDX-License-Identifier: MIT
// The public headers compile as C++ (one translation unit includes them
// all) and their inline fast paths link and run from C++.
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

#include <cstdio>

int main()
{
	int n = 0;
	struct mbbias lock;

	std::printf("ok %d - membarrier(QUERY) from C++: 0x%x\n", ++n,
		    membarrier(MEMBARRIER_CMD_QUERY, 0, 0));
	mbfence_light();
	std::printf("ok %d - mbfence_light() inline from C++\n", ++n);
	if (mbbias_init(&lock) == 0) {
		mbbias_owner_lock(&lock);
		mbbias_owner_unlock(&lock);
		mbbias_destroy(&lock);
	}
	std::printf("ok %d - biased lock owner path from C++\n", ++n);
	if (struct mbrseq_cid_counter *c = mbrseq_cid_counter_create()) {
		mbrseq_cid_counter_add(c, 1);
		std::printf("%s %d - concurrency-id counter inline from C++\n",
			    mbrseq_cid_counter_sum(c) == 1 ? "ok" : "not ok", ++n);
		mbrseq_cid_counter_destroy(c);
	}
	std::printf("1..%d\n", n);
	return 0;
}
