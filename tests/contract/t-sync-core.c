// SPDX-License-Identifier: MIT
/*
 * The emulated SYNC_CORE executes the context-synchronizing instruction
 * (cpuid on x86_64, isb on aarch64) on every thread running elsewhere
 * before the call returns.
 *
 * No outcome of ordinary code shows the instruction's absence (on x86_64
 * the return from the signal handler serializes anyway), so the test
 * counts its executions: hardware breakpoints (perf_event_open, type
 * PERF_TYPE_BREAKPOINT, user mode only) on each such instruction of the
 * library's signal handlers (local functions whose name contains
 * "handler", from the library's symbol table), attached to a thread that
 * spins on another CPU. Each call must raise the count by the time the
 * thread resumes its own code (the instruction precedes that, not the
 * call's return: the handler acknowledges first); the control (the same
 * thread, without a call) must not. A call may rightly
 * leave the count alone when the thread could not run the handler in
 * time and the fallback (the CPU walk, whose context switch serializes)
 * ordered it instead: the test asks for half of 100 calls, which a
 * correct backend misses only if more than 50 calls outlast the
 * handshake's 20 ms deadline or find the thread in uninterruptible
 * sleep (real runs: 100/100); the emul-sync-core mutant scores 0.
 *
 * Then the handshake's waiting (check_waits, below).
 *
 * Only where the emulated backend serves SYNC_CORE by the signal
 * handshake (the kernel's instruction runs in the kernel: not counted).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "cpus.h"
#include "lib/tap.h"

#define CALLS 100
#define MAX_BP 4

#define CMD MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE

static uintptr_t bp_addr[MAX_BP], entry_addr[MAX_BP];
static int n_bp, n_entry, cpus[2];
static int spinner_tid, stop;
static unsigned long heartbeat;

#if defined(__x86_64__)
static int is_sync_insn(const unsigned char *p, uintptr_t off)
{
	(void)off;
	return p[0] == 0x0f && p[1] == 0xa2;		/* cpuid */
}
#elif defined(__aarch64__)
static int is_sync_insn(const unsigned char *p, uintptr_t off)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return off % 4 == 0 && w == 0xd5033fdfu;	/* isb */
}
#elif defined(__riscv)
static int is_sync_insn(const unsigned char *p, uintptr_t off)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return off % 2 == 0 && w == 0x0000100fu;	/* fence.i */
}
#endif

/* The sync instructions in the library's handlers: 0, or -1 (skip). */
static int find_instructions(const char **why)
{
	Dl_info info;
	struct stat st;
	const unsigned char *file;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	int fd, found_handler = 0;

	if (!dladdr((void *)membarrier, &info) || !info.dli_fname) {
		*why = "dladdr cannot name the library";
		return -1;
	}
	fd = open(info.dli_fname, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		*why = "cannot read the library's file";
		return -1;
	}
	file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (file == MAP_FAILED) {
		*why = "cannot map the library's file";
		return -1;
	}
	eh = (const Elf64_Ehdr *)file;
	sh = (const Elf64_Shdr *)(file + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym = (const Elf64_Sym *)(file + sh[i].sh_offset);
		const char *names = (const char *)file + sh[sh[i].sh_link].sh_offset;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++) {
			const unsigned char *code;

			if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC ||
			    ELF64_ST_BIND(sym[k].st_info) != STB_LOCAL ||
			    !strstr(names + sym[k].st_name, "handler") ||
			    !sym[k].st_size)
				continue;
			found_handler = 1;
			code = (const unsigned char *)info.dli_fbase + sym[k].st_value;
			if (n_entry < MAX_BP)
				entry_addr[n_entry++] = (uintptr_t)code;
			for (uintptr_t off = 0; off + 4 <= sym[k].st_size; off++)
				if (is_sync_insn(code + off, sym[k].st_value + off) &&
				    n_bp < MAX_BP)
					bp_addr[n_bp++] = (uintptr_t)code + off;
		}
	}
	munmap((void *)file, (size_t)st.st_size);
	if (!found_handler) {
		*why = "the library has no symbol table naming its handlers";
		return -1;
	}
	return 0;
}

static void *spinner(void *arg)
{
	(void)arg;
	cpus_pin_self(cpus[1]);
	__atomic_store_n(&spinner_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		__atomic_store_n(&heartbeat, heartbeat + 1, __ATOMIC_RELEASE);
	return NULL;
}

static int open_bp(uintptr_t addr, int tid)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_X;
	a.bp_addr = addr;
	a.bp_len = sizeof(long);
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, 0);
}

