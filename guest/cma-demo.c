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
 *
 * Then a reduction, MPI_Reduce(MPI_SUM) of doubles over five processes:
 * four children hold 16 MiB of f64 each, the parent its own 16 MiB, and the
 * parent adds the children's vectors to its own with
 * process_vm_readv(PROCESS_VM_REDUCE): the kernel adds the remote elements
 * to the local ones, no copy in between. Against the same sum done as
 * process_vm_readv() into a scratch buffer plus a userspace loop (gcc's
 * vectorised loop and its scalar one), and checked bit for bit against the
 * serial sum the parent computes itself (integer values: every order of
 * the additions gives the same bits). Skipped on a kernel without the flag.
 *
 * Last, a dump, as CRIU checkpoints a process: a child writes a 64 MiB
 * message with holes (pages it never touches) and stops itself; /bin/vmdump
 * writes its anonymous memory to an image on tmpfs with process_vmsplice()
 * and splice() (one copy: into the image's page cache), and again with
 * process_vm_readv() and write() (two copies), best of three each; every
 * image is verified against process_vm_readv() of the child (vmdump
 * --verify), the two must be identical, and the message's part of the
 * image must hold exactly the pages the child wrote. On a kernel without
 * process_vmsplice() only the second way runs.
 *
 * Last of all, access by grant, as two MPI ranks in a container would need
 * it: the demo sets Yama's ptrace_scope to 3 (no process may attach to
 * another) and forks two ranks that drop root for uids 1001 and 1002.
 * Rank A owns a 64 MiB message, makes a grant of it with
 * process_vm_grant(PROCESS_VM_GRANT_READ) and hands the fd and the
 * message's address to rank B over a socketpair (SCM_RIGHTS). Rank B's
 * plain process_vm_readv() by pid fails with EPERM; through the grant
 * (PROCESS_VM_GRANTFD) it reads the message, best of five, every byte
 * verified, against its own memcpy. Then: a read outside the granted
 * range is EFAULT, B cannot revoke A's grant (EPERM), and after A revokes
 * it, B's read is ESRCH. Skipped on a kernel without process_vm_grant()
 * (ENOSYS). ptrace_scope 3 cannot be lowered until reboot (the dump's
 * vmdump could no longer read its stopped sibling), so this part runs
 * last and nothing may come after it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fdpass.h"
#include "process_vm_uapi.h"
#include "vmdump.h"

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

/*
 * The best of ROUNDS memcpy()s of SIZE bytes from @src to @dst: the
 * ceiling for anything that copies once.
 */
static double best_memcpy(void *dst, const void *src)
{
	double best = 1e9, t;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		t = now();
		memcpy(dst, src, SIZE);
		asm volatile("" : : "r"(dst) : "memory");
		t = now() - t;
		if (t < best)
			best = t;
	}
	return best;
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

/* ---- the reduction: MPI_Reduce(MPI_SUM) of doubles in the kernel ---- */

#define NRED	4		/* children holding a vector */
#define RSIZE	(16UL << 20)	/* each process's vector: 2 Mi doubles */
#define RN	(RSIZE / sizeof(double))
#define RCHUNK	(256UL << 10)	/* readv+loop: the scratch buffer */
#define RROUNDS	3

/* Element i of rank r's vector (the parent is rank 0): an integer of at
 * most 20 bits, so that any order of the five additions is exact. */
static double rval(int r, size_t i)
{
	uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(r * 0x9e3779b9u);

	return (double)(int)((h >> 8) & 0xfffff) - 524288.0;
}

/* The userspace loops after a readv into the scratch buffer: gcc's
 * vectorised one (-O3 for it alone; SSE2 on x86_64) and its scalar one.
 * Under TCG the scalar one can be the faster: both are timed. */
__attribute__((optimize("O3")))
static void add_vector(double *restrict d, const double *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] += s[i];
}

__attribute__((optimize("O2", "no-tree-vectorize")))
static void add_scalar(double *restrict d, const double *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] += s[i];
}

static pid_t rpid[NRED];
static double *rvec[NRED];	/* the children's vectors, in their memory */
static double *rscratch;

/* Add the children's vectors to acc: way 0 in the kernel, 1 and 2 readv
 * into the scratch buffer and the vector or the scalar loop. */
