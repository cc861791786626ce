// SPDX-License-Identifier: MIT
/*
 * load_host MODE LIB: a program that does not link libmembarrier and
 * loads it with dlopen(), for tests/contract/t-load-seccomp.sh. Exit 0
 * when every check holds; otherwise a message and a non-zero exit.
 *
 *   dlopen LIB    a thread dlopen()s LIB, the main thread dlopen()s it
 *                 again (a killed loader thread would leave the loader
 *                 lock held: that second dlopen would hang), then a
 *                 registration and a barrier through the library
 *   sigsys LIB    the program's own SIGSYS handler counts the seccomp
 *                 traps of raw membarrier calls made by two threads while
 *                 the main thread loads LIB and makes its first call
 *                 (where the library learns what the filter does): every
 *                 trap must reach it and the handler must still be in
 *                 place afterwards
 *   dlclose LIB   a thread registered as an RCU reader outlives dlclose()
 *                 of LIB; its exit runs the library's destructor
 *   swap          the control of sigsys: while the threads trap, the
 *                 main thread swaps the SIGSYS handler for a moment, again
 *                 and again, as a probe that catches SIGSYS would: traps
 *                 are lost, and the check must say so (exit 4)
 *   raw CMD       one raw membarrier(CMD): the control that the filter
 *                 really kills (or traps) that command
 *
 * Hangs become failures by alarm().
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CMD_QUERY			0
#define CMD_PRIVATE_EXPEDITED		8
#define CMD_REGISTER_PRIVATE_EXPEDITED	16

typedef int (*membarrier_fn)(int, unsigned int, int);

static const char *lib_path;

static void fail(const char *what)
{
	fprintf(stderr, "load_host: %s\n", what);
	exit(1);
}

static void *load(void *arg)
{
	(void)arg;
	return dlopen(lib_path, RTLD_NOW);
}

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);

	if (!p)
		fail(name);
	return p;
}

static int mode_dlopen(void)
{
	pthread_t t;
	void *lib, *again;
	membarrier_fn mb;

	if (pthread_create(&t, NULL, load, NULL) || pthread_join(t, &lib))
		fail("thread");
	if (!lib)
		fail(dlerror());
	again = dlopen(lib_path, RTLD_NOW);	/* would hang on a dead loader */
	if (again != lib)
		fail("second dlopen");
	mb = (membarrier_fn)sym(lib, "membarrier");
	if (mb(CMD_QUERY, 0, 0) <= 0)
		fail("QUERY");
	if (mb(CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) ||
	    mb(CMD_PRIVATE_EXPEDITED, 0, 0))
		fail("PRIVATE_EXPEDITED");
	printf("fatal=0x%x\n", ((int (*)(void))sym(lib, "membarrier_kernel_fatal"))());
	return 0;
}

/* ---- sigsys ---- */

/* Each thread traps at least this often, and until the main thread is done. */
#define TRAPS_PER_THREAD 2000

static volatile int traps, calls, loops_done, stop;

static void count_trap(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	if (info->si_code == 1)	/* SYS_SECCOMP */
		__atomic_fetch_add(&traps, 1, __ATOMIC_RELAXED);
}

static void *trap_loop(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < TRAPS_PER_THREAD ||
		    !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++)
		syscall(SYS_membarrier, CMD_QUERY, 0, 0);
	__atomic_fetch_add(&calls, i, __ATOMIC_RELAXED);
	__atomic_fetch_add(&loops_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void ignore_trap(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
}

/* What a probe that catches SIGSYS itself does, until the threads end. */
static void *swap_handlers(void)
{
	struct sigaction mine, saved;

	memset(&mine, 0, sizeof(mine));
	mine.sa_sigaction = ignore_trap;
	mine.sa_flags = SA_SIGINFO;
	while (__atomic_load_n(&loops_done, __ATOMIC_ACQUIRE) < 2) {
		sigaction(SIGSYS, &mine, &saved);
		usleep(10);
		sigaction(SIGSYS, &saved, NULL);
	}
	return (void *)1;
}

static int mode_sigsys(int control)
{
	struct sigaction sa, now;
	pthread_t t[2];
	void *lib;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = count_trap;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, trap_loop, NULL))
			fail("thread");
	if (control) {
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		lib = swap_handlers();
	} else {
		lib = dlopen(lib_path, RTLD_NOW);
		if (lib)	/* The first call: the library probes now. */
			((membarrier_fn)sym(lib, "membarrier"))(CMD_QUERY, 0, 0);
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (!lib)
		fail(dlerror());
	sigaction(SIGSYS, NULL, &now);
	if (!(now.sa_flags & SA_SIGINFO) || now.sa_sigaction != count_trap)
		fail("the program's SIGSYS handler was replaced");
	printf("traps=%d of %d\n", traps, calls);
	if (traps != calls) {
		fprintf(stderr, "load_host: traps lost\n");
		exit(4);
	}
	return 0;
}

/* ---- dlclose ---- */

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void *reader(void *lib)
{
	int (*reg)(void) = (int (*)(void))sym(lib, "mbrcu_register_thread");

	if (reg())
		fail("mbrcu_register_thread");
	pthread_mutex_lock(&gate);	/* until the library is dlclose()d */
	pthread_mutex_unlock(&gate);
	return NULL;			/* exits registered: the destructor */
}

static int mode_dlclose(void)
{
	void *lib = dlopen(lib_path, RTLD_NOW);
	pthread_t t;

	if (!lib)
		fail(dlerror());
	pthread_mutex_lock(&gate);
	if (pthread_create(&t, NULL, reader, lib))
		fail("thread");
	usleep(100000);		/* the reader registers (not needed for
				 * correctness: it exits registered anyway) */
	if (dlclose(lib))
		fail("dlclose");
	pthread_mutex_unlock(&gate);
	pthread_join(t, NULL);
	printf("loaded=%d\n", dlopen(lib_path, RTLD_NOW | RTLD_NOLOAD) != NULL);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(60);
	if (argc == 3 && !strcmp(argv[1], "raw"))
		return syscall(SYS_membarrier, atoi(argv[2]), 0, 0) < 0 ? 3 : 0;
	if (argc == 2 && !strcmp(argv[1], "swap"))
		return mode_sigsys(1);
	if (argc != 3)
		fail("usage: load_host dlopen|sigsys|dlclose LIB | swap | raw CMD");
	lib_path = argv[2];
	if (!strcmp(argv[1], "dlopen"))
		return mode_dlopen();
	if (!strcmp(argv[1], "sigsys"))
		return mode_sigsys(0);
	if (!strcmp(argv[1], "dlclose"))
		return mode_dlclose();
	fail("unknown mode");
	return 2;
}
