// SPDX-License-Identifier: MIT
/*
 * GLOBAL_EXPEDITED's registry under attack and under pressure, in a
 * private /dev/shm (t-global.h):
 * - only its user can create, change or remove it: a second user (made
 *   up here by setresuid() in a child, when the test runs as root)
 *   squats its name with a directory, a symbolic link, a FIFO and a file,
 *   and tries to open, replace, truncate and fill it: the user's
 *   registrations still work, are still ordered (the agent answers), and
 *   the second user's own calls never wake them;
 * - wrong objects of the user's own are replaced;
 * - a full /dev/shm fails registration with ENOMEM (no SIGBUS); a
 *   read-only one makes QUERY leave the command out;
 * - a removed registry is rejoined by registered processes;
 * - more than the old cap of 256 processes register.
 */
#include <sys/syscall.h>

#include "backends/t-global.h"

#define OTHER_UID 54321		/* unused by the machine: a uid, no user */

static char dir0[64], file0[96];

/* Run fn in a child as OTHER_UID: its exit status, or -1. */
static int as_other(int (*fn)(void))
{
	int status;
	pid_t c = fork();

	if (c == 0) {
		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
			_exit(100);
		_exit(fn());
	}
	waitpid(c, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int squat_dir(void)
{
	return mkdir(dir0, 0777) || chmod(dir0, 0777);
}

static int squat_symlink(void)
{
	return symlink("/etc", dir0);
}

static int squat_fifo(void)
{
	return mkfifo(dir0, 0666);
}

static int squat_file(void)
{
	int fd = open(dir0, O_CREAT | O_EXCL | O_WRONLY, 0666);

	return fd < 0 || ftruncate(fd, 0) || close(fd);
}

/* Everything a second user may try on the user's registry: 0 if every
 * attempt fails as it must. */
static int attack(void)
{
	char path[160];
	int bad = 0, fd;

	fd = open(file0, O_RDWR);
	bad |= fd >= 0 || errno != EACCES;
	bad |= truncate(file0, 0) == 0;
	snprintf(path, sizeof(path), "%s/registry.v3", dir0);
	bad |= open(path, O_CREAT | O_RDWR, 0666) >= 0;
	bad |= rename(dir0, "/dev/shm/stolen") == 0;
	bad |= unlink(file0) == 0 || rmdir(dir0) == 0;
	bad |= chmod(dir0, 0777) == 0;
	/* Its own registration and calls go to its own registry. */
	bad |= membarrier(REG_GE, 0, 0) != 0;
	for (int i = 0; i < 200; i++)
		bad |= membarrier(GE, 0, 0) != 0;
	return bad;
}


/* Wipe /dev/shm (a fresh world for the next case). */
static void wipe(void)
{
	if (system("rm -rf /dev/shm/* /dev/shm/.[!.]* 2>/dev/null")) {
		/* nothing left to remove is fine */
	}
}

/*
 * B's agent answers calls: each of 20 calls asked it (its requests grow
 * by 20 at least: a call whose answer came late walks, and may ask it
 * again), and it answered them all. (Its wake-ups are no measure: on a
 * loaded machine an agent that runs late serves several requests in one
 * wake-up.)
 */
static int answers(pid_t b)
{
	int k = 0;
	long r0;

	while (k < MBI_GREG_DIRS && tg_slot_of(k, b) < 0)
		k++;
	if (k == MBI_GREG_DIRS || (r0 = tg_requests(k, b)) < 0)
		return 0;
	for (int i = 0; i < 20; i++)
		if (tg_call_from_child())
			return 0;
	return tg_requests(k, b) - r0 >= 20 && tg_wait_answered(k, b, 5000);
}

/* B's requests, in whichever registry name holds it. */
static long requests(pid_t b)
{
	for (int k = 0; k < MBI_GREG_DIRS; k++)
		if (tg_slot_of(k, b) >= 0)
			return tg_requests(k, b);
	return -1;
}

static void squatted(const char *what, int (*squat)(void))
{
	pid_t b;
	int k = -1, fine;

	wipe();
	if (as_other(squat)) {
		tap_ok(0, "the second user squats %s with %s", dir0, what);
		return;
	}
	b = tg_start(NULL);
	for (int j = 1; j < MBI_GREG_DIRS && k < 0; j++)
		if (b > 0 && tg_slot_of(j, b) >= 0)
			k = j;
	tg_age_registry();
	fine = b > 0 && k > 0 && answers(b);
	tap_ok(fine, "%s squatted by another user with %s: registration uses "
	       "name %d and the agent answers", dir0, what, k);
	tg_kill(b);
}

static void replaced(const char *what, const char *setup)
{
	struct stat st;
	pid_t b;

	wipe();
	if (system(setup)) {
		tap_ok(0, "set up %s", what);
		return;
	}
	b = tg_start(NULL);
	tap_ok(b > 0 && tg_slot_of(0, b) >= 0 && lstat(dir0, &st) == 0 &&
	       S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 &&
	       lstat(file0, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_mode & 07777) == 0600,
	       "%s of the user's own is replaced (or fixed), and used", what);
	tg_kill(b);
}

static void second_user(void)
{
	pid_t b;
	long w0;
	int bad;

	if (geteuid() != 0) {
		tap_skip("not root: no second user to make up", "a second user");
		return;
	}
	squatted("a directory of mode 0777", squat_dir);
	squatted("a symbolic link to /etc", squat_symlink);
	squatted("a FIFO", squat_fifo);
	squatted("a file of mode 0666", squat_file);

	/* The user's registry exists: the second user attacks it. */
	wipe();
	b = tg_start(NULL);
	tg_age_registry();
	w0 = requests(b);
	bad = as_other(attack);
	tap_ok(bad == 0, "the second user can neither open, truncate, add to, "
	       "rename, remove nor chmod the registry (status %d)", bad);
	tap_ok(b > 0 && kill(b, 0) == 0 && tg_slot_of(0, b) >= 0,
	       "the registered process lives, still registered");
	tap_ok(w0 >= 0 && requests(b) == w0, "200 calls of the second user "
	       "never asked the user's agent (requests %ld -> %ld)", w0,
	       requests(b));
	tap_ok(answers(b), "and the user's calls still reach it");
	tg_kill(b);
}

static int full_child(void)
{
	/* /dev/shm is full: no SIGBUS, ENOMEM. */
	return membarrier(REG_GE, 0, 0) == -1 && errno == ENOMEM ? 0 : 1;
}

static void full_shm(void)
{
	int status, fd;
	pid_t c;

	wipe();
	umount("/dev/shm");
	if (mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777,size=64k")) {
		tap_skip("cannot mount a small tmpfs", "a full /dev/shm");
		return;
	}
	/* Fill it, leaving room for the directory but not the file. */
	fd = open("/dev/shm/filler", O_CREAT | O_WRONLY, 0600);
	while (fd >= 0 && write(fd, file0, 64) == 64)
		;
	if (fd >= 0)
		close(fd);
	c = fork();
	if (c == 0)
		_exit(full_child());
	waitpid(c, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "a full /dev/shm: registration fails with ENOMEM, no SIGBUS "
	       "(status %#x)", status);
	umount("/dev/shm");
	mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777,size=16m");
}

static void readonly_shm(char **argv)
{
	int status;
	pid_t c;

	wipe();
	if (mount(NULL, "/dev/shm", NULL, MS_REMOUNT | MS_RDONLY, NULL)) {
		tap_skip("cannot remount read-only", "a read-only /dev/shm");
		return;
	}
	c = fork();
	if (c == 0) {
		setenv("T_GLOBAL_QUERY", "1", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	waitpid(c, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "a read-only /dev/shm: QUERY leaves GLOBAL_EXPEDITED out, and "
	       "registration fails (status %#x)", status);
	mount(NULL, "/dev/shm", NULL, MS_REMOUNT, "mode=1777");
}

/* In the exec'd child of readonly_shm(). */
static int query_child(void)
{
	int q = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	return q >= 0 && !(q & GE) && !(q & REG_GE) &&
	       membarrier(REG_GE, 0, 0) == -1 ? 0 : 1;
}

static void removed(void)
{
	pid_t b;
	int moved;

	wipe();
	b = tg_start(NULL);
	if (system("rm -rf /dev/shm/libmembarrier-*"))
		tap_diag("rm failed");
	/* A new registrant makes the new file; b's agent finds it within
	 * its check period. */
	{
		pid_t n = tg_start(NULL);

		moved = tg_wait_slot(0, b, 3000) >= 0;
		tap_ok(moved, "a removed registry: the registered process joins "
		       "the new file within its check period");
		tg_age_registry();
		tap_ok(moved && answers(b), "and answers calls there");
		tg_kill(n);
	}
	tg_kill(b);
}

static void many(void)
{
	enum { N = 300 };
	static pid_t kids[N];
	struct tg_reg r;
	int ok = 0, held = 0;

	wipe();
	for (int i = 0; i < N; i++) {
		kids[i] = tg_start(NULL);
		ok += kids[i] > 0;
	}
	if (tg_open(0, &r) == 0) {
		for (uint32_t i = 0; i < r.hdr->nslots; i++)
			held += tg_held(&r, i);
		tg_close(&r);
	}
	tap_ok(ok == N && held == N, "%d processes register (the old cap was "
	       "256): %d slots held", ok, held);
	tap_ok(tg_call_from_child() == 0, "and a call returns 0");
	for (int i = 0; i < N; i++)
		tg_kill(kids[i]);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (getenv("T_GLOBAL_QUERY"))
		return query_child();
	tg_private_shm(argv, "mode=1777,size=16m");
	if (membarrier_backend_of(GE) != MEMBARRIER_BACKEND_EMULATED)
		tap_skip_all("GLOBAL_EXPEDITED is not emulated here");
	alarm(240);
	snprintf(dir0, sizeof(dir0), "/dev/shm/libmembarrier-%u", geteuid());
	snprintf(file0, sizeof(file0), "%s/registry.v2", dir0);

	second_user();
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "ln -s /etc %s", dir0);
		replaced("a symbolic link at the directory's name", cmd);
		snprintf(cmd, sizeof(cmd), "touch %s", dir0);
		replaced("a file at the directory's name", cmd);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0755 %s", dir0);
		replaced("a directory of mode 0755", cmd);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s && mkfifo %s", dir0, file0);
		replaced("a FIFO at the registry's name", cmd);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s && ln -s /etc/passwd %s",
			 dir0, file0);
		replaced("a symbolic link at the registry's name", cmd);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s && head -c 8192 "
			 "/dev/zero > %s && chmod 0644 %s", dir0, file0, file0);
		replaced("a registry file of mode 0644", cmd);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s && head -c 100 "
			 "/dev/zero > %s && chmod 0600 %s", dir0, file0, file0);
		replaced("a short registry file", cmd);
	}
	removed();
	full_shm();
	readonly_shm(argv);
	many();
	return tap_done();
}
