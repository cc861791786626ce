/*
 * Asymmetric fences: a reader publishes "I am reading" with a light fence
 * (a compiler barrier); the rare writer uses the heavy fence, then sees
 * every reader that started before it, as Dekker's algorithm with two full
 * fences would.
 */
#include <pthread.h>
#include <stdio.h>

#include <membarrier/fence.h>

static int reading, retired;

static void *reader(void *arg)
{
	for (int i = 0; i < 100000; i++) {
		__atomic_store_n(&reading, 1, __ATOMIC_RELAXED);
		mbfence_light();	/* pairs with the writer's heavy fence */
		if (__atomic_load_n(&retired, __ATOMIC_RELAXED))
			i = 100000;	/* the writer retired the object: stop */
		__atomic_store_n(&reading, 0, __ATOMIC_RELEASE);
	}
	return arg;
}

int main(void)
{
	pthread_t t;
	int busy;

	pthread_create(&t, NULL, reader, NULL);
	__atomic_store_n(&retired, 1, __ATOMIC_RELAXED);
	if (mbfence_heavy())	/* pairs with the reader's light fence */
		return 1;
	/* Any reader that missed "retired" is now visible as reading. */
	busy = __atomic_load_n(&reading, __ATOMIC_ACQUIRE);
	pthread_join(t, NULL);
	printf("heavy fence done; a reader was %s\n", busy ? "inside" : "outside");
	return 0;
}
