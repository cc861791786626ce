// SPDX-License-Identifier: MIT
/*
 * membarrier(): the contract of Linux's kernel/sched/membarrier.c, checked
 * here in the kernel's order, then served by the command's backend.
 *
 * Order of checks, as sys_membarrier():
 *  1. flags: 0, or FLAG_CPU with PRIVATE_EXPEDITED_RSEQ only (EINVAL);
 *  2. without FLAG_CPU, cpu_id is ignored (-1: every CPU);
 *  3. the command: unknown or unsupported here (EINVAL);
 *  4. a private expedited barrier without its registration (EPERM);
 *  5. the backend's answer, the barrier shared with concurrent callers
 *     (share.c), accounted when MEMBARRIER_STATS is set (stats.c).
 */
#include <errno.h>
#include <stddef.h>

#include "backend/emul/emul.h"
#include "backend/kernel/kernel.h"
#include "core/core.h"

long mbi_backend_call(int backend, int cmd, unsigned int flags, int cpu_id)
{
	switch (backend) {
	case MEMBARRIER_BACKEND_KERNEL:
		return mbi_kernel_call(cmd, flags, cpu_id);
	case MEMBARRIER_BACKEND_EMULATED:
		return mbi_emul_call(cmd, flags, cpu_id);
	default:
		return -ENOSYS;
	}
}

/*
 * As membarrier_register_*_expedited(): idempotent once READY; the intent
 * bits are set before the backend prepares, READY only after it succeeds.
 */
static long register_on(int backend, int cmd)
{
	const struct mbi_registration *reg = mbi_registration_of(cmd);
	long ret;

	if (mbi_state_load() & reg->ready)
		return 0;
	mbi_state_or(reg->intent);
	ret = mbi_backend_call(backend, cmd, 0, 0);
	if (ret)
		return ret;
	mbi_state_or(reg->ready);
	mbi_fast_update();
	return 0;
}

/* Decided with QUERY's backend (select.c). */
static int invalid_errno(const struct mbi_config *c)
{
	mbi_backend_at(0);
	return c->invalid_errno;
}

static long dispatch(int cmd, unsigned int flags, int cpu_id)
{
	const struct mbi_config *c = mbi_get_config();
	unsigned int need;
	int idx, backend;

	if (membarrier_unlikely(flags) &&
	    (cmd != MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ ||
	     flags != MEMBARRIER_CMD_FLAG_CPU))
		return -invalid_errno(c);
	if (!(flags & MEMBARRIER_CMD_FLAG_CPU))
		cpu_id = -1;
	idx = mbi_cmd_index(cmd);
	if (membarrier_unlikely(idx < 0))
		return -invalid_errno(c);
	backend = mbi_backend_at(idx);
	if (membarrier_unlikely(backend == MEMBARRIER_BACKEND_NONE))
		return -c->unserved_errno[idx];

	switch (cmd) {
	case MEMBARRIER_CMD_QUERY:
		return mbi_get_full_config()->query_mask;
	case MEMBARRIER_CMD_GET_REGISTRATIONS:
		return mbi_registrations_mask(mbi_state_load());
	case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
		return register_on(backend, cmd);
	default:
		need = mbi_ready_bit_for(cmd);
		if (need && !(mbi_state_load() & need))
			return -EPERM;
		return mbi_share_barrier(backend, cmd, flags, cpu_id,
					 MBI_BY_PROGRAM);
	}
}

static int __attribute__((noinline, cold)) fail(long ret)
{
	errno = (int)-ret;
	return -1;
}

/* A fast call that overlapped another: sharing on, then its result. */
static int __attribute__((noinline, cold)) met(struct mbi_share_slot *s,
					       unsigned int cmd, long ret)
{
	mbi_share_turn_on(s, cmd);
	return membarrier_unlikely(ret < 0) ? fail(ret) : (int)ret;
}

/* The probes' backend of cmd: -1 for an invalid command. */
static int probe_backend(int cmd)
{
	int idx = mbi_cmd_index(cmd);

	return idx < 0 ? -1 : mbi_backend_at(idx);
}

/*
 * Around each call the library runs but the fast path's: the probes and,
 * with accounting on, the call's time. The start time, or 0.
 */
