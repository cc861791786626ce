// SPDX-License-Identifier: MIT
/*
 * bench rcu: the RCU workload (readers: lock, dereference, check,
 * unlock; writers: allocate, exchange, synchronize, poison, free) for
 * each implementation, one after the other, in one run:
 *
 *   mbrcu            this project's default flavor (membarrier)
 *   mbrcu-fence         this project's fence-in-reader flavor (the baseline)
 *   liburcu-memb, liburcu-mb, liburcu-signal, liburcu-qsbr
 *                    liburcu's flavors, read side inlined (_LGPL_SOURCE)
 *
 * liburcu runs in a helper program (bench-rcu-liburcu, built where
 * liburcu-dev is installed): its libraries' constructors issue the raw
 * membarrier system call and install a SIGUSR1 handler, which the tool
 * must not do for its other commands.
 *
 * One line per implementation, then a summary with the default flavor's
 * ratios against liburcu-memb (and against the baseline) and the verdict
 * on the target (see print_verdict()):
 *   impl=NAME readers=R writers=W seconds=S reads=N writes=N [default=1]
 *   bench=rcu ... reads_vs_liburcu_memb=X writes_vs_liburcu_memb=Y
 *   target=... pass=yes
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/rcu.h>
#include <membarrier/rcu_fence.h>

#include "tool.h"
#include "bench.h"
#include "rcu_bench.h"

#define USAGE "usage: membarrier bench rcu [--readers R] [--writers W] " \
	"[--seconds S]"

#define RB_NAME			mbrcu
#define RB_REGISTER()		mbrcu_register_thread()
#define RB_UNREGISTER()		mbrcu_unregister_thread()
#define RB_READ_LOCK()		mbrcu_read_lock()
#define RB_READ_UNLOCK()	mbrcu_read_unlock()
#define RB_DEREFERENCE(p)	mbrcu_dereference(p)
#define RB_XCHG(pp, v)		mbrcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	mbrcu_synchronize()
#include "rcu_bench.h"

#define RB_NAME			mbrcu_fence
#define RB_REGISTER()		mbrcu_fence_register_thread()
#define RB_UNREGISTER()		mbrcu_fence_unregister_thread()
#define RB_READ_LOCK()		mbrcu_fence_read_lock()
#define RB_READ_UNLOCK()	mbrcu_fence_read_unlock()
#define RB_DEREFERENCE(p)	mbrcu_dereference(p)
#define RB_XCHG(pp, v)		mbrcu_xchg_pointer(pp, v)
#define RB_SYNCHRONIZE()	mbrcu_fence_synchronize()
#include "rcu_bench.h"

static const struct rb_impl impls[] = {
	{ "mbrcu", mbrcu_reader, mbrcu_writer, 1 },
	{ "mbrcu-fence", mbrcu_fence_reader, mbrcu_fence_writer, 0 },
};

/*
 * Where the helper is: MEMBARRIER_BENCH_LIBURCU, else next to the tool
 * (../libexec/membarrier/ from its bin/, as in the build tree), else
 * where make install put it (MEMBARRIER_LIBEXECDIR, fixed at build time).
 */
static int helper_path(char *buf, size_t size)
{
	const char *env = getenv("MEMBARRIER_BENCH_LIBURCU");
	char self[PATH_MAX];

	if (env && *env)
		return snprintf(buf, size, "%s", env) >= (int)size ? -1 : 0;
	if (tool_exe_dir(self, sizeof(self)))
		return -1;
	if (snprintf(buf, size, "%s/../libexec/membarrier/bench-rcu-liburcu",
		     self) < (int)size && !access(buf, X_OK))
		return 0;
	return snprintf(buf, size, "%s/bench-rcu-liburcu",
			MEMBARRIER_LIBEXECDIR) >= (int)size ? -1 : 0;
}

struct row {
	int found;
	uint64_t reads, writes;
};

static void parse_row(const char *line, const char *name, struct row *row)
{
	char want[64];
	const char *r = strstr(line, " reads="), *w = strstr(line, " writes=");

	snprintf(want, sizeof(want), "impl=%s ", name);
	if (strncmp(line, want, strlen(want)) || !r || !w)
		return;
	row->found = 1;
	row->reads = strtoull(r + 7, NULL, 10);
	row->writes = strtoull(w + 8, NULL, 10);
}

static void memb_row(const char *line, void *memb)
{
	parse_row(line, "liburcu-memb", memb);
}

/* Run the helper, echo its lines, keep liburcu-memb's figures. */
static int run_liburcu(const struct rb_params *p, struct row *memb)
{
	char path[PATH_MAX], r[32], w[32], s[32];
	char *argv[] = { path, "--readers", r, "--writers", w, "--seconds", s,
			 NULL };
	int status;

	if (helper_path(path, sizeof(path)) || access(path, X_OK)) {
		printf("note: liburcu rows skipped: %s\n",
#ifdef HAVE_LIBURCU
		       "the helper bench-rcu-liburcu is not installed here"
#else
		       "liburcu-dev was not found at build time"
#endif
		       );
		return 0;
	}
	snprintf(r, sizeof(r), "%lu", p->readers);
	snprintf(w, sizeof(w), "%lu", p->writers);
	snprintf(s, sizeof(s), "%g", p->seconds);
	status = bench_run_child(argv, NULL, memb_row, memb);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("note: the liburcu helper failed (status %d)\n", status);
		return -1;
	}
	return 0;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

/*
 * The targets: at least the reads and the writes of liburcu-memb;
 * where the kernel's membarrier is blocked (liburcu-memb then puts fences
 * in its readers), at least 20 times its reads.
 */
static void print_verdict(const struct rb_result *ours, const struct row *memb)
{
	double reads = ratio(ours->reads, memb->reads);
	double writes = ratio(ours->writes, memb->writes);
	int blocked = membarrier_kernel_query() < 0, pass;

	pass = blocked ? reads >= 20 : reads >= 1 && writes >= 1;
	printf(" reads_vs_liburcu_memb=%.3f writes_vs_liburcu_memb=%.3f "
	       "target=%s pass=%s", reads, writes,
	       blocked ? "reads>=20" : "reads>=1,writes>=1", pass ? "yes" : "no");
}

int bench_rcu(int argc, char **argv)
{
	struct rb_result res[2];
	struct row memb = { 0 };
	struct rb_params p;
	int ret = rb_parse(argc, argv, &p, USAGE), failed = 0;

	if (ret)
		return ret;
	for (int i = 0; i < 2; i++) {
		if (rb_run(&impls[i], &p, &res[i]))
			return 1;
		rb_print(&impls[i], &p, &res[i]);
		failed |= res[i].errors != 0;
	}
	failed |= run_liburcu(&p, &memb) != 0;
	printf("bench=rcu readers=%lu writers=%lu seconds=%g backend=%s "
	       "reads_vs_mb=%.2f", p.readers, p.writers, p.seconds,
	       membarrier_backend_name(
		       membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED)),
	       ratio(res[0].reads, res[1].reads));
	if (memb.found)
		print_verdict(&res[0], &memb);
	printf("\n");
	return failed;
}