static int reduce_all(double *acc, int way)
{
	unsigned long flags = PROCESS_VM_REDUCE_FLAGS(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_F64);

	for (int c = 0; c < NRED; c++) {
		for (size_t off = 0; off < RSIZE;) {
			size_t len = way ? (RSIZE - off < RCHUNK ? RSIZE - off : RCHUNK) : RSIZE - off;
			struct iovec l = { way ? (void *)rscratch : (char *)acc + off, len };
			struct iovec r = { (char *)rvec[c] + off, len };
			ssize_t n = process_vm_readv(rpid[c], &l, 1, &r, 1, way ? 0 : flags);

			if (n <= 0 || n % sizeof(double)) {
				printf("cma-demo: reduce: process_vm_readv%s returned %zd: %s\n",
				       way ? "" : "(PROCESS_VM_REDUCE)", n, strerror(errno));
				return -1;
			}
			if (way == 1)
				add_vector((double *)((char *)acc + off), rscratch, n / sizeof(double));
			else if (way == 2)
				add_scalar((double *)((char *)acc + off), rscratch, n / sizeof(double));
			off += n;
		}
	}
	return 0;
}

static int reduce_demo(void)
{
	static const char *const name[3] = {
		"PROCESS_VM_REDUCE", "readv + vector loop", "readv + scalar loop",
	};
	/* Bytes read or written per byte reduced: the kernel reads the remote
	 * and the local element and writes the local one; readv+loop also
	 * writes and reads the scratch copy. */
	static const int touched[3] = { 3, 5, 5 };
	unsigned long probe = PROCESS_VM_REDUCE_FLAGS(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8);
	double best[3] = { 1e9, 1e9, 1e9 }, *own, *acc, *serial, t0, ts;
	int go[2], rc = 0, c;
	size_t i, bad = 0, first = 0;

	errno = 0;
	if (process_vm_readv(getpid(), NULL, 1, NULL, 1, probe) >= 0 || errno != EFAULT) {
		printf("cma-demo: reduce: skipped: this kernel has no PROCESS_VM_REDUCE "
		       "(the probe failed with %s, not EFAULT)\n",
		       errno ? strerror(errno) : "success");
		return 0;
	}
	if (pipe(go))
		return 1;
	for (c = 0; c < NRED; c++) {
		int back[2];

		if (pipe(back))
			return 1;
		rpid[c] = fork();
		if (rpid[c] < 0)
			return 1;
		if (rpid[c] == 0) {
			double *v = map(RSIZE, MAP_PRIVATE);
			char x;

			close(go[1]);
			for (i = 0; i < RN; i++)
				v[i] = rval(c + 1, i);
			if (write(back[1], &v, sizeof(v)) != sizeof(v))
				_exit(1);
			/* Hold the vector until the parent is done. */
			while (read(go[0], &x, 1) > 0)
				;
			_exit(0);
		}
		close(back[1]);
		if (read(back[0], &rvec[c], sizeof(rvec[c])) != sizeof(rvec[c]))
			return 1;
		close(back[0]);
	}
	close(go[0]);

	own = map(RSIZE, MAP_PRIVATE);
	acc = map(RSIZE, MAP_PRIVATE);
	serial = map(RSIZE, MAP_PRIVATE);
	rscratch = map(RCHUNK, MAP_PRIVATE);
	/* The serial result: each element's five values, added in rank order. */
	ts = now();
	for (i = 0; i < RN; i++) {
		double x = rval(0, i);

		own[i] = x;
		for (c = 1; c <= NRED; c++)
			x += rval(c, i);
		serial[i] = x;
	}
	ts = now() - ts;
	printf("cma-demo: reduce: %d children hold %lu MiB of f64 each; the parent sums "
	       "them into its own %lu MiB (MPI_Reduce, MPI_SUM, 5 ranks)\n",
	       NRED, RSIZE >> 20, RSIZE >> 20);

	for (int r = 0; r < RROUNDS && !bad; r++) {
		for (int way = 0; way < 3 && !bad; way++) {
			double t;

			memcpy(acc, own, RSIZE);
			t0 = now();
			if (reduce_all(acc, way)) {
				rc = 1;
				goto out;
			}
			t = now() - t0;
			if (t < best[way])
				best[way] = t;
			/* Bit for bit against the serial sum, every time. */
			if (memcmp(acc, serial, RSIZE)) {
				for (i = 0; i < RN; i++)
					if (memcmp(&acc[i], &serial[i], sizeof(double)) && !bad++)
						first = i;
				printf("cma-demo: reduce: FAIL: %s: %zu of %zu sums differ from "
				       "the serial sum, the first at element %zu: %.1f, not %.1f\n",
				       name[way], bad, RN, first, acc[first], serial[first]);
				rc = 1;
			}
		}
	}
	if (!bad) {
		double loop = best[1] < best[2] ? best[1] : best[2];

		printf("cma-demo: reduce: best of %d, %d x %lu MiB   bytes touched      ms    "
		       "MiB/s  vs readv+loop\n", RROUNDS, NRED, RSIZE >> 20);
		for (int way = 0; way < 3; way++)
			printf("cma-demo:   %-22s  %4lu MiB (%d/byte)  %6.1f  %7.1f  %5.2f\n",
			       name[way], NRED * (RSIZE >> 20) * touched[way], touched[way],
			       best[way] * 1e3, NRED * (RSIZE >> 20) / best[way], loop / best[way]);
		printf("cma-demo:   (serial sum in userspace, computing the values: %.1f ms)\n",
		       ts * 1e3);
		printf("cma-demo: reduce: OK: all three ways equal the serial sum bit for bit "
		       "(%zu elements, %d rounds each)\n", RN, RROUNDS);
	}
out:
	close(go[1]);
	for (c = 0; c < NRED; c++)
		waitpid(rpid[c], NULL, 0);
	/* Not in the dump's child: it forks from us. */
	munmap(own, RSIZE);
	munmap(acc, RSIZE);
	munmap(serial, RSIZE);
	munmap(rscratch, RCHUNK);
	return rc;
}

