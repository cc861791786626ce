// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED across processes: a per-user registry of registered
 * processes in shared memory (/dev/shm/libmembarrier-UID.v1).
 *
 * Each registered process owns a slot {pid, req, done} and an agent
 * thread that sleeps on slot.req (a futex shared through the mapping).
 * A caller bumps req, wakes the agent and waits for done to reach its
 * request; the agent answers each request with a PRIVATE_EXPEDITED round
 * in its own process (TLB shootdown or signal handshake, with fallback).
 *
 *   caller (process A)            agent (process B)        thread T of B
 *   a: smp_mb()
 *   r = ++slot.req ; wake   ->    round: smp_mb(),         full barrier
 *                                 every thread of B   ->   (IPI or handler)
 *   wait slot.done >= r     <-    done = r (release) ; wake
 *   c: smp_mb()
 *
 * Liveness never rests on pids: a registered process holds an OFD write
 * lock on its slot's byte of the file, through an O_CLOEXEC descriptor.
 * The lock dies with the registration: on exit, on SIGKILL, on execve()
 * (which clears registrations), and the child of fork() closes its copy
 * and registers anew (fork inherits registrations). A caller that finds
 * a slot unlocked skips it and frees it; pid reuse is therefore harmless.
 * A slot whose agent does not answer in time (its process stopped, say)
 * is ordered by a walk of every CPU, as GLOBAL does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/emul/emul.h"

#define MBI_GSLOTS	256
#define MBI_GANSWER_NS	200000000ull	/* an agent's answer, at most */

struct mbi_gslot {
	_Alignas(64) int32_t pid;
	uint32_t req;		/* futex: requests */
	uint32_t done;		/* futex: answered requests */
};

struct mbi_registry {
	struct mbi_gslot slot[MBI_GSLOTS];
};

static struct mbi_registry *registry;	/* mapped on first use */
static int registry_fd = -1;		/* for F_OFD_GETLK by callers */
static int own_fd = -1;			/* holds the lock on own_slot */
static int own_slot = -1;
static int agent_tid;

static void registry_path(char *buf, size_t size)
{
	snprintf(buf, size, "/dev/shm/libmembarrier-%u.v1", (unsigned int)getuid());
}

/* Open the registry file (a new open file description each time). */
static int registry_open(void)
{
	char path[64];
	int fd;

	registry_path(path, sizeof(path));
	fd = (int)mbi_syscall6(SYS_openat, AT_FDCWD, (long)path,
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600, 0, 0);
	if (fd < 0)
		return fd;
	if (mbi_syscall3(SYS_ftruncate, fd, sizeof(struct mbi_registry), 0) < 0) {
		mbi_syscall3(SYS_close, fd, 0, 0);
		return -EACCES;
	}
	return fd;
}

static struct mbi_registry *registry_map(void)
{
	struct mbi_registry *r = __atomic_load_n(&registry, __ATOMIC_ACQUIRE);
	struct mbi_registry *expected = NULL;
	int fd;

