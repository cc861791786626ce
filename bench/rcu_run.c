// SPDX-License-Identifier: MIT
/*
 * bench rcu: the runner shared by the tool (this project's flavors) and
 * the liburcu helper (liburcu's flavors): start the threads, let them run
 * for the given time, count.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcu_bench.h"

#define MAX_THREADS 1024

static void sleep_seconds(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - (double)(time_t)s) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int start(struct rb_thread *t, void *(*fn)(void *), struct rb_ctx *c)
{
	int err;

	t->ctx = c;
	t->count = 0;
	err = pthread_create(&t->tid, NULL, fn, t);
	if (err)
		fprintf(stderr, "bench rcu: pthread_create: %s\n", strerror(err));
	return err;
}

int rb_run(const struct rb_impl *impl, const struct rb_params *p,
	   struct rb_result *res)
{
	unsigned long nr = p->readers + p->writers, started = 0;
	struct rb_thread *t = aligned_alloc(64, sizeof(*t) * nr);
	struct rb_ctx *c = aligned_alloc(64, sizeof(*c));
	int ret = 0;

	if (!t || !c || !(c->ptr = malloc(sizeof(*c->ptr))))
		abort();
	c->ptr->value = RB_MAGIC;
	c->stop = c->go = 0;
	c->errors = 0;
	for (; started < nr; started++)
		if (start(&t[started], started < p->readers ? impl->reader :
			  impl->writer, c)) {
			ret = -1;
			break;
		}
	/* Release pairs with the acquire in rb_wait_go(). */
	__atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
	if (!ret)
		sleep_seconds(p->seconds);
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
	res->reads = res->writes = 0;
	for (unsigned long i = 0; i < started; i++) {
		pthread_join(t[i].tid, NULL);
		if (i < p->readers)
			res->reads += t[i].count;
		else
			res->writes += t[i].count;
	}
	res->errors = c->errors;
	free(c->ptr);
	free(c);
	free(t);
	return ret;
}

void rb_print(const struct rb_impl *impl, const struct rb_params *p,
	      const struct rb_result *res)
{
	printf("impl=%s readers=%lu writers=%lu seconds=%g reads=%llu "
	       "writes=%llu", impl->name, p->readers, p->writers, p->seconds,
	       (unsigned long long)res->reads, (unsigned long long)res->writes);
	if (res->errors)
		printf(" errors=%lu", res->errors);
	printf("%s\n", impl->is_default ? " default=1" : "");
	fflush(stdout);
}

static int parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-';
}

static int parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || !(*v > 0) || *v > 1e6;
}

int rb_parse(int argc, char **argv, struct rb_params *p, const char *usage)
{
	p->readers = 1;
	p->writers = 1;
	p->seconds = 1;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = NULL, *eq = strchr(opt, '=');
		size_t len = eq ? (size_t)(eq - opt) : strlen(opt);
		int bad;

		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val)
			bad = 1;
		else if (len == 9 && !strncmp(opt, "--readers", len))
			bad = parse_ulong(val, &p->readers);
		else if (len == 9 && !strncmp(opt, "--writers", len))
			bad = parse_ulong(val, &p->writers);
		else if (len == 9 && !strncmp(opt, "--seconds", len))
			bad = parse_double(val, &p->seconds);
		else
			bad = 1;
		if (bad) {
			fprintf(stderr, "membarrier: bad argument '%s'\n%s\n",
				opt, usage);
			return 2;
		}
	}
	if (!p->readers || p->readers + p->writers > MAX_THREADS) {
		fprintf(stderr, "membarrier: need 1 <= readers, readers + "
			"writers <= %d\n%s\n", MAX_THREADS, usage);
		return 2;
	}
	return 0;
}
