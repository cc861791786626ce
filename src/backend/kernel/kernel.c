// SPDX-License-Identifier: MIT
/*
 * The kernel backend: the membarrier system call itself.
 *
 * The barriers go straight to mbi_kernel_call() (kernel.h). What lives
 * here is the probe that tells, once, whether the system call is there,
 * which commands it has, and which of them a seccomp filter would answer
 * by killing the caller or raising SIGSYS -- without ever being killed,
 * and without touching the program's SIGSYS disposition:
 *
 *  - no filter in force ("Seccomp: 0" in /proc/self/status, see
 *    Documentation/filesystems/proc.rst): nothing but QUERY can answer
 *    but the kernel, so QUERY is asked here, in the process;
 *  - a filter, or no way to tell: every command is first made in a child
 *    of a raw clone() (no atfork handler runs, see fork(2)), which only
 *    makes raw system calls and _exit()s. The child catches SIGSYS with
 *    its own handler in its own copy of the signal table (without
 *    CLONE_SIGHAND, clone(2)); the program's handler is never replaced,
 *    not even briefly, and never sees the child's traps. A command that
 *    kills (SECCOMP_RET_KILL_THREAD, _KILL_PROCESS) or traps
 *    (SECCOMP_RET_TRAP) in the child is never made by the process.
 *
 * The child makes the calls in order, noting in a shared page the one it
 * is about to make and the answer of each; when it dies, the next child
 * resumes after the fatal call, so that an argument filter (QUERY allowed,
 * the registrations killed) is learned command by command. Its exit
 * signal is 0, so the program's SIGCHLD handler never hears of it and
 * SIG_IGN does not reap it (do_notify_parent(), kernel/signal.c); it is
 * made non-dumpable first (prctl(2) PR_SET_DUMPABLE), so that a kill
 * leaves no core file behind.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "backend/kernel/kernel.h"
#include "core/core.h"

/* si_code of a SIGSYS raised by seccomp (asm-generic/siginfo.h). */
#define MBI_SYS_SECCOMP 1
/* The child's exit status after a seccomp SIGSYS. */
#define MBI_PROBE_TRAPPED 42

/*
 * The calls, in an order that lets each barrier run registered; QUERY
 * first. GLOBAL is asked with an invalid flag (EINVAL where the call is
 * let through: a filter keyed on the command answers as for the real
 * call) rather than waiting for a grace period.
 */
static const struct {
	int cmd;
	unsigned int flags;
} probe_calls[] = {
	{ MEMBARRIER_CMD_QUERY, 0 },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0 },
	{ MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0 },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0 },
	{ MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0 },
	{ MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0 },
	{ MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0 },
	{ MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0 },
	{ MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0 },
	{ MEMBARRIER_CMD_GET_REGISTRATIONS, 0 },
	{ MEMBARRIER_CMD_GLOBAL, MEMBARRIER_CMD_FLAG_CPU },
};
#define MBI_NR_PROBES (int)(sizeof(probe_calls) / sizeof(probe_calls[0]))

/* Shared between the prober and its child (MAP_SHARED). */
struct probe_page {
	int current;			/* call about to be made, -1 before */
	int trapped;			/* SIGSYS raised by seccomp */
	long ret[MBI_NR_PROBES];	/* answers so far */
};

/*
 * The page, in the child only (a fork: the parent's copy is never
 * written), for its SIGSYS handler. The parent passes its page down
 * instead: a signal handler that makes the library's first call while
 * that thread is in it probes again, with a page of its own (select.c).
 */
static struct probe_page *child_page;

/* The kernel's struct sigaction (rt_sigaction(2)), x86_64 and arm64. */
struct mbi_ksigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

static __attribute__((noreturn)) void child_exit(int code)
{
	for (;;)
		mbi_syscall3(SYS_exit_group, code, 0, 0);
}

/* The child's own handler: it never returns, so needs no restorer. */
static void child_sigsys(int sig, siginfo_t *info, void *ucontext)
{
	(void)sig;
	(void)ucontext;
	if (info->si_code == MBI_SYS_SECCOMP)
		__atomic_store_n(&child_page->trapped, 1, __ATOMIC_RELAXED);
	child_exit(MBI_PROBE_TRAPPED);
}

