// SPDX-License-Identifier: MIT
/*
 * membarrier run -- CMD ARGS: run an unmodified program with the library
 * in place of the membarrier system call (LD_PRELOAD of the preload shim:
 * ../lib/libmembarrier/preload.so from this tool in the build tree, else
 * where make install put it, MEMBARRIER_PRELOAD).
 *
 * It refuses, with a message and exit status 126, what the shim cannot
 * reach, rather than run the program silently without it (ld.so(8)):
 * a static program (no PT_INTERP: no dynamic loader reads LD_PRELOAD),
 * one of another ELF class, a setuid, setgid or file-capability program
 * that would run in secure-execution mode (the loader then drops every
 * LD_PRELOAD entry with a slash), a script whose interpreter is one of
 * these, and a shim path that LD_PRELOAD cannot carry (the loader splits
 * the list on spaces and colons).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <membarrier.h>

#include "tool.h"

#define SHIM "the preload shim (" MEMBARRIER_PRELOAD ")"

/*
 * The shim: beside this program as in the build tree (../lib/
 * libmembarrier/preload.so from its bin/), else where make install put it
 * (MEMBARRIER_PRELOAD, fixed at build time: LIBDIR may be multiarch, so
 * an installed tool cannot derive it from its own path).
 */
static int shim_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = NULL;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
	}
	if (slash) {
		*slash = '\0';		/* .../bin */
		if ((size_t)snprintf(buf, size, "%s/../lib/libmembarrier/preload.so",
				     exe) < size && !access(buf, R_OK))
			return 0;
	}
	if ((size_t)snprintf(buf, size, "%s", MEMBARRIER_PRELOAD) >= size)
		return -1;
	return access(buf, R_OK);
}

int tool_shim_path(char *buf, size_t size)
{
	return shim_path(buf, size);
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: membarrier run [--] CMD [ARGS]\n"
		"       membarrier run --help | -h | --version\n\n"
		"Run CMD with libmembarrier in place of the membarrier system "
		"call:\nthe preload shim (%s) is put first in LD_PRELOAD. "
		"Static,\nsetuid, setgid and file-capability programs, which "
		"the shim cannot\nreach, are refused (exit 126).\n", SHIM);
	return status;
}

/* Where execvp() would find name: 0, or -1 (ENOENT). */
static int find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/'))
		return (size_t)snprintf(buf, size, "%s", name) >= size ? -1 : 0;
	for (p = path && *path ? path : "/usr/local/bin:/bin:/usr/bin"; ;
	     p = end + 1) {
		size_t len;

		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if ((size_t)snprintf(buf, size, "%.*s%s%s", (int)len, p,
				     len ? "/" : "", name) < size &&
		    access(buf, X_OK) == 0)
			return 0;
		if (!*end)
			return -1;
	}
}

/* Why the shim cannot reach the ELF program at path; NULL if it can. */
static const char *elf_unreachable(int fd)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return NULL;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return "is a 32-bit program, the shim a 64-bit library";
	for (int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
			  (Elf64_Off)i * eh.e_phentsize)) != (ssize_t)sizeof(ph))
			return NULL;
		if (ph.p_type == PT_INTERP)
			return NULL;
	}
	return "is statically linked: no dynamic loader reads LD_PRELOAD";
}

/* Would the loader run path in secure-execution mode (ld.so(8))? */
static const char *secure_exec(const char *path, const struct stat *st)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return NULL;	/* the bits are ignored there */
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid())
		return "is setuid: the loader ignores LD_PRELOAD paths for it";
	if ((st->st_mode & S_ISGID) && st->st_gid != getgid())
		return "is setgid: the loader ignores LD_PRELOAD paths for it";
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return "has file capabilities: the loader ignores LD_PRELOAD "
		       "paths for it";
	return NULL;
}

/*
 * Why the shim cannot reach the program at path (a script: through its
 * interpreter), or NULL; depth bounds the chain of interpreters.
 */
static const char *unreachable(const char *path, char *shown, size_t size,
			       int depth)
{
	char head[PATH_MAX + 2], *nl;
	const char *why;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	snprintf(shown, size, "%s", path);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;	/* execvp() will say why */
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	head[n > 0 ? n : 0] = '\0';
	if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG)) {
		why = secure_exec(path, &st);
		if (!why)
			why = elf_unreachable(fd);
		close(fd);
		return why;
	}
	close(fd);
	if (n < 3 || head[0] != '#' || head[1] != '!' || depth > 4)
		return NULL;
	nl = head + 2;
	while (*nl == ' ' || *nl == '\t')
		nl++;
	nl[strcspn(nl, " \t\n")] = '\0';
	return *nl ? unreachable(nl, shown, size, depth + 1) : NULL;
}

/*
 * LD_PRELOAD: the library this tool runs on, then the shim, then what
 * was there. Naming the library first spares the loader the search of
 * the shim's RUNPATH for it (about twenty failed openat() and stat()
 * calls through the glibc-hwcaps subdirectories); it is the shim's own
 * dependency, so nothing else changes.
 */
static char *preload_list(const char *shim, const char *old)
{
	Dl_info info;
	const char *lib = "";
	char *list;

	if (dladdr((void *)membarrier_version, &info) && info.dli_fname &&
	    info.dli_fname[0] == '/' && !strpbrk(info.dli_fname, " :"))
		lib = info.dli_fname;
	if (!old)
		old = "";
	list = malloc(strlen(lib) + strlen(shim) + strlen(old) + 3);
	if (list)
		sprintf(list, "%s%s%s%s%s", lib, *lib ? ":" : "", shim,
			*old ? ":" : "", old);
	return list;
}

int tool_run(int argc, char **argv)
{
	char path[PATH_MAX], prog[PATH_MAX], shown[PATH_MAX], *preload;
	const char *old = getenv("LD_PRELOAD"), *why;
	int first = 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("membarrier run (libmembarrier %s)\n", membarrier_version());
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	else if (argc > 1 && argv[1][0] == '-') {
		tool_error("run: unknown option %s", argv[1]);
		return usage(stderr, 2);
	}
	if (first >= argc)
		return usage(stderr, 2);
	if (shim_path(path, sizeof(path))) {
		tool_error("cannot find %s", SHIM);
		return 2;
	}
	if (strpbrk(path, " :")) {
		tool_error("the shim's path '%s' holds a space or a colon, which "
			   "LD_PRELOAD cannot carry (the loader splits it on "
			   "both): install the library under another path", path);
		return 2;
	}
	if (find_program(argv[first], prog, sizeof(prog)) == 0 &&
	    (why = unreachable(prog, shown, sizeof(shown), 0))) {
		tool_error("%s %s; the shim cannot reach it, so it is not run "
			   "(it would run without the library)", shown, why);
		return 126;
	}
	preload = preload_list(path, old);
	if (!preload)
		return 2;
	setenv("LD_PRELOAD", preload, 1);
	execvp(argv[first], argv + first);
	tool_error("%s: %s", argv[first], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
