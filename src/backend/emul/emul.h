/* SPDX-License-Identifier: MIT */
/*
 * The emulated backend: every membarrier command in user space, with the
 * kernel's model of disturbance (kernel/sched/membarrier.c): it may
 * interrupt what runs on a CPU during the call, as the kernel's IPIs do,
 * and nothing else. No signal is ever sent: no thread is woken or given
 * EINTR, nothing reaches an exec'd image, a signalfd or a handler, and
 * threads that are not running are never waited for: the scheduler's
 * full barrier orders them before they run again.
 *
 *   PRIVATE_EXPEDITED      TLB shootdown where it is a barrier (x86_64
 *                          without broadcast invalidation; tlb.c), else
 *                          the CPU walk (walk.c)
 *   ..._SYNC_CORE          TLB shootdown where every flush IPI serializes
 *                          every CPU running the process (bare metal, KVM
 *                          without paravirtual flush), else the CPU walk,
 *                          which serializes each CPU it visits
 *   ..._RSEQ               the CPU walk (FLAG_CPU: that CPU only): the
 *                          preemption aborts an rseq critical section
 *   GLOBAL                 the CPU walk
 *   GLOBAL_EXPEDITED       the per-user registry of registered processes
 *                          (global.c)
 *
 * A barrier makes raw system calls and touches atomics and fixed tables
 * only: no lock, no malloc, no stdio, no file descriptor, errno kept. Its
 * facts (CPU lists, cpuinfo flags, the environment) are gathered on first
 * use, with open/read and getenv, and never again.
 */
#ifndef MEMBARRIER_EMUL_H
#define MEMBARRIER_EMUL_H

#include <stdint.h>

#include "core/core.h"
#include "sys/sys.h"

/*
 * Gather what the emulation can serve here. Cheap to call again: the
 * facts are gathered once, on the first call, which any entry below makes
 * itself; concurrent first calls gather the same facts.
 */
void mbi_emul_init(void);

/* The commands the emulation can serve here (a QUERY-style mask). */
int mbi_emul_supported(void);

/* How the emulation serves cmd (membarrier_mechanism()). */
const char *mbi_emul_mechanism(int cmd);

/* A command on the emulated backend: result, or -errno. */
long mbi_emul_call(int cmd, unsigned int flags, int cpu_id);

/* ---- the CPU walk (walk.c) ---- */

/* Learn the CPUs and whether this thread may move (first use). */
void mbi_walk_init(void);

/* 1 if the calling thread may change its CPU set (no filter forbids it). */
int mbi_walk_works(void);

/* 1 if a thread of this process can be placed on every online CPU. */
int mbi_walk_reaches_all(void);

/*
 * Move the calling thread onto each CPU (cpu_id < 0), or onto cpu_id
 * only, then back to its CPU set: every thread that was running there is
 * preempted (a full barrier; an rseq critical section aborts), every
 * thread that was not running passes a switch before it runs again; with
 * sync_core, each CPU visited also runs the context-synchronizing
 * instruction. Returns how many online CPUs the caller could not use
 * (>= 0; no thread of this process runs there), or -errno when the
 * scheduler refuses the move (a seccomp filter, SCHED_DEADLINE).
 */
int mbi_walk_cpus(int cpu_id, int sync_core);

/* mbi_walk_cpus(-1, 0); -EAGAIN if need_every_cpu and one was missed. */
int mbi_walk(int need_every_cpu);

/* ---- TLB shootdown (tlb.c) ---- */

/* Decide (on first use) whether a TLB shootdown is a barrier here. */
void mbi_tlb_init(void);

/* 1 if a TLB shootdown interrupts every CPU running this process. */
int mbi_tlb_is_barrier(void);

/* 1 if it also serializes each of them (serves SYNC_CORE). */
int mbi_tlb_serializes(void);

/* Interrupt every other CPU running this process: 0, or -errno. */
int mbi_tlb_shootdown(void);

/* ---- GLOBAL_EXPEDITED (global.c, registry.c) ---- */

/* 1 if /dev/shm could hold the registry (QUERY advertises the command). */
int mbi_global_supported(void);
/* Join the user's registry and start the agent: 0, or -ENOMEM. */
int mbi_global_register(void);
/* Order the running threads of every registered process of the user: 0. */
int mbi_global_expedited(void);
/* The agent thread of this process, or 0. */
int mbi_global_agent_tid(void);
/* In fork()'s child: register the child anew. */
void mbi_global_atfork_child(void);

/* PRIVATE_EXPEDITED for every thread but exclude_tid (emul.c). */
int mbi_emul_private_round(int exclude_tid);

#endif /* MEMBARRIER_EMUL_H */
