/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: Linux's membarrier(2), with its exact contract, on every
 * machine a program meets.
 *
 * int membarrier(int cmd, unsigned int flags, int cpu_id);
 *
 * behaves as the system call of Linux 6.x documented in membarrier(2):
 * same commands, same flags, same return values, same errno, same
 * registration model (per process, idempotent, inherited by fork(),
 * cleared by execve()). Where the running kernel cannot serve a command
 * (seccomp, old kernel, sandbox), another backend serves it with the same
 * guarantee; membarrier_backend_of() tells which.
 *
 * Ordering guarantee (O: ordered, X: not ordered), for each pair of
 * barriers executed by two threads of the process:
 *
 *                  barrier()  smp_mb()  membarrier()
 *   barrier()          X         X          O
 *   smp_mb()           X         O          O
 *   membarrier()       O         O          O
 *
 * This header defines every command and flag, including those older
 * <linux/membarrier.h> lack, so that programs need no kernel header.
 *
 * ABI: the exported symbols, the layouts of the structures the public
 * headers define and the TLS variables their inline fast paths read
 * (membarrier/compiler.h); make check-abi guards them.
 */
#ifndef MEMBARRIER_H
#define MEMBARRIER_H

#include <membarrier/compiler.h>

/*
 * Where the kernel header exists, include it first: its enumerators then
 * coexist with the macros below (same names, same values), and including
 * it after this header is a no-op thanks to its include guard.
 */
#if defined(__has_include)
#if __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#endif
#endif

#define MEMBARRIER_CMD_QUERY					0
#define MEMBARRIER_CMD_GLOBAL					(1 << 0)
#define MEMBARRIER_CMD_GLOBAL_EXPEDITED				(1 << 1)
#define MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED		(1 << 2)
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED			(1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED		(1 << 4)
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE		(1 << 5)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE	(1 << 6)
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ			(1 << 7)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ		(1 << 8)
#define MEMBARRIER_CMD_GET_REGISTRATIONS			(1 << 9)
/* Alias kept by the kernel for header backward compatibility. */
#define MEMBARRIER_CMD_SHARED					MEMBARRIER_CMD_GLOBAL

/* Only with MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: target cpu_id only. */
#define MEMBARRIER_CMD_FLAG_CPU					(1 << 0)

/* Number of commands, QUERY included (QUERY, then one per bit). */
#define MEMBARRIER_NR_CMDS	11

/* Backends that can serve a command. */
enum membarrier_backend {
	MEMBARRIER_BACKEND_NONE = 0,	/* nothing serves it: the call fails */
	MEMBARRIER_BACKEND_KERNEL = 1,	/* the running kernel's system call */
	MEMBARRIER_BACKEND_EMULATED = 2,	/* user-space emulation */
};

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The contract: returns what the system call returns (0, the QUERY or
 * GET_REGISTRATIONS mask), or -1 with errno set (EINVAL, EPERM, ENOSYS,
 * ENOMEM), exactly as membarrier(2) documents.
 */
MEMBARRIER_API int membarrier(int cmd, unsigned int flags, int cpu_id);

/*
 * The backend serving cmd in this process (enum membarrier_backend), or -1
 * with errno EINVAL when cmd is not a command. QUERY and GET_REGISTRATIONS
 * report the backend that answers for them; their value is computed by
 * the library, which keeps this process's registration record.
 */
MEMBARRIER_API int membarrier_backend_of(int cmd);

/* "kernel", "emulated", "none"; NULL for any other value. */
MEMBARRIER_API const char *membarrier_backend_name(int backend);

/* "PRIVATE_EXPEDITED", ... for a command value; NULL for a non-command. */
MEMBARRIER_API const char *membarrier_cmd_name(int cmd);

/*
 * What the running kernel answers to QUERY, asked once, on the library's
 * first call (at load with MEMBARRIER_REGISTER_AT_LOAD=1): the mask
 * (>= 0), or -errno when the system call is unavailable (-ENOSYS:
 * missing or filtered; -EPERM: filtered, since a real kernel never gives
 * EPERM to QUERY). Where a seccomp filter would kill the caller or raise
 * SIGSYS, QUERY is never made and this is -ENOSYS.
 */
MEMBARRIER_API int membarrier_kernel_query(void);

/*
 * The commands whose system call a seccomp filter in force at the first
 * call would answer by killing the thread or the process, or by raising
 * SIGSYS, learned in a child process: the library never makes those
 * calls (the emulation serves them where it can). 0 without such a filter.
 */
MEMBARRIER_API int membarrier_kernel_fatal(void);

/*
 * The REGISTER_* commands the library issued for its own services (fences,
 * RCU, code publishing, rseq): on its first call if the process had no
 * thread yet (the kernel's cheap path; at load with
 * MEMBARRIER_REGISTER_AT_LOAD=1), otherwise on a service's first use of
 * each. They are kept out of the program's record: GET_REGISTRATIONS shows
 * only the program's own. Calling this function is a first call too, so
 * calling it (or any other) early in main(), before threads start, gets
 * the services' registrations on the kernel's cheap path.
 */
MEMBARRIER_API int membarrier_library_registrations(void);

/*
 * How cmd is served here, in a few words: "system call", "TLB shootdown",
 * "CPU walk", "process registry", "library" (QUERY,
 * GET_REGISTRATIONS and the registrations' bookkeeping), "unavailable";
 * NULL for a non-command.
 */
MEMBARRIER_API const char *membarrier_mechanism(int cmd);

/*
 * The signal the emulated backend uses: always 0, since it sends none (its
 * mechanisms, TLB shootdown and CPU walk, need no thread's cooperation).
 * Kept for programs written against 0.1, whose emulation signalled.
 */
MEMBARRIER_API int membarrier_emulation_signal(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
MEMBARRIER_API const char *membarrier_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_H */
