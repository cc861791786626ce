/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for the test programs: "ok N - name", skips with
 * their reason, diagnostics as "# ...", the plan at the end.
 */
#ifndef MEMBARRIER_TAP_H
#define MEMBARRIER_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

static inline void tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static inline int tap_ok(int pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int tap_ok(int pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%sok %d - ", pass ? "" : "not ", ++tap_count);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	if (!pass)
		tap_failed++;
	return pass;
}

static inline void tap_skip(const char *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ok %d - ", ++tap_count);
	vprintf(fmt, ap);
	printf(" # SKIP %s\n", why);
	va_end(ap);
	fflush(stdout);
}

/* Skip the whole program (plan 0). */
static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/*
 * Under qemu-user (make check-aarch64 sets MEMBARRIER_TEST_QEMU=1): what
 * qemu cannot emulate is skipped with a message (fork from a multithreaded
 * guest aborts qemu 7.2; rseq is not implemented; code written through a
 * second mapping is not seen by its translation cache).
 */
static inline int tap_qemu_user(void)
{
	const char *q = getenv("MEMBARRIER_TEST_QEMU");

	return q && *q && *q != '0';
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif /* MEMBARRIER_TAP_H */
