// SPDX-License-Identifier: MIT
/*
 * Accounting: MEMBARRIER_STATS=1 (to stderr) or MEMBARRIER_STATS=PATH
 * (appended to that file) prints, when the process exits, per command:
 * calls, errors, calls served by another caller's barrier (share.c),
 * backend and mechanism, latency p50, p99 and max, as perf stat does.
 * The program's calls (membarrier(), and through the shim syscall()) and
 * the library's own (the services' barriers and registrations, and the
 * registrations the first call makes for them) are counted apart: the
 * first rows are the program's, then the library's, each row saying by
 * whom in its last column.
 * `membarrier stat -- CMD` sets it for a program run through the shim.
 *
 * Off (the default), membarrier()'s fast path pays nothing: the gate it
 * loads (core.h) stays shut while accounting is on, which is decided from
 * the environment once at load. On, every call takes the slow path and
 * is timed (clock_gettime, the vDSO) into a per-command log2-linear
 * histogram of relaxed atomic counters: lock-free, no lock or allocation
 * added to a call. Only the counts need to be exact; nothing orders
 * them against other memory, hence relaxed.
 *
 * Histogram: values below 2^SUB_BITS ns have a bucket each; above, each
 * power of two is cut into 2^SUB_BITS linear buckets, so a percentile is
 * known to within 1/2^SUB_BITS (12.5%) of its value (the middle of its
 * bucket, at most the max); the max is exact.
 *
 * The counters and the report's buffers (some 40 KiB) are mapped when
 * accounting is turned on, not kept in .bss: a process that never turns
 * it on never maps them (the loader's extra anonymous mapping for a large
 * .bss is one more system call at every load).
 *
 * fork(): the child starts with empty counters and reports only if it
 * makes calls; its parent's report stays the parent's. execve() starts
 * afresh (the variable is inherited: each process reports its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"

#define SUB_BITS	3
#define SUB		(1u << SUB_BITS)
#define MAX_EXP		42		/* 2^42 ns: 73 minutes */
#define NR_BUCKETS	(SUB + (MAX_EXP - SUB_BITS) * SUB)

/* One row per command; the last for invalid commands. */
#define NR_ROWS		(MEMBARRIER_NR_CMDS + 1)

struct stats_row {
	uint64_t calls, errors, shared, max_ns;
	uint64_t bucket[NR_BUCKETS];
};

struct stats_state {
	struct stats_row rows[MBI_NR_BY][NR_ROWS];
	char path[4096];	/* empty: stderr */
	char buf[8192];		/* the report */
	int is_child;		/* a fork() child: report only if it calls */
};

int mbi_stats_on MBI_LOAD_DATA;	/* read at exit, on the slow path */
/* Mapped by stats_init(), before mbi_stats_on is set; never unmapped. */
static struct stats_state *st;

static unsigned int bucket_of(uint64_t ns)
{
	unsigned int e;

	if (ns < SUB)
		return (unsigned int)ns;
	e = 63u - (unsigned int)__builtin_clzll(ns);	/* >= SUB_BITS */
	if (e >= MAX_EXP)
		return NR_BUCKETS - 1;
	return SUB + (e - SUB_BITS) * SUB +
	       (unsigned int)((ns >> (e - SUB_BITS)) & (SUB - 1));
}

/* The middle of bucket b, in ns. */
static double bucket_mid(unsigned int b)
{
	unsigned int e, sub;
	double lo, width;

	if (b < SUB)
		return b;
	e = (b - SUB) / SUB + SUB_BITS;
	sub = (b - SUB) % SUB;
	width = (double)(1ull << (e - SUB_BITS));
	lo = (double)(SUB + sub) * width;
	return lo + width / 2;
}

/* The row of cmd made by by; NULL before the counters are mapped. */
static struct stats_row *row_of(int cmd, enum mbi_stats_by by)
{
	/* Acquire pairs with the release in stats_init(). */
	struct stats_state *s = __atomic_load_n(&st, __ATOMIC_ACQUIRE);
	int idx = mbi_cmd_index(cmd);

