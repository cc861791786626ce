/* SPDX-License-Identifier: MIT */
/* The tests' clock: monotonic time in nanoseconds (one copy). */
#ifndef MEMBARRIER_TEST_CLOCK_H
#define MEMBARRIER_TEST_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* MEMBARRIER_TEST_CLOCK_H */
