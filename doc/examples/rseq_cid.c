/*
 * A counter indexed by concurrency id: each thread adds to the slot of
 * the id the kernel gave it (mm_cid, Linux 6.3+), one uncontended atomic
 * add; a process with few threads touches few slots however many CPUs
 * the machine has. Where mm_cid is missing the ids are CPU numbers.
 */
#include <pthread.h>
#include <stdio.h>

#include <membarrier/rseq_cid.h>

static struct mbrseq_cid_counter *counter;

static void *adder(void *arg)
{
	for (int i = 0; i < 100000; i++)
		mbrseq_cid_counter_add(counter, 1);
	return arg;
}

int main(void)
{
	pthread_t t[4];
	long sum;

	if (!(counter = mbrseq_cid_counter_create()))
		return 1;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	sum = (long)mbrseq_cid_counter_sum(counter);
	printf("sum %ld (expected 400000), ids from %s\n", sum,
	       mbrseq_cid_source());
	mbrseq_cid_counter_destroy(counter);
	return sum == 400000 ? 0 : 1;
}
