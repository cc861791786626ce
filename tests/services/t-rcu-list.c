// SPDX-License-Identifier: MIT
/*
 * The RCU-protected list and hash table: each operation once, then under
 * concurrent readers and writers. Readers must always find the entries
 * that stay (replaced ones as the old or the new copy, never neither,
 * never twice), in order for the list, and never an entry reclaimed;
 * writers serialize on a mutex and reclaim with call_rcu or synchronize.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/rcu.h>
#include <membarrier/rcu_hash.h>
#include <membarrier/rcu_list.h>

#include "lib/tap.h"
#include "services/rcu-flavors.h"

#define MAGIC	0x11571157u
#define POISON	0xdeadbeefu

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static int stop;
static unsigned long errors;

static int stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void error(void)
{
	__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
}

/* Start readers and writers, run for rcu_test_seconds(), stop, join. */
static void run_threads(void *(*rd)(void *), int nr, void *(*wr)(void *),
			int nw)
{
	pthread_t t[16];

	stop = 0;
	errors = 0;
	for (int i = 0; i < nr + nw; i++)
		if (pthread_create(&t[i], NULL, i < nr ? rd : wr,
				   (void *)(uintptr_t)(i + 1))) {
			printf("Bail out! pthread_create failed\n");
			exit(1);
		}
	sleep_s(rcu_test_seconds());
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr + nw; i++)
		pthread_join(t[i], NULL);
}

/* ---- list ---- */

struct item {
	unsigned int magic;
	int key;
	struct mbrcu_list node;
	struct mbrcu_head rcu;
};

static struct item *new_item(int key)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		abort();
	it->magic = MAGIC;
	it->key = key;
	return it;
}

static void free_item(struct item *it)
{
	__atomic_store_n(&it->magic, POISON, __ATOMIC_RELAXED);
	free(it);
}

static void free_item_cb(struct mbrcu_head *h)
{
	free_item(mbrcu_container_of(h, struct item, rcu));
}

static int list_keys(struct mbrcu_list *head, int *keys, int max)
{
	struct item *it;
	int n = 0;

	mbrcu_list_for_each_entry(it, head, node)
		if (n < max)
			keys[n++] = it->key;
	return n;
}

static void test_list_ops(void)
{
	struct mbrcu_list head;
	struct item *a = new_item(1), *b = new_item(2), *c = new_item(3);
	struct item *b2 = new_item(2);
	int keys[8], n;

	mbrcu_list_init(&head);
	tap_ok(mbrcu_list_empty(&head), "list: empty after init");
	mbrcu_list_add(&b->node, &head);
	mbrcu_list_add(&a->node, &head);
	mbrcu_list_add_tail(&c->node, &head);
	n = list_keys(&head, keys, 8);
	tap_ok(n == 3 && keys[0] == 1 && keys[1] == 2 && keys[2] == 3,
	       "list: add, add, add_tail walk in order (%d entries)", n);
	mbrcu_list_replace(&b->node, &b2->node);
	mbrcu_list_del(&a->node);
	n = list_keys(&head, keys, 8);
	tap_ok(n == 2 && keys[0] == 2 && keys[1] == 3 && !mbrcu_list_empty(&head),
	       "list: replace and del");
	mbrcu_list_del(&b2->node);
	mbrcu_list_del(&c->node);
	tap_ok(mbrcu_list_empty(&head), "list: empty again");
	mbrcu_synchronize();
	free_item(a);
	free_item(b);
	free_item(b2);
	free_item(c);
}

/* Keys 0..STAY-1 stay (replaced now and then), others come and go. */
#define STAY 32
#define MAX_KEYS 64

static struct mbrcu_list list = MBRCU_LIST_HEAD_INIT(list);
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;

