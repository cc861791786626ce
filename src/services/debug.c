// SPDX-License-Identifier: MIT
/*
 * The checked mode: a library built with MEMBARRIER_DEBUG (make
 * MEMBARRIER_DEBUG=1, as liburcu's DEBUG_RCU) aborts on a misuse that
 * the documentation forbids, with a message naming it; a normal build
 * returns the error instead, for the checks that cost nothing on a fast
 * path (ranges, offsets, NULL callbacks).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/service.h"

int mbi_misuse(int err, const char *fmt, ...)
{
#ifdef MEMBARRIER_DEBUG
	va_list ap;

	(void)err;
	fputs("libmembarrier: misuse: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
#else
	(void)fmt;
	return -err;
#endif
}
