// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the crossmem test guest. A small static C program instead of a
 * shell script so that the same runner works on every architecture we
 * boot (Debian ships no big-endian powerpc busybox).
 *
 * The kernel log stays on the first console. Test output goes to a second
 * port (crossmem_port=, or TEST_PORT below) so that printk lines can never
 * split a TAP line; the host parses that file and checks the console file
 * for splats.
 *
 * crossmem_mode=, from the kernel command line (the kernel hands unknown
 * "key=value" parameters to init as environment variables):
 *   check  run the kselftests installed under /kselftest as kselftest's
 *          run_kselftest.sh and kselftest/runner.sh would, with the same
 *          TAP: the programs of kselftest-list.txt ("collection:program"
 *          lines) in the list's order, each in its collection's directory,
 *          its output prefixed with "# ", under the timeout of the
 *          collection's "settings" file (45 s without one). The default.
 *          crossmem_abi=<suffix> keeps only the programs named
 *          *_<suffix> (64, 32, x32), so that the host can test each ABI
 *          in a guest of its own, all at once.
 *   run    run /bin/cma-demo, its output as it is
 *   shell  exec /bin/sh on the console
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_PORT
#define TEST_PORT "/dev/ttyS1"
#endif
#define KSELFTEST_DIR "/kselftest"
#define DEFAULT_TIMEOUT 45	/* kselftest/runner.sh's kselftest_default_timeout */
#define SKIP_RC 4		/* KSFT_SKIP */
#define RUN_TIMEOUT 900		/* seconds the demo of run mode may take */
#define KILL_GRACE 10		/* seconds a killed program gets to die */
#define STRAY_GRACE 2		/* seconds to drain output after it exited */
#define LINE_MAX_LEN 8192	/* longer lines are cut into several */

static int out = 1;		/* the test port */
static const char *cmt = "";	/* "# " when our lines are TAP comments */

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/*
 * One line on the test port, and on the console too when @console: one
 * write per line, so that nothing of ours is split by another writer.
 */
static void put_line(int console, const char *prefix, const char *s, size_t n)
{
	char line[LINE_MAX_LEN + 16];
	size_t p = strlen(prefix);

	if (n > LINE_MAX_LEN)
		n = LINE_MAX_LEN;
	memcpy(line, prefix, p);
	memcpy(line + p, s, n);
	line[p + n] = '\n';
	write_all(out, line, p + n + 1);
	if (console && out != 1)
		write_all(1, line, p + n + 1);
}

/* A line of init's own: TAP results and comments, on both ports. */
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	put_line(1, "", line, n);
}

/*
 * A program's output, cut into lines: each goes out whole, behind the
 * prefix, however the pipe delivered it. A line longer than the buffer
 * becomes several lines, each with the prefix.
 */
struct linebuf {
	char buf[LINE_MAX_LEN];
	size_t len;
	const char *prefix;
};

static void feed(struct linebuf *lb, const char *data, size_t n)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (take > sizeof(lb->buf) - lb->len)
			take = sizeof(lb->buf) - lb->len;
		memcpy(lb->buf + lb->len, data, take);
		lb->len += take;
		data += take;
		n -= take;
		if (n && *data == '\n') {
			data++;
			n--;
		} else if (lb->len < sizeof(lb->buf)) {
			break;		/* the line goes on in the next read */
		}
		put_line(0, lb->prefix, lb->buf, lb->len);
		lb->len = 0;
	}
}

static void feed_end(struct linebuf *lb)
{
	if (lb->len)
		put_line(0, lb->prefix, lb->buf, lb->len);
	lb->len = 0;
}

static void file_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void setup(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL);
	mkdir("/dev/hugepages", 0755);
	mount("hugetlbfs", "/dev/hugepages", "hugetlbfs", 0, NULL);
	mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);

	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}

	/* MPI launchers talk over 127.0.0.1; bringing lo up assigns it. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0) {
		strcpy(ifr.ifr_name, "lo");
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			ioctl(fd, SIOCSIFFLAGS, &ifr);
		}
		close(fd);
	}
}

static void banner(const char *mode)
{
	struct utsname u;
	char cs[64];

	uname(&u);
	file_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  cs, sizeof(cs));
	say("%scrossmem: kernel %s %s %s", cmt, u.release, u.machine, u.version);
	say("%scrossmem: mode %s, cpus %ld, page size %ld, clocksource %s", cmt,
	    mode, sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_PAGESIZE), cs);
}

struct outcome {
	int status;		/* waitpid()'s, once it exited */
	int exited;
	int timed_out;
	int stuck;		/* still there KILL_GRACE s after SIGKILL */
	int cut;		/* a process outside its session kept the pipe */
	double secs;
};

