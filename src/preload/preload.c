// SPDX-License-Identifier: MIT
/*
 * The preload shim, $(LIBDIR)/libmembarrier/preload.so: gives unmodified
 * programs the library.
 *
 * Programs reach membarrier(2) through libc's syscall(SYS_membarrier, ...)
 * (glibc has no wrapper). This shim interposes syscall(): membarrier goes
 * to libmembarrier's membarrier(), every other system call passes through
 * to the C library's syscall() untouched. libmembarrier itself issues its
 * system calls with the raw instruction, so it never comes back here.
 *
 * The library's membarrier() is reached through the library's own handle
 * (dlsym() on it searches that object and its dependencies, not the
 * global scope, dlsym(3)): a program that defines a membarrier() of its
 * own, typically a wrapper around syscall(SYS_membarrier, ...), would
 * otherwise be called here instead and recurse until its stack ends.
 *
 *   LD_PRELOAD=.../libmembarrier/preload.so program    or
 *   membarrier run -- program args...
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>

typedef long (*syscall_fn)(long, ...);
typedef int (*membarrier_fn)(int, unsigned int, int);

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

/* The library's membarrier(), found from the file that holds its API. */
static membarrier_fn library_membarrier(void)
{
	static membarrier_fn entry;
	membarrier_fn f = __atomic_load_n(&entry, __ATOMIC_ACQUIRE);
	Dl_info info;
	void *lib;

	if (f)
		return f;
	if (!dladdr((void *)membarrier_version, &info) || !info.dli_fname)
		return NULL;
	lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!lib)
		return NULL;
	f = (membarrier_fn)dlsym(lib, "membarrier");
	dlclose(lib);	/* only drops the reference NOLOAD took */
	/* Release pairs with the acquire above. */
	__atomic_store_n(&entry, f, __ATOMIC_RELEASE);
	return f;
}

/* Resolved at load, before the program runs, where possible. */
__attribute__((constructor)) static void preload_init(void)
{
	library_membarrier();
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
	if (nr == SYS_membarrier) {
		membarrier_fn f = library_membarrier();

		if (!f) {
			errno = ENOSYS;
			return -1;
		}
		return f((int)a[0], (unsigned int)a[1], (int)a[2]);
	}
	next = next_syscall();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
