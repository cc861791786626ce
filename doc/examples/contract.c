/* The contract: QUERY, register once early, then barrier. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <membarrier.h>

int main(void)
{
	int mask = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	if (mask < 0 || !(mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
		fprintf(stderr, "no PRIVATE_EXPEDITED here\n");
		return 1;
	}
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) ||
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)) {
		fprintf(stderr, "membarrier: %s\n", strerror(errno));
		return 1;
	}
	printf("PRIVATE_EXPEDITED: %s backend, %s\n",
	       membarrier_backend_name(membarrier_backend_of(
			MEMBARRIER_CMD_PRIVATE_EXPEDITED)),
	       membarrier_mechanism(MEMBARRIER_CMD_PRIVATE_EXPEDITED));
	return 0;
}
