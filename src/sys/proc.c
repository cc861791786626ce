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

static char *fmt_path(char *p, const char *a, int tid, const char *b)
{
	char digits[16];
	int n = 0;

	do
		digits[n++] = (char)('0' + tid % 10);
	while ((tid /= 10) && n < 15);
	while (*a)
		*p++ = *a++;
	while (n)
		*p++ = digits[--n];
	while (*b)
		*p++ = *b++;
	*p = '\0';
	return p;
}

static uint64_t parse_hex(const char *s)
{
	uint64_t v = 0;

	for (;; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return v;
		v = v << 4 | (uint64_t)d;
	}
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

void mbi_parse_status(const char *buf, struct mbi_task_info *info)
{
	const char *p;

	p = strstr(buf, "\nSigBlk:");
	if (!p)
		return;
	/* The tab after the key, unless the buffer ends there. */
	p += 8;
	if (*p == '\t')
		info->sigblk = parse_hex(p + 1);
}

int mbi_task_info(int tid, struct mbi_task_info *info, int want_signals)
{
	char path[64], buf[2048];
	long n;

	info->state = '?';
	info->cpu = -1;
	info->sigblk = 0;
	fmt_path(path, "/proc/self/task/", tid, "/stat");
	n = mbi_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	mbi_parse_stat(buf, info);
	if (!want_signals)
		return 0;
	fmt_path(path, "/proc/self/task/", tid, "/status");
	n = mbi_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	mbi_parse_status(buf, info);
	return 0;
}
