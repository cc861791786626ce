/* SPDX-License-Identifier: MIT */
/*
 * An RCU-protected hash table with 64-bit keys, on the default flavor
 * (<membarrier/rcu.h>): lookups run inside mbrcu_read_lock() without any
 * lock or atomic read-modify-write; insert, replace and delete serialize
 * on the table's mutex, and removed nodes are reclaimed after a grace
 * period (mbrcu_call(), which calls the table's reclaim function).
 *
 *	struct item { struct mbrcu_hash_node node; int value; };
 *
 *	mbrcu_read_lock();
 *	n = mbrcu_hash_lookup(h, key);
 *	if (n)
 *		use(mbrcu_container_of(n, struct item, node)->value);
 *	mbrcu_read_unlock();
 *
 * A lookup finds every node present for its whole duration and never a
 * node reclaimed; a node replaced meanwhile is found as the old or the
 * new one, never neither. Fixed bucket count (a power of two).
 */
#ifndef MEMBARRIER_RCU_HASH_H
#define MEMBARRIER_RCU_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <membarrier/rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Embed in the caller's object; the table owns it while linked. */
struct mbrcu_hash_node {
	struct mbrcu_hash_node *next;	/* bucket chain, RCU-protected */
	uint64_t key;
	struct mbrcu_head rcu;		/* for the deferred reclaim */
	void (*reclaim)(struct mbrcu_hash_node *node);
};

struct mbrcu_hash;

/*
 * A table of 2^order buckets (order <= 30) whose removed nodes go to
 * reclaim(node) after a grace period (from the callback worker). NULL
 * with errno ENOMEM or EINVAL.
 */
MEMBARRIER_API struct mbrcu_hash *
mbrcu_hash_create(unsigned int order,
		  void (*reclaim)(struct mbrcu_hash_node *node));

/*
 * Reclaim every node left (after a grace period) and free the table. No
 * lookup may start once this is called.
 */
MEMBARRIER_API void mbrcu_hash_destroy(struct mbrcu_hash *h);

/* Inside a read-side critical section: the node with key, or NULL. */
MEMBARRIER_API struct mbrcu_hash_node *
mbrcu_hash_lookup(struct mbrcu_hash *h, uint64_t key);

/* Link node under node->key: 0, or -EEXIST (node left untouched). */
MEMBARRIER_API int mbrcu_hash_insert(struct mbrcu_hash *h,
				     struct mbrcu_hash_node *node);

/*
 * Link node under node->key, in place of the node with that key if any
 * (reclaimed after a grace period): 1 if it replaced one, else 0.
 */
MEMBARRIER_API int mbrcu_hash_replace(struct mbrcu_hash *h,
				      struct mbrcu_hash_node *node);

/* Unlink the node with key and reclaim it after a grace period: 0, or -ENOENT. */
MEMBARRIER_API int mbrcu_hash_delete(struct mbrcu_hash *h, uint64_t key);

/* Nodes linked now. */
MEMBARRIER_API size_t mbrcu_hash_count(struct mbrcu_hash *h);

#ifdef __cplusplus
}
#endif

#endif /* MEMBARRIER_RCU_HASH_H */
