/* SPDX-License-Identifier: MIT */
/*
 * The library's own symbols, hidden ones included, at their addresses in
 * this process: for the white-box tests that must see inside the loaded
 * library (the instructions of a function, an internal variable), read
 * from the symbol table (.symtab) of the file dladdr() names for
 * membarrier(). A stripped library has none: the tests then skip.
 */
#ifndef MEMBARRIER_TEST_LIBSYM_H
#define MEMBARRIER_TEST_LIBSYM_H

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <membarrier.h>

/* name, or name.suffix (a copy the compiler specialized). */
static inline int libsym_is_named(const char *sym, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(sym, name, n) && (sym[n] == '\0' || sym[n] == '.');
}

/*
 * Call fn(name, address in this process, size, arg) for each symbol of
 * type type (STT_FUNC, STT_OBJECT) and nonzero size, until fn returns
 * nonzero. Returns fn's last answer (0: every symbol seen), or -1 with
 * *why set when the library's symbol table cannot be read.
 */
static inline int libsym_each(int type,
			      int (*fn)(const char *name, uintptr_t addr,
					size_t size, void *arg),
			      void *arg, const char **why)
{
	Dl_info info;
	struct stat st;
	const unsigned char *file;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	int fd, ret = 0, tables = 0;

	if (!dladdr((void *)membarrier, &info) || !info.dli_fname) {
		*why = "dladdr cannot name the library";
		return -1;
	}
	fd = open(info.dli_fname, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		*why = "cannot read the library's file";
		return -1;
	}
	file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (file == MAP_FAILED) {
		*why = "cannot map the library's file";
		return -1;
	}
	eh = (const Elf64_Ehdr *)file;
	sh = (const Elf64_Shdr *)(file + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum && !ret; i++) {
		const Elf64_Sym *sym = (const Elf64_Sym *)(file + sh[i].sh_offset);
		const char *str = (const char *)file + sh[sh[i].sh_link].sh_offset;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		tables++;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym) && !ret; k++)
			if (ELF64_ST_TYPE(sym[k].st_info) == type &&
			    sym[k].st_size)
				ret = fn(str + sym[k].st_name,
					 (uintptr_t)info.dli_fbase +
					 sym[k].st_value,
					 sym[k].st_size, arg);
	}
	munmap((void *)file, (size_t)st.st_size);
	if (!tables) {
		*why = "the library has no symbol table (stripped?)";
		return -1;
	}
	return ret;
}

struct libsym_lookup {
	const char *name;
	uintptr_t addr;
	size_t size;
};

static inline int libsym_match(const char *name, uintptr_t addr, size_t size,
			       void *arg)
{
	struct libsym_lookup *l = arg;

	if (strcmp(name, l->name))
		return 0;
	l->addr = addr;
	l->size = size;
	return 1;
}

/*
 * The address of the library's variable name (exactly that name), or
 * NULL with *why set.
 */
static inline void *libsym_object(const char *name, size_t *size,
				  const char **why)
{
	struct libsym_lookup l = { name, 0, 0 };
	int ret = libsym_each(STT_OBJECT, libsym_match, &l, why);

	if (ret < 0)
		return NULL;
	if (!ret) {
		*why = "the library's symbol table lacks the variable";
		return NULL;
	}
	if (size)
		*size = l.size;
	return (void *)l.addr;
}

#endif /* MEMBARRIER_TEST_LIBSYM_H */
