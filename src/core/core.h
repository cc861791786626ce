/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier's core: shared by src/ only, never installed.
 *
 * Layering: dispatch.c checks arguments and keeps the registration record
 * (registration.c), then hands the barrier to the backend selected for
 * the command (select.c). A backend only executes barriers and prepares
 * registrations; it never sees an invalid argument and never decides
 * EPERM. Services see only service.h.
 */
#ifndef MBI_CORE_H
#define MBI_CORE_H

#include <membarrier.h>

#include "backend/kernel/kernel.h"
#include "core/service.h"
#include "sys/sys.h"

/* Internal symbols: hidden by -fvisibility=hidden, prefixed mbi_. */

/*
 * For the variables the library writes at load: in .data (the default
 * linker script gathers .data.* there), on the page that the loader
 * writes anyway (relocating .got.plt, zeroing the start of .bss), rather
 * than on a page of .bss beyond the file, which the first access faults
 * in: a page fault is a few microseconds, under a hypervisor more.
 */
#define MBI_LOAD_DATA __attribute__((section(".data.mbi_load")))

/* Commands as table indexes: QUERY is 0, command (1 << n) is n + 1. */
static inline int mbi_cmd_index(int cmd)
{
	unsigned int u = (unsigned int)cmd;

	if (u == 0)
		return 0;
	if ((u & (u - 1)) || u > MEMBARRIER_CMD_GET_REGISTRATIONS)
		return -1;
	return __builtin_ctz(u) + 1;
}

static inline int mbi_cmd_of_index(int idx)
{
	return idx ? 1 << (idx - 1) : MEMBARRIER_CMD_QUERY;
}

#define MBI_ALL_CMDS_MASK	((MEMBARRIER_CMD_GET_REGISTRATIONS << 1) - 1)

/* ---- registration record (registration.c) ---- */

/*
 * The record mirrors the kernel's mm->membarrier_state: a registration
 * first sets its "intent" bit, then its READY bit once the backend is
 * prepared. PRIVATE_EXPEDITED_SYNC_CORE and _RSEQ registrations also set
 * the PRIVATE_EXPEDITED intent bit (not READY): GET_REGISTRATIONS then
 * reports REGISTER_PRIVATE_EXPEDITED, yet PRIVATE_EXPEDITED answers EPERM.
 */
#define MBI_STATE_PRIVATE_EXPEDITED_READY	(1u << 0)
#define MBI_STATE_PRIVATE_EXPEDITED		(1u << 1)
#define MBI_STATE_GLOBAL_EXPEDITED_READY	(1u << 2)
#define MBI_STATE_GLOBAL_EXPEDITED		(1u << 3)
#define MBI_STATE_SYNC_CORE_READY		(1u << 4)
#define MBI_STATE_SYNC_CORE			(1u << 5)
#define MBI_STATE_RSEQ_READY			(1u << 6)
#define MBI_STATE_RSEQ				(1u << 7)

struct mbi_registration {
	unsigned int intent;	/* bits set before the backend is asked */
	unsigned int ready;	/* bit set once the backend is prepared */
};

/* What registering cmd does to the record; NULL if cmd is no REGISTER. */
const struct mbi_registration *mbi_registration_of(int cmd);


/* The READY bit a private expedited barrier needs; 0 for other commands. */
static inline unsigned int mbi_ready_bit_for(int cmd)
{
	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return MBI_STATE_PRIVATE_EXPEDITED_READY;
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		return MBI_STATE_SYNC_CORE_READY;
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		return MBI_STATE_RSEQ_READY;
	default:
		return 0;
	}
}

/* This process's record, as the kernel's state word. */
extern unsigned int mbi_state;

static inline unsigned int mbi_state_load(void)
{
	return __atomic_load_n(&mbi_state, __ATOMIC_ACQUIRE);
}

/* Set bits; the release pairs with the acquire in mbi_state_load(). */
static inline void mbi_state_or(unsigned int bits)
{
	__atomic_fetch_or(&mbi_state, bits, __ATOMIC_ACQ_REL);
}

/* GET_REGISTRATIONS: the REGISTER_* commands the record holds. */
int mbi_registrations_mask(unsigned int state);

/* ---- backend selection (select.c) ---- */