	if (r)
		return r;
	fd = registry_open();
	if (fd < 0)
		return NULL;
	r = (void *)mbi_syscall6(SYS_mmap, 0, sizeof(*r), PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
	if ((long)r < 0 && (long)r > -4096) {
		mbi_syscall3(SYS_close, fd, 0, 0);
		return NULL;
	}
	if (!__atomic_compare_exchange_n(&registry, &expected, r, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		mbi_syscall3(SYS_munmap, (long)r, sizeof(*r), 0);
		mbi_syscall3(SYS_close, fd, 0, 0);
		return expected;
	}
	__atomic_store_n(&registry_fd, fd, __ATOMIC_RELEASE);
	return r;
}

/* The registry is created on first use; here, only ask if it could be. */
int mbi_global_supported(void)
{
	return access("/dev/shm", W_OK | X_OK) == 0;
}

static long shared_futex(uint32_t *word, int op, uint32_t val,
			 const struct timespec *t)
{
	return mbi_syscall6(SYS_futex, (long)word, op, val, (long)t, 0, 0);
}

static int slot_lock(int fd, int i, short type, int cmd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = i;
	fl.l_len = 1;
	if (mbi_syscall3(SYS_fcntl, fd, cmd, (long)&fl) < 0)
		return -1;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/* Is slot i held by a live registration (other than ours)? */
static int slot_alive(int i)
{
	int fd = __atomic_load_n(&registry_fd, __ATOMIC_ACQUIRE);

	return slot_lock(fd, i, F_WRLCK, F_OFD_GETLK) == 1;
}

/* ---- the agent, in each registered process ---- */

static void *agent_main(void *arg)
{
	struct mbi_gslot *s = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	__atomic_store_n(&agent_tid, mbi_gettid(), __ATOMIC_RELEASE);
	mbi_syscall3(SYS_prctl, 15 /* PR_SET_NAME */, (long)"membarrier-gexp", 0);
	for (;;) {
		/* Acquire pairs with the caller's seq_cst increment. */
		uint32_t r = __atomic_load_n(&s->req, __ATOMIC_ACQUIRE);

		if (r == __atomic_load_n(&s->done, __ATOMIC_RELAXED)) {
			shared_futex(&s->req, FUTEX_WAIT, r, NULL);
			continue;
		}
		mbi_emul_private_round(mbi_gettid());
		/* Release pairs with the caller's acquire of done. */
		__atomic_store_n(&s->done, r, __ATOMIC_RELEASE);
		shared_futex(&s->done, FUTEX_WAKE, 0x7fffffff, NULL);
	}
	return NULL;
}

int mbi_global_agent_tid(void)
{
	return __atomic_load_n(&agent_tid, __ATOMIC_ACQUIRE);
}

/* Claim a free or dead slot under a lock of our own: its index, or -1. */
static int claim_slot(struct mbi_registry *reg, int fd)
{
	int pid = mbi_getpid();

	for (int i = 0; i < MBI_GSLOTS; i++) {
		struct mbi_gslot *s = &reg->slot[i];

		/* A live registration holds the lock: F_OFD_SETLK fails. */
		if (slot_lock(fd, i, F_WRLCK, F_OFD_SETLK))
			continue;
		__atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

int mbi_global_register(void)
{
	struct mbi_registry *reg = registry_map();
	pthread_attr_t attr;
	pthread_t t;
	int fd, i, err;

	if (!reg)
		return -ENOSYS;
	if (own_slot >= 0)
		return 0;
	fd = registry_open();
	if (fd < 0)
		return -ENOSYS;
	i = claim_slot(reg, fd);
	if (i < 0) {
		mbi_syscall3(SYS_close, fd, 0, 0);
		return -ENOMEM;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&t, &attr, agent_main, &reg->slot[i]);
	pthread_attr_destroy(&attr);
	if (err) {
		__atomic_store_n(&reg->slot[i].pid, 0, __ATOMIC_RELEASE);
		mbi_syscall3(SYS_close, fd, 0, 0);
		return -ENOMEM;
	}
	own_fd = fd;
	own_slot = i;
	return 0;
}

/* ---- the caller ---- */

struct mbi_greq {
	int slot;
	uint32_t r;
};

static int wait_answer(struct mbi_registry *reg, const struct mbi_greq *q,
		       uint64_t t0)
{
	struct mbi_gslot *s = &reg->slot[q->slot];

	for (;;) {
		/* Acquire pairs with the agent's release of done. */
		uint32_t d = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
		uint64_t now = mbi_now_ns();
		struct timespec t = { 0, 1000000 };

		if ((int32_t)(d - q->r) >= 0 || !slot_alive(q->slot))
			return 0;
		if (now - t0 >= MBI_GANSWER_NS)
			return -ETIMEDOUT;
		shared_futex(&s->done, FUTEX_WAIT, d, &t);
	}
}

int mbi_global_expedited(void)
{
	struct mbi_registry *reg = registry_map();
	struct mbi_greq q[MBI_GSLOTS];
	int nq = 0, self = mbi_getpid(), late = 0;
	uint64_t t0;

	if (!reg)
		return -ENOSYS;
	membarrier_arch_mb();	/* a: pairs with the agents' rounds */
	for (int i = 0; i < MBI_GSLOTS; i++) {
		struct mbi_gslot *s = &reg->slot[i];
		int pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);

		if (!pid)
			continue;
		if (i == own_slot && pid == self) {
			mbi_emul_private_round(mbi_global_agent_tid());
			continue;
		}
		if (!slot_alive(i)) {
			/* Dead registration: free the slot for reuse. */
			__atomic_compare_exchange_n(&s->pid, &pid, 0, 0,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_RELAXED);
			continue;
		}
		q[nq].slot = i;
		q[nq].r = __atomic_add_fetch(&s->req, 1, __ATOMIC_SEQ_CST);
		shared_futex(&s->req, FUTEX_WAKE, 1, NULL);
		nq++;
	}
	t0 = mbi_now_ns();
	for (int i = 0; i < nq; i++)
		late += wait_answer(reg, &q[i], t0) != 0;
	/* An agent that did not answer: order its threads with every CPU's. */
	if (late && mbi_walk(1))
		return -EAGAIN;
	membarrier_arch_mb();	/* c: pairs with the agents' rounds */
	return 0;
}

/*
 * In the child of fork(): the registration is inherited, but the slot,
 * its lock's descriptor and the agent are the parent's. Close our copy
 * of the parent's descriptor (else the parent's lock outlives it), then
 * register the child anew.
 */
void mbi_global_atfork_child(void)
{
	if (own_slot < 0)
		return;
	mbi_syscall3(SYS_close, own_fd, 0, 0);
	own_fd = -1;
	own_slot = -1;
	agent_tid = 0;
	mbi_global_register();
}