	return s ? &s->rows[by][idx < 0 ? MEMBARRIER_NR_CMDS : idx] : NULL;
}

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void mbi_stats_record(int cmd, long ret, uint64_t t0, enum mbi_stats_by by)
{
	struct stats_row *r = row_of(cmd, by);
	uint64_t ns = mbi_now_ns() - t0;
	uint64_t max;

	if (!r)
		return;
	max = __atomic_load_n(&r->max_ns, __ATOMIC_RELAXED);

	add(&r->calls, 1);
	if (ret < 0)
		add(&r->errors, 1);
	add(&r->bucket[bucket_of(ns)], 1);
	while (ns > max && !__atomic_compare_exchange_n(&r->max_ns, &max, ns,
							1, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
}

void mbi_stats_count_shared(int cmd, enum mbi_stats_by by)
{
	struct stats_row *r = row_of(cmd, by);

	if (r)
		add(&r->shared, 1);
}

/* The smallest value with at least q of the calls at or below it. */
static double percentile(const struct stats_row *r, uint64_t calls, double q)
{
	uint64_t need = (uint64_t)(q * (double)calls + 0.999999), seen = 0;

	if (need == 0)
		need = 1;
	for (unsigned int b = 0; b < NR_BUCKETS; b++) {
		seen += __atomic_load_n(&r->bucket[b], __ATOMIC_RELAXED);
		if (seen >= need)
			return bucket_mid(b);
	}
	return 0;
}

static const char *row_name(int idx)
{
	return idx == MEMBARRIER_NR_CMDS ? "(invalid command)" :
	       membarrier_cmd_name(mbi_cmd_of_index(idx));
}

static size_t put_row(char *buf, size_t size, enum mbi_stats_by by, int idx)
{
	const struct stats_row *r = &st->rows[by][idx];
	uint64_t calls = __atomic_load_n(&r->calls, __ATOMIC_RELAXED);
	int cmd = mbi_cmd_of_index(idx);
	int valid = idx < MEMBARRIER_NR_CMDS;
	const char *backend = valid ? membarrier_backend_name(
				  mbi_config.backend[idx]) : "-";
	const char *mech = valid ? membarrier_mechanism(cmd) : "-";
	double max = (double)__atomic_load_n(&r->max_ns, __ATOMIC_RELAXED);
	double p50 = percentile(r, calls, 0.50), p99 = percentile(r, calls, 0.99);
	int n;

	n = snprintf(buf, size, "%12llu  %-36s %-9s %-18s %10.2f %10.2f "
		     "%10.2f %8llu %8llu  %s\n", (unsigned long long)calls,
		     row_name(idx), backend, mech,
		     (p50 < max ? p50 : max) / 1e3, (p99 < max ? p99 : max) / 1e3,
		     max / 1e3,
		     (unsigned long long)__atomic_load_n(&r->shared,
							  __ATOMIC_RELAXED),
		     (unsigned long long)__atomic_load_n(&r->errors,
							  __ATOMIC_RELAXED),
		     by == MBI_BY_PROGRAM ? "program" : "library");
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* The report, in one write() so that processes appending do not mix. */
static void report(void)
{
	char *buf = st->buf;
	size_t len, total = 0, size = sizeof(st->buf);
	int fd = 2, any = 0;

	for (int by = 0; by < MBI_NR_BY; by++)
		for (int idx = 0; idx < NR_ROWS; idx++)
			total += __atomic_load_n(&st->rows[by][idx].calls,
						 __ATOMIC_RELAXED);
	if (st->is_child && !total)
		return;
	len = (size_t)snprintf(buf, size,
			       "\n libmembarrier stats for '%s' (pid %d):\n\n",
			       program_invocation_short_name, mbi_getpid());
	if (total)
		len += (size_t)snprintf(buf + len, size - len,
			"%12s  %-36s %-9s %-18s %10s %10s %10s %8s %8s  %s\n",
			"calls", "command", "backend", "mechanism", "p50 us",
			"p99 us", "max us", "shared", "errors", "by");
	for (int by = 0; by < MBI_NR_BY; by++)
		for (int idx = 0; idx < NR_ROWS && len < size; idx++) {
			if (!__atomic_load_n(&st->rows[by][idx].calls,
					     __ATOMIC_RELAXED))
				continue;
			len += put_row(buf + len, size - len,
				       (enum mbi_stats_by)by, idx);
			any = 1;
		}
	if (!any && len < size)
		len += (size_t)snprintf(buf + len, size - len,
					"%12s  membarrier calls\n", "no");
	if (len >= size)
		len = size - 1;
	buf[len++] = '\n';
	if (st->path[0]) {
		fd = open(st->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0600);
		if (fd < 0)
			return;
	}
	if (write(fd, buf, len) < 0)
		errno = 0;	/* nothing to do at exit; not the program's */
	if (fd != 2)
		close(fd);
}

static void stats_atfork_child(void)
{
	memset(st->rows, 0, sizeof(st->rows));
	st->is_child = 1;
}

/* Before the library's other constructors: calls they make are counted. */
__attribute__((constructor(101))) static void stats_init(void)
{
	const char *s = secure_getenv("MEMBARRIER_STATS");
	long p;

	if (!s || !*s || !strcmp(s, "0"))
		return;
	p = mbi_syscall6(SYS_mmap, 0, (long)sizeof(*st),
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (p < 0 && p > -4096) {
		fprintf(stderr, "libmembarrier: MEMBARRIER_STATS: no memory "
			"for the counters; not accounting\n");
		return;
	}
	if (strcmp(s, "1")) {
		if (strlen(s) >= sizeof(st->path)) {
			fprintf(stderr, "libmembarrier: MEMBARRIER_STATS: path "
				"too long; reporting to stderr\n");
		} else {
			strcpy(((struct stats_state *)p)->path, s);
		}
	}
	/* Release pairs with the acquire in the recorders (row_of()). */
	__atomic_store_n(&st, (struct stats_state *)p, __ATOMIC_RELEASE);
	pthread_atfork(NULL, NULL, stats_atfork_child);
	/*
	 * Seq_cst, with the load in mbi_fast_update(): a call made before
	 * this constructor (from a .preinit_array, an earlier constructor)
	 * may have opened the fast path's gate; it is shut now, and an
	 * update racing this finds accounting on and shuts it too.
	 */
	__atomic_store_n(&mbi_stats_on, 1, __ATOMIC_SEQ_CST);
	mbi_fast_shut();
}

__attribute__((destructor)) static void stats_fini(void)
{
	if (__atomic_load_n(&mbi_stats_on, __ATOMIC_RELAXED) && st)
		report();
}