/*
 * The handler acknowledges, then synchronizes, then returns to the code
 * it interrupted (which the instruction must precede): once the thread's
 * loop has moved on, a handler that ran is complete.
 */
static void wait_resumed(void)
{
	unsigned long h = __atomic_load_n(&heartbeat, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&heartbeat, __ATOMIC_ACQUIRE) == h)
		sched_yield();
}

static long long count_n(const int *fds, int n)
{
	long long total = 0;

	for (int i = 0; i < n; i++) {
		long long c = 0;

		if (read(fds[i], &c, sizeof(c)) == sizeof(c))
			total += c;
	}
	return total;
}

static long long count(const int *fds)
{
	return count_n(fds, n_bp);
}

/* A thread that spends its time in a system call (faulting in pages). */
static void *busy_in_kernel(void *arg)
{
	size_t len = 4 << 20;

	(void)arg;
	cpus_pin_self(cpus[1]);
	__atomic_store_n(&spinner_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, len);
	}
	return NULL;
}

/*
 * The handshake waits for each acknowledgment: a thread busy inside a
 * system call (running, so signalled and waited for) runs the handler
 * only when the call returns, a millisecond later; a barrier that does
 * not wait returns long before. Counted by a breakpoint on the handlers'
 * entries, read as the call returns. Half of CALLS, as above: a call
 * that finds the thread in uninterruptible sleep (a page allocation)
 * rightly leaves it to the fallback; real runs: 97 to 100 of 100, the
 * emul-handshake-nowait mutant 0.
 */
static void check_waits(void)
{
	int fds[MAX_BP], hits = 0;
	pthread_t t;

	__atomic_store_n(&spinner_tid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, busy_in_kernel, NULL);
	while (!__atomic_load_n(&spinner_tid, __ATOMIC_ACQUIRE))
		usleep(100);
	for (int i = 0; i < n_entry; i++) {
		fds[i] = open_bp(entry_addr[i], spinner_tid);
		if (fds[i] < 0)
			tap_skip_all("no hardware breakpoints (perf_event_open)");
	}
	for (int i = 0; i < CALLS; i++) {
		long long before = count_n(fds, n_entry);

		membarrier(CMD, 0, 0);
		hits += count_n(fds, n_entry) > before;
		usleep(200);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	for (int i = 0; i < n_entry; i++)
		close(fds[i]);
	tap_ok(hits * 2 >= CALLS, "the call returned after the handler of "
	       "a thread busy in a system call had run, in %d/%d calls", hits,
	       CALLS);
}

int main(void)
{
	const char *why = NULL;
	int fds[MAX_BP], hits = 0, control = 0;
	pthread_t t;

	if (membarrier_backend_of(CMD) != MEMBARRIER_BACKEND_EMULATED ||
	    strcmp(membarrier_mechanism(CMD), "signal handshake"))
		tap_skip_all("SYNC_CORE is not served by the signal handshake here");
	if (cpus_pick_two(cpus))
		tap_skip_all("one CPU: no thread runs elsewhere");
	if (find_instructions(&why))
		tap_skip_all(why);
	tap_ok(n_bp > 0, "the handshake's handler has %d context-synchronizing "
	       "instruction(s)", n_bp);
	if (!n_bp)
		return tap_done();
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		tap_skip_all("cannot register SYNC_CORE");
	alarm(60);
	cpus_pin_self(cpus[0]);
	pthread_create(&t, NULL, spinner, NULL);
	while (!__atomic_load_n(&spinner_tid, __ATOMIC_ACQUIRE))
		usleep(100);
	for (int i = 0; i < n_bp; i++) {
		fds[i] = open_bp(bp_addr[i], spinner_tid);
		if (fds[i] < 0)
			tap_skip_all("no hardware breakpoints (perf_event_open)");
	}
	for (int i = 0; i < CALLS; i++) {
		long long before = count(fds);

		membarrier(CMD, 0, 0);
		wait_resumed();
		hits += count(fds) > before;
		before = count(fds);
		usleep(50);
		wait_resumed();
		control += count(fds) > before;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	for (int i = 0; i < n_bp; i++)
		close(fds[i]);
	tap_ok(hits * 2 >= CALLS && control == 0, "the thread running "
	       "elsewhere executed it in %d/%d calls (control, no call: %d)",
	       hits, CALLS, control);
	check_waits();
	return tap_done();
}