static inline uint64_t barrier_enter(int cmd, int backend, unsigned int flags,
				     int cpu_id)
{
	MBI_PROBE_ENTRY(cmd, backend, flags, cpu_id);
	return membarrier_unlikely(mbi_stats_on) ? mbi_now_ns() : 0;
}

static inline void barrier_leave(int cmd, int backend, long ret, uint64_t t0,
				 enum mbi_stats_by by)
{
	MBI_PROBE_EXIT(cmd, backend, ret);
	if (membarrier_unlikely(t0))
		mbi_stats_record(cmd, ret, t0, by);
}

static int __attribute__((noinline)) membarrier_slow(int cmd,
						     unsigned int flags,
						     int cpu_id)
{
	int backend = probe_backend(cmd);
	uint64_t t0 = barrier_enter(cmd, backend, flags, cpu_id);
	long ret = dispatch(cmd, flags, cpu_id);

	barrier_leave(cmd, backend, ret, t0, MBI_BY_PROGRAM);
	return membarrier_unlikely(ret < 0) ? fail(ret) : (int)ret;
}

/* Read on every call; written by mbi_fast_update(), mbi_fast_shut() and
 * the sharing switch (share.c). */
unsigned int mbi_fast_cmds __attribute__((aligned(64)));
unsigned int mbi_fast_allowed;

void mbi_fast_update(void)
{
	unsigned int state = mbi_state_load(), add = 0, open = 0;

	if (__atomic_load_n(&mbi_stats_on, __ATOMIC_RELAXED))
		return;
	for (unsigned int k = mbi_config.kernel_barriers; k; k &= k - 1) {
		unsigned int cmd = k & -k, need = mbi_ready_bit_for((int)cmd);

		if ((state & need) != need)
			continue;
		add |= cmd;
		/* A hint: a switch racing this one is mended by the next. */
		if (!(cmd & MBI_SHARE_CMDS) ||
		    !__atomic_load_n(&mbi_share_slot_at(cmd)->shared,
				     __ATOMIC_RELAXED))
			open |= cmd;
	}
	/*
	 * Release, both (as seq_cst): the READY bits read above happen
	 * before a fast call; pair with the acquires in gate_open()
	 * (share.c) and in membarrier().
	 */
	__atomic_fetch_or(&mbi_fast_allowed, add, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&mbi_fast_cmds, open, __ATOMIC_SEQ_CST);
	/* Accounting turned on meanwhile (seq_cst, with mbi_fast_shut()). */
	if (__atomic_load_n(&mbi_stats_on, __ATOMIC_SEQ_CST))
		mbi_fast_shut();
}

void mbi_fast_shut(void)
{
	__atomic_store_n(&mbi_fast_allowed, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mbi_fast_cmds, 0, __ATOMIC_SEQ_CST);
}

/*
 * The fast path: a barrier the kernel serves, without flags, whose
 * registration (if it needs one) is READY, and whose callers do not
 * share now, goes straight to the system call; everything else,
 * including the first call before the library is initialized (the gate
 * is still shut), a shared barrier and every call while accounting is
 * on, takes dispatch(). Before the system call it loads the gate and,
 * for a command that shares, the slot's count (share.c, "Uncontended").
 *
 * Aligned to a cache line, so that where the rest of the library puts it
 * does not move its branches across the 32-byte boundaries that Intel's
 * decoded-instruction cache keys on: on the Xeon guest measured, bench
 * core gave 1.020-1.032 with the function at 32 bytes into a line and
 * 0.980-1.017 aligned, the same code (6 alternating runs each, 101
 * rounds).
 */
