// SPDX-License-Identifier: MIT
/*
 * The registration record: which REGISTER_* commands this process issued.
 *
 * It lives in process memory, so fork() copies it (the child inherits the
 * registrations, like the kernel's copied mm) and execve() discards it (the
 * new image starts with none, like membarrier_exec_mmap()). Threads created
 * with CLONE_VM but not CLONE_THREAD share it, as they share an mm.
 *
 * The library keeps this record for every backend, the kernel's included:
 * the registrations it makes early for its own services must stay
 * invisible to the program, which sees exactly the registrations it made.
 */
#include <stddef.h>

#include "core/core.h"

unsigned int mbi_state;

const struct mbi_registration *mbi_registration_of(int cmd)
{
	static const struct mbi_registration global = {
		MBI_STATE_GLOBAL_EXPEDITED, MBI_STATE_GLOBAL_EXPEDITED_READY,
	};
	static const struct mbi_registration private_expedited = {
		MBI_STATE_PRIVATE_EXPEDITED, MBI_STATE_PRIVATE_EXPEDITED_READY,
	};
	/* The kernel's quirk: SYNC_CORE and RSEQ also mark PRIVATE_EXPEDITED. */
	static const struct mbi_registration sync_core = {
		MBI_STATE_PRIVATE_EXPEDITED | MBI_STATE_SYNC_CORE,
		MBI_STATE_SYNC_CORE_READY,
	};
	static const struct mbi_registration rseq = {
		MBI_STATE_PRIVATE_EXPEDITED | MBI_STATE_RSEQ,
		MBI_STATE_RSEQ_READY,
	};

	switch (cmd) {
	case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
		return &global;
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
		return &private_expedited;
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
		return &sync_core;
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
		return &rseq;
	default:
		return NULL;
	}
}

/*
 * As the kernel's membarrier_get_registrations(): a registration counts
 * once either of its bits is set, so an interrupted or in-progress
 * registration is reported too.
 */
int mbi_registrations_mask(unsigned int state)
{
	static const int register_cmds[] = {
		MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
	};
	static const unsigned int state_bits[] = {
		MBI_STATE_GLOBAL_EXPEDITED | MBI_STATE_GLOBAL_EXPEDITED_READY,
		MBI_STATE_PRIVATE_EXPEDITED | MBI_STATE_PRIVATE_EXPEDITED_READY,
		MBI_STATE_SYNC_CORE | MBI_STATE_SYNC_CORE_READY,
		MBI_STATE_RSEQ | MBI_STATE_RSEQ_READY,
	};
	int mask = 0;

	for (unsigned int i = 0; i < sizeof(state_bits) / sizeof(state_bits[0]); i++)
		if (state & state_bits[i])
			mask |= register_cmds[i];
	return mask;
}
