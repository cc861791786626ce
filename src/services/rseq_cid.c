// SPDX-License-Identifier: MIT
/*
 * Counters indexed by concurrency id (include/membarrier/rseq_cid.h):
 * where the ids come from, and the counters' memory.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include <membarrier/rseq_cid.h>

#include "core/service.h"
#include "rseq_internal.h"

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE	27	/* uapi/linux/auxvec.h, Linux 6.3 */
#endif
#define MM_CID_END	(MBRSEQ_ABI_MM_CID_OFFSET + 4)

/* glibc 2.35+: the length of the area it registered (weak: see rseq.c). */
extern const unsigned int __rseq_size __attribute__((weak));

MEMBARRIER_API int mbrseq_cid_field;
static __thread int hint;
static __thread unsigned int hint_uses;

/*
 * mm_cid where the kernel fills it (its rseq feature size covers the
 * field: 28 since Linux 6.3; 0 before, AT_RSEQ_FEATURE_SIZE missing)
 * and the area registered reaches it. glibc 2.35 to 2.39 register the
 * original 32-byte struct rseq but publish 20 in __rseq_size (the
 * fields they knew of); later ones publish what they registered. The
 * library's own area is 32 bytes.
 */
static int choose_field(void)
{
	const char *who;
	unsigned long len;

	if (mbrseq_thread_init())
		return -1;
	who = mbrseq_registrar();
	if (who && !strcmp(who, "libc")) {
		len = &__rseq_size ? __rseq_size : 0;
		if (len == 20)
			len = 32;
	} else
		len = sizeof(struct mbrseq_abi);
	if (getauxval(AT_RSEQ_FEATURE_SIZE) >= MM_CID_END && len >= MM_CID_END)
		return MBRSEQ_ABI_MM_CID_OFFSET;
	return MBRSEQ_ABI_CPU_ID_OFFSET;
}

MEMBARRIER_API int mbrseq_cid_slow(void)
{
	int field = __atomic_load_n(&mbrseq_cid_field, __ATOMIC_RELAXED);
	int cpu;

	if (!field) {
		field = choose_field();
		__atomic_store_n(&mbrseq_cid_field, field, __ATOMIC_RELAXED);
	}
	if (field > 0 && mbrseq_thread_init() == 0)
		return (int)MEMBARRIER_LOAD_SHARED(*(const uint32_t *)
			((const char *)mbrseq_thread_area() + field));
	/* No area: the CPU of one of the thread's last 64 calls, since
	 * sched_getcpu() may be a system call (qemu-user). */
	if (hint_uses++ % 64 == 0) {
		cpu = sched_getcpu();
		hint = cpu < 0 ? 0 : cpu;
	}
	return hint;
}

MEMBARRIER_API const char *mbrseq_cid_source(void)
{
	(void)mbrseq_cid();
	switch (__atomic_load_n(&mbrseq_cid_field, __ATOMIC_RELAXED)) {
	case MBRSEQ_ABI_MM_CID_OFFSET:
		return "mm_cid";
	case MBRSEQ_ABI_CPU_ID_OFFSET:
		return "cpu_id";
	default:
		return "sched_getcpu";
	}
}

MEMBARRIER_API struct mbrseq_cid_counter *mbrseq_cid_counter_create(void)
{
	int n = mbrseq_nr_cpus();
	char *slots;
	struct mbrseq_cid_counter *c = mbi_rseq_slots_alloc(sizeof(*c),
		(size_t)n * MBRSEQ_SLOT_SIZE, &slots);

	if (!c)
		return NULL;
	c->slots = slots;
	c->nr_ids = n;
	return c;
}

MEMBARRIER_API void mbrseq_cid_counter_destroy(struct mbrseq_cid_counter *c)
{
	if (c)
		mbi_rseq_slots_free(c, c->slots);
}

MEMBARRIER_API intptr_t mbrseq_cid_counter_sum(const struct mbrseq_cid_counter *c)
{
	intptr_t sum = 0;

	for (int id = 0; id < c->nr_ids; id++)
		sum += __atomic_load_n((const intptr_t *)(c->slots +
			((size_t)id << MBRSEQ_ARCH_SLOT_SHIFT)), __ATOMIC_RELAXED);
	return sum;
}
