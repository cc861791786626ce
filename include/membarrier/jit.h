/* SPDX-License-Identifier: MIT */
/*
 * JIT code publishing: a call after which no other thread executes the
 * previous instructions of a range a JIT rewrote, the use that
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE was added for (membarrier(2);
 * kernel commit "membarrier: Provide core serializing command,
 * *_SYNC_CORE", Linux 4.16).
 *
 * After writing new instructions into a range, mbjit_publish() returns
 * once no thread of the process can execute the previous instructions
 * there: it performs the architecture's instruction-cache maintenance for
 * the range (none on x86_64; DC CVAU + IC IVAU on aarch64), then a
 * membarrier(PRIVATE_EXPEDITED_SYNC_CORE), under which every thread
 * executes a context-synchronizing instruction before it next runs user
 * code. It also orders memory as membarrier() does:
 *
 *   publisher (CPU0)                    any thread (CPU1)
 *   write code at L
 *   mbjit_publish(L, L, len)
 *   store_release(ready, 1)             if (load_acquire(ready))
 *                                               call L
 *
 *   forbidden: CPU1 executes the code that was at L before the write.
 */
#ifndef MEMBARRIER_JIT_H
#define MEMBARRIER_JIT_H

#include <stddef.h>

#include <membarrier/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Publish len bytes of code written through the address written and
 * executed from the address exec: the same address, or two views of one
 * memory (a writable and an executable mapping of a memfd, say). Both
 * ranges must be readable. 0, or -errno when no backend serves
 * PRIVATE_EXPEDITED_SYNC_CORE here (EINVAL for len 0, a NULL range, or
 * one that wraps around the address space or is not mapped; a library
 * built with MEMBARRIER_DEBUG aborts on the last two).
 */
MEMBARRIER_API int mbjit_publish(const void *written, const void *exec,
				 size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_JIT_H */
