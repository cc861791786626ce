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
 * A command the kernel does not serve is decided with the emulation,
 * which gathers its facts (CPUs, cpuinfo flags, rseq) only when a call
 * first needs it: until then its backend[] entry is PENDING. Entries are
 * stored with release, after the fields they guard (unserved_errno,
 * query_mask, invalid_errno), and loaded with acquire.
 */
#define MBI_BACKEND_PENDING	0xff

struct mbi_config {
	unsigned int kernel_barriers;	/* barrier commands, each its bit,
					 * that the kernel serves */
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

/*
 * The fast path's gate: the barrier commands, each its bit, that
 * membarrier() sends straight to the kernel: those of mbi_fast_allowed
 * (the kernel serves them, the registration each needs is READY,
 * accounting is off) whose callers do not share now (share.c). Both
 * are zero until initialized; mbi_fast_update() adds to them once the
 * config is published and after each registration, the sharing switch
 * clears and sets bits of the gate (and the slow path sets one it finds
 * wrongly clear: mbi_share_reopen()), mbi_fast_shut() zeroes both.
 */
extern unsigned int mbi_fast_cmds, mbi_fast_allowed;

void mbi_fast_update(void);

/* Shut for good: accounting is on (stats.c). */
void mbi_fast_shut(void);

/* ---- shared barriers (share.c: the protocol, its litmus sketch) ---- */

/*
 * Word: RUNNING (a leader is in the barrier); WAIT0 and WAIT1: someone
 * sleeps for an even or an odd barrier; LEADER: the running leader's
 * tag (share_tag(), share.c), set and cleared with RUNNING; the completed
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

/* GLOBAL_EXPEDITED, PRIVATE_EXPEDITED, _SYNC_CORE, _RSEQ, in that order. */
#define MBI_SHARE_SLOTS		4

/*
 * shared: callers take the protocol (else each runs its own barrier,
 * with no RMW: share.c, "Uncontended"); lonely: shared barriers in a
 * row that nobody else waited for; own: barriers that callers ran on
 * their own, counted with plain stores (concurrent counts may be lost).
 * The three are hints, read and written relaxed.
 */
struct mbi_share_slot {
	_Alignas(64) uint32_t word;
	uint32_t shared, lonely, own;
};

/* Shared barriers in a row that served nobody before callers go back
 * to running their own (a test may set its own). */
#ifndef MBI_SHARE_LONELY
#define MBI_SHARE_LONELY	1024u
#endif

extern struct mbi_share_slot mbi_share_slots[MBI_SHARE_SLOTS];

/* Who made a call, for the accounting (stats.c). */
enum mbi_stats_by {
	MBI_BY_PROGRAM,		/* membarrier(), the program's call */
	MBI_BY_LIBRARY,		/* a service's barrier or registration */
	MBI_NR_BY
};

/* Sharing on: the protocol, out of line (the fast path stays short). */
long mbi_share_protocol(struct mbi_share_slot *s, int backend, int cmd,
			enum mbi_stats_by by);

/* The commands that share: GLOBAL_EXPEDITED and the private expedited. */
#define MBI_SHARE_CMDS	(MEMBARRIER_CMD_GLOBAL_EXPEDITED |		\
			 MEMBARRIER_CMD_PRIVATE_EXPEDITED |		\
			 MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE |	\
			 MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)

/* The slot of cmd, one bit of MBI_SHARE_CMDS: bits 1, 3, 5, 7. */
_Static_assert(MBI_SHARE_CMDS == 0xaa,
	       "the sharing commands are bits 1, 3, 5, 7");
static inline __attribute__((always_inline))
struct mbi_share_slot *mbi_share_slot_at(unsigned int cmd)
{
	return &mbi_share_slots[__builtin_ctz(cmd) >> 1];
}

/* NULL where the call does not share (FLAG_CPU: share.c). */
static inline struct mbi_share_slot *mbi_share_slot_of(int cmd,
						       unsigned int flags)
{
	unsigned int u = (unsigned int)cmd;

	if (membarrier_unlikely(flags) || !(u & MBI_SHARE_CMDS) ||
	    (u & (u - 1)))
		return NULL;
	return mbi_share_slot_at(u);
}

