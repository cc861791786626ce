// SPDX-License-Identifier: MIT
/*
 * rseq per-CPU operations: the slow paths. The critical sections are
 * inlined into their callers: their template is in <membarrier/rseq.h>,
 * their instructions in include/membarrier/arch/rseq_<arch>.h.
 *
 * Here: finding or registering each thread's rseq area, the per-CPU
 * layout, the swap (publish, then the RSEQ fence) and the fence itself,
 * which is membarrier(PRIVATE_EXPEDITED_RSEQ) under the library's own
 * registration (made early, see select.c), on whichever backend
 * serves it: the kernel's IPI, or the emulation's CPU walk (the
 * preemption of a thread inside a critical section aborts it too).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <membarrier/rseq.h>

#include "core/service.h"
#include "rseq_internal.h"

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
/* Our sections must carry the signature glibc registered its areas with
 * (a C library without one for the architecture registers none). */
#ifdef RSEQ_SIG
_Static_assert(MBRSEQ_SIG == RSEQ_SIG, "MBRSEQ_SIG differs from glibc's");
#endif
#endif
#endif

_Static_assert(offsetof(struct mbrseq_abi, cpu_id) == MBRSEQ_ABI_CPU_ID_OFFSET,
	       "struct rseq layout");
_Static_assert(offsetof(struct mbrseq_abi, rseq_cs) == MBRSEQ_ABI_CS_OFFSET,
	       "struct rseq layout");
_Static_assert(offsetof(struct mbrseq_node, next) == 0,
	       "the sections load node->next at offset 0");
_Static_assert(offsetof(struct mbrseq_cpu_ctl, active) == 0,
	       "the sections load the active pointer at offset 0");
_Static_assert(sizeof(struct mbrseq_cpu_ctl) <= MBRSEQ_SLOT_SIZE,
	       "a control line fits a slot");

/*
 * glibc 2.35+ exports where each thread's area is; weak, so that the
 * library still loads on an older C library (their addresses are then 0).
 */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/*
 * The area this library registers where the C library did not. Default
 * TLS model (global-dynamic): no static TLS, so that the library can be
 * dlopen()ed where the static TLS surplus is used up. Only the slow path
 * reaches it. Its memory lives as long as the thread: glibc frees a
 * thread's dynamic TLS blocks only when its descriptor is reused or freed,
 * after the kernel cleared its tid at exit, when the kernel no longer
 * writes to the area.
 */
static __thread struct mbrseq_abi own_area = {
	.cpu_id = (uint32_t)-1,		/* RSEQ_CPU_ID_UNINITIALIZED */
};
/*
 * Where no area can be had: an area no kernel watches, whose cpu_id is
 * the registration's -errno (-ENOSYS under the fallback), so that
 * sections run on it fail with it.
 */
static __thread struct mbrseq_abi unusable;

/* Who registered this thread's area, once known. */
enum registrar { NOBODY, LIBC, LIBMEMBARRIER };
static __thread enum registrar registrar;

/* The C library's area for this thread, if it registered one. */
static struct mbrseq_abi *libc_area(void)
{
	struct mbrseq_abi *rs;

	if (!&__rseq_size || !&__rseq_offset ||
	    __rseq_size < MBRSEQ_ABI_CS_OFFSET + sizeof(uint64_t))
		return NULL;
	rs = (struct mbrseq_abi *)((char *)__builtin_thread_pointer() +
				   __rseq_offset);
	/* RSEQ_CPU_ID_UNINITIALIZED (-1) or _REGISTRATION_FAILED (-2). */
	if ((int32_t)MEMBARRIER_LOAD_SHARED(rs->cpu_id) < 0)
		return NULL;
	return rs;
}

/*
 * rseq(&own_area, 32, 0, MBRSEQ_SIG): raw, as every system call here.
 * EBUSY with our area's cpu_id set by the kernel means a signal handler
 * registered it while this call was under way: it is ours, use it. The
 * kernel wants the area aligned as struct rseq (EINVAL otherwise), which
 * a dynamic TLS block is unless its allocator ignored the alignment.
 */
static int register_own_area(void)
{
	int ret;

	if ((uintptr_t)&own_area % _Alignof(struct mbrseq_abi))
		return -EINVAL;
	ret = (int)mbi_syscall6(SYS_rseq, (long)&own_area, sizeof(own_area),
				0, MBRSEQ_SIG, 0, 0);
	if (ret == -EBUSY &&
	    (int32_t)MEMBARRIER_LOAD_SHARED(own_area.cpu_id) >= 0)
		return 0;
	return ret;
}

