// SPDX-License-Identifier: MIT
/*
 * bench backends: the cost of each barrier command against the number of
 * spinning threads (0, 1, 2, 4, 8) and of sleeping threads (0, 64), for
 * each backend: the kernel, the emulation (TLB shootdown for the plain
 * barrier where sound), and the emulation forced onto its signal
 * handshake. Each backend runs in a child process (the backend is chosen
 * per process, at load); the summary gives the ratio the limit bounds:
 * emulated / kernel PRIVATE_EXPEDITED with one spinning thread, <= 5.
 * It also shows that the light side stays a compiler barrier: the cost of
 * mbfence_light() in a loop against an empty loop, per backend.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/arch.h>
#include <membarrier/fence.h>

#include "tool.h"
#include "bench.h"

static const int cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
	MEMBARRIER_CMD_GLOBAL_EXPEDITED,
	MEMBARRIER_CMD_GLOBAL,
};

static const int spinning[] = { 0, 1, 2, 4, 8 };
static const int sleeping[] = { 0, 64 };

static double loop_ns(int light, unsigned long n)
{
	uint64_t t0 = tool_now_ns();

	for (unsigned long i = 0; i < n; i++) {
		if (light)	/* measured alone: nothing pairs with it */
			mbfence_light();
		else
			membarrier_compiler_barrier();
	}
	return (double)(tool_now_ns() - t0) / (double)n;
}

/* In the child: every command, every crew, on this process's backend. */
static int child(const char *label, uint64_t budget_ns)
{
	static const int regs[] = {
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
		MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
		MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
	};
	double empty[5], light[5];

	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		membarrier(regs[i], 0, 0);
	for (int k = 0; k < 5; k++) {
		empty[k] = loop_ns(0, 2000000);
		light[k] = loop_ns(1, 2000000);
	}
	printf("bench=backends backend=%s light_fence_ns=%.3f empty_loop_ns=%.3f "
	       "light_ratio=%.3f\n", label, bench_median(light, 5),
	       bench_median(empty, 5), bench_median(light, 5) / bench_median(empty, 5));
	for (unsigned int s = 0; s < sizeof(sleeping) / sizeof(sleeping[0]); s++)
		for (unsigned int p = 0; p < sizeof(spinning) / sizeof(spinning[0]); p++) {
			struct bench_crew crew;

			bench_crew_start(&crew, spinning[p], sleeping[s]);
			for (unsigned int c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
				unsigned long n;
				double ns;

				if (membarrier_backend_of(cmds[c]) == MEMBARRIER_BACKEND_NONE)
					continue;
				ns = bench_cost(cmds[c], budget_ns, &n);
				printf("bench=backends backend=%s cmd=%s spinning=%d "
				       "sleeping=%d calls=%lu ns_per_call=%.0f\n", label,
				       membarrier_cmd_name(cmds[c]), spinning[p],
				       sleeping[s], n, ns);
				fflush(stdout);
			}
			bench_crew_stop(&crew);
		}
	return 0;
}

struct variant {
	const char *label, *backend, *tlb;
};

static const struct variant variants[] = {
	{ "kernel", "kernel", NULL },
	{ "emulated", "emulated", NULL },
	{ "emulated-signal", "emulated", "0" },
};

/* From a child's line: the PRIVATE_EXPEDITED cost with one spinner. */
static void keep_pe_spin1(const char *line, void *arg)
{
	if (strstr(line, " cmd=PRIVATE_EXPEDITED spinning=1 sleeping=0 "))
		*(double *)arg = strtod(strstr(line, "ns_per_call=") + 12, NULL);
}

/* Run one backend's child; keep its PRIVATE_EXPEDITED/1-spinner cost. */
static int run_variant(const struct variant *v, const char *self, const char *ms,
		       double *pe_spin1)
{
	char *argv[] = { (char *)self, "bench", "backends", "--child",
			 (char *)v->label, "--ms", (char *)ms, NULL };
	const char *env[] = { "MEMBARRIER_BACKEND", v->backend,
			      "MEMBARRIER_EMUL_TLB", v->tlb, NULL };
	int status;

	*pe_spin1 = -1;
	status = bench_run_child(argv, env, keep_pe_spin1, pe_spin1);
	return status >= 0 && WIFEXITED(status) && !WEXITSTATUS(status) ?
		0 : -1;
}

int bench_backends(int argc, char **argv)
{
	unsigned long ms = 60;
	const char *child_label = NULL;
	double pe[3];
	char self[4096], msbuf[32];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (tool_opt_ulong(argc, argv, &i, "--ms", &ms))
			continue;
		if ((v = tool_opt_value(argc, argv, &i, "--child"))) {
			child_label = v;
			continue;
		}
		tool_error("usage: membarrier bench backends [--ms N]");
		return 2;
	}
	if (!ms) {
		tool_error("bench backends: --ms must be at least 1");
		return 2;
	}
	if (child_label)
		return child(child_label, (uint64_t)ms * 1000000u);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	snprintf(msbuf, sizeof(msbuf), "%lu", ms);
	for (int v = 0; v < 3; v++)
		if (run_variant(&variants[v], self, msbuf, &pe[v]))
			pe[v] = -1;
	if (pe[0] > 0 && pe[1] > 0)
		printf("bench=backends summary=1 cmd=PRIVATE_EXPEDITED spinning=1 "
		       "kernel_ns=%.0f emulated_ns=%.0f emulated_signal_ns=%.0f "
		       "ratio=%.2f ratio_signal=%.2f limit=5 pass=%s\n", pe[0], pe[1],
		       pe[2], pe[1] / pe[0], pe[2] > 0 ? pe[2] / pe[0] : -1,
		       pe[1] / pe[0] <= 5 ? "yes" : "no");
	else
		printf("bench=backends summary=1 note=the-kernel-backend-is-unavailable-here\n");
	return 0;
}