enum mbi_mode {
	MBI_MODE_AUTO = 0,	/* kernel where it serves, else emulated */
	MBI_MODE_KERNEL,	/* MEMBARRIER_BACKEND=kernel */
	MBI_MODE_EMULATED,	/* MEMBARRIER_BACKEND=emulated */
};

/*
 * Fast path, indexed by command value: for a barrier command that the
 * kernel serves, MBI_FAST_KERNEL | the READY bits it needs; 0 for every
 * other value (the slow path then decides). Zero until initialized.
 */
#define MBI_FAST_SIZE		(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ + 1)
#define MBI_FAST_KERNEL		0x100u
#define MBI_FAST_NEED_MASK	0xffu

/*
 * A command the kernel does not serve is decided with the emulation,
 * which gathers its facts (CPUs, cpuinfo flags, rseq) only when a call
 * first needs it: until then its backend[] entry is PENDING. Entries are
 * stored with release, after the fields they guard (unserved_errno,
 * query_mask, invalid_errno), and loaded with acquire.
 */
#define MBI_BACKEND_PENDING	0xff

struct mbi_config {
	unsigned short fast[MBI_FAST_SIZE];
	int initialized;		/* set last, with release */
	int complete;			/* no entry PENDING; set with release */
	enum mbi_mode mode;
	int kernel_query;		/* probe result: mask or -errno */
	int kernel_fatal;		/* commands a seccomp filter would
					 * answer by a kill or SIGSYS */
	int kernel_traps;		/* those of them that raise SIGSYS */
	int query_mask;			/* what this library's QUERY answers */
	unsigned char backend[MEMBARRIER_NR_CMDS];
	int unserved_errno[MEMBARRIER_NR_CMDS];	/* when backend is NONE */
	int invalid_errno;		/* for bad cmd/flags: EINVAL, or the
					 * blocked call's errno when nothing
					 * serves any command */
};

extern struct mbi_config mbi_config;

void mbi_init_slow(void);

/* Decide the PENDING entries (initializing the emulation), once. */
const struct mbi_config *mbi_get_full_config(void);

static inline const struct mbi_config *mbi_get_config(void)
{
	/* Acquire pairs with the release that publishes the config. */
	if (membarrier_unlikely(!__atomic_load_n(&mbi_config.initialized,
						 __ATOMIC_ACQUIRE)))
		mbi_init_slow();
	return &mbi_config;
}

/* The backend of command index idx, deciding it if still PENDING. */
static inline int mbi_backend_at(int idx)
{
	int b;

	mbi_get_config();
	/* Acquire pairs with the release that stores the entry (select.c). */
	b = __atomic_load_n(&mbi_config.backend[idx], __ATOMIC_ACQUIRE);
	if (membarrier_unlikely(b == MBI_BACKEND_PENDING)) {
		mbi_get_full_config();
		b = __atomic_load_n(&mbi_config.backend[idx], __ATOMIC_ACQUIRE);
	}
	return b;
}

/* ---- dispatch (dispatch.c) ---- */

/*
 * The library's own registrations, for its services: REGISTER_* commands
 * that succeeded, made on the first call (select.c) or on first use.
 */
extern unsigned int mbi_service_regs;

/* Run a barrier or registration on its backend: result, or -errno. */
long mbi_backend_call(int backend, int cmd, unsigned int flags, int cpu_id);

/* ---- shared barriers (share.c: the protocol, its litmus sketch) ---- */

/*
 * Word: RUNNING (a leader is in the barrier); WAIT0 and WAIT1: someone
 * sleeps for an even or an odd barrier; LEADER: the running leader's
 * tag (mbi_share_tag()), set and cleared with RUNNING; the completed
 * count, in the top 13 bits (it wraps: only differences are read).
 */
#define MBI_SHARE_RUNNING	1u
#define MBI_SHARE_WAIT0		2u
#define MBI_SHARE_WAIT1		4u
#define MBI_SHARE_WAITERS	(MBI_SHARE_WAIT0 | MBI_SHARE_WAIT1)
#define MBI_SHARE_TAG_SHIFT	3
#define MBI_SHARE_TAG_MASK	(0xffffu << MBI_SHARE_TAG_SHIFT)
#define MBI_SHARE_COUNT_ONE	(1u << 19)
#define MBI_SHARE_COUNT_MASK	(~(MBI_SHARE_COUNT_ONE - 1))

