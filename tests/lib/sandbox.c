// SPDX-License-Identifier: MIT
/*
 * sandbox: run a command under a seccomp filter that blocks membarrier(2)
 * the way real sandboxes do, and lets every other system call through.
 *
 *   sandbox --enosys -- CMD ARGS   membarrier fails with ENOSYS (gVisor-like,
 *                                  systemd SystemCallFilter, old kernels)
 *   sandbox --eperm  -- CMD ARGS   membarrier fails with EPERM (Docker's and
 *                                  Podman's default profiles)
 *   sandbox --trap   -- CMD ARGS   membarrier raises SIGSYS (Android < 10)
 *   sandbox --fake   -- CMD ARGS   membarrier lies: QUERY claims every
 *                                  command, every call returns 0 and
 *                                  orders nothing (a supervisor answers
 *                                  through SECCOMP_RET_USER_NOTIF)
 *   sandbox --kill-process -- ...  membarrier kills the process
 *                                  (SECCOMP_RET_KILL_PROCESS; hand-written
 *                                  and systemd filters)
 *   sandbox --kill-thread  -- ...  membarrier kills the calling thread
 *                                  (SECCOMP_RET_KILL_THREAD)
 *   sandbox --trace  -- CMD ARGS   SECCOMP_RET_TRACE with no tracer: the
 *                                  call fails with ENOSYS
 *   sandbox --kill-register -- ... QUERY and the barriers pass, the
 *                                  REGISTER_* commands kill the process
 *                                  (a filter on the first argument)
 *   sandbox --kernel=V -- CMD ARGS  an older kernel, V one of 4.3, 4.14,
 *                                  4.16, 4.18, 5.10, 6.3: the commands it
 *                                  lacks fail with EINVAL and QUERY omits
 *                                  them; before 4.18, no rseq system call
 *                                  (ENOSYS), so the C library registers
 *                                  no rseq area
 *
 * The filter is inherited by every child and survives execve(), so a whole
 * test suite runs inside it. No libseccomp: the BPF programs are a few
 * instructions each.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_RISCV64
#else
#error "sandbox: unsupported architecture"
#endif

/* Install a filter of n instructions, for this process and its children. */
static int load(struct sock_filter *code, size_t n, unsigned int flags)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

#define EMIT(x) (code[n++] = (struct sock_filter)x)

/* How every filter starts: another ABI (e.g. x32, compat) passes, then
 * the system call number is loaded. Returns the instructions written. */
static unsigned int prologue(struct sock_filter *code)
{
	unsigned int n = 0;

	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	return n;
}

/*
 * membarrier returns action: every call (ncmds 0), or only the calls
 * whose command, the low word of the first argument (little-endian
 * ABIs), is one of cmds. Every other system call passes.
 */
static int install_cmds(unsigned int action, const unsigned int *cmds,
			unsigned int ncmds, unsigned int flags)
{
	struct sock_filter code[8 + 2 * 4];
	unsigned int n = prologue(code);

	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 1, 0));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	if (ncmds) {
		EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			      offsetof(struct seccomp_data, args[0])));
		for (unsigned int i = 0; i < ncmds && i < 4; i++) {
			EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cmds[i], 0, 1));
			EMIT(BPF_STMT(BPF_RET | BPF_K, action));
		}
		action = SECCOMP_RET_ALLOW;
	}
	EMIT(BPF_STMT(BPF_RET | BPF_K, action));
	return load(code, n, flags);
}

static int install(unsigned int action, unsigned int flags)
{
	return install_cmds(action, NULL, 0, flags);
}

/* membarrier's REGISTER_* commands kill the process; all else passes. */
static int install_kill_register(void)
{
	static const unsigned int regs[] = { 4, 16, 64, 256 };

	return install_cmds(SECCOMP_RET_KILL_PROCESS, regs, 4, 0);
}

/* The killing actions: 0 and the action, or -1 for another option. */
static int kill_action(const char *opt, unsigned int *action)
{
	if (!strcmp(opt, "--kill-process"))
		*action = SECCOMP_RET_KILL_PROCESS;
	else if (!strcmp(opt, "--kill-thread"))
		*action = SECCOMP_RET_KILL_THREAD;
	else if (!strcmp(opt, "--trace"))
		*action = SECCOMP_RET_TRACE;
	else
		return -1;
	return 0;
}

