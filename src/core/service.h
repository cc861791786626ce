/* SPDX-License-Identifier: MIT */
/*
 * The core's interface to the services (src/services/): all that they
 * may use of the library besides the public API and src/sys/. A service
 * never includes a backend's header; `make check` enforces it
 * (tests/contract/t-layers.sh).
 */
#ifndef MBI_CORE_SERVICE_H
#define MBI_CORE_SERVICE_H

#include <membarrier.h>

#include "sys/sys.h"

/* Register register_cmd for the services, once: 0 or -errno. */
long mbi_service_register(int register_cmd);

/*
 * A private expedited barrier of kind cmd for a service, on the backend
 * that serves cmd, under the service registration (never the program's
 * record, so GET_REGISTRATIONS does not show it). Result or -errno.
 */
long mbi_service_barrier(int cmd, unsigned int flags, int cpu_id);

/*
 * A misuse the documentation forbids (services/debug.c): with
 * MEMBARRIER_DEBUG, abort with the message; otherwise -err.
 */
int mbi_misuse(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same message, then abort in every build: for checks a caller asked
 * for (a program built with MEMBARRIER_DEBUG). */
void mbi_misuse_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn, cold));

#endif /* MBI_CORE_SERVICE_H */
