/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The series' <linux/process_vm.h> where the build has it, else the values
 * it defines that the guest programs use (the host's libc headers predate
 * the series). Shared by bench/cma_bench.c, guest/cma-demo.c,
 * guest/mpi_reduce.c and guest/vmdump.c, which all probe the running kernel
 * before use.
 */
#ifndef CROSSMEM_PROCESS_VM_UAPI_H
#define CROSSMEM_PROCESS_VM_UAPI_H

#if defined(__has_include)
#if __has_include(<linux/process_vm.h>)
#include <linux/process_vm.h>
#endif
#endif

#ifndef PROCESS_VM_REDUCE
#define PROCESS_VM_REDUCE		(1UL << 2)
#define PROCESS_VM_REDUCE_FLAGS(op, type) \
	(PROCESS_VM_REDUCE | (unsigned long)(op) << 8 | \
	 (unsigned long)(type) << 16)
#define PROCESS_VM_OP_SUM		1
#define PROCESS_VM_OP_MAX		4
#define PROCESS_VM_OP_BXOR		7
#define PROCESS_VM_TYPE_U8		2
#define PROCESS_VM_TYPE_S32		5
#define PROCESS_VM_TYPE_U64		8
#define PROCESS_VM_TYPE_F32		9
#define PROCESS_VM_TYPE_F64		10
#endif

/*
 * process_vm_grant(): the owner's consent as a file descriptor (see the
 * wrapper below). PROCESS_VM_GRANTFD makes process_vm_readv()/writev()
 * take such an fd in place of the pid; a stock kernel answers EINVAL to
 * the flag. The ioctl's number comes from _IO(), whose encoding differs
 * between architectures (powerpc's "none" direction is not x86's).
 */
#ifndef PROCESS_VM_GRANTFD
#define PROCESS_VM_GRANTFD		(1UL << 3)
#endif
#ifndef PROCESS_VM_GRANT_READ
#include <linux/ioctl.h>
#define PROCESS_VM_GRANT_READ		(1U << 0)	/* process_vm_readv() */
#define PROCESS_VM_GRANT_WRITE		(1U << 1)	/* process_vm_writev() */
#define PROCESS_VM_GRANT_CLOEXEC	(1U << 2)	/* close the fd on exec */
#define PROCESS_VM_GRANT_REVOKE		_IO(0xB9, 0)	/* by the owner: later uses ESRCH */
#endif

/*
 * process_vmsplice(pidfd, fd, iov, nr_segs, flags): the target's pages
 * (iov: ranges of the target's memory) into the pipe fd by reference, one
 * pipe buffer per page. The number is the series' own, the same on every
 * architecture we build for; x32 sets the x32 bit (__X32_SYSCALL_BIT) in
 * it, as in every syscall number it uses (the kernel reads x32's iovecs
 * as compat ones). Headers of a tree with the syscall define
 * __NR_process_vmsplice themselves. A stock kernel answers ENOSYS, and so
 * does an architecture not listed here.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __NR_process_vmsplice
#if defined(__x86_64__) && defined(__ILP32__)
#define __NR_process_vmsplice		(0x40000000 | 472)
#elif defined(__x86_64__) || defined(__i386__) || defined(__powerpc__)
#define __NR_process_vmsplice		472
#endif
#endif

/* process_vm_grant(): the number after process_vmsplice(), likewise. */
#ifndef __NR_process_vm_grant
#if defined(__x86_64__) && defined(__ILP32__)
#define __NR_process_vm_grant		(0x40000000 | 473)
#elif defined(__x86_64__) || defined(__i386__) || defined(__powerpc__)
#define __NR_process_vm_grant		473
#endif
#endif

#ifndef __NR_pidfd_open
#define __NR_pidfd_open			434	/* the same everywhere since 5.3 */
#endif

/* Named sys_* so that a future libc wrapper of the same name cannot clash. */
static inline ssize_t sys_process_vmsplice(int pidfd, int fd, const struct iovec *iov,
					   unsigned long nr_segs, unsigned int flags)
{
#ifdef __NR_process_vmsplice
	return syscall(__NR_process_vmsplice, pidfd, fd, iov, nr_segs, flags);
#else
	(void)pidfd, (void)fd, (void)iov, (void)nr_segs, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * process_vm_grant(iov, nr_segs, flags): a new fd that grants
 * PROCESS_VM_GRANT_READ and/or _WRITE access to the caller's own ranges in
 * iov (NULL and 0: its whole address space) to whoever holds the fd, with
 * no ptrace, Yama, uid or namespace check. The owner's exit or exec, or
 * its ioctl(fd, PROCESS_VM_GRANT_REVOKE, 0), makes every later use ESRCH.
 */
static inline int sys_process_vm_grant(const struct iovec *iov, unsigned long nr_segs,
				       unsigned int flags)
{
#ifdef __NR_process_vm_grant
	return syscall(__NR_process_vm_grant, iov, nr_segs, flags);
#else
	(void)iov, (void)nr_segs, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(__NR_pidfd_open, pid, flags);
}

/*
 * Whether the running kernel has process_vmsplice(): a call with no valid
 * argument fails with ENOSYS on a kernel without it and with another errno
 * (EBADF for the pidfd) on one with it. Returns that errno.
 */
static inline int process_vmsplice_probe(void)
{
	errno = 0;
	if (sys_process_vmsplice(-1, -1, NULL, 0, 0) >= 0)
		return 0;
	return errno;
}

/*
 * Whether the running kernel has process_vm_grant(): with neither right
 * asked for (flags 0) it fails with EINVAL, checked before the iovec; a
 * kernel without it says ENOSYS. Returns that errno.
 */
static inline int process_vm_grant_probe(void)
{
	int fd;

	errno = 0;
	fd = sys_process_vm_grant(NULL, 0, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

#endif
