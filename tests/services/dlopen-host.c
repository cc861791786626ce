// SPDX-License-Identifier: MIT
/*
 * Host for t-rseq-dlopen.sh: a program that does not link libmembarrier
 * and dlopen()s modules, in order, as its arguments name them:
 *   fill:PATH...   dlopen each, until one fails for want of static TLS
 *                  (initial-exec TLS modules: they use up the surplus)
 *   try:PATH       dlopen it; print "PATH ok" or "PATH fail: dlerror()"
 *   lib:PATH       dlopen libmembarrier, then use its TLS: an rseq area
 *                  (mbrseq_thread_init, mbrseq_registrar) and an RCU
 *                  reader (register, synchronize, unregister) in a thread
 *                  created after the load; print "lib ok ..." or why not
 * Output: one line per try/lib, then "filled N" for the fill modules
 * that loaded.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int filled;
static void *lib;

static void fill(const char *path)
{
	if (dlopen(path, RTLD_NOW | RTLD_LOCAL))
		filled++;
}

static void try_open(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (h)
		printf("%s ok\n", path);
	else
		printf("%s fail: %s\n", path, dlerror());
}

static void *sym(const char *name)
{
	void *p = dlsym(lib, name);

	if (!p)
		printf("lib fail: no %s\n", name);
	return p;
}

/* What a thread that starts after the load does with the library's TLS. */
static void *use_lib(void *arg)
{
	int (*init)(void) = sym("mbrseq_thread_init");
	const char *(*registrar)(void) = sym("mbrseq_registrar");
	int (*reg)(void) = sym("mbrcu_register_thread");
	void (*sync)(void) = sym("mbrcu_synchronize");
	void (*unreg)(void) = sym("mbrcu_unregister_thread");
	int rseq, rcu;
	const char *who;

	(void)arg;
	if (!init || !registrar || !reg || !sync || !unreg)
		return NULL;
	rseq = init();
	who = registrar();
	rcu = reg();
	if (!rcu) {
		sync();
		unreg();
	}
	printf("lib ok rseq_init=%d registrar=%s rcu_register=%d\n", rseq,
	       who ? who : "none", rcu);
	return NULL;
}

static void open_lib(const char *path)
{
	pthread_t t;

	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		printf("lib fail: %s\n", dlerror());
		return;
	}
	if (pthread_create(&t, NULL, use_lib, NULL)) {
		printf("lib fail: pthread_create\n");
		return;
	}
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "fill:", 5))
			fill(argv[i] + 5);
		else if (!strncmp(argv[i], "try:", 4))
			try_open(argv[i] + 4);
		else if (!strncmp(argv[i], "lib:", 4))
			open_lib(argv[i] + 4);
	}
	printf("filled %d\n", filled);
	return 0;
}
