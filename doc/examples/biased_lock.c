/* A biased lock: the owner's path is two stores and a load; another
 * thread revokes the bias once, through the heavy fence. */
#include <pthread.h>
#include <stdio.h>

#include <membarrier/biased_lock.h>

static struct mbbias lock;
static long counter;

static void *other(void *arg)
{
	for (int i = 0; i < 1000; i++) {
		mbbias_lock(&lock);	/* the first call revokes the bias */
		counter++;
		mbbias_unlock(&lock);
	}
	return arg;
}

int main(void)
{
	pthread_t t;

	if (mbbias_init(&lock))
		return 1;
	for (int i = 0; i < 1000; i++) {
		mbbias_owner_lock(&lock);
		counter++;
		mbbias_owner_unlock(&lock);
	}
	pthread_create(&t, NULL, other, NULL);
	for (int i = 0; i < 1000; i++) {
		mbbias_owner_lock(&lock);
		counter++;
		mbbias_owner_unlock(&lock);
	}
	pthread_join(t, NULL);
	printf("counter %ld (expected 3000), revoked %d\n", counter,
	       mbbias_revoked(&lock));
	mbbias_destroy(&lock);
	return counter == 3000 ? 0 : 1;
}
