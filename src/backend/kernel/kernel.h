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

/* What the kernel, behind whatever seccomp filter, does with membarrier. */
struct mbi_kernel_facts {
	int query;		/* QUERY's answer, or -errno (-ENOSYS if fatal) */
	int fatal;		/* commands whose call kills or raises SIGSYS */
	int traps;		/* those of them that raise SIGSYS */
	int seccomp;		/* Seccomp: of /proc/self/status; -1 unknown */
	int probe_failed;	/* a filter, but no child could tell: no call */
};

/* Learn them once, never making a fatal call in this process. */
void mbi_kernel_probe(struct mbi_kernel_facts *f);

#endif /* MBI_BACKEND_KERNEL_H */
