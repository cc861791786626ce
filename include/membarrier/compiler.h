/* SPDX-License-Identifier: MIT */
/*
 * libmembarrier: compiler helpers shared by every public header.
 */
#ifndef MEMBARRIER_COMPILER_H
#define MEMBARRIER_COMPILER_H

#if !defined(__GNUC__)
#error "libmembarrier needs GCC or Clang (GNU C extensions, inline assembly)"
#endif

/*
 * Symbols the shared library exports; everything else is hidden. ABI:
 * the exported symbols (versioned LIBMEMBARRIER_0.1, src/libmembarrier.map)
 * and, since the inline fast paths compile into programs, the layout of
 * every structure the headers define and the TLS variables those paths
 * read. make check-abi compares all three with abi/.
 */
#define MEMBARRIER_API __attribute__((visibility("default")))

#define membarrier_likely(x)	__builtin_expect(!!(x), 1)
#define membarrier_unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * Compiler barrier: the "barrier()" of the ordering table. It orders
 * nothing in hardware; it keeps the compiler from moving memory accesses
 * across it, so that what the CPU executes is in program order.
 */
#define membarrier_compiler_barrier() __asm__ __volatile__("" ::: "memory")

/*
 * Single-copy-atomic access that the compiler may neither fuse nor tear
 * (the kernel's READ_ONCE/WRITE_ONCE): a relaxed atomic, which orders
 * nothing and which ThreadSanitizer understands. The one spelling used
 * throughout the library.
 */
#define MEMBARRIER_LOAD_SHARED(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define MEMBARRIER_STORE_SHARED(x, v)	\
	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#endif /* MEMBARRIER_COMPILER_H */