/* ---- the dump: a stopped process's memory into a file, as CRIU does ---- */

#define DSIZE		(64UL << 20)
#define DROUNDS		3
#define DHOLE_EVERY	(8UL << 20)	/* the last MiB of every 8 MiB is a hole */
#define DHOLE_LEN	(1UL << 20)

enum { DM_VMSPLICE, DM_READV, NDM };
static const char *const dm_name[NDM] = {
	"process_vmsplice + splice", "process_vm_readv + write",
};

/* What one vmdump run said. */
struct dres {
	int status;		/* exit status; -1: died */
	uint64_t bytes, pages;
	size_t runs;
	double ms;
	int copies;		/* bytes copied per byte dumped; -1: not said */
	int ok;			/* verify: it said "verify OK" */
};

/* Page p of the message is a hole (never written) in the last MiB of every
 * 8 MiB, and one page in 61 elsewhere: runs of many lengths. */
static int dhole(size_t p, size_t pg)
{
	return (p * pg) % DHOLE_EVERY >= DHOLE_EVERY - DHOLE_LEN || p % 61 == 7;
}

static uint64_t dword(size_t i)
{
	return (uint64_t)word(i) << 32 | word(~i);
}

/* vmdump sits beside us: /bin in the guest. */
static void vmdump_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 16);
	char *slash;

	buf[n > 0 ? n : 0] = '\0';
	slash = strrchr(buf, '/');
	strcpy(slash ? slash + 1 : buf, "vmdump");
}

/*
 * Run vmdump with args (NULL-terminated after argv[0]); its lines are
 * passed on when echo is set (else only if it fails) and parsed into res.
 */
