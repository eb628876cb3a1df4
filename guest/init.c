// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the crossmem test guest. A small static C program instead of a
 * shell script so that the same runner works on every architecture we
 * boot (Debian ships no big-endian powerpc busybox).
 *
 * The kernel log stays on the first console. Test output goes to a second
 * port (TEST_PORT below) so that printk lines can never split a TAP line;
 * the host parses that file and checks the console file for splats.
 *
 * crossmem_mode=, from the kernel command line (the kernel hands unknown
 * "key=value" parameters to init as environment variables):
 *   check  run every program under /tests/<abi>/ (the default);
 *          crossmem_abi=<abi> limits it to that one ABI, so that the host
 *          can test each ABI in a guest of its own, all at once
 *   run    run /bin/cma-demo
 *   shell  exec /bin/sh on the console
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
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
#define TEST_TIMEOUT 900	/* seconds one test program may run */

static int out = 1;

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: nothing of ours is split by another writer. */
	if (write(out, line, n) < 0)
		return;
	if (out != 1 && write(1, line, n) < 0)
		return;
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
	say("crossmem: kernel %s %s %s", u.release, u.machine, u.version);
	say("crossmem: mode %s, cpus %ld, page size %ld, clocksource %s", mode,
	    sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_PAGESIZE), cs);
}

static int cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run one program with its output on the test port; return its status. */
static int run(const char *path, const char *cwd, int timeout)
{
	struct timespec t0, t1;
	int status = 0, secs = 0;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		if (chdir(cwd) < 0)
			_exit(126);
		dup2(out, 1);
		dup2(out, 2);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (secs++ >= timeout * 10) {
			say("crossmem: TIMEOUT %s after %d s", path, timeout);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(100 * 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	say("crossmem: %s took %.1f s", path,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return status;
}

/*
 * Programs named *_irreversible_test change global state that cannot be set
 * back (Yama's ptrace_scope 3, say): they run in a second pass, after every
 * other program of every ABI.
 */
static void run_tests(int irreversible)
{
	const char *only = getenv("crossmem_abi");
	struct dirent **abis, **progs;
	char dir[512], path[1024];
	int na, np, i, j, status;

	na = scandir("/tests", &abis, NULL, cmp);
	for (i = 0; i < na; i++) {
		if (abis[i]->d_name[0] == '.' ||
		    (only && strcmp(only, abis[i]->d_name)))
			continue;
		snprintf(dir, sizeof(dir), "/tests/%s", abis[i]->d_name);
		np = scandir(dir, &progs, NULL, cmp);
		for (j = 0; j < np; j++) {
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s", dir, progs[j]->d_name);
			if (progs[j]->d_name[0] == '.' || stat(path, &st) ||
			    !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
				continue;
			if (!!strstr(progs[j]->d_name, "_irreversible_test") != irreversible)
				continue;
			say("crossmem: BEGIN %s/%s", abis[i]->d_name, progs[j]->d_name);
			status = run(path, dir, TEST_TIMEOUT);
			if (WIFSIGNALED(status))
				say("crossmem: END %s/%s signal=%d", abis[i]->d_name,
				    progs[j]->d_name, WTERMSIG(status));
			else
				say("crossmem: END %s/%s exit=%d", abis[i]->d_name,
				    progs[j]->d_name, WEXITSTATUS(status));
		}
	}
}

int main(void)
{
	const char *mode = getenv("crossmem_mode");
	int fd;

	setup();
	if (!mode)
		mode = "check";
	if (!strcmp(mode, "shell")) {
		banner(mode);
		/* A controlling terminal gives the shell job control and ^C. */
		setsid();
		ioctl(0, TIOCSCTTY, 1);
		execl("/bin/sh", "sh", "-l", (char *)NULL);
		say("crossmem: cannot exec /bin/sh: %s", strerror(errno));
	} else {
		fd = open(TEST_PORT, O_WRONLY | O_NOCTTY);
		if (fd >= 0)
			out = fd;
		else
			say("crossmem: %s: %s, test output on the console",
			    TEST_PORT, strerror(errno));
		banner(mode);
		if (getenv("crossmem_abi"))
			say("crossmem: only ABI %s", getenv("crossmem_abi"));
		if (!strcmp(mode, "run"))
			run("/bin/cma-demo", "/", TEST_TIMEOUT);
		else {
			run_tests(0);
			run_tests(1);
		}
		say("crossmem: DONE");
	}
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
