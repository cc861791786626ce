// SPDX-License-Identifier: MIT
/*
 * futex(2) on a 32-bit word, through the raw system call (no errno).
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#include "sys/sys.h"

static void futex_wait(uint32_t *addr, int op, uint32_t val,
		       uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000u),
		.tv_nsec = (long)(timeout_ns % 1000000000u),
	};

	mbi_syscall6(SYS_futex, (long)addr, op, (long)val,
		     timeout_ns ? (long)&ts : 0, 0, 0);
}

void mbi_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	futex_wait(addr, FUTEX_WAIT_PRIVATE, val, timeout_ns);
}

void mbi_futex_wait_shared(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	futex_wait(addr, FUTEX_WAIT, val, timeout_ns);
}

void mbi_futex_wake(uint32_t *addr, int n)
{
	mbi_syscall6(SYS_futex, (long)addr, FUTEX_WAKE_PRIVATE, n, 0, 0, 0);
}

void mbi_futex_wake_shared(uint32_t *addr, int n)
{
	mbi_syscall6(SYS_futex, (long)addr, FUTEX_WAKE, n, 0, 0, 0);
}

/* FUTEX_WAIT_BITSET: woken only by a wake whose bitset meets bits. */
void mbi_futex_wait_bits(uint32_t *addr, uint32_t val, uint32_t bits)
{
	mbi_syscall6(SYS_futex, (long)addr, FUTEX_WAIT_BITSET_PRIVATE,
		     (long)val, 0, 0, (long)bits);
}

void mbi_futex_wake_bits(uint32_t *addr, int n, uint32_t bits)
{
	mbi_syscall6(SYS_futex, (long)addr, FUTEX_WAKE_BITSET_PRIVATE, n, 0,
		     0, (long)bits);
}