static void check_list_walk(void)
{
	struct item *it;
	int next_stay = 0, last = -1;

	mbrcu_list_for_each_entry(it, &list, node) {
		if (__atomic_load_n(&it->magic, __ATOMIC_RELAXED) != MAGIC)
			error();
		if (it->key < STAY) {
			if (it->key != next_stay)	/* missing or twice */
				error();
			next_stay = it->key + 1;
		}
		last = it->key;
	}
	if (next_stay != STAY)
		error();
	(void)last;
}

static void *list_reader(void *arg)
{
	(void)arg;
	mbrcu_register_thread();
	while (!stopped()) {
		mbrcu_read_lock();
		check_list_walk();
		mbrcu_read_unlock();
	}
	mbrcu_unregister_thread();
	return NULL;
}

/* Under list_lock: the entry with key, or NULL. */
static struct item *find(int key)
{
	struct item *it;

	mbrcu_list_for_each_entry(it, &list, node)
		if (it->key == key)
			return it;
	return NULL;
}

static void reclaim_item(struct item *it, unsigned int *seed)
{
	if (rnd(seed) % 2) {
		mbrcu_call(&it->rcu, free_item_cb);
	} else {
		mbrcu_synchronize();
		free_item(it);
	}
}

static void list_write_one(unsigned int *seed)
{
	int key = (int)(rnd(seed) % MAX_KEYS);
	struct item *old, *it = new_item(key);

	pthread_mutex_lock(&list_lock);
	old = find(key);
	if (old && key < STAY) {
		mbrcu_list_replace(&old->node, &it->node);
	} else if (old) {
		mbrcu_list_del(&old->node);
		free_item(it);
	} else {
		mbrcu_list_add_tail(&it->node, &list);	/* keys >= STAY */
	}
	pthread_mutex_unlock(&list_lock);
	if (old)
		reclaim_item(old, seed);
}

static void *list_writer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!stopped())
		list_write_one(&seed);
	return NULL;
}

static void test_list_concurrent(void)
{
	struct item *it;

	for (int k = 0; k < STAY; k++)
		mbrcu_list_add_tail(&new_item(k)->node, &list);
	run_threads(list_reader, 3, list_writer, 2);
	tap_ok(!errors, "list: 3 readers walk while 2 writers replace, add "
	       "and delete: every staying key once and in order, nothing "
	       "reclaimed seen (%lu errors)", errors);
	while (!mbrcu_list_empty(&list)) {
		it = mbrcu_list_entry(list.next, struct item, node);
		mbrcu_list_del(&it->node);
		free_item(it);
	}
	mbrcu_barrier();
}

/* ---- hash table ---- */

struct hitem {
	unsigned int magic;
	uint64_t value;
	struct mbrcu_hash_node node;
};

static unsigned long reclaimed;

static void reclaim_hitem(struct mbrcu_hash_node *n)
{
	struct hitem *h = mbrcu_container_of(n, struct hitem, node);

	__atomic_fetch_add(&reclaimed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->magic, POISON, __ATOMIC_RELAXED);
	free(h);
}

static struct mbrcu_hash_node *new_hitem(uint64_t key)
{
	struct hitem *h = malloc(sizeof(*h));

	if (!h)
		abort();
	h->magic = MAGIC;
	h->value = key * 3;
	h->node.key = key;
	return &h->node;
}

