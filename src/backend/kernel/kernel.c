// SPDX-License-Identifier: MIT
/*
 * The kernel backend: the membarrier system call itself.
 *
 * The barriers go straight to mbi_kernel_call() (kernel.h). What lives
 * here is the probe that tells, once, whether the system call is there
 * and which commands it has, without being killed by a seccomp filter
 * that answers with SIGSYS (SECCOMP_RET_TRAP, as on Android before 10).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "backend/kernel/kernel.h"
#include "core/core.h"

/* si_code of a SIGSYS raised by seccomp (asm-generic/siginfo.h). */
#define MBI_SYS_SECCOMP 1

static volatile sig_atomic_t probe_trapped;

static void probe_sigsys(int sig, siginfo_t *info, void *ucontext)
{
	(void)sig;
	(void)ucontext;
	if (info->si_code == MBI_SYS_SECCOMP)
		probe_trapped = 1;
}

/*
 * Probe with QUERY, which a real kernel answers with its mask and never
 * with EPERM. SIGSYS is caught (and unblocked) only for the one call,
 * then the program's disposition and mask are restored.
 */
int mbi_kernel_probe(void)
{
	struct sigaction trap, saved;
	sigset_t sigsys, saved_mask;
	long ret;

	memset(&trap, 0, sizeof(trap));
	trap.sa_sigaction = probe_sigsys;
	trap.sa_flags = SA_SIGINFO;
	sigemptyset(&trap.sa_mask);
	sigemptyset(&sigsys);
	sigaddset(&sigsys, SIGSYS);

	probe_trapped = 0;
	sigaction(SIGSYS, &trap, &saved);
	pthread_sigmask(SIG_UNBLOCK, &sigsys, &saved_mask);
	ret = mbi_kernel_call(MEMBARRIER_CMD_QUERY, 0, 0);
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
	sigaction(SIGSYS, &saved, NULL);

	if (probe_trapped)
		return -ENOSYS;
	return (int)ret;
}
