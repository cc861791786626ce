// SPDX-License-Identifier: MIT
/*
 * libmembarrier-preload.so: gives unmodified programs the library.
 *
 * Programs reach membarrier(2) through libc's syscall(SYS_membarrier, ...)
 * (glibc has no wrapper). This shim interposes syscall(): membarrier goes
 * to libmembarrier's membarrier(), every other system call passes through
 * to the C library's syscall() untouched. libmembarrier itself issues its
 * system calls with the raw instruction, so it never comes back here.
 *
 *   LD_PRELOAD=.../libmembarrier-preload.so program    or
 *   membarrier run -- program args...
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>

typedef long (*syscall_fn)(long, ...);

static syscall_fn next_syscall(void)
{
	static syscall_fn next;
	syscall_fn f = __atomic_load_n(&next, __ATOMIC_ACQUIRE);

	if (!f) {
		f = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&next, f, __ATOMIC_RELEASE);
	}
	return f;
}

MEMBARRIER_API long syscall(long nr, ...)
{
	long a[6];
	syscall_fn next;
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_membarrier)
		return membarrier((int)a[0], (unsigned int)a[1], (int)a[2]);
	next = next_syscall();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
