// SPDX-License-Identifier: MIT
/*
 * An RCU-protected hash table: singly-linked bucket chains. Readers load
 * each next pointer with mbrcu_dereference(); updaters, under the table's
 * mutex, publish a node with mbrcu_assign_pointer() once it is fully
 * initialized (its next already pointing into the chain), unlink with
 * mbrcu_init_pointer() (a store of an already-published pointer, without
 * ordering outside ThreadSanitizer builds), and hand unlinked nodes to
 * mbrcu_call(). A reader standing on an unlinked node still follows its
 * next (left intact) back into the chain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <membarrier/rcu_hash.h>

#include "core/service.h"

struct mbrcu_hash {
	pthread_mutex_t lock;		/* updaters */
	void (*reclaim)(struct mbrcu_hash_node *node);
	unsigned int order;
	size_t count;
	struct mbrcu_hash_node *buckets[];
};

/* Fibonacci hashing: the top bits of key * 2^64 / phi. */
static struct mbrcu_hash_node **bucket(struct mbrcu_hash *h, uint64_t key)
{
	uint64_t hash = key * UINT64_C(0x9e3779b97f4a7c15);

	return &h->buckets[h->order ? hash >> (64 - h->order) : 0];
}

MEMBARRIER_API struct mbrcu_hash *
mbrcu_hash_create(unsigned int order,
		  void (*reclaim)(struct mbrcu_hash_node *node))
{
	struct mbrcu_hash *h;

	if (order > 30 || !reclaim) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h) + (sizeof(h->buckets[0]) << order));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->reclaim = reclaim;
	h->order = order;
	return h;
}

static void reclaim_cb(struct mbrcu_head *head)
{
	struct mbrcu_hash_node *node =
		mbrcu_container_of(head, struct mbrcu_hash_node, rcu);

	node->reclaim(node);
}

static void defer_reclaim(struct mbrcu_hash *h, struct mbrcu_hash_node *node)
{
	node->reclaim = h->reclaim;
	mbrcu_call(&node->rcu, reclaim_cb);
}

MEMBARRIER_API void mbrcu_hash_destroy(struct mbrcu_hash *h)
{
	/* No lookup starts now; those running end first. */
	mbrcu_synchronize();
	for (size_t i = 0; i < (size_t)1 << h->order; i++) {
		struct mbrcu_hash_node *n = h->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			h->reclaim(n);
		}
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

MEMBARRIER_API struct mbrcu_hash_node *
mbrcu_hash_lookup(struct mbrcu_hash *h, uint64_t key)
{
	struct mbrcu_hash_node *n = mbrcu_dereference(*bucket(h, key));

	for (; n; n = mbrcu_dereference(n->next))
		if (n->key == key)
			return n;
	return NULL;
}

/* Under h->lock: the link that points to the node with key, or NULL. */
static struct mbrcu_hash_node **find_link(struct mbrcu_hash *h, uint64_t key)
{
	struct mbrcu_hash_node **link = bucket(h, key);

	for (; *link; link = &(*link)->next)
		if ((*link)->key == key)
			return link;
	return NULL;
}

/* Under h->lock: node, initialized, in front of its chain. */
static void link_front(struct mbrcu_hash *h, struct mbrcu_hash_node *node)
{
	struct mbrcu_hash_node **head = bucket(h, node->key);

	node->next = *head;
	/* Publish node and its fields; pairs with mbrcu_dereference(). */
	mbrcu_assign_pointer(*head, node);
	h->count++;
}

MEMBARRIER_API int mbrcu_hash_insert(struct mbrcu_hash *h,
				     struct mbrcu_hash_node *node)
{
	int ret = -EEXIST;

	pthread_mutex_lock(&h->lock);
	if (!find_link(h, node->key)) {
		link_front(h, node);
		ret = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

MEMBARRIER_API int mbrcu_hash_replace(struct mbrcu_hash *h,
				      struct mbrcu_hash_node *node)
{
	struct mbrcu_hash_node **link, *old = NULL;

	pthread_mutex_lock(&h->lock);
	link = find_link(h, node->key);
	if (link) {
		old = *link;
		node->next = old->next;
		/* Publish node in old's place; pairs with mbrcu_dereference(). */
		mbrcu_assign_pointer(*link, node);
	} else {
		link_front(h, node);
	}
	pthread_mutex_unlock(&h->lock);
	if (old)
		defer_reclaim(h, old);
	return old != NULL;
}

MEMBARRIER_API int mbrcu_hash_delete(struct mbrcu_hash *h, uint64_t key)
{
	struct mbrcu_hash_node **link, *old = NULL;

	pthread_mutex_lock(&h->lock);
	link = find_link(h, key);
	if (link) {
		old = *link;
		/* old->next was published before: no ordering to add. */
		mbrcu_init_pointer(*link, old->next);
		h->count--;
	}
	pthread_mutex_unlock(&h->lock);
	if (!old)
		return -ENOENT;
	defer_reclaim(h, old);
	return 0;
}

MEMBARRIER_API size_t mbrcu_hash_count(struct mbrcu_hash *h)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->count;
	pthread_mutex_unlock(&h->lock);
	return n;
}
