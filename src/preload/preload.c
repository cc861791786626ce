// SPDX-License-Identifier: MIT
/*
 * The preload shim, $(LIBDIR)/libmembarrier/preload.so: gives unmodified
 * programs the library.
 *
 * Programs reach membarrier(2) through libc's syscall(SYS_membarrier, ...)
 * (glibc has no wrapper). This shim interposes syscall(): membarrier goes
 * to libmembarrier's membarrier(), every other system call passes through
 * to the C library's syscall() untouched. libmembarrier itself issues its
 * system calls with the raw instruction, so it never comes back here.
 *
 * The library's membarrier() is taken from the library's own symbol
 * table, not by name through the global scope: a program that defines a
 * membarrier() of its own, typically a wrapper around
 * syscall(SYS_membarrier, ...), would otherwise be called here instead
 * and recurse until its stack ends.
 *
 * The lookup runs once, in the constructor, and costs no system call and
 * no allocation: dl_iterate_phdr(3) names the object that holds the
 * library's API (the one that defines membarrier_version(), which the
 * shim is linked against), and its GNU hash table (the ELF gABI's
 * DT_GNU_HASH, as glibc's elf/dl-lookup.c reads it) gives membarrier.
 * dlopen() and dlsym() would do the same but allocate (their error
 * state), which on a fresh process initializes malloc: a getrandom()
 * and two brk() calls more at every program's start. Where the library
 * has no GNU hash table (linked with --hash-style=sysv), the shim falls
 * back to dlopen() and dlsym().
 *
 *   LD_PRELOAD=.../libmembarrier/preload.so program    or
 *   membarrier run -- program args...
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <membarrier.h>

typedef long (*syscall_fn)(long, ...);
typedef int (*membarrier_fn)(int, unsigned int, int);

static syscall_fn next_syscall(void)
{
	static syscall_fn next;
	syscall_fn f = __atomic_load_n(&next, __ATOMIC_ACQUIRE);

	if (!f) {
		f = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&next, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* The library's membarrier(), once found; release/acquire publish it. */
static membarrier_fn entry;

/* The ELF gABI's hash of DT_GNU_HASH (h = h * 33 + c from 5381). */
static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/*
 * A d_ptr of the dynamic section: glibc relocates them in place where
 * the section is writable, not where it is read-only (riscv64, mips:
 * elf/get-dynamic-info.h); an offset is below the load address.
 */
static uintptr_t dyn_addr(uintptr_t base, ElfW(Addr) p)
{
	return p < base ? base + p : p;
}

/* The address of the function name defined by the object, or 0. */
static uintptr_t lookup(uintptr_t base, const ElfW(Dyn) *dyn, const char *name)
{
	const ElfW(Sym) *symtab = NULL;
	const uint32_t *ht = NULL;
	const char *strtab = NULL;
	const ElfW(Addr) *bloom;
	const uint32_t *buckets, *chain;
	uint32_t h = gnu_hash(name), nbuckets, symoffset, bloom_size, shift, i;
	ElfW(Addr) word;
	unsigned int bits = sizeof(ElfW(Addr)) * 8;

	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_GNU_HASH)
			ht = (const uint32_t *)dyn_addr(base, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_SYMTAB)
			symtab = (const ElfW(Sym) *)dyn_addr(base, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			strtab = (const char *)dyn_addr(base, dyn->d_un.d_ptr);
	}
	if (!ht || !symtab || !strtab)
		return 0;
	nbuckets = ht[0];
	symoffset = ht[1];
	bloom_size = ht[2];
	shift = ht[3];
	if (!nbuckets || !bloom_size)
		return 0;
	bloom = (const ElfW(Addr) *)(ht + 4);
	buckets = (const uint32_t *)(bloom + bloom_size);
	chain = buckets + nbuckets;
	word = bloom[(h / bits) % bloom_size];
	if (!((word >> (h % bits)) & (word >> ((h >> shift) % bits)) & 1))
		return 0;
	i = buckets[h % nbuckets];
	if (i < symoffset)
		return 0;
	for (;; i++) {
		const ElfW(Sym) *sym = &symtab[i];
		uint32_t ch = chain[i - symoffset];

		if ((ch | 1) == (h | 1) && sym->st_shndx != SHN_UNDEF &&
		    (sym->st_info & 0xf) == STT_FUNC &&
		    !strcmp(strtab + sym->st_name, name))
			return base + sym->st_value;
		if (ch & 1)
			return 0;
	}
}

/* dl_iterate_phdr()'s callback: the object whose segments hold data. */
static int find_library(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t api = (uintptr_t)membarrier_version, f;
	const ElfW(Dyn) *dyn = NULL;
	int holds = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && api >= start &&
		    api - start < ph->p_memsz)
			holds = 1;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)start;
	}
	if (!holds)
		return 0;
	f = dyn ? lookup(info->dlpi_addr, dyn, "membarrier") : 0;
	*(uintptr_t *)data = f;
	return 1;
}

/* The fallback: by name from the library's own handle (dlsym(3)). */
static membarrier_fn library_membarrier_dl(void)
{
	membarrier_fn f;
	Dl_info info;
	void *lib;

	if (!dladdr((void *)membarrier_version, &info) || !info.dli_fname)
		return NULL;
	lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!lib)
		return NULL;
	f = (membarrier_fn)dlsym(lib, "membarrier");
	dlclose(lib);	/* only drops the reference NOLOAD took */
	return f;
}

/* The library's membarrier(), found from the file that holds its API. */
static membarrier_fn library_membarrier(void)
{
	/* Acquire pairs with the release below. */
	membarrier_fn f = __atomic_load_n(&entry, __ATOMIC_ACQUIRE);
	uintptr_t addr = 0;

	if (f)
		return f;
	dl_iterate_phdr(find_library, &addr);
	f = addr ? (membarrier_fn)addr : library_membarrier_dl();
	/* Release pairs with the acquire above. */
	__atomic_store_n(&entry, f, __ATOMIC_RELEASE);
	return f;
}

/* Resolved at load, before the program runs, where possible. */
__attribute__((constructor)) static void preload_init(void)
{
	library_membarrier();
}

MEMBARRIER_API long syscall(long nr, ...)
{
	long a[6];
	syscall_fn next;
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_membarrier) {
		membarrier_fn f = library_membarrier();

		if (!f) {
			errno = ENOSYS;
			return -1;
		}
		return f((int)a[0], (unsigned int)a[1], (int)a[2]);
	}
	next = next_syscall();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