static void test_hash_ops(void)
{
	struct mbrcu_hash *h = mbrcu_hash_create(4, reclaim_hitem);
	struct mbrcu_hash_node *dup = new_hitem(7), *n;
	int ok = 1;

	tap_ok(h != NULL, "hash: create");
	if (!h)
		return;
	reclaimed = 0;
	for (uint64_t k = 0; k < 100; k++)
		ok &= mbrcu_hash_insert(h, new_hitem(k)) == 0;
	tap_ok(ok && mbrcu_hash_count(h) == 100, "hash: 100 inserts");
	tap_ok(mbrcu_hash_insert(h, dup) == -EEXIST, "hash: insert of a key "
	       "present: -EEXIST");
	tap_ok(mbrcu_hash_replace(h, dup) == 1 && mbrcu_hash_replace(h,
	       new_hitem(1000)) == 0 && mbrcu_hash_count(h) == 101,
	       "hash: replace of a key present (1), absent (0)");
	mbrcu_read_lock();
	n = mbrcu_hash_lookup(h, 7);
	ok = n == dup && mbrcu_hash_lookup(h, 99) && !mbrcu_hash_lookup(h, 100);
	mbrcu_read_unlock();
	tap_ok(ok, "hash: lookups find the new node, and nothing absent");
	tap_ok(mbrcu_hash_delete(h, 5) == 0 && mbrcu_hash_delete(h, 5) == -ENOENT
	       && mbrcu_hash_count(h) == 100, "hash: delete (0), again (-ENOENT)");
	mbrcu_barrier();
	tap_ok(reclaimed == 2, "hash: the replaced and the deleted node are "
	       "reclaimed after a grace period (%lu)", reclaimed);
	mbrcu_hash_destroy(h);
	tap_ok(reclaimed == 102, "hash: destroy reclaims the rest (%lu)",
	       reclaimed);
}

#define HKEYS 256		/* 0..HKEYS/2-1 stay, the rest come and go */

static struct mbrcu_hash *table;

static void check_lookup(uint64_t key)
{
	struct mbrcu_hash_node *n = mbrcu_hash_lookup(table, key);
	struct hitem *h;

	if (!n) {
		if (key < HKEYS / 2)
			error();
		return;
	}
	h = mbrcu_container_of(n, struct hitem, node);
	if (n->key != key || __atomic_load_n(&h->magic, __ATOMIC_RELAXED) != MAGIC
	    || h->value != key * 3)
		error();
}

static void *hash_reader(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	mbrcu_register_thread();
	while (!stopped()) {
		mbrcu_read_lock();
		for (int i = 0; i < 16; i++)
			check_lookup(rnd(&seed) % HKEYS);
		mbrcu_read_unlock();
	}
	mbrcu_unregister_thread();
	return NULL;
}

static void *hash_writer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!stopped()) {
		uint64_t key = rnd(&seed) % HKEYS;

		if (key < HKEYS / 2) {
			mbrcu_hash_replace(table, new_hitem(key));
		} else if (mbrcu_hash_delete(table, key)) {
			struct mbrcu_hash_node *n = new_hitem(key);

			if (mbrcu_hash_insert(table, n))
				reclaim_hitem(n);	/* never linked */
		}
		if (rnd(&seed) % 1024 == 0)
			mbrcu_barrier();
	}
	return NULL;
}

static void test_hash_concurrent(void)
{
	unsigned long left;

	table = mbrcu_hash_create(6, reclaim_hitem);
	if (!table) {
		tap_ok(0, "hash: create");
		return;
	}
	for (uint64_t k = 0; k < HKEYS / 2; k++)
		mbrcu_hash_insert(table, new_hitem(k));
	run_threads(hash_reader, 3, hash_writer, 2);
	tap_ok(!errors, "hash: 3 readers look up while 2 writers replace, "
	       "insert and delete: staying keys always found, nothing "
	       "reclaimed seen (%lu errors)", errors);
	left = mbrcu_hash_count(table);
	/* The callbacks of removed nodes run until the barrier: then count. */
	mbrcu_barrier();
	reclaimed = 0;
	mbrcu_hash_destroy(table);
	tap_ok(reclaimed == left, "hash: destroy reclaims the %lu nodes left",
	       left);
}

int main(void)
{
	if (membarrier_backend_of(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ==
	    MEMBARRIER_BACKEND_NONE)
		tap_skip_all("no backend serves PRIVATE_EXPEDITED here");
	signal(SIGALRM, rcu_test_timeout);
	alarm((unsigned int)(60 + 4 * rcu_test_seconds()));
	mbrcu_register_thread();
	test_list_ops();
	test_list_concurrent();
	test_hash_ops();
	test_hash_concurrent();
	mbrcu_unregister_thread();
	return tap_done();
}
