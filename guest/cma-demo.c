// SPDX-License-Identifier: GPL-2.0
/*
 * make run's demonstration of what cross memory attach is for: a child
 * process owns a 64 MiB message and the parent receives it three ways.
 *
 *   shared memory      the way MPI libraries move a message without CMA:
 *                      the sender copies it into a shared buffer, the
 *                      receiver copies it out (two copies, pipelined over
 *                      two 1 MiB slots);
 *   process_vm_readv   the receiver copies it straight out of the sender's
 *                      memory (one copy, one system call);
 *   vmsplice move      the sender gifts its pages to a pipe, the receiver
 *                      takes them into its own address space (no copy
 *                      where the kernel can move the pages; a copy
 *                      otherwise, as on a stock kernel).
 *
 * Every byte is verified after each way; the guest's memcpy of the same
 * size is the ceiling for anything that copies once.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE	(64UL << 20)
#define CHUNK	(1UL << 20)	/* a shared-memory slot, a pipe's capacity */
#define ROUNDS	5

/* The shared-memory transport: two slots and their full/empty flags. */
struct shm {
	int full[2];
	char pad[4096 - 2 * sizeof(int)];
	char slot[2][CHUNK];
};

static int cmd[2], ans[2], pfd[2];
static struct shm *shm;
static uint32_t *msg;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint32_t word(size_t i)
{
	return (uint32_t)(i * 2654435761u) ^ 0xc0ffee;
}

static void *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("cma-demo: mmap");
		exit(1);
	}
	return p;
}

static void fill(uint32_t *p)
{
	for (size_t i = 0; i < SIZE / 4; i++)
		p[i] = word(i);
}

static size_t mismatches(const uint32_t *p)
{
	size_t i, bad = 0;

	for (i = 0; i < SIZE / 4; i++)
		bad += p[i] != word(i);
	return bad;
}

/* Spin on a slot flag: the two processes run on the guest's two CPUs. */
static void wait_flag(int *flag, int want)
{
	unsigned int spins = 0;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != want)
		if (++spins % 1024 == 0)
			sched_yield();
}

static void put(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		exit(1);
}

static char get(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		exit(1);
	return c;
}

/* The sender: owns the message, serves the parent's requests. */
static void child(void)
{
	size_t pg = sysconf(_SC_PAGESIZE), k, off, gone;
	unsigned char *vec = malloc(SIZE / pg);
	ssize_t n;

	msg = map(SIZE, MAP_PRIVATE);
	fill(msg);
	if (write(ans[1], &msg, sizeof(msg)) != sizeof(msg))
		_exit(1);
	for (;;) {
		switch (get(cmd[0])) {
		case 'S':	/* first copy: into the shared slots */
			for (k = 0; k < SIZE / CHUNK; k++) {
				wait_flag(&shm->full[k & 1], 0);
				memcpy(shm->slot[k & 1], (char *)msg + k * CHUNK, CHUNK);
				__atomic_store_n(&shm->full[k & 1], 1, __ATOMIC_RELEASE);
			}
			break;
		case 'V':	/* gift every page to the pipe */
			for (off = 0; off < SIZE; off += n) {
				struct iovec iov = { (char *)msg + off, SIZE - off };

				n = vmsplice(pfd[1], &iov, 1, SPLICE_F_GIFT | SPLICE_F_MOVE);
				if (n <= 0)
					_exit(1);
			}
			break;
		case 'C':	/* how many pages the receiver took away */
			gone = 0;
			if (vec && !mincore(msg, SIZE, vec))
				for (k = 0; k < SIZE / pg; k++)
					gone += !(vec[k] & 1);
			if (write(ans[1], &gone, sizeof(gone)) != sizeof(gone))
				_exit(1);
			continue;
		case 'R':	/* a fresh message after a move took the pages */
			fill(msg);
			break;
		default:
			_exit(0);
		}
		put(ans[1], '.');
	}
}

typedef void (*receive_t)(uint32_t *dst, pid_t pid);

static void receive_shm(uint32_t *dst, pid_t pid)
{
	size_t k;

	(void)pid;
	put(cmd[1], 'S');
	for (k = 0; k < SIZE / CHUNK; k++) {
		wait_flag(&shm->full[k & 1], 1);
		memcpy((char *)dst + k * CHUNK, shm->slot[k & 1], CHUNK);
		__atomic_store_n(&shm->full[k & 1], 0, __ATOMIC_RELEASE);
	}
	get(ans[0]);
}

