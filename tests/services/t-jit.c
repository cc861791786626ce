// SPDX-License-Identifier: MIT
/*
 * JIT code publishing with real machine code. One memfd page is mapped
 * twice: writable (where the publisher writes) and executable (where the
 * callers run). The function there returns its version number; the
 * publisher rewrites it in place with version v + 1, publishes, then
 * announces v + 1. Callers loop: read the announced version p, call the
 * function, and check the version it returned is at least p: once
 * mbjit_publish() has returned, no thread runs an older version.
 *
 * The instruction rewritten is a single aligned 32-bit store (the mov's
 * immediate on x86_64, a movz on aarch64, a lui on riscv64), so a
 * caller can see the old or the new instruction, never a torn one.
 *
 * The publisher starts only once every caller has run the function (a
 * start handshake): otherwise the callers may start after the last
 * publication and check nothing. Where stale execution cannot be seen
 * (x86_64 keeps instruction fetch coherent with stores, so even a
 * publication that does nothing passes the loop above), the test checks
 * what only a real publication does: each mbjit_publish() interrupts a
 * thread running on another CPU (tools/verify.c, against the control
 * windows without a call); the jit-noop mutant of make check-mutants
 * fails there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <membarrier.h>
#include <membarrier/jit.h>

#include "lib/clock.h"
#include "lib/tap.h"
#include "verify.h"

#define MAX_CALLERS 8
/* Versions published: VERSIONS, or as many as PUBLISH_NS allows once
 * MIN_VERSIONS are (the emulated SYNC_CORE's CPU walk takes ~2 ms). */
#define VERSIONS	20000
#define MIN_VERSIONS	1000
#define PUBLISH_NS	(2 * UINT64_C(1000000000))

typedef uint32_t (*fn_t)(void);

static unsigned char *wview, *xview;
static uint32_t announced;
static int stop;

#if defined(__x86_64__)
/* nopl (%rax); mov $v, %eax; ret -- the immediate at offset 4. */
static void emit(unsigned char *p, uint32_t v)
{
	static const unsigned char code[9] = {
		0x0f, 0x1f, 0x00, 0xb8, 0, 0, 0, 0, 0xc3,
	};

	memcpy(p, code, sizeof(code));
	memcpy(p + 4, &v, 4);
}

static void rewrite(unsigned char *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(p + 4), v, __ATOMIC_RELAXED);
}
#elif defined(__aarch64__)
/* movz w0, #v; ret -- v < 65536, in the first instruction. */
static uint32_t movz_w0(uint32_t v)
{
	return 0x52800000u | ((v & 0xffff) << 5);
}

static void emit(unsigned char *p, uint32_t v)
{
	uint32_t code[2] = { movz_w0(v), 0xd65f03c0u };

	memcpy(p, code, sizeof(code));
}

static void rewrite(unsigned char *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, movz_w0(v), __ATOMIC_RELAXED);
}
#elif defined(__riscv) && __riscv_xlen == 64
/* lui a0, v; srliw a0, a0, 12; ret -- v < 2^19, in the first one. */
static uint32_t lui_a0(uint32_t v)
{
	return 0x00000537u | (v << 12);
}

static void emit(unsigned char *p, uint32_t v)
{
	uint32_t code[3] = { lui_a0(v), 0x00c5551bu, 0x00008067u };

	memcpy(p, code, sizeof(code));
}

static void rewrite(unsigned char *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, lui_a0(v), __ATOMIC_RELAXED);
}
#endif

static unsigned long stale, calls_made;
static int started;

static void *caller(void *arg)
{
	fn_t fn = (fn_t)(uintptr_t)xview;
	unsigned long n = 0, bad = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		/* Acquire pairs with the publisher's release of announced. */
		uint32_t p = __atomic_load_n(&announced, __ATOMIC_ACQUIRE);
		uint32_t got = fn();

		bad += got < p;
		if (n++ == 0)	/* Release: this caller runs the function. */
			__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);
	}
	__atomic_fetch_add(&stale, bad, __ATOMIC_RELAXED);
	__atomic_fetch_add(&calls_made, n, __ATOMIC_RELAXED);
	return NULL;
}