/* This thread's area, once the process chose critical sections and the
 * thread found or registered one; NULL until then, and for good under
 * the fallback. */
static __thread struct mbrseq_abi *area;

/* Find the C library's area or register this library's: 0, or -errno. */
static int find_area(struct mbrseq_abi **rs)
{
	int ret;

	*rs = libc_area();
	if (*rs) {
		registrar = LIBC;
		return 0;
	}
	ret = register_own_area();
	if (ret)
		return ret;
	registrar = LIBMEMBARRIER;
	*rs = &own_area;
	return 0;
}

static struct mbrseq_abi *unusable_area(int err)
{
	unusable.cpu_id = (uint32_t)err;
	return &unusable;
}

/*
 * Hooks into rseq_fallback.c, which makes the process-wide choice
 * between critical sections and the fallback: once the process runs the
 * fallback, no thread uses its area, even one that could register (and
 * the fast path, gated by mbrseq_sections_on, does not try the C
 * library's).
 */
MEMBARRIER_API struct mbrseq_abi *mbrseq_thread_area(void)
{
	struct mbrseq_abi *rs;
	int ret;

	if (membarrier_likely(area != NULL))
		return area;
	if (mbi_rseq_fallback_on())
		return unusable_area(-ENOSYS);
	ret = mbi_rseq_choose(find_area(&rs));
	if (ret)
		return unusable_area(ret);
	area = rs;
	return rs;
}

MEMBARRIER_API int mbrseq_thread_init(void)
{
	struct mbrseq_abi *rs = mbrseq_thread_area();
	int32_t cpu = (int32_t)MEMBARRIER_LOAD_SHARED(rs->cpu_id);

	return cpu < 0 ? cpu : 0;
}

MEMBARRIER_API int mbrseq_available(void)
{
	return mbrseq_thread_init() == 0;
}

MEMBARRIER_API const char *mbrseq_registrar(void)
{
	if (mbrseq_thread_init())
		return NULL;
	return registrar == LIBC ? "libc" : "libmembarrier";
}

/* The highest CPU number in a list such as "0-3,8-11", plus one. */
MEMBARRIER_API int mbrseq_nr_cpus(void)
{
	static int cached;
	int n = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (n)
		return n;
	/* The larger of the two: a slot too many is harmless, one too few
	 * is a write out of bounds. */
	n = mbi_cpus_possible();
	if (get_nprocs_conf() > n)
		n = get_nprocs_conf();
	if (n < 1)
		n = 1;
	__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	return n;
}

MEMBARRIER_API int mbrseq_fence(int cpu)
{
	static int reported;
	long ret;

	if (mbi_rseq_fallback_on())	/* hook: rseq_fallback.c */
		return mbrseq_fallback_fence();
	if (cpu >= 0)
		ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
					  MEMBARRIER_CMD_FLAG_CPU, cpu);
	else
		ret = mbi_service_barrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
					  0, -1);
	if (membarrier_unlikely(ret) &&
	    !__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: RSEQ fence unavailable: "
			"PRIVATE_EXPEDITED_RSEQ fails with %s\n",
			strerror((int)-ret));
	return (int)ret;
}

/* ---- per-CPU data ---- */

static struct mbrseq_cpu_ctl *ctl_of(const struct mbrseq_percpu *pc, int cpu)
{
	return (struct mbrseq_cpu_ctl *)(pc->ctl +
		((size_t)cpu << MBRSEQ_ARCH_SLOT_SHIFT));
}

void *mbi_rseq_slots_alloc(size_t obj_size, size_t slot_bytes, char **slots)
{
	void *obj = calloc(1, obj_size);

	*slots = aligned_alloc(MBRSEQ_SLOT_SIZE, slot_bytes);
	if (!obj || !*slots) {
		mbi_rseq_slots_free(obj, *slots);
		errno = ENOMEM;
		return NULL;
	}
	memset(*slots, 0, slot_bytes);
	return obj;
}

void mbi_rseq_slots_free(void *obj, char *slots)
{
	free(slots);
	free(obj);
}

