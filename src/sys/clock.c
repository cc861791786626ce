// SPDX-License-Identifier: MIT
/*
 * The monotonic clock, and sleeping on it without touching errno.
 */
#include <time.h>

#include "sys/sys.h"

uint64_t mbi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mbi_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	/* clock_nanosleep returns the error; errno is untouched. */
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}