MEMBARRIER_API __attribute__((aligned(64)))
int membarrier(int cmd, unsigned int flags, int cpu_id)
{
	unsigned int u = (unsigned int)cmd;
	struct mbi_share_slot *s;
	uint32_t seen;
	long ret;

	/* Acquire pairs with the releases in mbi_fast_update(), share.c. */
	if (membarrier_unlikely(flags || (u & (u - 1)) ||
				!(u & __atomic_load_n(&mbi_fast_cmds,
						      __ATOMIC_ACQUIRE))))
		return membarrier_slow(cmd, flags, cpu_id);
	MBI_PROBE_ENTRY(cmd, MEMBARRIER_BACKEND_KERNEL, 0, -1);
	if (!(u & MBI_SHARE_CMDS)) {
		ret = mbi_share_run(MEMBARRIER_BACKEND_KERNEL, cmd, 0, -1);
		MBI_PROBE_EXIT(cmd, MEMBARRIER_BACKEND_KERNEL, ret);
		return membarrier_unlikely(ret < 0) ? fail(ret) : (int)ret;
	}
	s = mbi_share_slot_at(u);
	seen = mbi_share_mark(s);
	ret = mbi_share_run(MEMBARRIER_BACKEND_KERNEL, cmd, 0, -1);
	MBI_PROBE_EXIT(cmd, MEMBARRIER_BACKEND_KERNEL, ret);
	if (mbi_share_overlapped(s, seen))
		return met(s, u, ret);
	return membarrier_unlikely(ret < 0) ? fail(ret) : (int)ret;
}

MEMBARRIER_API int membarrier_backend_of(int cmd)
{
	int idx = mbi_cmd_index(cmd);

	if (idx < 0) {
		errno = EINVAL;
		return -1;
	}
	return mbi_backend_at(idx);
}

MEMBARRIER_API const char *membarrier_mechanism(int cmd)
{
	int idx = mbi_cmd_index(cmd);

	if (idx < 0)
		return NULL;
	switch (mbi_backend_at(idx)) {
	case MEMBARRIER_BACKEND_KERNEL:
		return cmd == MEMBARRIER_CMD_GET_REGISTRATIONS ||
		       cmd == MEMBARRIER_CMD_QUERY ? "library" : "system call";
	case MEMBARRIER_BACKEND_EMULATED:
		return mbi_emul_mechanism(cmd);
	default:
		return "unavailable";
	}
}

MEMBARRIER_API int membarrier_emulation_signal(void)
{
	return 0;
}

MEMBARRIER_API int membarrier_kernel_query(void)
{
	return mbi_get_config()->kernel_query;
}

MEMBARRIER_API int membarrier_kernel_fatal(void)
{
	return mbi_get_config()->kernel_fatal;
}

MEMBARRIER_API int membarrier_library_registrations(void)
{
	mbi_get_config();
	/* Acquire pairs with the release in mbi_service_register(). */
	return (int)__atomic_load_n(&mbi_service_regs, __ATOMIC_ACQUIRE);
}

long mbi_service_register(int register_cmd)
{
	const struct mbi_config *c = mbi_get_config();
	int backend = mbi_backend_at(mbi_cmd_index(register_cmd));
	uint64_t t0;
	long ret;

	if (__atomic_load_n(&mbi_service_regs, __ATOMIC_ACQUIRE) & register_cmd)
		return 0;
	if (backend == MEMBARRIER_BACKEND_NONE)
		return -c->unserved_errno[mbi_cmd_index(register_cmd)];
	t0 = barrier_enter(register_cmd, backend, 0, 0);
	ret = mbi_backend_call(backend, register_cmd, 0, 0);
	barrier_leave(register_cmd, backend, ret, t0, MBI_BY_LIBRARY);
	if (ret == 0)	/* Release pairs with the acquire above. */
		__atomic_fetch_or(&mbi_service_regs, register_cmd,
				  __ATOMIC_RELEASE);
	return ret;
}

/* Each private expedited command is registered by the next bit up. */
long mbi_service_barrier(int cmd, unsigned int flags, int cpu_id)
{
	long ret = mbi_service_register(cmd << 1);
	int idx = mbi_cmd_index(cmd), backend;
	uint64_t t0;

	if (ret)
		return ret;
	if (idx < 0)
		return -EINVAL;
	backend = mbi_backend_at(idx);
	t0 = barrier_enter(cmd, backend, flags, cpu_id);
	ret = mbi_share_barrier(backend, cmd, flags, cpu_id, MBI_BY_LIBRARY);
	barrier_leave(cmd, backend, ret, t0, MBI_BY_LIBRARY);
	return ret;
}
