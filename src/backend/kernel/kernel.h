/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend: membarrier(2) itself, through the raw system call.
 */
#ifndef MBI_BACKEND_KERNEL_H
#define MBI_BACKEND_KERNEL_H

#include "sys/sys.h"

/* The raw system call: result, or -errno. */
static inline long mbi_kernel_call(int cmd, unsigned int flags, int cpu_id)
{
	return mbi_syscall3(MBI_ARCH_NR_membarrier, cmd, (long)flags, cpu_id);
}

/* Ask QUERY once, catching a seccomp SIGSYS: mask, or -errno. */
int mbi_kernel_probe(void);

#endif /* MBI_BACKEND_KERNEL_H */