static int map_twice(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("mbjit-test", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, page))
		return -1;
	wview = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	xview = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	return wview == MAP_FAILED || xview == MAP_FAILED ? -1 : 0;
}

/* Publish VERSIONS versions while the callers run; report. */
static void run(const char *label, int callers)
{
	pthread_t t[MAX_CALLERS];
	int failures = 0;
	uint32_t v, last = 0;
	uint64_t deadline;

	emit(wview, 0);
	tap_ok(mbjit_publish(wview, xview, 16) == 0 &&
	       ((fn_t)(uintptr_t)xview)() == 0,
	       "%s: the generated function runs (backend %s)", label,
	       membarrier_backend_name(membarrier_backend_of(
			MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)));
	stale = calls_made = 0;
	__atomic_store_n(&announced, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&started, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < callers; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < callers)
		usleep(100);
	deadline = test_now_ns() + PUBLISH_NS;
	for (v = 1; v <= VERSIONS; v++) {
		rewrite(wview, v);
		if (mbjit_publish(wview, xview, 16))
			failures++;
		/* Release pairs with the callers' acquire. */
		__atomic_store_n(&announced, v, __ATOMIC_RELEASE);
		last = v;
		if (v >= MIN_VERSIONS && v % 64 == 0 &&
		    test_now_ns() > deadline)
			break;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < callers; i++)
		pthread_join(t[i], NULL);
	tap_ok(!failures, "%s: %u versions published, %d callers", label,
	       last, callers);
	tap_ok(stale == 0 && calls_made >= (unsigned long)callers,
	       "%s: no caller ran an old version after its publication "
	       "(%lu stale in %lu calls)", label, stale, calls_made);
}

static int call_publish(void *arg)
{
	(void)arg;
	return mbjit_publish(wview, xview, 16);
}

/* What only a real publication does: interrupt the other CPUs' threads. */
static void check_interrupts(const char *label)
{
	struct verify_call c = { .call = call_publish };
	struct verify_result r;
	int ret;

	if (verify_pick_cpus()) {
		tap_skip("one CPU", "%s: mbjit_publish() interrupts", label);
		return;
	}
	ret = verify_interrupts_call(&c, &r);
	tap_ok(!ret && r.passed, "%s: mbjit_publish() interrupted a thread "
	       "running on another CPU in %d/%d calls (control, no call: %d)",
	       label, r.hits, r.calls, r.control_hits);
}

int main(void)
{
	/*
	 * One caller per other CPU: with more spinning threads than CPUs, the
	 * emulation's CPU walk waits for the scheduler on each CPU, which is
	 * not what this test measures.
	 */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int callers = ncpu > 1 ? (int)(ncpu - 1 < MAX_CALLERS ? ncpu - 1 : MAX_CALLERS) : 1;
	unsigned char *rwx;

	if (!(membarrier(MEMBARRIER_CMD_QUERY, 0, 0) &
	      MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE))
		tap_skip_all("PRIVATE_EXPEDITED_SYNC_CORE is not offered here");
	alarm(120);
	tap_ok(mbjit_publish(NULL, NULL, 8) == -EINVAL &&
	       mbjit_publish(&callers, &callers, 0) == -EINVAL,
	       "bad input: EINVAL");
	if (tap_qemu_user())
		tap_skip("qemu-user's translation cache does not see code "
			 "written through a second mapping", "double-mapped memfd");
	else if (map_twice())
		tap_skip("cannot map a memfd writable and executable (W^X?)",
			 "double-mapped memfd");
	else {
		run("double-mapped memfd", callers);
		check_interrupts("double-mapped memfd");
	}

	rwx = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE),
		   PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rwx == MAP_FAILED) {
		tap_skip("no writable and executable mapping (W^X)",
			 "single mapping");
	} else {
		wview = xview = rwx;
		run("single mapping", callers);
	}
	return tap_done();
}