/*
 * Kill what is left of a program: its process group, and every process of
 * the session it started, since the kselftest harness runs each test in a
 * process group of its own.
 */
static void kill_program(pid_t pid)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	int fd, sid;
	ssize_t n;
	DIR *dir;

	kill(-pid, SIGKILL);
	dir = opendir("/proc");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid pgrp session: comm may hold anything */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %*d %*d %d", &sid) == 1 && sid == pid)
			kill(atoi(d->d_name), SIGKILL);
	}
	closedir(dir);
}

/* Reap every child that ended (we are PID 1: orphans come to us too). */
static void reap(pid_t pid, struct outcome *o)
{
	pid_t w;
	int st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == pid) {
			o->status = st;
			o->exited = 1;
		}
	}
}

/*
 * Run PROG in DIR, in a session of its own, with its output read through
 * a pipe and passed on line by line behind PREFIX. At TIMEOUT seconds the
 * program and all it started are killed; once the program has exited, so
 * is whatever it left behind, which could otherwise keep the pipe open for
 * ever. A process that left the session too is only cut off, STRAY_GRACE
 * seconds later.
 */
static void run(const char *dir, const char *prog, int timeout,
		const char *prefix, struct outcome *o)
{
	struct linebuf lb = { .prefix = prefix };
	double t0 = now(), deadline = t0 + timeout, give_up = 0;
	int p[2], eof = 0, group_killed = 0;
	char chunk[4096];
	pid_t pid;

	memset(o, 0, sizeof(*o));
	if (pipe2(p, O_CLOEXEC) < 0) {
		say("%scrossmem: pipe: %s", cmt, strerror(errno));
		o->status = 1 << 8;
		o->exited = 1;
		return;
	}
	pid = fork();
	if (pid < 0) {
		say("%scrossmem: fork: %s", cmt, strerror(errno));
		close(p[0]);
		close(p[1]);
		o->status = 1 << 8;
		o->exited = 1;
		return;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setsid();
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (chdir(dir) < 0) {
			dprintf(2, "crossmem: cannot cd to %s: %s\n", dir, strerror(errno));
			_exit(126);
		}
		execl(prog, prog, (char *)NULL);
		dprintf(2, "crossmem: cannot run %s/%s: %s\n", dir, prog, strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(p[1]);

	for (;;) {
		double t = now();

		reap(pid, o);
		if (o->exited && !group_killed) {
			kill_program(pid);
			group_killed = 1;
			give_up = t + STRAY_GRACE;
		}
		if (!o->exited && !o->timed_out && t >= deadline) {
			kill(pid, SIGKILL);
			kill_program(pid);
			o->timed_out = 1;
			give_up = t + KILL_GRACE;
		}
		if (o->exited && eof)
			break;
		if ((o->exited || o->timed_out) && t >= give_up) {
			o->stuck = !o->exited;
			o->cut = !eof;
			break;
		}
		if (eof) {
			usleep(100 * 1000);
			continue;
		}
		{
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };
			ssize_t n;

			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(p[0], chunk, sizeof(chunk));
			if (n > 0)
				feed(&lb, chunk, n);
			else if (n == 0 || errno != EINTR)
				eof = 1;
		}
	}
	feed_end(&lb);
	close(p[0]);
	o->secs = now() - t0;
}

/* The "timeout=" of a collection's settings file, as runner.sh reads it. */
static int settings_timeout(const char *collection)
{
	char path[512], *line = NULL;
	int timeout = DEFAULT_TIMEOUT;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), KSELFTEST_DIR "/%s/settings", collection);
	f = fopen(path, "r");
	if (!f)
		return timeout;
	while (getline(&line, &cap, f) > 0) {
		if (line[0] != '#' && !strncmp(line, "timeout=", 8) &&
		    atoi(line + 8) > 0)
			timeout = atoi(line + 8);
	}
	free(line);
	fclose(f);
	return timeout;
}

struct entry {
	char *collection;
	char *prog;
};

static int has_suffix(const char *prog, const char *suffix)
{
	size_t p = strlen(prog), s = strlen(suffix);

	return p > s + 1 && prog[p - s - 1] == '_' && !strcmp(prog + p - s, suffix);
}

