// SPDX-License-Identifier: MIT
/*
 * The checked mode: a library built with MEMBARRIER_DEBUG (make
 * MEMBARRIER_DEBUG=1, as liburcu's DEBUG_RCU) aborts on a misuse that
 * the documentation forbids, with a message naming it; a normal build
 * returns the error instead, for the checks that cost nothing on a fast
 * path (ranges, offsets, NULL callbacks, a callback queued twice in a
 * row, an unregistration inside a read-side critical section).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/service.h"

static void report(const char *fmt, va_list ap)
{
	fputs("libmembarrier: misuse: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void mbi_misuse_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	abort();
}

int mbi_misuse(int err, const char *fmt, ...)
{
#ifdef MEMBARRIER_DEBUG
	va_list ap;

	(void)err;
	va_start(ap, fmt);
	report(fmt, ap);
	va_end(ap);
	abort();
#else
	(void)fmt;
	return -err;
#endif
}