static void receive_readv(uint32_t *dst, pid_t pid)
{
	struct iovec local = { dst, SIZE }, remote = { msg, SIZE };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)SIZE) {
		perror("cma-demo: process_vm_readv");
		exit(1);
	}
}

static void receive_move(uint32_t *dst, pid_t pid)
{
	size_t off;
	ssize_t n;

	(void)pid;
	put(cmd[1], 'V');
	for (off = 0; off < SIZE; off += n) {
		struct iovec iov = { (char *)dst + off, SIZE - off };

		n = vmsplice(pfd[0], &iov, 1, SPLICE_F_MOVE);
		if (n <= 0) {
			perror("cma-demo: vmsplice");
			exit(1);
		}
	}
	get(ans[0]);
}

/* Best time of ROUNDS receptions into dst; every byte checked each time. */
static double best_of(receive_t receive, uint32_t *dst, pid_t pid, int refill)
{
	double best = 1e9, t;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		memset(dst, 0, SIZE);
		t = now();
		receive(dst, pid);
		t = now() - t;
		if (mismatches(dst)) {
			printf("cma-demo: DATA MISMATCH\n");
			exit(1);
		}
		if (t < best)
			best = t;
		if (refill) {
			put(cmd[1], 'R');
			get(ans[0]);
		}
	}
	return best;
}

int main(void)
{
	double shm_t, readv_t, move_t, memcpy_t = 1e9, t;
	uint32_t *dst, *src;
	size_t moved;
	long pages;
	pid_t pid;
	int r;

	shm = map(sizeof(*shm), MAP_SHARED);
	if (pipe(cmd) || pipe(ans) || pipe(pfd))
		return 1;
	/* One pipe holds one slot's worth, as the shared memory does. */
	fcntl(pfd[1], F_SETPIPE_SZ, CHUNK);
	pid = fork();
	if (pid == 0)
		child();
	if (read(ans[0], &msg, sizeof(msg)) != sizeof(msg))
		return 1;
	dst = map(SIZE, MAP_PRIVATE);
	printf("cma-demo: child %d holds a %lu MiB message; the parent receives it three ways\n",
	       pid, SIZE >> 20);

	shm_t = best_of(receive_shm, dst, pid, 0);
	readv_t = best_of(receive_readv, dst, pid, 0);
	move_t = best_of(receive_move, dst, pid, 1);
	/* One more move: how many pages left the child's memory. */
	receive_move(dst, pid);
	if (mismatches(dst)) {
		printf("cma-demo: DATA MISMATCH\n");
		return 1;
	}
	put(cmd[1], 'C');
	if (read(ans[0], &moved, sizeof(moved)) != sizeof(moved))
		return 1;
	printf("cma-demo: all three delivered every byte: every byte verified\n");

	src = map(SIZE, MAP_PRIVATE);
	memcpy(src, dst, SIZE);
	for (r = 0; r < ROUNDS; r++) {
		t = now();
		memcpy(dst, src, SIZE);
		asm volatile("" : : "r"(dst) : "memory");
		t = now() - t;
		if (t < memcpy_t)
			memcpy_t = t;
	}
	pages = SIZE / sysconf(_SC_PAGESIZE);
	/*
	 * Bytes copied per byte delivered is what holds on any machine; the
	 * rates depend on caches, CPUs and (under QEMU) the emulator.
	 */
	printf("cma-demo: best of %d, %lu MiB    copies  MiB/s  vs shared memory\n",
	       ROUNDS, SIZE >> 20);
	printf("cma-demo:   shared memory          2  %8.1f  %5.2f\n",
	       (SIZE >> 20) / shm_t, 1.0);
	printf("cma-demo:   process_vm_readv       1  %8.1f  %5.2f\n",
	       (SIZE >> 20) / readv_t, shm_t / readv_t);
	printf("cma-demo:   vmsplice move       %4.2f  %8.1f  %5.2f  (%zu of %ld pages moved)\n",
	       1.0 - (double)moved / pages, (SIZE >> 20) / move_t,
	       shm_t / move_t, moved, pages);
	printf("cma-demo:   memcpy (ceiling)       1  %8.1f  %5.2f\n",
	       (SIZE >> 20) / memcpy_t, shm_t / memcpy_t);
	put(cmd[1], 'Q');
	waitpid(pid, NULL, 0);
	return 0;
}
