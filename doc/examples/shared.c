/*
 * Shared barriers and accounting: four threads issue PRIVATE_EXPEDITED
 * at once; concurrent callers share barriers (each returns once a
 * barrier begun after its call has completed). Run it as
 *   MEMBARRIER_STATS=1 ./shared       or    membarrier stat -- ./shared
 * to see, at exit, the calls per command, how many a shared barrier
 * served, and their latency.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <membarrier.h>

enum { THREADS = 4, CALLS = 1000 };

static void *caller(void *arg)
{
	long *failed = arg;

	for (int i = 0; i < CALLS; i++)
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
			*failed = errno;
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	long failed[THREADS] = { 0 };

	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		fprintf(stderr, "register: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, caller, &failed[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (failed[i]) {
			fprintf(stderr, "membarrier: %s\n",
				strerror((int)failed[i]));
			return 1;
		}
	}
	printf("%d threads x %d PRIVATE_EXPEDITED calls: all returned (%s)\n",
	       THREADS, CALLS, membarrier_mechanism(
			MEMBARRIER_CMD_PRIVATE_EXPEDITED));
	return 0;
}
