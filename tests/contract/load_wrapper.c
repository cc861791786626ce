// SPDX-License-Identifier: MIT
/*
 * load_wrapper: a program with its own global membarrier(), the common
 * wrapper around syscall(2), for tests/contract/t-load-shim.sh. Under the
 * preload shim, syscall(SYS_membarrier) must reach the library's entry
 * point, not this function again. Prints what QUERY, a registration and
 * a barrier return.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int membarrier(int cmd, unsigned int flags, int cpu_id);

int membarrier(int cmd, unsigned int flags, int cpu_id)
{
	return (int)syscall(SYS_membarrier, cmd, flags, cpu_id);
}

int main(void)
{
	int q = membarrier(0, 0, 0);
	int e = q < 0 ? errno : 0;
	int r = membarrier(16, 0, 0);
	int b = membarrier(8, 0, 0);

	printf("query=%d errno=%d register=%d barrier=%d\n", q, e, r, b);
	return 0;
}
