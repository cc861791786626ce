/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: riscv64, private part. Include "arch/arch.h".
 */
#ifndef MBI_ARCH_RISCV64_H
#define MBI_ARCH_RISCV64_H

#include "arch/syscall_regs.h"

#define MBI_ARCH_NAME			"riscv64"
/*
 * RVWMO is weakly ordered: accesses to different locations may be
 * reordered unless a FENCE, an AMO's aq/rl bits or a dependency orders
 * them.
 */
#define MBI_ARCH_TSO			0
/* include/uapi/asm-generic/unistd.h, which riscv uses as it is. */
#define MBI_ARCH_NR_membarrier		283
/*
 * arch/riscv/include/uapi/asm/unistd.h: __NR_arch_specific_syscall
 * (244) + 15. Flags 0 (not SYS_RISCV_FLUSH_ICACHE_LOCAL): every hart
 * that runs or will run a thread of this mm.
 */
#define MBI_ARCH_NR_riscv_flush_icache	259

/*
 * FENCE.I (Zifencei): later instruction fetches on this hart see every
 * store already visible to this hart. It synchronizes the local hart
 * only; membarrier(PRIVATE_EXPEDITED_SYNC_CORE) makes every target run
 * it. The kernel's riscv SYNC_CORE (commit cd9b29014dc6 "membarrier:
 * riscv: Provide core serializing command", Linux 6.9;
 * arch/riscv/include/asm/sync_core.h) executes FENCE.I on return from
 * the IPI to the harts that run the process, since xRET is not core
 * serializing, and has prepare_sync_core_cmd() set the mm's
 * icache_stale_mask so that every other hart executes it in switch_mm()
 * before it next runs a thread of the process.
 */
static inline void mbi_arch_sync_core(void)
{
	__asm__ __volatile__("fence.i" ::: "memory");
}

MBI_ARCH_DEFINE_SYSCALL6("ecall", "a7", "a0", "a1", "a2", "a3", "a4", "a5")

/*
 * The emulated SYNC_CORE reaches the threads that are running; a thread
 * that is not returns to user mode by SRET, which is not serializing, on
 * a hart that executes FENCE.I in switch_mm() only when the mm's
 * icache_stale_mask says so (flush_icache_deferred(),
 * arch/riscv/mm/context.c). riscv_flush_icache(flags 0) sets that mask
 * for every hart (flush_icache_mm(), arch/riscv/mm/cacheflush.c) and
 * flushes the harts now running the process. 0, or -errno (ENOSYS where
 * a filter blocks it).
 */
#define MBI_ARCH_HAS_SYNC_CORE_PREPARE	1
static inline long mbi_arch_sync_core_prepare(void)
{
	return mbi_syscall6(MBI_ARCH_NR_riscv_flush_icache, 0, 0, 0, 0, 0, 0);
}

/*
 * Instruction-cache maintenance after writing code: riscv_flush_icache
 * over the executable range (the kernel ignores the range today, and
 * flushes the whole icache of every hart of the mm, see above). User
 * mode alone cannot do it: FENCE.I reaches only the calling hart, and a
 * thread may later migrate to another. The context synchronization of
 * every thread is the membarrier's (SYNC_CORE). 0, or -errno.
 */
#define MBI_ARCH_ICACHE_SYSCALL		1
static inline long mbi_arch_icache_flush(const void *exec, unsigned long len)
{
	unsigned long x = (unsigned long)exec;

	return mbi_syscall6(MBI_ARCH_NR_riscv_flush_icache, (long)x,
			    (long)(x + len), 0, 0, 0, 0);
}

/* Without a result, for callers that have no use for one. */
static inline void mbi_arch_icache_sync(const void *written, const void *exec,
					unsigned long len)
{
	(void)written;
	(void)mbi_arch_icache_flush(exec, len);
}

/* This thread's pointer (the tp register): unique among its live
 * threads. */
static inline void *mbi_arch_thread_pointer(void)
{
	void *tp;

	__asm__("mv %0, tp" : "=r"(tp));
	return tp;
}

/*
 * The time CSR (RDTIME): a constant-rate counter common to every hart
 * (the privileged spec's mtime, read through the time CSR; Linux lets
 * user mode read it, its vDSO clock does). FENCE orders it after earlier
 * accesses, as the ISB does before aarch64's counter read.
 */
static inline __attribute__((always_inline)) unsigned long long
mbi_arch_cycles(void)
{
	unsigned long long v;

	__asm__ __volatile__("fence rw,rw\n\trdtime %0" : "=r"(v) :: "memory");
	return v;
}

/*
 * Remote TLB flushes need not interrupt the running harts into Linux:
 * where riscv_use_sbi_for_rfence() holds (no IPI-capable interrupt
 * controller such as AIA's IMSIC), flush_tlb_mm() asks the SBI firmware
 * (sbi_remote_sfence_vma_asid(), arch/riscv/mm/tlbflush.c), which may
 * execute SFENCE.VMA on the target in M-mode without a trap into the
 * kernel there, so no barrier of the kernel's runs on it. Never rely on
 * a shootdown as a barrier: mbi_arch_tlb_flush_interrupts() is arch.h's 0.
 */

#endif /* MBI_ARCH_RISCV64_H */
