// SPDX-License-Identifier: MIT
/*
 * Accounting: `membarrier stat -- CMD` and MEMBARRIER_STATS count every
 * call a program makes, per command, through the shim (an unmodified
 * program's syscall()) and linked (membarrier()), inside a blocking
 * filter or not; a program that makes none shows none; a fork() child
 * reports its own calls; the library carries the USDT probes.
 *
 * This program is its own subject: run with a mode (syscall, lib, none,
 * fork, threads), it makes the calls the mode says and exits.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/fence.h>

#include "lib/tap.h"

#define PE	MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define SC	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE

static long raw(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static long lib(int cmd)
{
	return membarrier(cmd, 0, 0);
}

static int calls(long (*f)(int), int pe, int sc)
{
	if (f(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    f(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
		return 1;
	for (int i = 0; i < pe; i++)
		if (f(PE))
			return 1;
	for (int i = 0; i < sc; i++)
		if (f(SC))
			return 1;
	return 0;
}

/*
 * With T_STAT_PREINIT set, a barrier before every library's constructor
 * (glibc runs an executable's .preinit_array first, with its arguments
 * and environment): the library initializes on it, with accounting not
 * yet on, and accounting, turned on by its constructor after, must still
 * count every later call.
 */
static void preinit_call(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	for (char **e = envp; *e; e++)
		if (!strncmp(*e, "T_STAT_PREINIT=", 15)) {
			membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
			membarrier(PE, 0, 0);
		}
}

__attribute__((section(".preinit_array"), used))
static void (*const preinit)(int, char **, char **) = preinit_call;

static volatile int go;

/* Concurrent callers for 300 ms (a time, not a count: see below). */
static void *hammer(void *arg)
{
	unsigned long *n = arg;

	while (!go)
		;
	while (go == 1) {
		membarrier(PE, 0, 0);
		(*n)++;
	}
	return NULL;
}

static int threads(void)
{
	pthread_t t[4];
	unsigned long n[4] = { 0 };

	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		return 1;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &n[i]);
	go = 1;
	usleep(300000);
	go = 2;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int subject(int argc, char **argv)
{
	int pe = argc > 2 ? atoi(argv[2]) : 0, sc = argc > 3 ? atoi(argv[3]) : 0;

	if (!strcmp(argv[1], "syscall"))
		return calls(raw, pe, sc);
	if (!strcmp(argv[1], "lib"))
		return calls(lib, pe, sc);
	if (!strcmp(argv[1], "none"))
		return 0;
	if (!strcmp(argv[1], "threads"))
		return threads();
	if (!strcmp(argv[1], "fence")) {	/* the services' barriers */
		for (int i = 0; i < pe; i++)
			if (mbfence_heavy())
				return 1;
		return 0;
	}
	if (!strcmp(argv[1], "fork")) {	/* parent pe calls, child sc */
		pid_t pid;

		if (calls(lib, pe, 0))
			return 1;
		pid = fork();
		if (pid == 0)
			exit(calls(lib, 0, sc));	/* exit(): reports */
		waitpid(pid, NULL, 0);
		return 0;
	}
	return 2;
}

static char self[4096], tool[4096], sandbox[4096], statfile[64];

