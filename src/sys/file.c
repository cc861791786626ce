// SPDX-License-Identifier: MIT
/*
 * Small files (/proc, /sys) read in one read(2), with raw system calls.
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "sys/sys.h"

long mbi_read_file(const char *path, char *buf, long size)
{
	long fd = mbi_syscall3(SYS_openat, AT_FDCWD, (long)path,
			       O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return fd;
	n = mbi_syscall3(SYS_read, fd, (long)buf, size - 1);
	mbi_syscall3(SYS_close, fd, 0, 0);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}