MEMBARRIER_API struct mbrseq_percpu *mbrseq_percpu_create(void)
{
	int n = mbrseq_nr_cpus();
	size_t bytes = (size_t)n * MBRSEQ_SLOT_SIZE;
	char *mem;
	struct mbrseq_percpu *pc = mbi_rseq_slots_alloc(sizeof(*pc),
							3 * bytes, &mem);

	if (!pc)
		return NULL;
	pc->ctl = mem;
	pc->copy[0] = mem + bytes;
	pc->copy[1] = mem + 2 * bytes;
	pc->nr_cpus = n;
	for (int cpu = 0; cpu < n; cpu++)
		ctl_of(pc, cpu)->active = mbrseq_percpu_slot(pc, 0, cpu);
	return pc;
}

MEMBARRIER_API void mbrseq_percpu_destroy(struct mbrseq_percpu *pc)
{
	if (pc)
		mbi_rseq_slots_free(pc, pc->ctl);
}

/*
 * Make the other copy active on cpu. The release store pairs with the
 * address dependency in the critical sections (every load they make
 * through the pointer depends on it): what the swapper wrote into that
 * copy before, a reset or a refill, is what they see.
 */
static void flip(struct mbrseq_percpu *pc, int cpu)
{
	struct mbrseq_cpu_ctl *c = ctl_of(pc, cpu);
	unsigned int k = c->copy ^ 1;

	__atomic_store_n(&c->copy, k, __ATOMIC_RELAXED);
	__atomic_store_n(&c->active, (char *)mbrseq_percpu_slot(pc, (int)k, cpu),
			 __ATOMIC_RELEASE);
}

/* Acquire pairs with the release in unlock(): swaps follow each other. */
static int lock(struct mbrseq_percpu *pc)
{
	return __atomic_exchange_n(&pc->busy, 1, __ATOMIC_ACQUIRE) ? -EBUSY : 0;
}

static void unlock(struct mbrseq_percpu *pc)
{
	__atomic_store_n(&pc->busy, 0, __ATOMIC_RELEASE);
}

static void publish_locked(struct mbrseq_percpu *pc, int cpu)
{
	if (cpu >= 0) {
		flip(pc, cpu);
		return;
	}
	for (int c = 0; c < pc->nr_cpus; c++)
		flip(pc, c);
}

/*
 * Publish under pc's lock, then run fence(cpu) still under it. The
 * stores of publish_locked() come before the fence in program order; the
 * RSEQ fence's barriers (the caller's, and the IPI's or signal handler's
 * on each targeted CPU) order them before every section that starts
 * there afterwards, and abort the ones under way.
 */
static int publish_then(struct mbrseq_percpu *pc, int cpu,
			int (*fence)(int cpu))
{
	int ret;

	if (cpu >= pc->nr_cpus)
		return -EINVAL;
	ret = lock(pc);
	if (ret)
		return ret;
	publish_locked(pc, cpu);
	ret = fence(cpu);
	unlock(pc);
	return ret;
}

static int no_fence(int cpu)
{
	(void)cpu;
	return 0;
}

MEMBARRIER_API int mbrseq_publish(struct mbrseq_percpu *pc, int cpu)
{
	return publish_then(pc, cpu, no_fence);
}

MEMBARRIER_API int mbrseq_swap(struct mbrseq_percpu *pc, int cpu)
{
	return publish_then(pc, cpu, mbrseq_fence);
}

static intptr_t sum_copy(const struct mbrseq_percpu *pc, int copy, size_t off)
{
	intptr_t sum = 0;

	for (int cpu = 0; cpu < pc->nr_cpus; cpu++) {
		intptr_t *v = (intptr_t *)((char *)mbrseq_percpu_slot(pc, copy,
								      cpu) + off);

		sum += __atomic_load_n(v, __ATOMIC_RELAXED);
	}
	return sum;
}

MEMBARRIER_API int mbrseq_bad_offset(size_t off)
{
	return mbi_misuse(EINVAL, "mbrseq offset %zu: an intptr_t there is not "
			  "inside the %u-byte slot, aligned", off,
			  (unsigned int)MBRSEQ_SLOT_SIZE);
}

MEMBARRIER_API intptr_t mbrseq_percpu_sum(const struct mbrseq_percpu *pc,
					  int copy, size_t off)
{
	if (!MBRSEQ_OFFSET_OK(off)) {	/* 0: nothing of the slot is there */
		mbrseq_bad_offset(off);
		return 0;
	}
	if (copy >= 0)
		return sum_copy(pc, copy, off);
	return sum_copy(pc, 0, off) + sum_copy(pc, 1, off);
}
