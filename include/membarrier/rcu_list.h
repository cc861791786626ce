/* SPDX-License-Identifier: MIT */
/*
 * An RCU-protected doubly-linked list (the kernel's list_head, RCU side).
 *
 * Readers walk it forward inside a read-side critical section with
 * mbrcu_list_for_each_entry(); updaters serialize among themselves (a
 * lock of theirs) and reclaim removed entries after a grace period:
 *
 *	pthread_mutex_lock(&lock);
 *	mbrcu_list_del(&e->node);
 *	pthread_mutex_unlock(&lock);
 *	mbrcu_call(&e->rcu, free_entry);	(or mbrcu_synchronize(); free(e))
 *
 * A reader sees each entry at most once, and every entry that stays in
 * the list for the whole walk; an entry being added or removed during the
 * walk may or may not be seen. next pointers are published with release
 * (mbrcu_assign_pointer), unlinked without ordering (mbrcu_init_pointer:
 * the successor was published before) and read with an address
 * dependency (mbrcu_dereference); prev pointers belong to updaters only.
 */
#ifndef MEMBARRIER_RCU_LIST_H
#define MEMBARRIER_RCU_LIST_H

#include <membarrier/rcu.h>

struct mbrcu_list {
	struct mbrcu_list *next, *prev;
};

#define MBRCU_LIST_HEAD_INIT(name)	{ &(name), &(name) }

/* Poisoned prev of a removed entry: an updater's use of it faults. */
#define MBRCU_LIST_POISON	((struct mbrcu_list *)0x100)

/* Before the list is published. */
static inline void mbrcu_list_init(struct mbrcu_list *head)
{
	head->next = head;
	head->prev = head;
}

/* Reader or updater. */
static inline int mbrcu_list_empty(struct mbrcu_list *head)
{
	return mbrcu_dereference(head->next) == head;
}

static inline void mbrcu_list_insert_between(struct mbrcu_list *entry,
					     struct mbrcu_list *prev,
					     struct mbrcu_list *next)
{
	entry->next = next;
	entry->prev = prev;
	/* Publish entry, initialized; pairs with mbrcu_dereference(). */
	mbrcu_assign_pointer(prev->next, entry);
	next->prev = entry;
}

/* Updater: insert entry at the front. */
static inline void mbrcu_list_add(struct mbrcu_list *entry,
				  struct mbrcu_list *head)
{
	mbrcu_list_insert_between(entry, head, head->next);
}

/* Updater: insert entry at the back. */
static inline void mbrcu_list_add_tail(struct mbrcu_list *entry,
				       struct mbrcu_list *head)
{
	mbrcu_list_insert_between(entry, head->prev, head);
}

/*
 * Updater: unlink entry. Its next stays valid, for readers standing on
 * it; reclaim it after a grace period, never re-add it before one.
 */
static inline void mbrcu_list_del(struct mbrcu_list *entry)
{
	/* entry->next was published before: no ordering to add. */
	mbrcu_init_pointer(entry->prev->next, entry->next);
	entry->next->prev = entry->prev;
	entry->prev = MBRCU_LIST_POISON;
}

/* Updater: put entry in old's place; readers see one or the other. */
static inline void mbrcu_list_replace(struct mbrcu_list *old,
				      struct mbrcu_list *entry)
{
	entry->next = old->next;
	entry->prev = old->prev;
	/* Publish entry, initialized; pairs with mbrcu_dereference(). */
	mbrcu_assign_pointer(entry->prev->next, entry);
	entry->next->prev = entry;
	old->prev = MBRCU_LIST_POISON;
}

#define mbrcu_list_entry(ptr, type, member)	\
	mbrcu_container_of(ptr, type, member)

/* Reader (in a critical section) or updater: every entry, in order. */
#define mbrcu_list_for_each_entry(pos, head, member)			\
	for (pos = mbrcu_list_entry(mbrcu_dereference((head)->next),	\
				    __typeof__(*pos), member);		\
	     &pos->member != (head);					\
	     pos = mbrcu_list_entry(mbrcu_dereference(pos->member.next), \
				    __typeof__(*pos), member))

#endif /* MEMBARRIER_RCU_LIST_H */