/* PRIVATE_EXPEDITED, _SYNC_CORE, _RSEQ, GLOBAL_EXPEDITED. */
#define MBI_SHARE_SLOTS		4

/*
 * shared: callers take the protocol (else each runs its own barrier,
 * with no RMW: share.c, "Uncontended"); active: a caller runs its own
 * barrier now (a hint); lonely: shared barriers in a row that nobody
 * else waited for. The three are hints, read and written relaxed.
 */
struct mbi_share_slot {
	_Alignas(64) uint32_t word;
	uint32_t shared, active, lonely;
};

/* Shared barriers in a row that served nobody before callers go back
 * to running their own (a test may set its own). */
#ifndef MBI_SHARE_LONELY
#define MBI_SHARE_LONELY	1024u
#endif

extern struct mbi_share_slot mbi_share_slots[MBI_SHARE_SLOTS];

long mbi_share_follow(struct mbi_share_slot *s, uint32_t v, int backend,
		      int cmd);
/*
 * The leader's wake-ups; old: the word before its completion [d];
 * serve: it may run the next barrier for its sleepers.
 */
void mbi_share_wake(struct mbi_share_slot *s, uint32_t old, long ret,
		    int backend, int cmd, int serve);

static inline struct mbi_share_slot *mbi_share_slot_of(int cmd,
						       unsigned int flags)
{
	if (membarrier_unlikely(flags))
		return NULL;
	switch (cmd) {
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		return &mbi_share_slots[0];
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
		return &mbi_share_slots[1];
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
		return &mbi_share_slots[2];
	case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
		return &mbi_share_slots[3];
	default:
		return NULL;
	}
}

/*
 * This thread's tag: 16 bits folded from its thread pointer. Two live
 * threads may share one (then each runs its own barrier where it would
 * have waited on the other: share.c, "Handlers"). Not a TLS variable:
 * in a shared object every TLS access is a call (__tls_get_addr),
 * measurable on the fast path.
 */
static inline __attribute__((always_inline)) uint32_t mbi_share_tag(void)
{
	uintptr_t tp = (uintptr_t)mbi_arch_thread_pointer() >> 6;

	return ((uint32_t)(tp ^ tp >> 16 ^ tp >> 32) << MBI_SHARE_TAG_SHIFT) &
	       MBI_SHARE_TAG_MASK;
}

static inline __attribute__((always_inline))
long mbi_share_run(int backend, int cmd, unsigned int flags, int cpu_id)
{
	if (membarrier_likely(backend == MEMBARRIER_BACKEND_KERNEL))
		return mbi_kernel_call(cmd, flags, cpu_id);
	return mbi_backend_call(backend, cmd, flags, cpu_id);
}

/* A shared barrier that nobody waited for: after MBI_SHARE_LONELY in a
 * row, callers run their own again. */
static inline __attribute__((always_inline))
void mbi_share_lonely(struct mbi_share_slot *s)
{
	uint32_t n = __atomic_load_n(&s->lonely, __ATOMIC_RELAXED) + 1;

	if (membarrier_unlikely(n >= MBI_SHARE_LONELY)) {
		__atomic_store_n(&s->shared, 0, __ATOMIC_RELAXED);
		n = 0;
	}
	__atomic_store_n(&s->lonely, n, __ATOMIC_RELAXED);
}

/*
 * No caller seen meeting another: this caller's own barrier, marked
 * active for a caller that arrives meanwhile, which then turns sharing
 * on. (Two that arrive together may both miss the other: the next
 * meeting is seen.)
 */
static inline __attribute__((always_inline))
long mbi_share_alone(struct mbi_share_slot *s, int backend, int cmd)
{
	long ret;

	__atomic_store_n(&s->active, 1, __ATOMIC_RELAXED);
	ret = mbi_share_run(backend, cmd, 0, -1);
	__atomic_store_n(&s->active, 0, __ATOMIC_RELAXED);
	return ret;
}

