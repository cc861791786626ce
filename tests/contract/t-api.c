// SPDX-License-Identifier: MIT
/*
 * The public API around the contract: names, backends, the kernel probe,
 * errno, and the header's values against the kernel's own header.
 */
#include <linux/membarrier.h>	/* first: the two headers must coexist */
#include <membarrier.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/tap.h"

/* The kernel header's enumerators, where it has them, equal ours. */
_Static_assert(MEMBARRIER_CMD_QUERY == 0, "QUERY");
_Static_assert(MEMBARRIER_CMD_SHARED == MEMBARRIER_CMD_GLOBAL, "SHARED");
_Static_assert((int)MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ == 128, "RSEQ");
_Static_assert(MEMBARRIER_CMD_GET_REGISTRATIONS == 512, "GET_REGISTRATIONS");
_Static_assert(MEMBARRIER_CMD_FLAG_CPU == 1, "FLAG_CPU");

static const struct {
	int cmd;
	const char *name;
} names[] = {
	{ 0, "QUERY" },
	{ 1, "GLOBAL" },
	{ 2, "GLOBAL_EXPEDITED" },
	{ 4, "REGISTER_GLOBAL_EXPEDITED" },
	{ 8, "PRIVATE_EXPEDITED" },
	{ 16, "REGISTER_PRIVATE_EXPEDITED" },
	{ 32, "PRIVATE_EXPEDITED_SYNC_CORE" },
	{ 64, "REGISTER_PRIVATE_EXPEDITED_SYNC_CORE" },
	{ 128, "PRIVATE_EXPEDITED_RSEQ" },
	{ 256, "REGISTER_PRIVATE_EXPEDITED_RSEQ" },
	{ 512, "GET_REGISTRATIONS" },
};

static const int not_commands[] = { 3, 5, 1024, -1, INT_MIN, INT_MAX };

static void test_names(void)
{
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *n = membarrier_cmd_name(names[i].cmd);

		tap_ok(n && !strcmp(n, names[i].name), "membarrier_cmd_name(%d) = %s",
		       names[i].cmd, names[i].name);
	}
	for (unsigned int i = 0; i < sizeof(not_commands) / sizeof(not_commands[0]); i++)
		tap_ok(!membarrier_cmd_name(not_commands[i]),
		       "membarrier_cmd_name(%d) = NULL", not_commands[i]);
	tap_ok(!strcmp(membarrier_backend_name(MEMBARRIER_BACKEND_KERNEL), "kernel") &&
	       !strcmp(membarrier_backend_name(MEMBARRIER_BACKEND_EMULATED), "emulated") &&
	       !strcmp(membarrier_backend_name(MEMBARRIER_BACKEND_NONE), "none"),
	       "membarrier_backend_name of each backend");
	tap_ok(!membarrier_backend_name(3) && !membarrier_backend_name(-1),
	       "membarrier_backend_name of a non-backend = NULL");
}

static void test_backend_of(void)
{
	int query = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	for (unsigned int i = 0; i < sizeof(not_commands) / sizeof(not_commands[0]); i++) {
		errno = 0;
		tap_ok(membarrier_backend_of(not_commands[i]) == -1 && errno == EINVAL,
		       "membarrier_backend_of(%d) = -1, EINVAL", not_commands[i]);
	}
	for (unsigned int i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		int cmd = names[i].cmd, b = membarrier_backend_of(cmd);
		int offered = query >= 0 && (query & cmd);

		tap_ok(offered ? b != MEMBARRIER_BACKEND_NONE : b == MEMBARRIER_BACKEND_NONE,
		       "%s: backend %s agrees with QUERY", names[i].name,
		       membarrier_backend_name(b));
	}
}

static void test_kernel_query(void)
{
	long raw = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	int kq = membarrier_kernel_query();

	if (raw < 0)
		tap_ok(kq == -errno, "membarrier_kernel_query() = -%s",
		       strerror(errno));
	else
		tap_ok(kq == raw, "membarrier_kernel_query() = raw QUERY (0x%lx)", raw);
}

/* Success leaves errno alone, as the system call does. */
static void test_errno(void)
{
	static const int cmds[] = {
		MEMBARRIER_CMD_QUERY, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_GET_REGISTRATIONS,
		MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	};

	if (membarrier(MEMBARRIER_CMD_QUERY, 0, 0) < 0) {
		tap_skip("QUERY fails here", "errno untouched on success");
		return;
	}
	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret;

		errno = 4242;
		ret = membarrier(cmds[i], 0, 0);
		tap_ok(ret >= 0 && errno == 4242, "%s: success leaves errno alone",
		       membarrier_cmd_name(cmds[i]));
	}
	errno = 0;
	tap_ok(membarrier(3, 0, 0) == -1 && errno == EINVAL,
	       "failure returns -1 and sets errno");
}

static void test_version(void)
{
	const char *v = membarrier_version();
	unsigned int a, b, c;

	tap_ok(v && sscanf(v, "%u.%u.%u", &a, &b, &c) == 3,
	       "membarrier_version() = %s", v ? v : "(null)");
}

int main(void)
{
	test_names();
	test_backend_of();
	test_kernel_query();
	test_errno();
	test_version();
	return tap_done();
}
