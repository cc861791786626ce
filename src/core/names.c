// SPDX-License-Identifier: MIT
/* Names of commands and backends, for tools and diagnostics. */
#include <stddef.h>

#include "core/core.h"

MEMBARRIER_API const char *membarrier_cmd_name(int cmd)
{
	static const char *const names[MEMBARRIER_NR_CMDS] = {
		"QUERY",
		"GLOBAL",
		"GLOBAL_EXPEDITED",
		"REGISTER_GLOBAL_EXPEDITED",
		"PRIVATE_EXPEDITED",
		"REGISTER_PRIVATE_EXPEDITED",
		"PRIVATE_EXPEDITED_SYNC_CORE",
		"REGISTER_PRIVATE_EXPEDITED_SYNC_CORE",
		"PRIVATE_EXPEDITED_RSEQ",
		"REGISTER_PRIVATE_EXPEDITED_RSEQ",
		"GET_REGISTRATIONS",
	};
	int idx = mbi_cmd_index(cmd);

	return idx < 0 ? NULL : names[idx];
}

MEMBARRIER_API const char *membarrier_backend_name(int backend)
{
	switch (backend) {
	case MEMBARRIER_BACKEND_NONE:
		return "none";
	case MEMBARRIER_BACKEND_KERNEL:
		return "kernel";
	case MEMBARRIER_BACKEND_EMULATED:
		return "emulated";
	default:
		return NULL;
	}
}

MEMBARRIER_API const char *membarrier_version(void)
{
	return MEMBARRIER_VERSION;
}