/* The fake membarrier's answer: every command claimed, nothing done. */
static long fake_answer(const struct seccomp_data *d)
{
	if (d->args[0] == 0 && d->args[1] == 0)	/* QUERY */
		return 0x3ff;
	return 0;
}

/*
 * Move the supervisor to the CPU the notifying thread tid waits on (the
 * processor field of /proc/TID/stat, proc(5)). A supervisor left to the
 * scheduler is woken wherever it last ran or wherever looks free, at
 * times the CPU of a thread the caller watches: its answer then preempts
 * that thread during the call, as a real barrier's interrupt would, and
 * a lie passes for a barrier (membarrier doctor counts such gaps and
 * aborted rseq sections, tools/verify.c; here, under load, 117 of 120
 * calls of one of its checks "interrupted" the watched thread). Pinned where the caller sleeps, it
 * disturbs no other CPU, like a system call that does nothing, and the
 * next notification wakes it there too (from the second call on, for a
 * caller that stays on its CPU). *cur is the CPU pinned to, or -1.
 */
static void follow_caller(unsigned int tid, int *cur)
{
	char path[64], buf[1024], *p;
	int fd, cpu = -1;
	ssize_t len;
	cpu_set_t set;

	snprintf(path, sizeof(path), "/proc/%u/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	/* Past the command name (in parentheses, may hold spaces), the
	 * state is field 3 and the processor field 39. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 39; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%d", &cpu) != 1 || cpu < 0 ||
	    cpu >= CPU_SETSIZE || cpu == *cur)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (!sched_setaffinity(0, sizeof(set), &set))
		*cur = cpu;
}

/*
 * Supervise the child: answer each of its notified membarrier calls with
 * answer(call, resp, arg) until it exits; its exit status, or 128 + the
 * signal that ended it.
 */
static int supervise(int listener, pid_t child,
		     void (*answer)(const struct seccomp_data *call,
				    struct seccomp_notif_resp *resp, long arg),
		     long arg)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int status, cpu = -1;

	for (;;) {
		struct pollfd p = { .fd = listener, .events = POLLIN };

		if (waitpid(child, &status, WNOHANG) == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		if (poll(&p, 1, 100) <= 0 || !(p.revents & POLLIN))
			continue;
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req))
			continue;
		follow_caller(req.pid, &cpu);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		answer(&req.data, &resp, arg);
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

/* Run argv in a child under the filter whose listener is given, answering
 * its notified calls with answer (supervise()). */
static int run_supervised(int listener, char **argv,
			  void (*answer)(const struct seccomp_data *call,
					 struct seccomp_notif_resp *resp, long arg),
			  long arg)
{
	pid_t child;

	if (listener < 0) {
		perror("sandbox: seccomp user notification");
		return 2;
	}
	child = fork();
	if (child == 0) {
		close(listener);
		execvp(argv[0], argv);
		perror("sandbox: exec");
		_exit(127);
	}
	return supervise(listener, child, answer, arg);
}

/* --fake: QUERY claims every command, every other call returns 0. */
static void answer_fake(const struct seccomp_data *call,
			struct seccomp_notif_resp *resp, long arg)
{
	(void)arg;
	resp->val = fake_answer(call);
}

static int run_fake(char **argv)
{
	int listener = install(SECCOMP_RET_USER_NOTIF,
			       SECCOMP_FILTER_FLAG_NEW_LISTENER);

	return run_supervised(listener, argv, answer_fake, 0);
}

/*
 * Older kernels, by the commands each release added (kernel/sched/
 * membarrier.c and include/uapi/linux/membarrier.h in each release):
 * 4.3 the system call with QUERY and GLOBAL (then SHARED); 4.14
 * PRIVATE_EXPEDITED and its registration; 4.16 GLOBAL_EXPEDITED,
 * PRIVATE_EXPEDITED_SYNC_CORE and their registrations; 5.10
 * PRIVATE_EXPEDITED_RSEQ and its registration (and FLAG_CPU); 6.3
 * GET_REGISTRATIONS. The rseq system call came with 4.18.
 */
