/* SPDX-License-Identifier: MIT */
/*
 * What the GLOBAL_EXPEDITED tests share: a private /dev/shm (a mount
 * namespace of the test's own with a tmpfs on /dev/shm, so that no test
 * touches the machine's registry), the registry as a test reads it
 * (layout from src/backend/emul/registry.h), registered children, and
 * the agent thread's wake-ups (from /proc).
 */
#ifndef T_GLOBAL_H
#define T_GLOBAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <membarrier.h>

#include "backend/emul/registry.h"
#include "lib/tap.h"

#define GE MEMBARRIER_CMD_GLOBAL_EXPEDITED
#define REG_GE MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
#define REJOIN_MS 1250	/* global.c's REJOIN_NS */
#define SILENT_MS 100	/* global.c's SILENT_NS */

static inline uint64_t tg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Re-exec on the emulated backend inside a new mount namespace with a
 * tmpfs of its own on /dev/shm (opts: mount options). Skips the whole
 * program, with the reason, where that cannot be done.
 */
static inline void tg_private_shm(char **argv, const char *opts)
{
	if (getenv("MEMBARRIER_BACKEND") && getenv("T_GLOBAL_PRIVATE"))
		return;
	if (geteuid() != 0)
		tap_skip_all("needs root: a private tmpfs on /dev/shm, so that "
			     "the machine's registry is never touched");
	if (unshare(CLONE_NEWNS))
		tap_skip_all("unshare(CLONE_NEWNS) refused");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, opts))
		tap_skip_all("cannot mount a tmpfs on /dev/shm");
	setenv("MEMBARRIER_BACKEND", "emulated", 1);
	setenv("T_GLOBAL_PRIVATE", "1", 1);
	execv("/proc/self/exe", argv);
	tap_skip_all("cannot re-exec");
}

/* The registry at name k, mapped read-write, or NULL. */
struct tg_reg {
	int fd;
	struct mbi_greg_hdr *hdr;
	struct mbi_gslot *slot;
};

static inline int tg_open(int k, struct tg_reg *r)
{
	char path[96];

	if (k)
		snprintf(path, sizeof(path), "/dev/shm/libmembarrier-%u.%d/registry.v2",
			 geteuid(), k);
	else
		snprintf(path, sizeof(path), "/dev/shm/libmembarrier-%u/registry.v2",
			 geteuid());
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -1;
	r->hdr = mmap(NULL, MBI_GREG_HDR + MBI_GREG_MAX * sizeof(struct mbi_gslot),
		      PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	r->slot = (struct mbi_gslot *)((char *)r->hdr + MBI_GREG_HDR);
	return r->hdr == MAP_FAILED ? (close(r->fd), -1) : 0;
}

static inline void tg_close(struct tg_reg *r)
{
	munmap(r->hdr, MBI_GREG_HDR + MBI_GREG_MAX * sizeof(struct mbi_gslot));
	close(r->fd);
}

static inline int tg_held(const struct tg_reg *r, uint32_t i)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = MBI_GREG_LOCK + i, .l_len = 1 };

	return fcntl(r->fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* The slot held by a registration of pid in registry k, or -1. */
static inline int tg_slot_of(int k, pid_t pid)
{
	struct tg_reg r;
	int found = -1;

	if (tg_open(k, &r))
		return -1;
	for (uint32_t i = 0; i < r.hdr->nslots && found < 0; i++)
		if ((uint32_t)r.slot[i].owner == (uint32_t)pid && tg_held(&r, i))
			found = (int)i;
	tg_close(&r);
	return found;
}

/* Requests made to pid's agent in registry k (its slot's req), or -1:
 * only callers change it, unlike the agent's own periodic wake-ups. */
static inline long tg_requests(int k, pid_t pid)
{
	int i = tg_slot_of(k, pid);
	struct tg_reg r;
	long n;

	if (i < 0 || tg_open(k, &r))
		return -1;
	n = __atomic_load_n(&r.slot[i].req, __ATOMIC_ACQUIRE);
	tg_close(&r);
	return n;
}

/* Wait (up to ms) until pid's agent in registry k answered every
 * request made to it (its slot's done caught up with req): 1, or 0. */
static inline int tg_wait_answered(int k, pid_t pid, int ms)
{
	int i = tg_slot_of(k, pid), ok = 0;
	struct tg_reg r;

	if (i < 0 || tg_open(k, &r))
		return 0;
	for (int t = 0; t <= ms && !ok; t += 10) {
		/* Acquires pair with the callers' and the agent's RMWs. */
		uint32_t req = __atomic_load_n(&r.slot[i].req, __ATOMIC_ACQUIRE);
		uint32_t done = __atomic_load_n(&r.slot[i].done, __ATOMIC_ACQUIRE);

		ok = (int32_t)(done - req) >= 0;
		if (!ok)
			usleep(10000);
	}
	tg_close(&r);
	return ok;
}

/* Wait (up to ms) until pid holds a slot in registry k. */
static inline int tg_wait_slot(int k, pid_t pid, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		int i = tg_slot_of(k, pid);

		if (i >= 0)
			return i;
		usleep(10000);
	}
	return -1;
}

/*
 * fork(), the child killed when the forking thread dies (PR_SET_PDEATHSIG,
 * prctl(2)): a test that dies (its alarm, a crash) takes its spinning
 * children with it instead of leaving them to load the machine, and
 * every later test, for good.
 */
static inline pid_t tg_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	/* A sandbox may refuse the prctl: the child then runs on as before. */
	if (pid == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 &&
	    getppid() != parent)
		_exit(1);	/* the parent died before the prctl */
	return pid;
}

/*
 * A registered child: registers, writes 'y' or 'n' to report_fd, then
 * runs body (or pauses forever).
 */
static inline pid_t tg_registered_child(int report_fd, void (*body)(void))
{
	pid_t pid = tg_fork();

	if (pid == 0) {
		char ok = membarrier(REG_GE, 0, 0) == 0 ? 'y' : 'n';

		if (write(report_fd, &ok, 1) != 1)
			_exit(1);
		if (body)
			body();
		for (;;)
			pause();
	}
	return pid;
}

/* Start a registered child and wait for its verdict: pid, or -1. */
static inline pid_t tg_start(void (*body)(void))
{
	int p[2];
	char ok = 'n';
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = tg_registered_child(p[1], body);
	close(p[1]);
	if (read(p[0], &ok, 1) != 1)
		ok = 'n';
	close(p[0]);
	if (ok != 'y') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* One GLOBAL_EXPEDITED from a new, unregistered process: 0, or -1. */
static inline int tg_call_from_child(void)
{
	int status;
	pid_t c = fork();

	if (c == 0)
		_exit(membarrier(GE, 0, 0) ? 1 : 0);
	waitpid(c, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* A new registry makes callers walk (or wait) for a second and a
 * quarter, the time agents of a removed one take to rejoin: let it age. */
static inline void tg_age_registry(void)
{
	usleep((REJOIN_MS + 50) * 1000);
}

static inline void tg_kill(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

#if defined(__x86_64__)
#define TG_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TG_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * From here on, sched_setaffinity fails with EPERM in this process (a
 * seccomp filter, as some sandboxes have): the CPU walk cannot move it.
 * 0, or -1.
 */
static inline int tg_no_affinity(void)
{
#ifdef TG_AUDIT_ARCH
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TG_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_setaffinity, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#else
	return -1;
#endif
}

#endif /* T_GLOBAL_H */
