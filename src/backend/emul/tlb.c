// SPDX-License-Identifier: MIT
/*
 * The plain barrier by TLB shootdown (x86_64).
 *
 * Downgrading the protection of a present page makes the kernel flush
 * that page from the TLB of every CPU currently running this process, by
 * an IPI it waits for (flush_tlb_mm_range). The flush handler executes a
 * serializing instruction (INVLPG or a CR3 write) and returns to user
 * mode by IRET: on each of those CPUs the interrupted thread's earlier
 * stores are drained and its later accesses come after. CPUs not running
 * the process get no IPI and need none: a thread of ours switched out
 * passed the scheduler's full barrier, and will pass another before it
 * runs again. Sleeping threads are not woken: no signal, no EINTR.
 *
 *   caller (CPU0)                      thread T running on CPU1
 *   [earlier accesses]                 [earlier accesses]
 *   a: smp_mb()                        <flush IPI: INVLPG ... IRET>
 *   write page; mprotect(page, R)  ->  (serializing)
 *   (returns after every IPI ran)
 *   c: smp_mb()
 *   [later accesses]                   [later accesses]
 *
 * SYNC_CORE (mbi_tlb_serializes()): the flush handler's INVLPG, or the
 * CR3 write of a full flush, is itself a serializing instruction (Intel
 * SDM vol. 3A, "Serializing Instructions"; AMD APM vol. 2, "Serializing
 * Instructions"), executed on each CPU running the process after the
 * caller's code writes, whatever path the interrupted thread later takes
 * back to user mode (IRET, or SYSRET after a reschedule). A CPU that gets
 * no IPI because it runs a kernel thread in lazy TLB mode, or another
 * process, writes CR3 before it next runs our user code (switch_mm_irqs_off
 * sees the newer tlb_gen; arch-support.txt of membarrier-sync-core relies
 * on that write). Not claimed where a flush may skip a running thread's
 * CPU: KVM's paravirtual remote flush (KVM_FEATURE_PV_TLB_FLUSH) records
 * a flush for a preempted vCPU instead of interrupting it, and the guest
 * thread on it resumes with no instruction of ours; the CPU walk serves
 * SYNC_CORE there.
 *
 * It is not a barrier where the CPU invalidates remote TLBs without
 * interrupting them: AMD INVLPGB, Intel RAR (Remote Action Request), or
 * on arm64 (TLBI broadcasts): mbi_tlb_is_barrier() says no there, and
 * hypervisors that flush guest TLBs by hypercall are not trusted either.
 *
 * Each concurrent caller takes its own page from a small pool, so that
 * one caller's mprotect never faults another's write; the pool is a
 * bitmap, so a caller interrupted by a signal handler that calls
 * membarrier() again simply takes another page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/emul/emul.h"

#define MBI_TLB_PAGES 64

static char *pool;
static uint64_t pool_busy;
static long page_size;

static long pagesz(void)
{
	return __atomic_load_n(&page_size, __ATOMIC_RELAXED);
}

/*
 * Does /proc/cpuinfo list a flag (" name" followed by a space or EOL)?
 * The first CPU's flags line lies in the first few KiB; a stack buffer,
 * so that concurrent first uses never share one.
 */
static int cpuinfo_has_flag(const char *name)
{
	char buf[4096];
	int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *flags, *p;
	size_t len = strlen(name);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	flags = strstr(buf, "\nflags");
	if (!flags)
		return 0;
	for (p = flags; (p = strstr(p, name)); p += len)
		if (p[-1] == ' ' && (p[len] == ' ' || p[len] == '\n'))
			return 1;
	return 0;
}

static int decide(void)
{
	const char *env = secure_getenv("MEMBARRIER_EMUL_TLB");

	if (env && !strcmp(env, "0"))
		return 0;
	if (!mbi_arch_tlb_flush_interrupts())
		return 0;
	/* Kernels name these flags when they use them. */
	return !cpuinfo_has_flag("invlpgb") && !cpuinfo_has_flag("rar");
}