static const struct old_kernel {
	const char *version;
	unsigned int cmds;
	int has_rseq;
} old_kernels[] = {
	{ "4.3", 0x001, 0 },
	{ "4.14", 0x019, 0 },
	{ "4.16", 0x07f, 0 },
	{ "4.18", 0x07f, 1 },
	{ "5.10", 0x1ff, 1 },
	{ "6.3", 0x3ff, 1 },
};

#define MAX_OLD_FILTER 40

/*
 * membarrier(QUERY, 0) goes to the supervisor (which answers the real
 * QUERY limited to the kernel's commands); a command the kernel lacks
 * fails with EINVAL whatever its flags; everything else runs. Only the
 * low 32 bits of cmd and flags count, as the kernel's int arguments.
 */
static int install_old_kernel(const struct old_kernel *k)
{
	struct sock_filter code[MAX_OLD_FILTER];
	unsigned int n = prologue(code), hidden[16], nh = 0;

	for (unsigned int c = 1; c <= 0x200; c <<= 1)
		if (!(k->cmds & c))
			hidden[nh++] = c;
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rseq, 0, 1));
	EMIT(BPF_STMT(BPF_RET | BPF_K, k->has_rseq ? SECCOMP_RET_ALLOW :
		      SECCOMP_RET_ERRNO | ENOSYS));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 1, 0));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	/* Reload cmd: the flags check above may have replaced it. */
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
	for (unsigned int i = 0; i < nh; i++) {
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hidden[i], 0, 1));
		EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL));
	}
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	return load(code, n, SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

#undef EMIT

/* --kernel: QUERY answered as the old kernel would (query: mask or -errno). */
static void answer_old_kernel(const struct seccomp_data *call,
			      struct seccomp_notif_resp *resp, long query)
{
	(void)call;
	resp->val = query;
	if (query < 0) {
		resp->val = -1;
		resp->error = (int)query;
	}
}

static int run_old_kernel(const char *version, char **argv)
{
	const struct old_kernel *k = NULL;
	long query;
	int listener;

	for (unsigned int i = 0; i < sizeof(old_kernels) / sizeof(old_kernels[0]); i++)
		if (!strcmp(old_kernels[i].version, version))
			k = &old_kernels[i];
	if (!k) {
		fprintf(stderr, "sandbox: --kernel=%s: not one of 4.3 4.14 4.16 "
			"4.18 5.10 6.3\n", version);
		return 2;
	}
	/* Before the filter: the supervisor is filtered too. */
	query = syscall(SYS_membarrier, 0, 0, 0);
	query = query < 0 ? -errno : query & (long)k->cmds;
	listener = install_old_kernel(k);
	return run_supervised(listener, argv, answer_old_kernel, query);
}

static int usage(void)
{
	fprintf(stderr, "usage: sandbox --enosys|--eperm|--trap|--fake|"
		"--kill-process|--kill-thread|--trace|--kill-register|\n"
		"       --kernel=VERSION -- CMD [ARGS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned int action;

	if (argc < 4 || strcmp(argv[2], "--"))
		return usage();
	if (!strcmp(argv[1], "--enosys"))
		action = SECCOMP_RET_ERRNO | ENOSYS;
	else if (!strcmp(argv[1], "--eperm"))
		action = SECCOMP_RET_ERRNO | EPERM;
	else if (!strcmp(argv[1], "--trap"))
		action = SECCOMP_RET_TRAP;
	else if (!strcmp(argv[1], "--fake"))
		return run_fake(argv + 3);
	else if (!strncmp(argv[1], "--kernel=", 9))
		return run_old_kernel(argv[1] + 9, argv + 3);
	else if (!strcmp(argv[1], "--kill-register")) {
		if (install_kill_register()) {
			perror("sandbox: seccomp");
			return 2;
		}
		execvp(argv[3], argv + 3);
		perror("sandbox: exec");
		return 127;
	} else if (kill_action(argv[1], &action))
		return usage();
	if (install(action, 0)) {
		perror("sandbox: seccomp");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror("sandbox: exec");
	return 127;
}
