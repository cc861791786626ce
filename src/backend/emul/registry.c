// SPDX-License-Identifier: MIT
/*
 * The per-user registry of GLOBAL_EXPEDITED registrations: finding it,
 * checking that only its user could have made it, creating, replacing
 * and growing it (the layout is in registry.h).
 *
 * Another user can create any name in /dev/shm (mode 1777) first: a
 * file, a FIFO, a symbolic link or a directory of its own. Nothing is
 * trusted by name: every object is opened with O_NOFOLLOW and checked
 * with fstat(2) on the descriptor (type, owner, mode). A wrong object
 * that is ours is replaced; one that belongs to another user cannot be
 * removed (the sticky bit) and its name is skipped for the next one,
 * which every process of the user tries in the same order (callers
 * serve every name, registrations take the first that works); the
 * first such name is reported once on stderr.
 *
 * All system calls are raw (no errno, async-signal-safe): callers of
 * GLOBAL_EXPEDITED open registries from the barrier path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/emul/registry.h"

#define FILE_NAME	"registry.v2"
#define MAP_SIZE	(MBI_GREG_HDR + (uint64_t)MBI_GREG_MAX * sizeof(struct mbi_gslot))

static long sys_close(int fd)
{
	return mbi_syscall3(SYS_close, fd, 0, 0);
}

static unsigned int euid(void)
{
	return (unsigned int)mbi_syscall3(SYS_geteuid, 0, 0, 0);
}

static uint64_t file_size(uint32_t nslots)
{
	return MBI_GREG_HDR + (uint64_t)nslots * sizeof(struct mbi_gslot);
}

/* Append s at *at in buf (size bytes, always NUL-terminated). */
static void put(char *buf, unsigned long size, unsigned long *at, const char *s)
{
	while (*s && *at + 1 < size)
		buf[(*at)++] = *s++;
	buf[*at] = 0;
}

void mbi_greg_fmt(char *buf, unsigned long size, const char *a, unsigned long n,
		  const char *b)
{
	char digits[24], *d = digits + sizeof(digits);
	unsigned long at = 0;

	*--d = 0;
	do
		*--d = (char)('0' + n % 10);
	while (n /= 10);
	put(buf, size, &at, a);
	put(buf, size, &at, d);
	put(buf, size, &at, b);
}

void mbi_greg_path(int k, int file, char *buf, unsigned long size)
{
	static const char *const tail[MBI_GREG_DIRS][2] = {
		{ "", "/" FILE_NAME }, { ".1", ".1/" FILE_NAME },
		{ ".2", ".2/" FILE_NAME }, { ".3", ".3/" FILE_NAME },
	};

	mbi_greg_fmt(buf, size, "/dev/shm/libmembarrier-", euid(), tail[k][file != 0]);
}

static void report_foreign(const char *path)
{
	static int reported;

	if (!__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "libmembarrier: %s belongs to another user; "
			"GLOBAL_EXPEDITED's registry uses the next name\n", path);
}

/* Does st describe an object of type fmt and mode mode, owned by us? */
static int owned_as(const struct stat *st, unsigned int fmt, unsigned int mode)
{
	return (st->st_mode & S_IFMT) == fmt && st->st_uid == euid() &&
	       (st->st_mode & 07777) == mode;
}

/*
 * Remove what name is (a directory only if empty): in /dev/shm only if
 * it is ours (mine_only), in our own directory whoever made it.
 */
