/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: system helpers, one copy each (not public API).
 *
 * Raw system calls only (the architecture's mbi_syscall3/6): they set no
 * errno, take no lock and never reach libc's syscall(), which the preload
 * shim interposes. Everything here is async-signal-safe but mbi_now_ns(),
 * which is clock_gettime() (async-signal-safe too, POSIX.1-2008).
 */
#ifndef MBI_SYS_H
#define MBI_SYS_H

#include <stdint.h>

#include "arch/arch.h"

/* ---- identity (proc.c) ---- */

int mbi_gettid(void);
int mbi_getpid(void);

/* ---- time (clock.c) ---- */

uint64_t mbi_now_ns(void);
void mbi_sleep_ns(uint64_t ns);

/* ---- futex on a 32-bit word (futex.c) ---- */

/* Wait while *addr == val, at most timeout_ns (0: no limit). */
void mbi_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
void mbi_futex_wake(uint32_t *addr, int n);
/* The same, waking only waiters whose bits meet the waker's (no limit). */
void mbi_futex_wait_bits(uint32_t *addr, uint32_t val, uint32_t bits);
void mbi_futex_wake_bits(uint32_t *addr, int n, uint32_t bits);
/* The same on a word shared between processes (a MAP_SHARED mapping). */
void mbi_futex_wait_shared(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
void mbi_futex_wake_shared(uint32_t *addr, int n);

/* ---- small files (file.c) ---- */

/* Read a small file into buf, NUL-terminated: length, or -errno. */
long mbi_read_file(const char *path, char *buf, long size);

/* ---- CPU lists (cpus.c) ---- */

#define MBI_MAX_CPUS 1024
struct mbi_cpuset {
	uint64_t bits[MBI_MAX_CPUS / 64];
};

static inline int mbi_cpuset_has(const struct mbi_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < MBI_MAX_CPUS &&
	       (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

/*
 * Parse a kernel CPU list ("0-3,8,10-11\n") into set: the highest CPU
 * + 1, or -1 when s is not a well-formed list (set is then empty).
 * CPUs at or above MBI_MAX_CPUS count in the result but not in set.
 */
int mbi_cpulist_parse(const char *s, struct mbi_cpuset *set);

/* The CPUs online now: 0, or -errno. */
int mbi_cpus_online(struct mbi_cpuset *online);
/* The number of possible CPUs (the kernel's nr_cpu_ids), at least 1. */
int mbi_cpus_possible(void);

/* ---- the threads of this process, from /proc (proc.c) ---- */

/* Open /proc/self/task for enumeration: fd, or -errno. */
int mbi_tasks_open(void);

/*
 * Call fn(tid, arg) for each thread listed, from the start of the
 * directory; stops early when fn returns non-zero. Returns 0, or -errno.
 */
int mbi_tasks_foreach(int fd, int (*fn)(int tid, void *arg), void *arg);

struct mbi_task_info {
	char state;		/* R S D T t Z X ..., or '?' if unknown */
	int cpu;		/* CPU it last ran on, or -1 */
};

/* Fields of a /proc/PID/stat line (state, CPU); unparsable ones keep
 * their values. */
void mbi_parse_stat(const char *buf, struct mbi_task_info *info);

#endif /* MBI_SYS_H */
