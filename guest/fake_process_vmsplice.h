/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A userspace stand-in for process_vmsplice(), for testing the callers
 * (guest/vmdump.c, bench/cma_bench.c) on a host whose kernel lacks the
 * syscall: build them with -DCROSSMEM_FAKE_PROCESS_VMSPLICE. Never in a
 * guest image: it copies (process_vm_readv() into a staging buffer, write()
 * into the pipe), so its timings and copy counts say nothing about the
 * real call. What it does keep is the call's contract as the callers see
 * it: the target by pidfd, at most as many pages as the pipe has free
 * buffers (one buffer per page touched), a wait for pipe space only when
 * there is none, a short count at an unreadable byte and EFAULT when the
 * very first byte is unreadable, EINVAL for flags other than
 * SPLICE_F_NONBLOCK, EBADF for a bad pidfd.
 */
#ifndef CROSSMEM_FAKE_PROCESS_VMSPLICE_H
#define CROSSMEM_FAKE_PROCESS_VMSPLICE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* The pid a pidfd refers to, from /proc/self/fdinfo; -1 (EBADF) if none. */
static pid_t fake_pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = pidfd >= 0 ? fopen(path, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	if (f)
		fclose(f);
	if (pid <= 0)
		errno = EBADF;
	return pid > 0 ? pid : -1;
}

static ssize_t fake_process_vmsplice(int pidfd, int fd, const struct iovec *iov,
				     unsigned long nr_segs, unsigned int flags)
{
	static char *stage;
	static size_t stage_len;
	size_t pg = sysconf(_SC_PAGESIZE), bufs, want = 0, left;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct iovec *r, l;
	unsigned long i, nr;
	int used = 0, size;
	ssize_t n;
	pid_t pid;

	if (flags & ~SPLICE_F_NONBLOCK) {
		errno = EINVAL;
		return -1;
	}
	pid = fake_pidfd_pid(pidfd);
	if (pid < 0)
		return -1;
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size < 0)
		return -1;
	/* Wait for space once, as vmsplice() does. */
	for (;;) {
		if (ioctl(fd, FIONREAD, &used))
			return -1;
		bufs = (size - ((size_t)used + pg - 1) / pg * pg) / pg;
		if (bufs)
			break;
		if (flags & SPLICE_F_NONBLOCK) {
			errno = EAGAIN;
			return -1;
		}
		poll(&p, 1, -1);
	}
	/* Whole iovecs while they fit the free buffers, then part of one. */
	for (nr = 0; nr < nr_segs && nr < IOV_MAX && bufs; nr++) {
		uintptr_t a = (uintptr_t)iov[nr].iov_base, e = a + iov[nr].iov_len;
		size_t pages = iov[nr].iov_len ? (e - 1) / pg - a / pg + 1 : 0;

		if (pages > bufs) {
			want += (a / pg + bufs) * pg - a;
			nr++;
			break;
		}
		want += iov[nr].iov_len;
		bufs -= pages;
	}
	if (!want)
		return 0;
	if (stage_len < want) {
		if (stage)
			munmap(stage, stage_len);
		stage_len = (want + pg - 1) / pg * pg;
		stage = mmap(NULL, stage_len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stage == MAP_FAILED) {
			stage = NULL;
			stage_len = 0;
			return -1;
		}
	}
	/* The last iovec may be cut: read through a trimmed copy. */
	r = malloc(nr * sizeof(*r));
	l.iov_base = stage;
	l.iov_len = want;
	left = want;
	if (!r)
		return -1;
	for (i = 0; i < nr; i++) {
		r[i] = iov[i];
		if (r[i].iov_len > left)
			r[i].iov_len = left;
		left -= r[i].iov_len;
	}
	n = process_vm_readv(pid, &l, 1, r, nr, 0);
	free(r);
	if (n < 0) {
		/* The real call fails on a gone target, else on the fault. */
		if (errno != ESRCH)
			errno = EFAULT;
		return -1;
	}
	/* The pipe had room for all of it: write() does not block. */
	return write(fd, stage, n);
}

static inline int fake_process_vmsplice_probe(void)
{
	return EBADF;
}

#define sys_process_vmsplice	fake_process_vmsplice
#define process_vmsplice_probe	fake_process_vmsplice_probe

#endif