static void run_vmdump(char *const argv[], int echo, struct dres *res)
{
	char path[4096], line[1024], out[8192] = "";
	int p[2], st;
	pid_t pid;
	FILE *f;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	res->copies = -1;
	vmdump_path(path, sizeof(path));
	if (pipe(p))
		return;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(path, argv);
		printf("cma-demo: dump: cannot run %s: %s\n", path, strerror(errno));
		fflush(stdout);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, "bytes copied per byte dumped: ");

		if (echo)
			fputs(line, stdout);
		else if (strlen(out) + strlen(line) < sizeof(out))
			strcat(out, line);
		sscanf(line, "vmdump: dumped %" SCNu64 " bytes, %" SCNu64 " pages, %zu runs to %*s "
		       "in %lf ms", &res->bytes, &res->pages, &res->runs, &res->ms);
		if (c)
			res->copies = atoi(c + strlen("bytes copied per byte dumped: "));
		if (!strncmp(line, "vmdump: verify OK", 17))
			res->ok = 1;
	}
	if (f)
		fclose(f);
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		res->status = WEXITSTATUS(st);
	if (!echo && (res->status || (!strcmp(argv[1], "--verify") && !res->ok)))
		fputs(out, stdout);
	fflush(stdout);
}

/*
 * The message's pages in an image: how many of the written ones it holds
 * and how many of the holes; -1 if the image cannot be read.
 */