/* kselftest-list.txt's entries of our ABI (every one without an ABI). */
static int read_list(const char *abi, struct entry **entries)
{
	char *line = NULL, *colon;
	struct entry *e = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *f;

	f = fopen(KSELFTEST_DIR "/kselftest-list.txt", "r");
	if (!f) {
		say("# crossmem: " KSELFTEST_DIR "/kselftest-list.txt: %s", strerror(errno));
		return 0;
	}
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		colon = strchr(line, ':');
		if (!colon || colon == line || !colon[1] || strchr(colon + 1, '/'))
			continue;
		*colon = '\0';
		if (abi && !has_suffix(colon + 1, abi))
			continue;
		e = realloc(e, (n + 1) * sizeof(*e));
		if (!e)
			break;
		e[n].collection = strdup(line);
		e[n].prog = strdup(colon + 1);
		n++;
	}
	free(line);
	fclose(f);
	*entries = e;
	return e ? n : 0;
}

/* One program, as runner.sh's run_one() reports it. */
static void run_one(int num, const struct entry *e)
{
	int timeout = settings_timeout(e->collection), rc;
	char dir[512], path[1024], cmd[600];
	struct outcome o;

	snprintf(dir, sizeof(dir), KSELFTEST_DIR "/%s", e->collection);
	snprintf(path, sizeof(path), "%s/%s", dir, e->prog);
	snprintf(cmd, sizeof(cmd), "./%s", e->prog);
	say("# timeout set to %d", timeout);
	say("# selftests: %s: %s", e->collection, e->prog);
	if (access(path, F_OK)) {
		say("# Warning: file %s is missing!", e->prog);
		say("not ok %d selftests: %s: %s", num, e->collection, e->prog);
		return;
	}
	run(dir, cmd, timeout, "# ", &o);
	if (o.cut)
		say("# crossmem: %s: a process outside its session kept its output open: cut off",
		    e->prog);
	if (o.stuck)
		say("# crossmem: %s: still there %d s after SIGKILL", e->prog, KILL_GRACE);
	say("# crossmem: %s: %.1f s", e->prog, o.secs);
	if (o.timed_out) {
		say("#");
		say("not ok %d selftests: %s: %s # TIMEOUT %d seconds", num,
		    e->collection, e->prog, timeout);
		return;
	}
	/* The shell's $? for runner.sh: 128 + the signal that killed it. */
	if (WIFSIGNALED(o.status)) {
		rc = 128 + WTERMSIG(o.status);
		say("# crossmem: %s: killed by signal %d (%s)", e->prog,
		    WTERMSIG(o.status), strsignal(WTERMSIG(o.status)));
	} else {
		rc = WEXITSTATUS(o.status);
	}
	if (rc == 0)
		say("ok %d selftests: %s: %s", num, e->collection, e->prog);
	else if (rc == SKIP_RC)
		say("ok %d selftests: %s: %s # SKIP", num, e->collection, e->prog);
	else
		say("not ok %d selftests: %s: %s # exit=%d", num, e->collection,
		    e->prog, rc);
}

static void run_tests(void)
{
	const char *abi = getenv("crossmem_abi");
	struct entry *entries = NULL;
	int i, n;

	if (abi && !*abi)
		abi = NULL;
	if (abi)
		say("# crossmem: ABI %s: the programs named *_%s", abi, abi);
	n = read_list(abi, &entries);
	say("1..%d", n);
	for (i = 0; i < n; i++)
		run_one(i + 1, &entries[i]);
}

int main(void)
{
	const char *mode = getenv("crossmem_mode");
	const char *port = getenv("crossmem_port");
	struct outcome o;
	int fd;

	setup();
	if (!mode)
		mode = "check";
	if (!port || !*port)
		port = TEST_PORT;
	if (!strcmp(mode, "shell")) {
		banner(mode);
		/* A controlling terminal gives the shell job control and ^C. */
		setsid();
		ioctl(0, TIOCSCTTY, 1);
		execl("/bin/sh", "sh", "-l", (char *)NULL);
		say("crossmem: cannot exec /bin/sh: %s", strerror(errno));
	} else {
		fd = open(port, O_WRONLY | O_NOCTTY);
		if (fd >= 0)
			out = fd;
		if (strcmp(mode, "run")) {
			cmt = "# ";
			say("TAP version 13");
		}
		if (fd < 0)
			say("%scrossmem: %s: %s, test output on the console", cmt,
			    port, strerror(errno));
		banner(mode);
		if (!strcmp(mode, "run")) {
			run("/", "/bin/cma-demo", RUN_TIMEOUT, "", &o);
			if (o.timed_out)
				say("crossmem: /bin/cma-demo: TIMEOUT %d seconds", RUN_TIMEOUT);
			else if (!WIFEXITED(o.status) || WEXITSTATUS(o.status))
				say("crossmem: /bin/cma-demo: exit status 0x%x", o.status);
		} else {
			run_tests();
		}
	}
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