/* KVM's paravirtual remote flush may skip preempted vCPUs (see above). */
static int flush_reaches_every_running_cpu(void)
{
#if defined(__x86_64__)
	unsigned int r[4];

	mbi_arch_cpuid(1, r);
	if (!(r[2] & (1u << 31)))		/* bare metal */
		return 1;
	mbi_arch_cpuid(0x40000001u, r);		/* KVM_CPUID_FEATURES */
	return !(r[0] & (1u << 9));		/* KVM_FEATURE_PV_TLB_FLUSH */
#else
	return 0;
#endif
}

static int tlb_is_barrier, tlb_serializes;

/*
 * Decided on first use by mbi_emul_init(); idempotent: concurrent first
 * uses compute the same answers.
 */
void mbi_tlb_init(void)
{
	int barrier = decide();

	__atomic_store_n(&page_size, sysconf(_SC_PAGESIZE), __ATOMIC_RELAXED);
	__atomic_store_n(&tlb_is_barrier, barrier, __ATOMIC_RELAXED);
	__atomic_store_n(&tlb_serializes,
			 barrier && flush_reaches_every_running_cpu(),
			 __ATOMIC_RELAXED);
}

int mbi_tlb_is_barrier(void)
{
	return __atomic_load_n(&tlb_is_barrier, __ATOMIC_RELAXED);
}

int mbi_tlb_serializes(void)
{
	return __atomic_load_n(&tlb_serializes, __ATOMIC_RELAXED);
}

/*
 * The pool: page i at 2 * i, with an inaccessible page between each two,
 * so that each page is a mapping of its own: mprotect() then changes one
 * whole mapping in place, never splitting or merging mappings.
 */
static char *pool_get(void)
{
	char *p = __atomic_load_n(&pool, __ATOMIC_ACQUIRE), *expected = NULL;
	long len;

	if (p)
		return p;
	len = 2 * MBI_TLB_PAGES * pagesz();
	p = (char *)mbi_syscall6(SYS_mmap, 0, len, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)p < 0 && (long)p > -4096)
		return NULL;
	for (int i = 0; i < MBI_TLB_PAGES; i++)
		if (mbi_syscall3(SYS_mprotect, (long)(p + 2L * i * pagesz()),
			    pagesz(), PROT_READ | PROT_WRITE) < 0) {
			mbi_syscall3(SYS_munmap, (long)p, len, 0);
			return NULL;
		}
	if (!__atomic_compare_exchange_n(&pool, &expected, p, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		mbi_syscall3(SYS_munmap, (long)p, len, 0);
		p = expected;
	}
	return p;
}

static int page_claim(void)
{
	uint64_t busy = __atomic_load_n(&pool_busy, __ATOMIC_RELAXED);

	for (;;) {
		int i;

		if (busy == ~0ull)
			return -1;
		i = __builtin_ctzll(~busy);
		if (__atomic_compare_exchange_n(&pool_busy, &busy,
						busy | (1ull << i), 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return i;
	}
}

int mbi_tlb_shootdown(void)
{
	char *p = pool_get(), *page;
	int i = p ? page_claim() : -1;
	long ret;

	if (i < 0)
		return p ? -EBUSY : -ENOMEM;
	page = p + 2L * i * pagesz();
	membarrier_arch_mb();	/* a: pairs with the IPI's serialization */
	/* Present, writable and dirty: the downgrade must flush it. */
	MEMBARRIER_STORE_SHARED(*page, 1);
	ret = mbi_syscall3(SYS_mprotect, (long)page, pagesz(), PROT_READ);
	if (!ret)
		ret = mbi_syscall3(SYS_mprotect, (long)page, pagesz(),
			      PROT_READ | PROT_WRITE);
	membarrier_arch_mb();	/* c: pairs with the IPI's serialization */
	/*
	 * Release: our mprotects are done before another caller's write. A
	 * page left read-only (the second mprotect failed) is never reused.
	 */
	if (!ret || mbi_syscall3(SYS_mprotect, (long)page, pagesz(),
			    PROT_READ | PROT_WRITE) == 0)
		__atomic_fetch_and(&pool_busy, ~(1ull << i), __ATOMIC_RELEASE);
	return (int)ret;
}
