// SPDX-License-Identifier: MIT
/*
 * The RCU engine's reader registry: each registered thread's record,
 * claimed at registration and released at unregistration or thread exit;
 * the wake-up a reader gives an updater sleeping on it; the registry's
 * state in the child of fork(). Records are never freed, so the grace
 * period scan (rcu_gp.c) walks the chain without a lock while threads
 * register and exit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rcu_internal.h"

static struct mbi_rcu_record *record_of(struct mbrcu_reader *r)
{
	return mbrcu_container_of(r, struct mbi_rcu_record, r);
}

/* Under reg_lock: a free record, or a new one published at the head. */
static struct mbi_rcu_record *claim_record(struct mbi_rcu_flavor *f)
{
	struct mbi_rcu_record *rec;

	for (rec = f->records; rec; rec = rec->next)
		if (!rec->in_use)
			break;
	if (!rec) {
		rec = aligned_alloc(64, sizeof(*rec));
		if (!rec)
			return NULL;
		memset(rec, 0, sizeof(*rec));
		rec->flavor = f;
		rec->next = f->records;
		/*
		 * Publish the initialized record; pairs with the acquire in
		 * wait_for_readers() (rcu_gp.c), which walks the chain
		 * without a lock.
		 */
		__atomic_store_n(&f->records, rec, __ATOMIC_RELEASE);
	}
	rec->in_use = 1;
	return rec;
}

/* The thread behind rec will not read again: quiescent for good. */
static void release_record(struct mbi_rcu_flavor *f, struct mbi_rcu_record *rec)
{
	/*
	 * Whatever the thread read is done before ctr = 0, on every
	 * architecture and whether or not it left its critical section;
	 * pairs with the updater's acquire load of ctr (litmus 2). The
	 * store is a release under MEMBARRIER_TSAN, for the barrier.
	 */
	membarrier_arch_mb();
	MBRCU_STORE_AFTER_MB(rec->r.ctr, 0);
	/*
	 * ctr = 0 before the wake load; pairs with the fence an updater runs
	 * between setting wake and its last look at ctr (sleep_on(),
	 * rcu_gp.c).
	 */
	membarrier_arch_mb();
	if (MEMBARRIER_LOAD_SHARED(rec->r.wake))
		mbi_rcu_wake_updater(&rec->r);
	pthread_mutex_lock(&f->reg_lock);
	rec->in_use = 0;
	pthread_mutex_unlock(&f->reg_lock);
}

/* pthread key destructor: the thread exits without unregistering. */
void mbi_rcu_reader_exit(void *arg)
{
	struct mbi_rcu_record *rec = arg;
	struct mbi_rcu_flavor *f = rec->flavor;

	mbi_rcu_check_underflow(f, MEMBARRIER_LOAD_SHARED(rec->r.ctr),
				"thread exit");
	*f->tls() = NULL;
	release_record(f, rec);
}

int mbi_rcu_register(struct mbi_rcu_flavor *f)
{
	struct mbrcu_reader **slot = f->tls();
	struct mbi_rcu_record *rec;
	int ret;

	if (*slot)
		return 0;
	mbi_rcu_flavor_init(f);
	/* A reader relies on the updater's fence: it must work here. */
	ret = f->fence();
	if (ret)
		return ret;
	pthread_mutex_lock(&f->reg_lock);
	rec = claim_record(f);
	pthread_mutex_unlock(&f->reg_lock);
	if (!rec)
		return -ENOMEM;
	*slot = &rec->r;
	if (f->key_ok)
		pthread_setspecific(f->key, rec);
	return 0;
}

void mbi_rcu_unregister(struct mbi_rcu_flavor *f)
{
	struct mbrcu_reader **slot = f->tls();
	struct mbi_rcu_record *rec;
	uint64_t ctr;

	if (!*slot)
		return;
	rec = record_of(*slot);
	/*
	 * Inside a critical section, ctr = 0 would let a concurrent grace
	 * period end while the thread reads, and its read_unlock would find
	 * no record: a checked build aborts, a normal one keeps the thread
	 * registered (the call is ignored).
	 */
	ctr = MEMBARRIER_LOAD_SHARED(rec->r.ctr);
	if (membarrier_unlikely(ctr & MBRCU_NEST_MASK) &&
	    !mbi_rcu_check_underflow(f, ctr, "unregister_thread")) {
		mbi_misuse(EINVAL, "%s_unregister_thread inside a read-side "
			   "critical section", f->name);
		return;
	}
	*slot = NULL;
	if (f->key_ok)
		pthread_setspecific(f->key, NULL);
	release_record(f, rec);
}

/*
 * A reader saw its wake flag (mbrcu_read_unlock(), release_record()).
 * The release orders that load before the futex store; pairs with the
 * release of the flag in sleep_on() (rcu_gp.c). No read-modify-write.
 */
void mbi_rcu_wake_updater(struct mbrcu_reader *r)
{
	struct mbi_rcu_flavor *f = record_of(r)->flavor;

	MEMBARRIER_STORE_SHARED(r->wake, 0);
	__atomic_store_n(&f->futex, MBI_RCU_AWAKE, __ATOMIC_RELEASE);
	mbi_futex_wake(&f->futex, 1);
}

/* The child has one thread, the caller of fork(): forget the others. */
void mbi_rcu_registry_fork_child(struct mbi_rcu_flavor *f)
{
	struct mbrcu_reader *mine = *f->tls();

	for (struct mbi_rcu_record *rec = f->records; rec; rec = rec->next) {
		if (&rec->r == mine)
			continue;
		rec->r.ctr = 0;
		rec->r.wake = 0;
		rec->in_use = 0;
	}
	pthread_mutex_unlock(&f->reg_lock);
}
