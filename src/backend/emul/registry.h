/* SPDX-License-Identifier: MIT */
/*
 * The per-user registry of GLOBAL_EXPEDITED registrations (registry.c):
 * where it lives, who may change it, how it grows. The protocol that
 * uses it is in global.c.
 *
 * Layout: a directory /dev/shm/libmembarrier-EUID (then -EUID.1 .. .3
 * when another user holds a name), mode 0700 and owned by the user, so
 * that nobody else can create, open, change or remove what is inside;
 * in it the file "registry.v2" (mode 0600): one header page, then slots.
 * Space is reserved with fallocate(2) before the slots it holds are
 * published (hdr.nslots), so that no page of the mapping is ever touched
 * beyond what tmpfs has already allocated: a full /dev/shm fails the
 * registration with ENOMEM, never a store with SIGBUS.
 *
 * A registration holds an OFD write lock on its slot's byte (at
 * MBI_GREG_LOCK + slot) through a descriptor of its own: the lock dies
 * with the process, with execve() (O_CLOEXEC) and when the registration
 * moves to a new file.
 */
#ifndef MBI_EMUL_REGISTRY_H
#define MBI_EMUL_REGISTRY_H

#include <stdint.h>

#include "sys/sys.h"

#define MBI_GREG_DIRS	4		/* directory names tried, in order */
#define MBI_GREG_MAGIC	0x326765726d626d6cull	/* "lmbmreg2" */
#define MBI_GREG_FIRST	1024u		/* slots in a new file */
#define MBI_GREG_MAX	65536u		/* slots at most (the mapping's size) */
#define MBI_GREG_HDR	4096u
#define MBI_GREG_LOCK	(1ll << 32)	/* byte offset of slot 0's lock */

struct mbi_greg_hdr {
	uint64_t magic;
	uint32_t nslots;	/* slots allocated; grows, published with release */
	uint32_t count;		/* slots with an owner's pid */
	uint64_t born_ns;	/* CLOCK_MONOTONIC at creation */
};

struct mbi_gslot {
	/* generation << 32 | pid (0: free), published last (release); the
	 * generation only grows, so a stale reading never matches again */
	_Alignas(64) uint64_t owner;
	uint32_t req;		/* futex: requests, bumped by callers */
	uint32_t done;		/* futex: the last request answered */
	uint32_t wreq;		/* requests that want a walk (bumped first) */
	uint32_t wdone;
	uint32_t walker;	/* the agent can run on every CPU of reach */
	uint64_t pidns;		/* inode of the agent's pid namespace */
	struct mbi_cpuset reach;	/* the CPUs the process may run on */
};

/* One registry file, opened and mapped by this process. */
struct mbi_greg {
	int fd;			/* O_RDWR: locks, growth */
	uint64_t dev, ino;	/* identity, to notice a replacement */
	struct mbi_greg_hdr *hdr;	/* maps MBI_GREG_MAX slots */
	struct mbi_gslot *slot;
};

/* buf = a, n in decimal, b (async-signal-safe; truncated to size). */
void mbi_greg_fmt(char *buf, unsigned long size, const char *a, unsigned long n,
		  const char *b);

/* Path of directory k (0 .. MBI_GREG_DIRS-1), or of its file. */
void mbi_greg_path(int k, int file, char *buf, unsigned long size);

/*
 * Open and map the registry in directory k into g. With create, make
 * what is missing and replace what is not right (and ours); without,
 * only open what is already right. 0, or -errno: -ENOENT (nothing
 * usable), -EEXIST (the name belongs to another user), -ENOMEM (no
 * space), other errors of the system calls.
 */
int mbi_greg_open(int k, int create, struct mbi_greg *g);
void mbi_greg_close(struct mbi_greg *g);

/* 1 if path k names the file g has open, 0 if not (removed, replaced). */
int mbi_greg_current(int k, const struct mbi_greg *g);

/* Claim a free or dead slot under a lock held through g->fd, growing the
 * file when every slot is live: the slot's index, or -errno. */
int mbi_greg_claim(struct mbi_greg *g);

/* Is slot i held by a registration (other than one through g->fd)? */
int mbi_greg_alive(const struct mbi_greg *g, uint32_t i);

/* Publish owner in slot i (claimed): release, pairs with the acquire of
 * owner by callers; fields stored before it are seen with it. */
void mbi_greg_publish(struct mbi_greg *g, uint32_t i, uint32_t pid);

/* Slot i's owner is gone (its lock is free): mark it free unless it was
 * claimed anew since owner was read. */
void mbi_greg_clear(struct mbi_greg *g, uint32_t i, uint64_t owner);

/* Slots that may be read (acquire: pairs with the growth's release). */
static inline uint32_t mbi_greg_nslots(const struct mbi_greg *g)
{
	uint32_t n = __atomic_load_n(&g->hdr->nslots, __ATOMIC_ACQUIRE);

	return n < MBI_GREG_MAX ? n : MBI_GREG_MAX;
}

#endif /* MBI_EMUL_REGISTRY_H */
