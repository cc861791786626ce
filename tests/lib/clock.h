/* SPDX-License-Identifier: MIT */
/* The tests' clock: monotonic time in nanoseconds (one copy). */
#ifndef MEMBARRIER_TEST_CLOCK_H
#define MEMBARRIER_TEST_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Clock c (CLOCK_THREAD_CPUTIME_ID: the thread's CPU time) in ns. */
static inline uint64_t test_clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t test_now_ns(void)
{
	return test_clock_ns(CLOCK_MONOTONIC);
}

#endif /* MEMBARRIER_TEST_CLOCK_H */
