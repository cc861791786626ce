// SPDX-License-Identifier: MIT
/*
 * membarrier run -- CMD ARGS: run an unmodified program with the library
 * in place of the membarrier system call (LD_PRELOAD of the shim that
 * sits next to the library, ../lib/libmembarrier-preload.so from here).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define SHIM "libmembarrier-preload.so"

static int shim_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';		/* .../bin */
	if ((size_t)snprintf(buf, size, "%s/../lib/" SHIM, exe) >= size)
		return -1;
	return access(buf, R_OK);
}

int tool_shim_path(char *buf, size_t size)
{
	return shim_path(buf, size);
}

int tool_run(int argc, char **argv)
{
	char path[PATH_MAX], *preload;
	const char *old = getenv("LD_PRELOAD");
	int first = 1;

	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	if (first >= argc) {
		tool_error("usage: membarrier run -- CMD [ARGS]");
		return 2;
	}
	if (shim_path(path, sizeof(path))) {
		tool_error("cannot find %s next to this tool", SHIM);
		return 2;
	}
	if (old && *old) {
		preload = malloc(strlen(path) + strlen(old) + 2);
		if (!preload)
			return 2;
		sprintf(preload, "%s:%s", path, old);
	} else {
		preload = path;
	}
	setenv("LD_PRELOAD", preload, 1);
	execvp(argv[first], argv + first);
	tool_error("%s: %s", argv[first], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