static int remove_ours(int dirfd, const char *name, int mine_only)
{
	struct stat st;

	if (mbi_syscall6(SYS_newfstatat, dirfd, (long)name, (long)&st,
			 AT_SYMLINK_NOFOLLOW, 0, 0) < 0)
		return 0;
	if (mine_only && st.st_uid != euid())
		return -EEXIST;
	return (int)mbi_syscall3(SYS_unlinkat, dirfd, (long)name,
				 S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
}

/* Open directory k, checked: a descriptor, or -errno. */
static int open_dir(int k, int create)
{
	char path[80];
	struct stat st;
	int fd;

	mbi_greg_path(k, 0, path, sizeof(path));
	for (int tries = 0; tries < 3; tries++) {
		fd = (int)mbi_syscall6(SYS_openat, AT_FDCWD, (long)path,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				       0, 0, 0);
		if (fd == -ENOENT && create) {
			long r = mbi_syscall3(SYS_mkdirat, AT_FDCWD, (long)path, 0700);

			if (r == -ENOSPC || r == -EDQUOT)
				return -ENOMEM;
			continue;	/* made it, or somebody else did */
		}
		if (fd == -ELOOP || fd == -ENOTDIR) {
			/* A symbolic link, a file, a FIFO...: ours goes. */
			int r = create ? remove_ours(AT_FDCWD, path, 1) : -ENOENT;

			if (r == -EEXIST)
				report_foreign(path);
			if (r < 0)
				return r;
			continue;
		}
		if (fd < 0)
			return fd;
		if (mbi_syscall3(SYS_fstat, fd, (long)&st, 0) < 0) {
			sys_close(fd);
			return -EIO;
		}
		if (st.st_uid != euid()) {
			sys_close(fd);
			if (create)	/* not from a barrier: stdio */
				report_foreign(path);
			return -EEXIST;
		}
		if (!owned_as(&st, S_IFDIR, 0700)) {
			/* Ours with a wrong mode: nobody else may enter now.
			 * Whatever another user put there while it was open
			 * is refused by the file's checks below. */
			if (!create || mbi_syscall3(SYS_fchmod, fd, 0700, 0) < 0) {
				sys_close(fd);
				return -ENOENT;
			}
		}
		return fd;
	}
	return -ENOENT;
}

/* Check an opened registry file and map it into g: 0, or -errno. */
static int map_file(int fd, struct mbi_greg *g)
{
	struct mbi_greg_hdr h;
	struct stat st;
	void *p;

	if (mbi_syscall3(SYS_fstat, fd, (long)&st, 0) < 0 ||
	    !owned_as(&st, S_IFREG, 0600) || (uint64_t)st.st_size < MBI_GREG_HDR)
		return -ENOENT;
	/* pread, not the mapping: a short file gives no SIGBUS here. */
	if (mbi_syscall6(SYS_pread64, fd, (long)&h, sizeof(h), 0, 0, 0) != sizeof(h) ||
	    h.magic != MBI_GREG_MAGIC || file_size(h.nslots) > (uint64_t)st.st_size)
		return -ENOENT;
	p = (void *)mbi_syscall6(SYS_mmap, 0, MAP_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
	if ((unsigned long)p > -4096ul)
		return -ENOMEM;
	g->fd = fd;
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	g->hdr = p;
	g->slot = (struct mbi_gslot *)((char *)p + MBI_GREG_HDR);
	return 0;
}

/*
 * Make a new registry file in dirfd: written under a temporary name,
 * then renamed into place only if no registry is there (RENAME_NOREPLACE),
 * so that nobody ever opens a half-made file. 0 (ours or another
 * process's is in place), or -errno.
 */
static int create_file(int dirfd)
{
	struct mbi_greg_hdr h = { MBI_GREG_MAGIC, MBI_GREG_FIRST, 0, mbi_now_ns() };
	char tmp[40];
	long fd, r;

	/* tmp.TID: unique among the live threads of this pid namespace. */
	mbi_greg_fmt(tmp, sizeof(tmp), "tmp.", (unsigned long)mbi_gettid(), "");
	fd = mbi_syscall6(SYS_openat, dirfd, (long)tmp,
			  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600, 0, 0);
	if (fd == -EEXIST) {
		mbi_syscall3(SYS_unlinkat, dirfd, (long)tmp, 0);
		return -EAGAIN;
	}
	if (fd < 0)
		return fd == -ENOSPC || fd == -EDQUOT ? -ENOMEM : (int)fd;
	/* Reserve every page before anything is stored in it. */
	r = mbi_syscall6(SYS_fallocate, fd, 0, 0, (long)file_size(h.nslots), 0, 0);
	if (r == 0 && mbi_syscall6(SYS_pwrite64, fd, (long)&h, sizeof(h), 0, 0, 0) !=
		      sizeof(h))
		r = -EIO;
	if (r == 0)
		r = mbi_syscall6(SYS_renameat2, dirfd, (long)tmp, dirfd,
				 (long)FILE_NAME, 1 /* RENAME_NOREPLACE */, 0);
	sys_close((int)fd);
	if (r == -EEXIST)
		r = 0;		/* somebody else's is in place */
	if (r)
		mbi_syscall3(SYS_unlinkat, dirfd, (long)tmp, 0);
	return r == -ENOSPC || r == -EDQUOT || r == -EOPNOTSUPP ? -ENOMEM : (int)r;
}

int mbi_greg_open(int k, int create, struct mbi_greg *g)
{
	int dirfd = open_dir(k, create), r = -ENOENT;

	if (dirfd < 0)
		return dirfd;
	for (int tries = 0; tries < 4; tries++) {
		long fd = mbi_syscall6(SYS_openat, dirfd, (long)FILE_NAME,
				       O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
				       0, 0, 0);

		if (fd == -ENOENT && create) {
			r = create_file(dirfd);
			if (r && r != -EAGAIN)
				break;
			continue;
		}
		if (fd < 0) {
			/* A symbolic link (ELOOP), or a FIFO no one reads (ENXIO). */
			r = -ENOENT;
			if (create && remove_ours(dirfd, FILE_NAME, 0) == 0)
				continue;
			break;
		}
		r = map_file((int)fd, g);
		if (r == 0)
			break;
		sys_close((int)fd);
		/* Not ours, not a file, not a registry: replace it. */
		if (!create || r == -ENOMEM)
			break;
		mbi_syscall3(SYS_unlinkat, dirfd, (long)FILE_NAME, 0);
	}
	sys_close(dirfd);
	return r;
}

void mbi_greg_close(struct mbi_greg *g)
{
	mbi_syscall3(SYS_munmap, (long)g->hdr, MAP_SIZE, 0);
	sys_close(g->fd);
	g->fd = -1;
}

int mbi_greg_current(int k, const struct mbi_greg *g)
{
	char path[96];
	struct stat st;

	mbi_greg_path(k, 1, path, sizeof(path));
	if (mbi_syscall6(SYS_newfstatat, AT_FDCWD, (long)path, (long)&st,
			 AT_SYMLINK_NOFOLLOW, 0, 0) < 0)
		return 0;
	return st.st_dev == g->dev && st.st_ino == g->ino;
}

static int lock(int fd, int64_t at, short type, int cmd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = at;
	fl.l_len = 1;
	if (mbi_syscall3(SYS_fcntl, fd, cmd, (long)&fl) < 0)
		return -1;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

int mbi_greg_alive(const struct mbi_greg *g, uint32_t i)
{
	return lock(g->fd, MBI_GREG_LOCK + i, F_WRLCK, F_OFD_GETLK) == 1;
}

/* Take slot i if nobody holds it: 1, or 0. */
static int take(struct mbi_greg *g, uint32_t i)
{
	return lock(g->fd, MBI_GREG_LOCK + i, F_WRLCK, F_OFD_SETLK) == 0;
}

/*
 * Every slot is live: double the file, under the growth lock (byte 0),
 * reserving the new pages before publishing them. 0, or -ENOMEM.
 */
static int grow(struct mbi_greg *g, uint32_t seen)
{
	uint32_t n;
	long r = 0;

	if (lock(g->fd, 0, F_WRLCK, F_OFD_SETLKW))
		return -ENOMEM;
	n = mbi_greg_nslots(g);
	if (n == seen) {
		uint32_t want = n * 2 < MBI_GREG_MAX ? n * 2 : MBI_GREG_MAX;

		r = want > n ? mbi_syscall6(SYS_fallocate, g->fd, 0, 0,
					    (long)file_size(want), 0, 0) : -ENOMEM;
		/* Release: the new slots' pages exist before anyone reads
		 * them; pairs with the acquire in mbi_greg_nslots(). */
		if (r == 0)
			__atomic_store_n(&g->hdr->nslots, want, __ATOMIC_RELEASE);
	}
	lock(g->fd, 0, F_UNLCK, F_OFD_SETLK);
	return r ? -ENOMEM : 0;
}

int mbi_greg_claim(struct mbi_greg *g)
{
	for (;;) {
		uint32_t n = mbi_greg_nslots(g);

		/* Free slots first (no system call to skip a taken one)... */
		for (uint32_t i = 0; i < n; i++)
			if (!(uint32_t)__atomic_load_n(&g->slot[i].owner, __ATOMIC_RELAXED) &&
			    take(g, i))
				return (int)i;
		/* ...then those of registrations that are gone. */
		for (uint32_t i = 0; i < n; i++)
			if (take(g, i))
				return (int)i;
		if (grow(g, n))
			return -ENOMEM;
	}
}

void mbi_greg_publish(struct mbi_greg *g, uint32_t i, uint32_t pid)
{
	struct mbi_gslot *s = &g->slot[i];
	uint64_t was = __atomic_load_n(&s->owner, __ATOMIC_RELAXED), now;

	/* Release pairs with the callers' acquire of owner (global.c). A
	 * CAS loop against mbi_greg_clear(), so that count follows every
	 * free <-> owned change. */
	do
		now = ((was >> 32) + 1) << 32 | pid;
	while (!__atomic_compare_exchange_n(&s->owner, &was, now, 0,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	/* Release pairs with the callers' acquire of count (global.c):
	 * who sees the count sees the owner. */
	if (!(uint32_t)was)
		__atomic_add_fetch(&g->hdr->count, 1, __ATOMIC_RELEASE);
}

void mbi_greg_clear(struct mbi_greg *g, uint32_t i, uint64_t owner)
{
	/* Fails if the slot was claimed since: the generation differs even
	 * when the pid is the same (pid reuse). */
	if ((uint32_t)owner &&
	    __atomic_compare_exchange_n(&g->slot[i].owner, &owner, owner >> 32 << 32, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&g->hdr->count, 1, __ATOMIC_RELAXED);
}
