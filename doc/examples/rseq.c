/*
 * rseq per-CPU counters: each thread adds to its CPU's slot with a
 * restartable sequence (no atomic instruction); the sum is exact.
 */
#include <pthread.h>
#include <stdio.h>

#include <membarrier/rseq.h>

static struct mbrseq_percpu *pc;

static void *adder(void *arg)
{
	for (int i = 0; i < 100000; i++)
		if (mbrseq_percpu_add(pc, 0, 1) < 0)
			return arg;
	return NULL;
}

int main(void)
{
	pthread_t t[2];

	if (mbrseq_thread_init() || !(pc = mbrseq_percpu_create())) {
		printf("rseq is not available here; nothing to show\n");
		return 0;
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("per-CPU sum %ld (expected 200000), rseq area from %s\n",
	       (long)mbrseq_percpu_sum(pc, -1, 0),
	       mbrseq_registrar());
	mbrseq_percpu_destroy(pc);
	return 0;
}
