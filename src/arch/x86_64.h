/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: x86_64, private part. Include "arch/arch.h".
 */
#ifndef MBI_ARCH_X86_64_H
#define MBI_ARCH_X86_64_H

#define MBI_ARCH_NAME			"x86_64"
/*
 * x86-TSO: a store is never reordered with an earlier load or store, a load
 * never with an earlier load; only store->load reordering exists.
 */
#define MBI_ARCH_TSO			1
#define MBI_ARCH_NR_membarrier		324

/*
 * Serializing instruction: CPUID is architecturally serializing on every
 * x86_64 CPU (SERIALIZE is newer and optional). Leaf 0 is always valid.
 */
static inline void mbi_arch_sync_core(void)
{
	unsigned int eax = 0, ebx, ecx = 0, edx;

	__asm__ __volatile__("cpuid"
			     : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx)
			     :
			     : "memory");
}

/* Time-stamp counter: constant rate and synchronized across CPUs on the
 * machines this library targets; the litmus tests use it to start two
 * threads at the same instant. */
static inline __attribute__((always_inline)) unsigned long long
mbi_arch_cycles(void)
{
	unsigned int lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((unsigned long long)hi << 32) | lo;
}

/* This thread's control block (glibc's tcbhead_t.self, at %fs:0): one
 * load, unique among the live threads of the process. */
static inline void *mbi_arch_thread_pointer(void)
{
	void *tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static inline void mbi_arch_cpuid(unsigned int leaf, unsigned int r[4])
{
	__asm__ __volatile__("cpuid"
			     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(0));
}

/*
 * Does a TLB shootdown interrupt the CPUs it flushes? Not where the CPU
 * can invalidate remote TLBs by broadcast (AMD INVLPGB), nor under
 * hypervisors whose guests flush remote TLBs by hypercall (Hyper-V, Xen),
 * where no guest IPI reaches the running threads. KVM guests and bare
 * metal flush by IPI. The caller also checks the kernel's cpuinfo flags.
 */
#define MBI_ARCH_HAS_TLB_FLUSH_INTERRUPTS	1
static inline int mbi_arch_tlb_flush_interrupts(void)
{
	unsigned int r[4];
	char vendor[13];

	mbi_arch_cpuid(0x80000000u, r);
	if (r[0] >= 0x80000008u) {
		mbi_arch_cpuid(0x80000008u, r);
		if (r[1] & (1u << 3))		/* INVLPGB */
			return 0;
	}
	mbi_arch_cpuid(1, r);
	if (!(r[2] & (1u << 31)))		/* no hypervisor */
		return 1;
	mbi_arch_cpuid(0x40000000u, r);
	__builtin_memcpy(vendor, &r[1], 4);
	__builtin_memcpy(vendor + 4, &r[2], 4);
	__builtin_memcpy(vendor + 8, &r[3], 4);
	vendor[12] = '\0';
	return !__builtin_strcmp(vendor, "KVMKVMKVM");
}

/*
 * Instruction-cache maintenance after writing code: none on x86_64,
 * whose instruction fetch snoops stores (the context synchronization
 * that old prefetched instructions still need comes from the membarrier).
 */
static inline void mbi_arch_icache_sync(const void *written, const void *exec,
					unsigned long len)
{
	(void)written;
	(void)exec;
	(void)len;
}

static inline long mbi_syscall6(long nr, long a, long b, long c, long d,
				long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10),
			       "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

/*
 * For calls of at most three arguments: r10, r8 and r9 keep whatever
 * they held, as with glibc's syscall() (a seccomp filter, audit or
 * ptrace sees them; the call itself reads only its arguments). Spared
 * the three moves, the fast path saves three registers fewer on its
 * stack (two, not five): bench core 0.97-1.02 against 1.01-1.02
 * (8 alternating runs each).
 */
#define MBI_ARCH_HAS_SYSCALL3 1
static inline long mbi_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

#endif /* MBI_ARCH_X86_64_H */