static int image_pages(const char *file, uintptr_t msg_va, size_t pg,
		       size_t *in, size_t *holes)
{
	struct vmdump_header h;
	struct vmdump_run r;
	FILE *f = fopen(file, "r");
	int rc = -1;

	*in = *holes = 0;
	if (!f || fread(&h, sizeof(h), 1, f) != 1)
		goto out;
	for (uint64_t k = 0; k < h.nr_runs; k++) {
		if (fread(&r, sizeof(r), 1, f) != 1)
			goto out;
		for (uint64_t va = r.vaddr; va < r.vaddr + r.len; va += pg) {
			if (va < msg_va || va >= msg_va + DSIZE)
				continue;
			if (dhole((va - msg_va) / pg, pg))
				++*holes;
			else
				++*in;
		}
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	return rc;
}

/* Whether two files hold the same bytes. */
static int same_file(const char *a, const char *b)
{
	static char x[1 << 16], y[1 << 16];
	FILE *f = fopen(a, "r"), *g = fopen(b, "r");
	int same = f && g;
	size_t n, m;

	while (same) {
		n = fread(x, 1, sizeof(x), f);
		m = fread(y, 1, sizeof(y), g);
		same = n == m && !memcmp(x, y, n);
		if (!n)
			break;
	}
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return same;
}

static int dump_demo(void)
{
	size_t pg = sysconf(_SC_PAGESIZE), npages = DSIZE / pg, written = 0, in, holes;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[NDM][512] = { "", "" }, pidstr[16];
	double best[NDM] = { 1e9, 1e9 };
	struct dres d[NDM] = { 0 }, v;
	int go[2], back[2], st, rc = 0, have = 1;
	uint64_t *m = NULL;
	pid_t pid;

	for (size_t p = 0; p < npages; p++)
		written += !dhole(p, pg);
	if (pipe(go) || pipe(back))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char x;

		close(go[1]);
		/* Stopped, we would outlive a demo that dies: go with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* vmdump is our sibling, not our parent: let it in (Yama). */
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		m = mmap(NULL, DSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		/* Holes must stay holes: no huge page fills them in. */
		madvise(m, DSIZE, MADV_NOHUGEPAGE);
		for (size_t p = 0; p < npages; p++) {
			if (dhole(p, pg))
				continue;
			for (size_t i = p * pg / 8; i < (p + 1) * pg / 8; i++)
				m[i] = dword(i);
		}
		if (write(back[1], &m, sizeof(m)) != sizeof(m))
			_exit(1);
		raise(SIGSTOP);
		/* Until the parent is done with us. */
		while (read(go[0], &x, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(back[1]);
	if (read(back[0], &m, sizeof(m)) != sizeof(m) ||
	    waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st)) {
		printf("cma-demo: dump: FAIL: the child did not come up and stop\n");
		rc = 1;
		goto out;
	}
	printf("cma-demo: dump: child %d holds a %lu MiB message with holes (%zu of its %zu "
	       "pages written) and stopped; vmdump writes its anonymous memory to %s as "
	       "CRIU's page transfer does\n", pid, DSIZE >> 20, written, npages, tmp);
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	snprintf(img[DM_VMSPLICE], sizeof(img[0]), "%s/cma-demo-vmsplice.img", tmp);
	snprintf(img[DM_READV], sizeof(img[0]), "%s/cma-demo-readv.img", tmp);

	for (int r = 0; r < DROUNDS && !rc; r++) {
		for (int w = 0; w < NDM && !rc; w++) {
			char *dump_args[] = { "vmdump", w == DM_READV ? "--readv" : pidstr,
					      w == DM_READV ? pidstr : img[w],
					      w == DM_READV ? img[w] : NULL, NULL };
			char *verify_args[] = { "vmdump", "--verify", pidstr, img[w], NULL };
			struct dres x;

			if (w == DM_VMSPLICE && !have)
				continue;
			run_vmdump(dump_args, !r, &x);
			if (w == DM_VMSPLICE && x.status == 4) {
				printf("cma-demo: dump: process_vmsplice is absent on this kernel: "
				       "skipped; process_vm_readv + write only\n");
				have = 0;
				continue;
			}
			if (x.status || !x.pages) {
				printf("cma-demo: dump: FAIL: vmdump (%s) exited with status %d\n",
				       dm_name[w], x.status);
				rc = 1;
				break;
			}
			/* Every image, every round: the dump must be right. */
			run_vmdump(verify_args, !r, &v);
			if (v.status || !v.ok) {
				printf("cma-demo: dump: FAIL: the image of %s does not verify "
				       "(vmdump --verify exited with status %d)\n", dm_name[w],
				       v.status);
				rc = 1;
				break;
			}
			if (x.ms < best[w])
				best[w] = x.ms;
			d[w] = x;
		}
	}
	if (rc)
		goto out;
	/* The message's pages: every written one in the image, no hole. */
	for (int w = 0; w < NDM; w++) {
		if (w == DM_VMSPLICE && !have)
			continue;
		if (image_pages(img[w], (uintptr_t)m, pg, &in, &holes) || in != written || holes) {
			printf("cma-demo: dump: FAIL: the image of %s holds %zu of the message's "
			       "%zu written pages and %zu of its %zu holes\n", dm_name[w], in,
			       written, holes, npages - written);
			rc = 1;
		}
	}
	if (have && !same_file(img[DM_VMSPLICE], img[DM_READV])) {
		printf("cma-demo: dump: FAIL: the two images differ\n");
		rc = 1;
	}
	if (rc)
		goto out;
	printf("cma-demo: dump: best of %d, %.1f MiB (%" PRIu64 " pages in %zu runs) "
	       "into a file on tmpfs\n", DROUNDS, d[DM_READV].bytes / 1048576.0,
	       d[DM_READV].pages, d[DM_READV].runs);
	printf("cma-demo:   %-28s %8s %8s  %s\n", "", "ms", "MiB/s",
	       "bytes copied per byte dumped");
	for (int w = 0; w < NDM; w++) {
		if (w == DM_VMSPLICE && !have) {
			printf("cma-demo:   %-28s  absent on this kernel\n", dm_name[w]);
			continue;
		}
		printf("cma-demo:   %-28s %8.1f %8.1f  %d\n", dm_name[w], best[w],
		       d[w].bytes / 1048576.0 / (best[w] / 1e3), d[w].copies);
	}
	if (have)
		printf("cma-demo:   process_vmsplice + splice: %.2fx the speed of "
		       "process_vm_readv + write\n", best[DM_READV] / best[DM_VMSPLICE]);
	printf("cma-demo: dump: OK: %s verified against process_vm_readv() of the child "
	       "and its present pages%s; the message's %zu written pages in, its %zu holes "
	       "out\n", have ? "both images" : "the image",
	       have ? ", identical byte for byte" : "", written, npages - written);
out:
	for (int w = 0; w < NDM; w++)
		if (img[w][0])
			unlink(img[w]);
	kill(pid, SIGKILL);
	close(go[1]);
	waitpid(pid, NULL, 0);
	fflush(stdout);
	return rc;
}

/* ---- access by grant: two ranks under different uids, Yama at 3 ---- */

#define RANK_A_UID	1001
#define RANK_B_UID	1002
#define YAMA_SCOPE	"/proc/sys/kernel/yama/ptrace_scope"

/* What rank A sends rank B with the grant fd. */
struct grant_msg {
	pid_t pid;		/* rank A */
	uint32_t *addr;		/* its message, in its address space */
	size_t len;
};

/* Give up root for uid and gid id, as a rank started by a launcher runs. */
static int become(unsigned int id)
{
	if (setgroups(0, NULL) || setgid(id) || setuid(id))
		return -1;
	/*
	 * The change of credentials left us non-dumpable, and our /proc
	 * files root's: a rank started under its own uid is dumpable (rank B
	 * reads the grant's fdinfo below). Ptrace access stays denied: the
	 * other rank has another uid, and Yama says no to all.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

/* Rank A: owns the message, grants it, revokes the grant when B asks. */
static void rank_a(int sock)
{
	struct grant_msg gm = { getpid(), NULL, SIZE };
	struct iovec iov;
	int gfd, e;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (become(RANK_A_UID)) {
		printf("cma-demo: grant: FAIL: rank A cannot become uid %d: %s\n",
		       RANK_A_UID, strerror(errno));
		_exit(1);
	}
	gm.addr = map(SIZE, MAP_PRIVATE);
	fill(gm.addr);
	iov.iov_base = gm.addr;
	iov.iov_len = SIZE;
	gfd = sys_process_vm_grant(&iov, 1, PROCESS_VM_GRANT_READ | PROCESS_VM_GRANT_CLOEXEC);
	if (gfd < 0) {
		printf("cma-demo: grant: FAIL: rank A: process_vm_grant(READ) of its message: %s\n",
		       strerror(errno));
		_exit(1);
	}
	if (fdpass_send(sock, gfd, &gm, sizeof(gm))) {
		printf("cma-demo: grant: FAIL: rank A cannot send the grant: %s\n", strerror(errno));
		_exit(1);
	}
	/* B's requests: 'R' revoke (the answer: 0 or the ioctl's errno); EOF: done. */
	while (read(sock, &c, 1) == 1 && c == 'R') {
		e = ioctl(gfd, PROCESS_VM_GRANT_REVOKE, 0) ? errno : 0;
		if (write(sock, &e, sizeof(e)) != sizeof(e))
			_exit(1);
	}
	_exit(0);
}

/* One process_vm_readv() of len bytes at remote into dst through the grant. */
static ssize_t grant_read(int gfd, void *dst, const void *remote, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)remote, len };

	errno = 0;
	return process_vm_readv(gfd, &l, 1, &r, 1, PROCESS_VM_GRANTFD);
}

/* Whether a call failed with the errno expected; says so if not. */
static int expect_errno(const char *what, ssize_t n, int want)
{
	if (n < 0 && errno == want)
		return 1;
	printf("cma-demo: grant: FAIL: rank B: %s returned %zd (%s), expected -1 with %s\n",
	       what, n, n < 0 ? strerrorname_np(errno) : "no error", strerrorname_np(want));
	return 0;
}

/* The grant's /proc/self/fdinfo lines after the usual ones, on one line. */
static void grant_fdinfo(int gfd, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", gfd);
	out[0] = '\0';
	f = fopen(path, "r");
	if (!f) {
		snprintf(out, len, "%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) && n < len) {
		char *tab = strchr(line, '\t');

		if (strncmp(line, "owner:", 6) && strncmp(line, "rights:", 7) &&
		    strncmp(line, "revoked:", 8) && strncmp(line, "range", 5))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (tab)
			*tab = ' ';
		n += snprintf(out + n, len - n, "%s%s", n ? ", " : "", line);
	}
	fclose(f);
}

/* Rank B: receives the grant and reads rank A's message through it. */
static int rank_b(int sock)
{
	struct grant_msg gm;
	uint32_t *dst, *src;
	double best = 1e9, copy, t;
	char link[128], path[64], info[512];
	ssize_t n, k;
	int gfd, e, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (become(RANK_B_UID)) {
		printf("cma-demo: grant: FAIL: rank B cannot become uid %d: %s\n",
		       RANK_B_UID, strerror(errno));
		return 1;
	}
	gfd = fdpass_recv(sock, &gm, sizeof(gm));
	if (gfd < 0 || gm.len != SIZE) {
		printf("cma-demo: grant: FAIL: rank B got no grant from rank A\n");
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", gfd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	grant_fdinfo(gfd, info, sizeof(info));
	printf("cma-demo: grant: rank B (uid %d) received fd %d from rank A (uid %d, pid %d) "
	       "over a socketpair: %s%s%s%s\n", RANK_B_UID, gfd, RANK_A_UID, gm.pid,
	       n > 0 ? link : "?", info[0] ? " (" : "", info, info[0] ? ")" : "");

	dst = map(SIZE, MAP_PRIVATE);
	/* The plain call, by pid: the ptrace check says no. */
	{
		struct iovec l = { dst, SIZE }, rv = { gm.addr, SIZE };

		errno = 0;
		n = process_vm_readv(gm.pid, &l, 1, &rv, 1, 0);
		if (!expect_errno("process_vm_readv() by pid", n, EPERM))
			return 1;
		printf("cma-demo: grant: rank B: process_vm_readv(%d, ...) by pid: -1, EPERM (%s), "
		       "as expected\n", gm.pid, strerror(EPERM));
	}

	/* Through the grant: best of ROUNDS, every byte checked every time. */
	for (r = 0; r < ROUNDS; r++) {
		memset(dst, 0, SIZE);
		t = now();
		n = grant_read(gfd, dst, gm.addr, SIZE);
		t = now() - t;
		if (n != (ssize_t)SIZE) {
			printf("cma-demo: grant: FAIL: rank B: process_vm_readv(grant) returned %zd "
			       "(%s), not %lu\n", n, n < 0 ? strerror(errno) : "short", SIZE);
			return 1;
		}
		if (mismatches(dst)) {
			printf("cma-demo: grant: FAIL: DATA MISMATCH: %zu of %lu words differ after "
			       "process_vm_readv(grant)\n", mismatches(dst), SIZE / 4);
			return 1;
		}
		if (t < best)
			best = t;
	}
	/* Our own memcpy of the same size: the ceiling for one copy. */
	src = map(SIZE, MAP_PRIVATE);
	memcpy(src, dst, SIZE);
	copy = best_memcpy(dst, src);
	printf("cma-demo: grant: rank B read rank A's %lu MiB through the grant: every byte "
	       "verified, %d times\n", SIZE >> 20, ROUNDS);
	snprintf(info, sizeof(info), "cma-demo: grant: best of %d, %lu MiB", ROUNDS, SIZE >> 20);
	printf("%-40s %8s  %s\n", info, "MiB/s", "vs memcpy");
	printf("cma-demo:   %-28s %8.1f  %9.2f\n", "process_vm_readv(grant fd)",
	       (SIZE >> 20) / best, copy / best);
	printf("cma-demo:   %-28s %8.1f  %9.2f\n", "memcpy (ceiling)", (SIZE >> 20) / copy, 1.0);
	munmap(src, SIZE);

	/* The grant's edge is byte exact: the granted part of a read that
	 * runs past it, EFAULT for one wholly outside. */
	n = grant_read(gfd, dst, (char *)gm.addr + SIZE - 4096, 8192);
	k = grant_read(gfd, dst, (char *)gm.addr + SIZE, 4096);
	if (n != 4096) {
		printf("cma-demo: grant: FAIL: rank B: a read of 8 KiB from 4 KiB before the end "
		       "of the granted range returned %zd (%s), not 4096\n", n,
		       n < 0 ? strerror(errno) : "bytes");
		return 1;
	}
	if (!expect_errno("a read past the granted range", k, EFAULT))
		return 1;
	/* Only the owner revokes. */
	errno = 0;
	e = ioctl(gfd, PROCESS_VM_GRANT_REVOKE, 0);
	if (!expect_errno("ioctl(PROCESS_VM_GRANT_REVOKE) by the holder", e, EPERM))
		return 1;
	if (write(sock, "R", 1) != 1 || read(sock, &e, sizeof(e)) != sizeof(e)) {
		printf("cma-demo: grant: FAIL: rank B: no answer from rank A\n");
		return 1;
	}
	if (e) {
		printf("cma-demo: grant: FAIL: rank A: ioctl(PROCESS_VM_GRANT_REVOKE): %s\n",
		       strerror(e));
		return 1;
	}
	n = grant_read(gfd, dst, gm.addr, SIZE);
	if (!expect_errno("process_vm_readv(grant) after the revoke", n, ESRCH))
		return 1;
	printf("cma-demo: grant: rank B: 8 KiB from 4 KiB before the granted range's end: "
	       "4096 bytes; past it: EFAULT; its own revoke: EPERM; after rank A revoked: "
	       "ESRCH\n");
	close(gfd);
	munmap(dst, SIZE);
	return 0;
}

/*
 * The container case: ranks under different uids, Yama at ptrace_scope 3,
 * exchange a message through a grant. Must run last: see the top.
 */
static int grant_demo(void)
{
	int e = process_vm_grant_probe(), sv[2], st[2] = { 0, 0 }, rc = 0, set;
	char scope[16] = "";
	const char *yama;
	pid_t pid[2];
	FILE *f;

	if (e == ENOSYS) {
		printf("cma-demo: grant: skipped: this kernel has no process_vm_grant() "
		       "(process_vm_grant(NULL, 0, 0) failed with ENOSYS)\n");
		return 0;
	}
	if (e != EINVAL) {
		printf("cma-demo: grant: FAIL: process_vm_grant(NULL, 0, 0) %s%s, not EINVAL\n",
		       e ? "failed with " : "succeeded", e ? strerror(e) : "");
		return 1;
	}
	/* No process may attach to another from here on, root's included. */
	f = fopen(YAMA_SCOPE, "r");
	if (!f) {
		printf("cma-demo: grant: %s: %s: no Yama in this kernel, the ranks' different "
		       "uids alone deny the plain call\n", YAMA_SCOPE, strerror(errno));
		yama = "no Yama";
	} else {
		if (!fgets(scope, sizeof(scope), f))
			scope[0] = '\0';
		scope[strcspn(scope, "\n")] = '\0';
		fclose(f);
		f = fopen(YAMA_SCOPE, "w");
		set = f && fputs("3\n", f) >= 0;
		if (f && fclose(f))
			set = 0;
		if (set) {
			yama = "Yama ptrace_scope 3";
			printf("cma-demo: grant: Yama ptrace_scope %s -> 3: no process may attach "
			       "to another until reboot\n", scope[0] ? scope : "?");
		} else {
			yama = "Yama ptrace_scope unchanged";
			printf("cma-demo: grant: cannot set Yama's ptrace_scope to 3 (%s): the ranks' "
			       "different uids alone deny the plain call\n", strerror(errno));
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)) {
		printf("cma-demo: grant: FAIL: socketpair: %s\n", strerror(errno));
		return 1;
	}
	printf("cma-demo: grant: rank A (uid %d) owns a %lu MiB message and grants rank B "
	       "(uid %d) read access to it (%s)\n", RANK_A_UID, SIZE >> 20, RANK_B_UID, yama);
	fflush(stdout);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			printf("cma-demo: grant: FAIL: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid[i] == 0) {
			close(sv[!i]);
			if (!i)
				rank_a(sv[0]);
			_exit(rank_b(sv[1]));
		}
	}
	close(sv[0]);
	close(sv[1]);
	for (int i = 1; i >= 0; i--) {
		if (waitpid(pid[i], &st[i], 0) != pid[i] || !WIFEXITED(st[i]) ||
		    WEXITSTATUS(st[i])) {
			/* A ends when B closes the socket, whatever B's fate. */
			printf("cma-demo: grant: FAIL: rank %c exited with status 0x%x\n",
			       "AB"[i], st[i]);
			rc = 1;
		}
	}
	if (!rc)
		printf("cma-demo: grant: OK: rank B read rank A's message through the grant (%s, "
		       "uids %d and %d), where the plain call got EPERM; after the revoke, "
		       "ESRCH\n", yama, RANK_A_UID, RANK_B_UID);
	fflush(stdout);
	return rc;
}

int main(void)
{
	double shm_t, readv_t, move_t, memcpy_t;
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
	memcpy_t = best_memcpy(dst, src);
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
	munmap(src, SIZE);
	munmap(dst, SIZE);
	r = reduce_demo();
	r |= dump_demo();
	/*
	 * Last: it sets Yama's ptrace_scope to 3, which cannot be lowered
	 * until reboot; nothing may come after it (vmdump, for one, could no
	 * longer read the process it dumps).
	 */
	r |= grant_demo();
	return r;
}
