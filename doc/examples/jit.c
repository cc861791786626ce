/* JIT publishing: write code, publish, then let other threads run it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <membarrier/jit.h>

typedef int (*fn_t)(void);

int main(void)
{
#if defined(__x86_64__)
	static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };	/* mov $42,%eax; ret */
#elif defined(__aarch64__)
	static const uint32_t code[] = { 0x52800540u, 0xd65f03c0u };	/* mov w0,#42; ret */
#elif defined(__riscv)
	static const uint32_t code[] = { 0x02a00513u, 0x00008067u };	/* li a0,42; ret */
#endif
	unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		printf("no writable+executable memory here (W^X)\n");
		return 0;
	}
	memcpy(p, code, sizeof(code));
	if (mbjit_publish(p, p, sizeof(code)))
		return 1;
	printf("published; it returns %d\n", ((fn_t)(uintptr_t)p)());
	return 0;
}
