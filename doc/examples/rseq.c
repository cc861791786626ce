/*
 * rseq per-CPU counters: each thread adds to its CPU's slot with a
 * restartable sequence (no atomic instruction); the sum is exact. Where
 * rseq is missing (qemu-user, a seccomp filter, MEMBARRIER_RSEQ=fallback)
 * the same calls run the fallback on atomic instructions.
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
	void *failed[2];
	long sum;

	if (!(pc = mbrseq_percpu_create()))
		return 1;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, adder, pc);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], &failed[i]);
	if (failed[0] || failed[1])
		return 1;
	/* Exact once the adders stopped; a swap makes it exact while they run. */
	sum = (long)mbrseq_percpu_sum(pc, -1, 0);
	printf("per-CPU sum %ld (expected 200000), %s\n", sum,
	       mbrseq_fallback_active() ? "fallback (atomic instructions)" :
					  mbrseq_registrar());
	mbrseq_percpu_destroy(pc);
	return sum == 200000 ? 0 : 1;
}
