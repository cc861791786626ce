// SPDX-License-Identifier: MIT
/* membarrier bench NAME: the benchmark table. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>

#include "tool.h"
#include "bench.h"
#include "spawn_piped.h"
#include "rcu_bench.h"

static const struct {
	const char *name;
	tool_main_fn *run;
} benches[] = {
	{ "core", bench_core },
	{ "backends", bench_backends },
	{ "services", bench_services },
	{ "rcu", bench_rcu },
	{ "concurrent", bench_concurrent },
	{ "startup", bench_startup },
};

int bench_run_child(char *const argv[], const char *const env[],
		    void (*on_line)(const char *line, void *arg), void *arg)
{
	char line[512];
	FILE *in;
	int fd;
	pid_t pid = spawn_piped(argv, env, &fd);

	if (pid < 0)
		return -1;
	in = fdopen(fd, "r");
	while (in && fgets(line, sizeof(line), in)) {
		fputs(line, stdout);
		fflush(stdout);
		on_line(line, arg);
	}
	if (in)
		fclose(in);
	else
		close(fd);
	return spawn_wait(pid);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static volatile int crew_stop;

/* Interrupts pause() (an ignored signal would not). */
static void crew_wake(int sig)
{
	(void)sig;
}

/* A member of the crew: spins, or (arg 1) sleeps in pause(). */
static void *crew_member(void *arg)
{
	int sleeps = (int)(intptr_t)arg;

	while (!crew_stop)
		if (sleeps)
			pause();
		else
			membarrier_arch_relax();
	return NULL;
}

void bench_crew_start(struct bench_crew *c, int spinning, int sleeping)
{
	pthread_attr_t a;

	signal(SIGURG, crew_wake);
	crew_stop = 0;
	c->n = 0;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 0; i < spinning + sleeping &&
	     c->n < (int)(sizeof(c->t) / sizeof(c->t[0])); i++)
		if (!pthread_create(&c->t[c->n], &a, crew_member,
				    (void *)(intptr_t)(i >= spinning)))
			c->n++;
	pthread_attr_destroy(&a);
	usleep(2000);
}

void bench_crew_stop(struct bench_crew *c)
{
	crew_stop = 1;
	for (int i = 0; i < c->n; i++) {
		pthread_kill(c->t[i], SIGURG);	/* wake pause() */
		pthread_join(c->t[i], NULL);
	}
}

double bench_cost(int cmd, uint64_t budget_ns, unsigned long *total)
{
	double r[3];

	*total = 0;
	for (int k = 0; k < 3; k++) {
		uint64_t t0 = tool_now_ns(), t;
		unsigned long n = 0;

		do {
			if (membarrier(cmd, 0, 0))
				return -1;
			n++;
			t = tool_now_ns() - t0;
		} while (t < budget_ns / 3);
		r[k] = (double)t / (double)n;
		*total += n;
	}
	return bench_median(r, 3);
}

int tool_bench(int argc, char **argv)
{
	if (argc < 2) {
		tool_error("usage: membarrier bench core|backends|services|rcu|concurrent|startup [options]");
		return 2;
	}
	for (unsigned int i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(argv[1], benches[i].name))
			return benches[i].run(argc - 1, argv + 1);
	tool_error("unknown benchmark '%s'", argv[1]);
	return 2;
}