static inline __attribute__((always_inline))
long mbi_share_run(int backend, int cmd, unsigned int flags, int cpu_id)
{
	if (membarrier_likely(backend == MEMBARRIER_BACKEND_KERNEL))
		return mbi_kernel_call(cmd, flags, cpu_id);
	return mbi_backend_call(backend, cmd, flags, cpu_id);
}

/* Callers of cmd met (s: its slot): sharing on, and the gate shut. */
void mbi_share_turn_on(struct mbi_share_slot *s, unsigned int cmd);

/*
 * Sharing off, yet cmd's bit of the gate shut while mbi_fast_allowed has
 * it (a switch that raced another, a fork during one): open it.
 */
void mbi_share_reopen(struct mbi_share_slot *s, unsigned int cmd);

/*
 * Sharing off: a caller runs its own barrier between mbi_share_mark(),
 * which reads the slot's count of such barriers, and
 * mbi_share_overlapped(), which reads it again and, unchanged, counts
 * this one. Of two callers whose barriers overlap, the one that counts
 * later sees the other's count, unless both read before either stores
 * (a few instructions after their system calls; the next overlap is
 * seen), and turns sharing on (share.c, "Uncontended").
 */
static inline __attribute__((always_inline))
uint32_t mbi_share_mark(const struct mbi_share_slot *s)
{
	return __atomic_load_n(&s->own, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline))
int mbi_share_overlapped(struct mbi_share_slot *s, uint32_t seen)
{
	if (membarrier_unlikely(__atomic_load_n(&s->own, __ATOMIC_RELAXED) !=
				seen))
		return 1;
	__atomic_store_n(&s->own, seen + 1, __ATOMIC_RELAXED);
	return 0;
}

static inline __attribute__((always_inline))
long mbi_share_alone(struct mbi_share_slot *s, int backend, int cmd)
{
	uint32_t seen = mbi_share_mark(s);
	long ret = mbi_share_run(backend, cmd, 0, -1);

	if (mbi_share_overlapped(s, seen))
		mbi_share_turn_on(s, (unsigned int)cmd);
	else if (membarrier_unlikely(__atomic_load_n(&mbi_fast_allowed,
						     __ATOMIC_RELAXED) &
				     ~__atomic_load_n(&mbi_fast_cmds,
						      __ATOMIC_RELAXED) &
				     (unsigned int)cmd))
		mbi_share_reopen(s, (unsigned int)cmd);
	return ret;
}

/*
 * A barrier whose arguments dispatch() accepted, on its backend, shared
 * with concurrent callers of the same command: result, or -errno. by
 * says whose call it is, for the accounting.
 */
static inline __attribute__((always_inline))
long mbi_share_barrier(int backend, int cmd, unsigned int flags, int cpu_id,
		       enum mbi_stats_by by)
{
	struct mbi_share_slot *s = mbi_share_slot_of(cmd, flags);

	if (membarrier_unlikely(!s))
		return mbi_share_run(backend, cmd, flags, cpu_id);
	if (membarrier_likely(!__atomic_load_n(&s->shared, __ATOMIC_RELAXED)))
		return mbi_share_alone(s, backend, cmd);
	return mbi_share_protocol(s, backend, cmd, by);
}

/* ---- accounting and tracing (stats.c) ---- */

/* MEMBARRIER_STATS is set: membarrier() takes the accounted path. */
extern int mbi_stats_on;

/* Account one call that began at t0 (mbi_now_ns()). */
void mbi_stats_record(int cmd, long ret, uint64_t t0, enum mbi_stats_by by);

/* A call of cmd returned on another caller's barrier. */
void mbi_stats_count_shared(int cmd, enum mbi_stats_by by);

static inline void mbi_stats_shared(int cmd, enum mbi_stats_by by)
{
	if (membarrier_unlikely(mbi_stats_on))
		mbi_stats_count_shared(cmd, by);
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
