// SPDX-License-Identifier: MIT
/*
 * CPU lists, as the kernel prints them in /sys/devices/system/cpu/
 * (Documentation/admin-guide/cputopology.rst): "0-3,8,10-11\n".
 */
#include <errno.h>
#include <string.h>

#include "sys/sys.h"

/* A decimal CPU number at *s: the number, or -1 (none, or too large). */
static int parse_cpu(const char **s)
{
	const char *p = *s;
	int v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 1000000)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	return v;
}

int mbi_cpulist_parse(const char *s, struct mbi_cpuset *set)
{
	int top = 0;

	memset(set, 0, sizeof(*set));
	for (;;) {
		int lo = parse_cpu(&s), hi = lo;

		if (lo < 0)
			goto bad;
		if (*s == '-') {
			s++;
			hi = parse_cpu(&s);
			if (hi < lo)
				goto bad;
		}
		for (int c = lo; c <= hi && c < MBI_MAX_CPUS; c++)
			set->bits[c / 64] |= 1ull << (c % 64);
		if (hi + 1 > top)
			top = hi + 1;
		if (*s != ',')
			break;
		s++;
	}
	if (*s == '\n')
		s++;
	if (*s == '\0')
		return top;
bad:
	memset(set, 0, sizeof(*set));
	return -1;
}

int mbi_cpus_online(struct mbi_cpuset *online)
{
	char buf[1024];
	long n = mbi_read_file("/sys/devices/system/cpu/online", buf,
			       sizeof(buf));

	if (n < 0)
		return (int)n;
	return mbi_cpulist_parse(buf, online) > 0 ? 0 : -ENOENT;
}

int mbi_cpus_possible(void)
{
	char buf[1024];
	struct mbi_cpuset set;
	int n;

	if (mbi_read_file("/sys/devices/system/cpu/possible", buf,
			  sizeof(buf)) <= 0)
		return MBI_MAX_CPUS;
	n = mbi_cpulist_parse(buf, &set);
	return n > 0 ? n : MBI_MAX_CPUS;
}