static void child_restorer(void)
{
	child_exit(MBI_PROBE_TRAPPED);
}

static __attribute__((noreturn)) void child_run(struct probe_page *p,
						 int first)
{
	struct mbi_ksigaction sa = {
		child_sigsys, SA_SIGINFO | SA_RESTORER, child_restorer, 0,
	};
	uint64_t sigsys = 1ull << (SIGSYS - 1);
	long mask = first > 0 ? p->ret[0] : 0;

	child_page = p;
	mbi_syscall6(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
	mbi_syscall6(SYS_rt_sigaction, SIGSYS, (long)&sa, 0, 8, 0, 0);
	mbi_syscall6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&sigsys, 0, 8, 0, 0);
	for (int i = first; i < MBI_NR_PROBES; i++) {
		int cmd = probe_calls[i].cmd;

		if (i > 0 && (mask < 0 || !(mask & cmd)))
			continue;
		__atomic_store_n(&p->current, i, __ATOMIC_RELAXED);
		p->ret[i] = mbi_kernel_call(cmd, probe_calls[i].flags, 0);
		if (i == 0)
			mask = p->ret[0];
	}
	child_exit(0);
}

/*
 * One child from call first on: the call that killed it, MBI_NR_PROBES
 * when it made every call, -1 when it could not run or died before any.
 */
static int probe_child(struct probe_page *p, int first, int *trapped)
{
	long pid, r;
	int status = 0;

	p->current = -1;
	p->trapped = 0;
	/* A raw fork: flags 0, exit signal 0, no stack (clone(2)). */
	pid = mbi_syscall6(SYS_clone, 0, 0, 0, 0, 0, 0);
	if (pid == 0)
		child_run(p, first);
	if (pid < 0)
		return -1;
	do
		r = mbi_syscall6(SYS_wait4, pid, (long)&status, __WALL, 0, 0, 0);
	while (r == -EINTR);
	if (r != pid)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return MBI_NR_PROBES;
	*trapped = p->trapped;
	return p->current;
}

/* Every command's fate, child by child: 0, or -1 if it could not tell. */
static int probe_in_children(struct probe_page *p, struct mbi_kernel_facts *f)
{
	int first = 0;

	while (first < MBI_NR_PROBES) {
		int trapped = 0, died = probe_child(p, first, &trapped);
		int cmd;

		if (died == MBI_NR_PROBES)
			break;
		if (died < first)
			return -1;
		cmd = probe_calls[died].cmd;
		if (died == 0) {	/* QUERY itself: nothing is made */
			f->query = -ENOSYS;
			f->fatal = MBI_ALL_CMDS_MASK;
			f->traps = trapped ? MBI_ALL_CMDS_MASK : 0;
			return 0;
		}
		f->fatal |= cmd;
		f->traps |= trapped ? cmd : 0;
		first = died + 1;
	}
	f->query = (int)p->ret[0];
	return 0;
}

/* The Seccomp: field of /proc/self/status: 0, 1, 2, or -1 unknown. */
static int seccomp_mode(void)
{
	char buf[4096];
	const char *s;

	if (mbi_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	s = strstr(buf, "\nSeccomp:");
	if (!s)
		return -1;
	s += strlen("\nSeccomp:");
	while (*s == ' ' || *s == '\t')
		s++;
	return *s >= '0' && *s <= '2' ? *s - '0' : -1;
}

void mbi_kernel_probe(struct mbi_kernel_facts *f)
{
	long len = (long)sizeof(struct probe_page);
	long page;

	memset(f, 0, sizeof(*f));
	f->seccomp = seccomp_mode();
	if (f->seccomp == 0) {
		f->query = (int)mbi_kernel_call(MEMBARRIER_CMD_QUERY, 0, 0);
		return;
	}
	page = mbi_syscall6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page < 0 && page > -4096) {
		f->probe_failed = 1;
	} else {
		f->probe_failed =
			probe_in_children((struct probe_page *)page, f) != 0;
		mbi_syscall3(SYS_munmap, page, len, 0);
	}
	if (f->probe_failed) {	/* Could not tell: make no call at all. */
		f->query = -ENOSYS;
		f->fatal = MBI_ALL_CMDS_MASK;
		f->traps = 0;
	}
}
