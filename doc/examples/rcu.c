/*
 * RCU: readers take no lock and execute no fence; the updater replaces
 * the configuration, waits for a grace period, then frees the old one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <membarrier/rcu.h>

struct config {
	int version;
};

static struct config *current;
static int stop;

static void *reader(void *arg)
{
	long seen = 0;

	if (mbrcu_register_thread())
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct config *c;

		mbrcu_read_lock();
		c = mbrcu_dereference(current);
		seen += c->version;	/* never freed under us */
		mbrcu_read_unlock();
	}
	mbrcu_unregister_thread();
	*(long *)arg = seen;
	return NULL;
}

int main(void)
{
	struct config *c = malloc(sizeof(*c));
	pthread_t t;
	long seen = 0;

	c->version = 0;
	mbrcu_assign_pointer(current, c);
	pthread_create(&t, NULL, reader, &seen);
	for (int v = 1; v <= 1000; v++) {
		struct config *next = malloc(sizeof(*next)), *old;

		next->version = v;
		old = mbrcu_xchg_pointer(&current, next);
		mbrcu_synchronize();	/* every reader that saw old is done */
		free(old);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("1000 versions published and reclaimed; last %d\n", current->version);
	free(current);
	return 0;
}
