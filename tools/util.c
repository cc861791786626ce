// SPDX-License-Identifier: MIT
/* Helpers shared by the membarrier tool's subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>

#include "tool.h"

uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tool_print_mask(FILE *out, int mask, const char *sep)
{
	const char *s = "";

	if (mask == 0) {
		fputs("none", out);
		return;
	}
	for (int bit = 0; bit < 31; bit++) {
		const char *name = membarrier_cmd_name(1 << bit);

		if (!(mask & (1 << bit)))
			continue;
		if (name)
			fprintf(out, "%s%s", s, name);
		else
			fprintf(out, "%s(1<<%d)", s, bit);
		s = sep;
	}
}

void tool_seccomp(struct tool_seccomp *sc)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	sc->mode = -1;
	sc->filters = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Seccomp:", 8))
			sc->mode = atoi(line + 8);
		else if (!strncmp(line, "Seccomp_filters:", 16))
			sc->filters = atoi(line + 16);
	}
	fclose(f);
}

const char *tool_opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len))
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		tool_error("%s needs a value", name);
		exit(2);
	}
	return argv[++*i];
}

int tool_opt_ulong(int argc, char **argv, int *i, const char *name,
		   unsigned long *value)
{
	const char *v = tool_opt_value(argc, argv, i, name);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	*value = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-') {
		tool_error("%s: '%s' is not a non-negative integer", name, v);
		exit(2);
	}
	return 1;
}

void tool_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("membarrier: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int tool_exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size);
	char *slash;

	if (n <= 0 || (size_t)n >= size)
		return -1;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}
