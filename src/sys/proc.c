// SPDX-License-Identifier: MIT
/*
 * This process and its threads, as /proc/self/task lists them: all of
 * them, not only those the library or the program created with pthreads.
 * Raw system calls and stack buffers only: async-signal-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "sys/sys.h"

int mbi_gettid(void)
{
	return (int)mbi_syscall3(SYS_gettid, 0, 0, 0);
}

int mbi_getpid(void)
{
	return (int)mbi_syscall3(SYS_getpid, 0, 0, 0);
}

int mbi_tasks_open(void)
{
	return (int)mbi_syscall3(SYS_openat, AT_FDCWD, (long)"/proc/self/task",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int parse_tid(const char *s)
{
	int v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int mbi_tasks_foreach(int fd, int (*fn)(int tid, void *arg), void *arg)
{
	_Alignas(8) char buf[4096];
	long n;

	if (mbi_syscall3(SYS_lseek, fd, 0, SEEK_SET) < 0)
		return -EIO;
	while ((n = mbi_syscall3(SYS_getdents64, fd, (long)buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			int tid = parse_tid(d->d_name);

			off += d->d_reclen;
			if (tid > 0 && fn(tid, arg))
				return 0;
		}
	}
	return n < 0 ? (int)n : 0;
}

/*
 * /proc/PID/stat: the command (field 2) may hold spaces and ')', so
 * fields are counted from the last ')'. Field 3 is the state, field 39
 * the CPU the thread last ran on.
 */
void mbi_parse_stat(const char *buf, struct mbi_task_info *info)
{
	const char *p = strrchr(buf, ')');
	int field = 3, cpu = 0;

	if (!p || p[1] != ' ' || !p[2])
		return;
	p += 2;
	info->state = *p;
	for (; *p && field < 39; p++)
		field += *p == ' ';
	if (field != 39 || *p < '0' || *p > '9')
		return;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (cpu > 1000000)	/* no such CPU: unknown */
			return;
		cpu = cpu * 10 + (*p - '0');
	}
	info->cpu = cpu;
}