/* Lead the barrier after the count read at [b]; serve: as above. */
static inline __attribute__((always_inline))
long mbi_share_lead(struct mbi_share_slot *s, int backend, int cmd,
		    int serve)
{
	long ret = mbi_share_run(backend, cmd, 0, -1);
	uint32_t mine = MBI_SHARE_RUNNING | mbi_share_tag(), old;

	/*
	 * [d]: clears RUNNING and this leader's tag and, unless the barrier
	 * failed, completes it; release pairs with the followers' acquire
	 * at [e].
	 */
	if (membarrier_likely(ret >= 0))
		old = __atomic_fetch_add(&s->word, MBI_SHARE_COUNT_ONE - mine,
					 __ATOMIC_RELEASE);
	else
		old = __atomic_fetch_sub(&s->word, mine, __ATOMIC_RELEASE);
	if (membarrier_unlikely(old & MBI_SHARE_WAITERS))
		mbi_share_wake(s, old, ret, backend, cmd, serve);
	else
		mbi_share_lonely(s);
	return ret;
}

/*
 * A barrier whose arguments dispatch() accepted, on its backend, shared
 * with concurrent callers of the same command: result, or -errno.
 */
static inline __attribute__((always_inline))
long mbi_share_barrier(int backend, int cmd, unsigned int flags, int cpu_id)
{
	struct mbi_share_slot *s = mbi_share_slot_of(cmd, flags);
	uint32_t v;

	if (membarrier_unlikely(!s))
		return mbi_share_run(backend, cmd, flags, cpu_id);
	if (membarrier_likely(!__atomic_load_n(&s->shared, __ATOMIC_RELAXED))) {
		if (membarrier_likely(!__atomic_load_n(&s->active, __ATOMIC_RELAXED)))
			return mbi_share_alone(s, backend, cmd);
		__atomic_store_n(&s->shared, 1, __ATOMIC_RELAXED);
	}
	v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
	/*
	 * [a] and [b] in one, where RUNNING is clear: acq_rel; the release
	 * pairs with the next leader's acquire at [b], the acquire with [d].
	 */
	while (membarrier_likely(!(v & MBI_SHARE_RUNNING)))
		if (__atomic_compare_exchange_n(&s->word, &v, v | MBI_SHARE_RUNNING |
						mbi_share_tag(), 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return mbi_share_lead(s, backend, cmd, 1);
	/* [a] for a follower: acq_rel, as above (an RMW that changes
	 * nothing, so that it heads a release sequence). */
	v = __atomic_fetch_add(&s->word, 0, __ATOMIC_ACQ_REL);
	return mbi_share_follow(s, v, backend, cmd);
}

/* ---- accounting and tracing (stats.c) ---- */

/* MEMBARRIER_STATS is set: membarrier() takes the accounted path. */
extern int mbi_stats_on;

/* Account one membarrier() call that began at t0 (mbi_now_ns()). */
void mbi_stats_record(int cmd, long ret, uint64_t t0);

/* A call of cmd returned on another caller's barrier. */
void mbi_stats_count_shared(int cmd);

static inline void mbi_stats_shared(int cmd)
{
	if (membarrier_unlikely(mbi_stats_on))
		mbi_stats_count_shared(cmd);
}

/*
 * USDT probes (provider libmembarrier) at each membarrier() call:
 * barrier_entry(cmd, backend, flags, cpu_id), barrier_exit(cmd, backend,
 * result), result as the system call's: the value, or -errno. A nop
 * each where untraced; absent where <sys/sdt.h> is (systemtap-sdt-dev).
 */
#if defined(__has_include)
#if __has_include(<sys/sdt.h>) && !defined(MBI_NO_SDT)
#include <sys/sdt.h>
#define MBI_HAVE_SDT 1
#endif
#endif
#ifdef MBI_HAVE_SDT
#define MBI_PROBE_ENTRY(cmd, backend, flags, cpu_id) \
	DTRACE_PROBE4(libmembarrier, barrier_entry, cmd, backend, flags, cpu_id)
#define MBI_PROBE_EXIT(cmd, backend, ret) \
	DTRACE_PROBE3(libmembarrier, barrier_exit, cmd, backend, ret)
#else
#define MBI_PROBE_ENTRY(cmd, backend, flags, cpu_id) \
	do { (void)(cmd); (void)(backend); (void)(flags); (void)(cpu_id); } while (0)
#define MBI_PROBE_EXIT(cmd, backend, ret) \
	do { (void)(cmd); (void)(backend); (void)(ret); } while (0)
#endif

#endif /* MBI_CORE_H */
