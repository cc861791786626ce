// SPDX-License-Identifier: MIT
/*
 * The parsers the emulation depends on (src/sys/): CPU lists
 * (mbi_cpulist_parse, as /sys/devices/system/cpu/{online,possible} print
 * them), /proc/PID/stat (mbi_parse_stat: state and CPU, which the
 * GLOBAL_EXPEDITED registry reads of a silent process) and /proc/self/task listings
 * (mbi_tasks_foreach, over a directory of names made up here), against
 * malformed and extreme inputs. Table-driven; the objects are linked in.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/tap.h"
#include "sys/sys.h"

struct cpulist_case {
	const char *in;
	int ret;		/* top (highest CPU + 1), or -1 */
	const char *cpus;	/* the set, as "0,2,3" (empty when rejected) */
};

static const struct cpulist_case cpulists[] = {
	{ "0", 1, "0" },
	{ "0\n", 1, "0" },
	{ "0-3", 4, "0,1,2,3" },
	{ "0-3,8,10-11\n", 12, "0,1,2,3,8,10,11" },
	{ "5", 6, "5" },
	{ "3-3", 4, "3" },
	{ "1023", 1024, "1023" },
	{ "1020-1030", 1031, "1020,1021,1022,1023" },	/* beyond the set */
	{ "", -1, "" },
	{ "\n", -1, "" },
	{ "0-", -1, "" },
	{ "-3", -1, "" },
	{ "3-1", -1, "" },
	{ "0,", -1, "" },
	{ ",0", -1, "" },
	{ "0,,1", -1, "" },
	{ "0-3x", -1, "" },
	{ "0 1", -1, "" },
	{ "0\n1", -1, "" },
	{ "0\n\n", -1, "" },
	{ "a", -1, "" },
	{ "99999999999999999999", -1, "" },
	{ "0-99999999999999999999", -1, "" },
	{ "2147483647", -1, "" },
	{ "4294967296", -1, "" },
};

static void set_string(const struct mbi_cpuset *set, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < MBI_MAX_CPUS && n + 8 < len; c++)
		if (mbi_cpuset_has(set, c))
			n += (size_t)snprintf(out + n, len - n, "%s%d",
					      n ? "," : "", c);
}

/* in, with newlines shown as \n, for the test's name. */
static const char *shown(const char *in)
{
	static char out[128];
	size_t n = 0;

	for (; *in && n + 3 < sizeof(out); in++) {
		if (*in == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
	return out;
}

static void test_cpulists(void)
{
	for (unsigned int i = 0; i < sizeof(cpulists) / sizeof(cpulists[0]); i++) {
		const struct cpulist_case *k = &cpulists[i];
		struct mbi_cpuset set;
		char got[256];
		int ret;

		memset(&set, 0xa5, sizeof(set));
		ret = mbi_cpulist_parse(k->in, &set);
		set_string(&set, got, sizeof(got));
		tap_ok(ret == k->ret && !strcmp(got, k->cpus),
		       "cpulist \"%s\": %d {%s} (want %d {%s})", shown(k->in), ret, got,
		       k->ret, k->cpus);
	}
}

struct stat_case {
	const char *name;
	const char *in;
	char state;		/* '?' when unparsed */
	int cpu;		/* -1 when unparsed */
};

/* Fields 3..38 as filler, then field 39 (processor). */
#define MID "R 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 1 1 1 1 1 " \
	    "1 1 1 0 0 0 0 0 0 0 0 "

static const struct stat_case stats[] = {
	{ "plain", "42 (t-parsers) " MID "7 0 0 0 0 0\n", 'R', 7 },
	{ "')' and spaces in comm", "42 (a) (b) c) " MID "3 0 0\n", 'R', 3 },
	{ "comm is ')'", "42 ()) " MID "1 0\n", 'R', 1 },
	{ "field 39 last", "42 (x) " MID "12", 'R', 12 },
	{ "state S", "42 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 "
	  "1 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0 5 0\n", 'S', 5 },
	{ "missing fields", "42 (x) R 1 1 1\n", 'R', -1 },
	{ "no ')'", "42 (x R 1 1 1\n", '?', -1 },
	{ "nothing after ')'", "42 (x)", '?', -1 },
	{ "')' then no space", "42 (x)R 1", '?', -1 },
	{ "empty", "", '?', -1 },
	{ "huge CPU number", "42 (x) " MID "99999999999999999999 0\n", 'R', -1 },
	{ "non-digit CPU", "42 (x) " MID "x 0\n", 'R', -1 },
};

static void test_stat(void)
{
	for (unsigned int i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		const struct stat_case *k = &stats[i];
		struct mbi_task_info info = { '?', -1 };

		mbi_parse_stat(k->in, &info);
		tap_ok(info.state == k->state && info.cpu == k->cpu,
		       "stat, %s: state %c cpu %d (want %c %d)", k->name,
		       info.state, info.cpu, k->state, k->cpu);
	}
}

static int collect(int tid, void *arg)
{
	long *sum = arg;

	sum[0]++;
	sum[1] += tid;
	return 0;
}

static int stop_at_first(int tid, void *arg)
{
	*(int *)arg = tid;
	return 1;
}

/* A directory listed as /proc/self/task would be: only tids count. */
static void test_tasks(void)
{
	static const char *names[] = {
		"123", "7", "abc", "0", "12a", "-5", "99999999999",
		"2147483648", "000", "00042",
	};
	char dir[] = "/tmp/t-parsers.XXXXXX", path[256];
	long sum[2] = { 0, 0 };
	int fd, first = 0;

	if (!mkdtemp(dir)) {
		tap_skip("no temporary directory", "task listing");
		return;
	}
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		close(open(path, O_CREAT | O_WRONLY, 0600));
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	tap_ok(fd >= 0 && mbi_tasks_foreach(fd, collect, sum) == 0 &&
	       sum[0] == 3 && sum[1] == 123 + 7 + 42,
	       "task listing: only decimal tids > 0 of sane size, \".\" and "
	       "\"..\" skipped (%ld names, sum %ld; want 3, 172)", sum[0], sum[1]);
	sum[0] = sum[1] = 0;
	tap_ok(mbi_tasks_foreach(fd, collect, sum) == 0 && sum[0] == 3,
	       "task listing twice on one descriptor: rewound (%ld)", sum[0]);
	tap_ok(mbi_tasks_foreach(fd, stop_at_first, &first) == 0 && first > 0,
	       "task listing stops when the callback asks (%d)", first);
	tap_ok(mbi_tasks_foreach(-1, collect, sum) < 0,
	       "task listing on a bad descriptor fails");
	close(fd);
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_cpulists();
	test_stat();
	test_tasks();
	return tap_done();
}
