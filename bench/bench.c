// SPDX-License-Identifier: MIT
/* membarrier bench NAME: the benchmark table. */
#include <stdlib.h>
#include <string.h>

#include "../tools/tool.h"
#include "bench.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} benches[] = {
	{ "core", bench_core },
	{ "backends", bench_backends },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int tool_bench(int argc, char **argv)
{
	if (argc < 2) {
		tool_error("usage: membarrier bench core");
		return 2;
	}
	for (unsigned int i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(argv[1], benches[i].name))
			return benches[i].run(argc - 1, argv + 1);
	tool_error("unknown benchmark '%s'", argv[1]);
	return 2;
}