/* Run a shell command line; its output (stdout and stderr) in out. */
static int run(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	size_t len = 0;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (len + 1 < size && fgets(out + len, (int)(size - len), p))
		len += strlen(out + len);
	out[len] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_stats(char *out, size_t size)
{
	FILE *f = fopen(statfile, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		fclose(f);
	unlink(statfile);
}

/* The count of a command's first row in a report; -1: no row. */
static long count_of(const char *report, const char *name)
{
	char pat[128];
	const char *p = report;

	snprintf(pat, sizeof(pat), " %s ", name);
	while ((p = strstr(p, pat))) {
		const char *line = p;

		while (line > report && line[-1] != '\n')
			line--;
		if (strspn(line, " 0123456789") == (size_t)(p - line) + 1)
			return strtol(line, NULL, 10);
		p++;
	}
	return -1;
}

static long field(const char *report, const char *name, int col)
{
	char pat[128];
	const char *p;
	long v = -1;

	snprintf(pat, sizeof(pat), " %s ", name);
	p = strstr(report, pat);
	if (!p)
		return -1;
	while (p > report && p[-1] != '\n')
		p--;
	for (int i = 0; i <= col; i++) {
		while (*p == ' ')
			p++;
		if (i == col) {
			v = strtol(p, NULL, 10);
			break;
		}
		p += strcspn(p, " \n");
	}
	return v;
}

/* Column col (from 0) of a command's first row is word. */
static int field_is(const char *report, const char *name, int col,
		    const char *word)
{
	char pat[128];
	const char *p;
	size_t n = strlen(word);

	snprintf(pat, sizeof(pat), " %s ", name);
	p = strstr(report, pat);
	if (!p)
		return 0;
	while (p > report && p[-1] != '\n')
		p--;
	for (int i = 0; i < col; i++) {
		p += strspn(p, " ");
		p += strcspn(p, " \n");
	}
	p += strspn(p, " ");
	return !strncmp(p, word, n) && (p[n] == ' ' || p[n] == '\n');
}

/* A command's first row ends in word: who made the calls. */
static int made_by(const char *report, const char *name, const char *word)
{
	char pat[128];
	const char *p, *end;
	size_t n = strlen(word);

	snprintf(pat, sizeof(pat), " %s ", name);
	p = strstr(report, pat);
	if (!p)
		return 0;
	end = p + strcspn(p, "\n");
	return (size_t)(end - p) > n + 1 && end[-(long)n - 1] == ' ' &&
	       !strncmp(end - n, word, n);
}

static char out[65536], st[65536];

static void via_shim(const char *where, const char *prefix)
{
	int status = run(out, sizeof(out), "%s%s stat -- %s syscall 1000 10 2>&1",
			 prefix, tool, self);

	tap_ok(status == 0, "%s: stat runs the program, exit status 0", where);
	/* The first rows are the program's: the library's own come after. */
	tap_ok(count_of(out, "PRIVATE_EXPEDITED") == 1000 &&
	       made_by(out, "PRIVATE_EXPEDITED", "program") &&
	       count_of(out, "PRIVATE_EXPEDITED_SYNC_CORE") == 10 &&
	       count_of(out, "REGISTER_PRIVATE_EXPEDITED") == 1 &&
	       made_by(out, "REGISTER_PRIVATE_EXPEDITED", "program"),
	       "%s: stat counts 1000 PRIVATE_EXPEDITED and 10 SYNC_CORE "
	       "made through syscall() (%ld, %ld)", where,
	       count_of(out, "PRIVATE_EXPEDITED"),
	       count_of(out, "PRIVATE_EXPEDITED_SYNC_CORE"));
	if (!tap_ok(strstr(out, "seconds time elapsed") != NULL,
		    "%s: stat prints the time elapsed", where))
		tap_diag("%s", out);
}

int main(int argc, char **argv)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	const char *first, *second;
	int status;

	if (argc > 1)
		return subject(argc, argv);
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(tool, sizeof(tool), "%s/bin/membarrier", build);
	snprintf(sandbox, sizeof(sandbox), "%s/tests/sandbox", build);
	snprintf(statfile, sizeof(statfile), "/tmp/t-stat-%d", (int)getpid());

	via_shim("kernel", "");
	/* The control: a different number of calls gives a different count. */
	run(out, sizeof(out), "%s stat -- %s syscall 999 3 2>&1", tool, self);
	tap_ok(count_of(out, "PRIVATE_EXPEDITED") == 999 &&
	       count_of(out, "PRIVATE_EXPEDITED_SYNC_CORE") == 3,
	       "control: 999 and 3 calls are counted 999 and 3");
	run(out, sizeof(out), "%s stat -- %s none 2>&1", tool, self);
	tap_ok(strstr(out, "no  membarrier calls") &&
	       count_of(out, "PRIVATE_EXPEDITED") == -1,
	       "a program that makes no call shows none");
	if (run(out, sizeof(out), "%s --enosys -- true 2>&1", sandbox) == 0) {
		char prefix[4200];

		snprintf(prefix, sizeof(prefix), "%s --enosys -- ", sandbox);
		via_shim("inside the ENOSYS filter", prefix);
		tap_ok(field_is(out, "PRIVATE_EXPEDITED", 2, "emulated"),
		       "inside the ENOSYS filter: the emulated backend is named");
	} else {
		tap_skip("no seccomp filter here", "stat inside a filter");
	}

	/* Linked: MEMBARRIER_STATS=PATH, and =1 to stderr. */
	run(out, sizeof(out), "MEMBARRIER_STATS=%s %s lib 1000 10 2>&1",
	    statfile, self);
	read_stats(st, sizeof(st));
	tap_ok(count_of(st, "PRIVATE_EXPEDITED") == 1000 &&
	       count_of(st, "PRIVATE_EXPEDITED_SYNC_CORE") == 10,
	       "MEMBARRIER_STATS=PATH: a linked program's 1000 + 10 calls");
	run(out, sizeof(out), "MEMBARRIER_STATS=1 %s lib 7 0 2>&1", self);
	tap_ok(count_of(out, "PRIVATE_EXPEDITED") == 7,
	       "MEMBARRIER_STATS=1: the report on stderr");
	run(out, sizeof(out), "T_STAT_PREINIT=1 MEMBARRIER_STATS=1 %s lib 7 0 "
	    "2>&1", self);
	tap_ok(count_of(out, "PRIVATE_EXPEDITED") == 7,
	       "a barrier before the library's constructors (.preinit_array): "
	       "the 7 calls after it counted (%ld)",
	       count_of(out, "PRIVATE_EXPEDITED"));
	/*
	 * Control: without the shim, libc's syscall() never reaches us
	 * (inside a SIGSYS filter it kills the program: no report at all).
	 */
	status = run(out, sizeof(out), "MEMBARRIER_STATS=%s %s syscall 50 0 "
		     "2>&1", statfile, self);
	read_stats(st, sizeof(st));
	tap_ok(count_of(st, "PRIVATE_EXPEDITED") == -1 &&
	       (strstr(st, "no  membarrier calls") || status != 0),
	       "control: raw syscall() without the shim is not counted");
	/*
	 * A service's barriers cost the program too: mbfence_heavy()'s 5,
	 * under the command it runs, by the library (with
	 * MEMBARRIER_REGISTER_AT_LOAD=0 the first fence registers, once).
	 */
	run(out, sizeof(out), "MEMBARRIER_REGISTER_AT_LOAD=0 "
	    "MEMBARRIER_STATS=1 %s fence 5 2>&1", self);
	if (!tap_ok(count_of(out, "PRIVATE_EXPEDITED") == 5 &&
		    made_by(out, "PRIVATE_EXPEDITED", "library") &&
		    count_of(out, "REGISTER_PRIVATE_EXPEDITED") == 1 &&
		    made_by(out, "REGISTER_PRIVATE_EXPEDITED", "library"),
		    "mbfence_heavy(): its 5 barriers and 1 registration "
		    "counted, by the library"))
		tap_diag("%s", out);
	run(out, sizeof(out), "%s none 2>&1", self);
	tap_ok(strstr(out, "libmembarrier stats") == NULL,
	       "without MEMBARRIER_STATS: no report");

	/* fork(): each process its own calls. */
	run(out, sizeof(out), "MEMBARRIER_STATS=%s %s fork 3 2 2>&1; echo",
	    statfile, self);
	read_stats(st, sizeof(st));
	first = strstr(st, "(pid ");
	second = first ? strstr(first + 1, "(pid ") : NULL;
	/* The child exits first: its report comes first. */
	if (!tap_ok(first && second &&
		    count_of(first, "PRIVATE_EXPEDITED_SYNC_CORE") == 2 &&
		    count_of(second, "PRIVATE_EXPEDITED") == 3 &&
		    count_of(second, "PRIVATE_EXPEDITED_SYNC_CORE") == -1,
		    "fork: the child reports its 2 calls, the parent its 3"))
		tap_diag("%s", st);

	/*
	 * Concurrent callers share: four threads for 300 ms. Two CPUs
	 * overlap their calls at once; on one CPU, each preemption of a
	 * thread inside its barrier (about 1 in 2 at 10+ ticks) does.
	 */
	run(out, sizeof(out), "MEMBARRIER_STATS=%s %s threads 2>&1",
	    statfile, self);
	read_stats(st, sizeof(st));
	tap_ok(field(st, "PRIVATE_EXPEDITED", 7) > 0,
	       "four concurrent callers: calls served by shared barriers "
	       "(%ld of %ld)", field(st, "PRIVATE_EXPEDITED", 7),
	       count_of(st, "PRIVATE_EXPEDITED"));

#if defined(__has_include) && __has_include(<sys/sdt.h>)
	run(out, sizeof(out), "readelf -n %s/lib/libmembarrier.so 2>&1", build);
	tap_ok(strstr(out, "Provider: libmembarrier") &&
	       strstr(out, "Name: barrier_entry") &&
	       strstr(out, "Name: barrier_exit"),
	       "USDT probes libmembarrier:barrier_entry/exit in the library");
	run(out, sizeof(out), "readelf -n %s 2>&1", self);
	tap_ok(!strstr(out, "Provider: libmembarrier"),
	       "control: this program carries no such probes");
#else
	tap_skip("built without <sys/sdt.h> (systemtap-sdt-dev)",
		 "USDT probes");
#endif
	return tap_done();
}
