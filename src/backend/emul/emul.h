/* SPDX-License-Identifier: MIT */
/*
 * The emulated backend: every membarrier command in user space.
 *
 *   PRIVATE_EXPEDITED      TLB shootdown where it is a barrier (x86_64
 *                          without broadcast invalidation), else the
 *                          signal handshake (handshake.c)
 *   ..._SYNC_CORE, _RSEQ   the signal handshake: the handler runs a full
 *                          fence, the architecture's context-synchronizing
 *                          instruction, and its delivery aborts an active
 *                          rseq critical section
 *   GLOBAL                 the CPU walk (walk.c)
 *   GLOBAL_EXPEDITED       the per-user registry of registered processes
 *                          (global.c)
 *
 * Threads that cannot take part in the handshake (they block the signal,
 * are stopped, or never answer) are ordered by a fallback within a bounded
 * time: the TLB shootdown for the plain barrier, otherwise the CPU walk.
 *
 * Everything a barrier runs is async-signal-safe: raw system calls,
 * atomics, fixed tables, no locks, no malloc.
 */
#ifndef MEMBARRIER_EMUL_H
#define MEMBARRIER_EMUL_H

#include <stdint.h>

#include "core/core.h"
#include "sys/sys.h"

/* Decide what the emulation can serve here; once, at load. */
void mbi_emul_init(void);

/* The commands the emulation can serve here (a QUERY-style mask). */
int mbi_emul_supported(void);

/* How the emulation serves cmd (membarrier_mechanism()). */
const char *mbi_emul_mechanism(int cmd);

/* A command on the emulated backend: result, or -errno. */
long mbi_emul_call(int cmd, unsigned int flags, int cpu_id);

/* The signal of the handshake, or 0 before it is chosen. */
int mbi_emul_signal(void);

/* Choose the handshake's signal (MEMBARRIER_SIGNAL); once, at load. */
void mbi_handshake_init(void);

/* ---- the CPU walk (walk.c) ---- */

/* 1 if a thread of this process can be placed on every online CPU. */
int mbi_walk_reaches_all(void);

/*
 * Make every online CPU switch context, after this call starts and before
 * it returns, by moving the calling thread onto each: every thread that
 * was running is preempted (a full barrier; an rseq critical section
 * aborts), every thread that was not running passes a switch before it
 * runs again. CPUs the caller may not use are skipped (no thread of this
 * process runs there), unless need_every_cpu: then -EAGAIN. 0, or -errno.
 */
int mbi_walk(int need_every_cpu);

/* ---- TLB shootdown (tlb.c) ---- */

/* Decide (at load) whether a TLB shootdown is a barrier here. */
void mbi_tlb_init(void);

/* 1 if a TLB shootdown interrupts every CPU running this process. */
int mbi_tlb_is_barrier(void);

/* Interrupt every other CPU running this process: 0, or -errno. */
int mbi_tlb_shootdown(void);

/* ---- the signal handshake (handshake.c) ---- */

/* Install the handler (once): 0, -EBUSY if the program owns the signal. */
int mbi_handshake_prepare(void);

/*
 * A handshake with every other thread of the process except the helper
 * threads (tids helper1, helper2; 0 for none), or only with those on CPU
 * cpu_id when cpu_id >= 0. The handler fences, runs the context-
 * synchronizing instruction, and its delivery aborts an active rseq
 * critical section. Returns how many threads could not take part in time
 * and need the fallback (>= 0), or -errno when no thread could be asked:
 * -ENOENT without /proc, -EBUSY when the handler is no longer in place.
 */
int mbi_handshake(int helper1, int helper2, int cpu_id);

/* How long to wait for acknowledgments before the fallback. */
void mbi_handshake_set_deadline(uint64_t ns);

/* ---- GLOBAL_EXPEDITED (global.c, registry.c) ---- */

/* 1 if /dev/shm could hold the registry (QUERY advertises the command). */
int mbi_global_supported(void);
/* Join the user's registry and start the agent: 0, or -ENOMEM. */
int mbi_global_register(void);
/* Order the running threads of every registered process of the user: 0. */
int mbi_global_expedited(void);
/* The agent thread of this process, or 0: no handshake goes to it. */
int mbi_global_agent_tid(void);
/* In fork()'s child: register the child anew. */
void mbi_global_atfork_child(void);

/* PRIVATE_EXPEDITED for every thread but exclude_tid (emul.c). */
int mbi_emul_private_round(int exclude_tid);

#endif /* MEMBARRIER_EMUL_H */
