// SPDX-License-Identifier: GPL-2.0
/*
 * cma_bench: bandwidth of process_vm_readv()/process_vm_writev() against
 * the guest's memcpy (the ceiling for any single copy) and a shared-memory
 * double copy (sender memcpy into a shared mapping, receiver memcpy out:
 * what MPI does without CMA, the floor CMA has to beat).
 *
 * Runs inside the guest as /tests/x86_64/cma_bench (scripts/bench.sh packs
 * it); it also runs on any Linux host for a quick try. One output line per
 * row, for scripts/bench.sh to parse:
 *
 *   BENCH kind=readv pages=thp iov=1024 size=2097152 reps=7 iters=3
 *         min=.. med=.. max=.. unit=MB/s thp=ok samples=a,b,c,...
 *
 * kind   readv, writev (the caller is the measuring process, the peer is a
 *        child that owns the remote buffer), memcpy, shm (double copy)
 * pages  4k: every buffer is MADV_NOHUGEPAGE; thp: every private buffer
 *        (the remote one and the local ones) is MADV_HUGEPAGE in a 2 MiB
 *        aligned region, checked through AnonHugePages in /proc/self/smaps
 *        of the process that owns it ("thp=ok", "thp=partial" or
 *        "thp=none"). Remote buffers start on a 2 MiB boundary, local ones
 *        a few pages past it (see OFF_REMOTE below).
 * iov    1: one iovec of size bytes on each side; 1024: 1024 contiguous
 *        iovecs of size/1024 bytes on each side (sizes >= 64 KiB only)
 * MB/s   10^6 bytes per second; every sample is "iters" calls in a row,
 *        iters chosen so that a sample lasts at least min_ms.
 *
 * Every buffer is filled by the process that owns it, after fork(), and
 * destinations are pre-faulted: no sample pays for COW unsharing or page
 * faults. Each row is warmed up before its samples.
 *
 * Knobs, as environment variables (the kernel hands "key=value" boot
 * parameters it does not know to init, which passes them on):
 *   cma_bench_reps=7      samples per row
 *   cma_bench_min_ms=20   minimum duration of one sample
 *   cma_bench_max_mb=64   skip sizes above this many MiB
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXSIZE		(64UL << 20)
#define HPAGE		(2UL << 20)
#define NIOV		1024
#define MAXREPS		64

enum { P4K, PTHP, NPAGES };
static const char *const pages_name[NPAGES] = { "4k", "thp" };

static const size_t sizes[] = {
	4UL << 10, 64UL << 10, 1UL << 20, 2UL << 20, 16UL << 20, 64UL << 20,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int reps = 7;
static double min_sample = 0.020;
static size_t max_size = MAXSIZE;

/* What the peer tells the measuring process after its setup. */
struct peer_info {
	char *rbuf[NPAGES];	/* remote buffers, MAXSIZE each */
	long thp_kb[NPAGES];	/* AnonHugePages of each, in the peer */
};

/* The peer's commands. */
struct cmd {
	char op;		/* 's': one shm sample, 'q': quit */
	size_t size;
	long iters;
};

/* The shared region of the double copy: two flags, then the data. */
struct shm_hdr {
	volatile long seq;	/* the sender published message seq */
	volatile long ack;	/* the receiver copied message ack out */
	char pad[4096 - 2 * sizeof(long)];
};

static struct shm_hdr *shm;
static char *shm_data;
static int to_peer[2], from_peer[2];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "cma_bench: %s: %s\n", what, strerror(errno));
	printf("BENCH-ERROR %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void xread(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			die("pipe read");
		}
		p += n;
		len -= n;
	}
}

static void xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("pipe write");
}

/* The byte pattern every source buffer holds: a function of the offset. */
static void fill(char *p, size_t len)
{
	uint64_t *w = (uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = (i * 0x9e3779b97f4a7c15ULL) ^ 0x5a5a5a5a5a5a5a5aULL;
}

/*
 * Where buffers start, in 4 KiB pages past a 2 MiB boundary. QEMU's TCG
 * translates guest addresses through a direct-mapped software TLB: when the
 * source and the destination of a copy are a multiple of 2 MiB apart, every
 * access of one evicts the other's entry, and a copy runs up to 15 times
 * slower, depending on the TLB's size at the time (it changes from boot to
 * boot). Remote buffers start on the boundary (THP rows copy whole folios,
 * which the kernel reaches through its direct map at 2 MiB-aligned
 * addresses); local buffers start an odd number of pages past it, and the
 * shm double copy's buffers at pages that differ by two or more, so that no
 * two buffers of one copy ever share a TLB slot. Real hardware does not
 * care.
 */
#define OFF_REMOTE	0
#define OFF_LSRC	1
#define OFF_LDST	3
#define OFF_SHM		6	/* the flags page; the data starts at 7 */
#define OFF_PRIV	9

/* A private anonymous buffer of len bytes of the given kind, off pages past
 * a 2 MiB boundary. */
static char *buffer(int pages, size_t len, int off)
{
	size_t span = len + 2 * HPAGE;
	char *raw, *p;

	raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap");
	p = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
	/* Trim the slack so that the buffer is a VMA of its own. */
	if (p > raw)
		munmap(raw, p - raw);
	if (raw + span > p + len + HPAGE)
		munmap(p + len + HPAGE, raw + span - (p + len + HPAGE));
	if (madvise(p, len + HPAGE, pages == PTHP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die(pages == PTHP ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)");
	return p + off * 4096UL;
}

/* AnonHugePages, in kB, of the VMA of this process that holds addr. */
static long anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static const char *thp_state(long kb, size_t len)
{
	if (kb < 0)
		return "unknown";
	if ((size_t)kb * 1024 >= len)
		return "ok";
	return kb ? "partial" : "none";
}

/* ---- the peer: owns the remote buffers and the receiving side of shm ---- */

static void spin_until(volatile long *flag, long value)
{
	unsigned long spins = 0;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
		__builtin_ia32_pause();
		if (++spins > 2000)
			sched_yield();
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void peer(void)
{
	struct peer_info info;
	struct cmd c;
	char *priv;

	pin(1);

	close(to_peer[1]);
	close(from_peer[0]);
	for (int k = 0; k < NPAGES; k++) {
		info.rbuf[k] = buffer(k, MAXSIZE, OFF_REMOTE);
		fill(info.rbuf[k], MAXSIZE);
		info.thp_kb[k] = anon_huge_kb(info.rbuf[k]);
	}
	/* The receiver's private buffer of the double copy, pre-faulted. */
	priv = buffer(P4K, MAXSIZE, OFF_PRIV);
	memset(priv, 1, MAXSIZE);
	xwrite(from_peer[1], &info, sizeof(info));

	for (;;) {
		xread(to_peer[0], &c, sizeof(c));
		if (c.op == 'q')
			break;
		if (c.op == 's') {
			for (long i = 1; i <= c.iters; i++) {
				spin_until(&shm->seq, i);
				memcpy(priv, shm_data, c.size);
				__atomic_store_n(&shm->ack, i, __ATOMIC_RELEASE);
			}
		}
		xwrite(from_peer[1], "k", 1);
	}
	/* Report THP again at the end: nothing should have split it. */
	for (int k = 0; k < NPAGES; k++)
		info.thp_kb[k] = anon_huge_kb(info.rbuf[k]);
	xwrite(from_peer[1], &info, sizeof(info));
	_exit(0);
}

/* ---- the measuring side ---- */

struct row {
	const char *kind;
	int pages, niov;
	size_t size;
	const char *thp;
};

static pid_t peer_pid;
static struct peer_info pinfo;
static char *lsrc[NPAGES], *ldst[NPAGES];
static struct iovec liov[NIOV], riov[NIOV];

static void set_iov(struct iovec *iov, char *base, size_t size, int n)
{
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = base + i * (size / n);
		iov[i].iov_len = size / n;
	}
}

/* One run of iters operations of a row; returns seconds. */
static double run(const struct row *r, long iters)
{
	double t0, t;
	ssize_t n = 0;

	if (!strcmp(r->kind, "shm")) {
		struct cmd c = { 's', r->size, iters };
		char k;

		shm->seq = 0;
		shm->ack = 0;
		xwrite(to_peer[1], &c, sizeof(c));
		t0 = now();
		for (long i = 1; i <= iters; i++) {
			memcpy(shm_data, lsrc[r->pages], r->size);
			__atomic_store_n(&shm->seq, i, __ATOMIC_RELEASE);
			spin_until(&shm->ack, i);
		}
		t = now() - t0;
		xread(from_peer[0], &k, 1);
		return t;
	}
	t0 = now();
	if (!strcmp(r->kind, "memcpy")) {
		for (long i = 0; i < iters; i++) {
			memcpy(ldst[r->pages], lsrc[r->pages], r->size);
			asm volatile("" : : "r"(ldst[r->pages]) : "memory");
		}
	} else if (!strcmp(r->kind, "readv")) {
		for (long i = 0; i < iters; i++) {
			n = process_vm_readv(peer_pid, liov, r->niov, riov, r->niov, 0);
			if (n != (ssize_t)r->size)
				break;
		}
	} else {
		for (long i = 0; i < iters; i++) {
			n = process_vm_writev(peer_pid, liov, r->niov, riov, r->niov, 0);
			if (n != (ssize_t)r->size)
				break;
		}
	}
	t = now() - t0;
	if (n != (ssize_t)r->size && strcmp(r->kind, "memcpy")) {
		if (n >= 0)
			errno = EIO;
		fprintf(stderr, "cma_bench: %s of %zu bytes returned %zd\n",
			r->kind, r->size, n);
		die(r->kind);
	}
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void measure(const struct row *r)
{
	double bw[MAXREPS], sorted[MAXREPS], t;
	char samples[MAXREPS * 16] = "";
	long iters = 1;

	if (!strcmp(r->kind, "readv") || !strcmp(r->kind, "writev")) {
		char *local = !strcmp(r->kind, "readv") ? ldst[r->pages] : lsrc[r->pages];

		set_iov(liov, local, r->size, r->niov);
		set_iov(riov, pinfo.rbuf[r->pages], r->size, r->niov);
	}
	/*
	 * Warm up, then size a sample to last at least min_sample. A warm-up
	 * call that lasts that long already (the large sizes) is enough: no
	 * second one, under TCG a 64 MiB call takes seconds.
	 */
	t = run(r, 1);
	if (t < min_sample)
		t = run(r, 1);
	if (t < min_sample) {
		iters = t > 0 ? (long)(min_sample / t) + 1 : 1000000;
		if (iters > 1000000)
			iters = 1000000;
		t = run(r, iters);
		if (t < min_sample)
			iters = (long)(iters * (min_sample / (t > 0 ? t : 1e-9)) * 1.1) + 1;
	}
	/* The copies are right: one check per row, outside the samples. */
	if (!strcmp(r->kind, "readv") &&
	    memcmp(ldst[r->pages], lsrc[r->pages], r->size)) {
		printf("BENCH-ERROR readv data mismatch at size %zu\n", r->size);
		fflush(stdout);
		exit(1);
	}
	for (int i = 0; i < reps; i++) {
		t = run(r, iters);
		bw[i] = (double)r->size * iters / t / 1e6;
		sorted[i] = bw[i];
		snprintf(samples + strlen(samples), sizeof(samples) - strlen(samples),
			 "%s%.1f", i ? "," : "", bw[i]);
	}
	qsort(sorted, reps, sizeof(double), cmp_double);
	printf("BENCH kind=%s pages=%s iov=%d size=%zu reps=%d iters=%ld "
	       "min=%.1f med=%.1f max=%.1f unit=MB/s thp=%s samples=%s\n",
	       r->kind, pages_name[r->pages], r->niov, r->size, reps, iters,
	       sorted[0], reps % 2 ? sorted[reps / 2] :
	       (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2,
	       sorted[reps - 1], r->thp, samples);
	fflush(stdout);
	/* writev overwrote the peer's buffer with the same pattern: no refill. */
}

static void file_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static long env_long(const char *name, long def, long lo, long hi)
{
	const char *v = getenv(name);
	long x;

	if (!v || !*v)
		return def;
	x = strtol(v, NULL, 0);
	return x < lo ? lo : x > hi ? hi : x;
}

int main(void)
{
	char cs[64], thp[128], lthp[NPAGES][16], pthp[NPAGES][16];
	struct utsname u;
	double start = now();
	struct peer_info end;
	struct cmd q = { 'q', 0, 0 };
	void *shm_raw;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	reps = env_long("cma_bench_reps", 7, 1, MAXREPS);
	min_sample = env_long("cma_bench_min_ms", 20, 1, 10000) / 1e3;
	max_size = (size_t)env_long("cma_bench_max_mb", 64, 0, 64) << 20;

	uname(&u);
	file_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  cs, sizeof(cs));
	file_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	printf("BENCH-INFO kernel=%s version=\"%s\" cpus=%ld clocksource=%s "
	       "thp_enabled=\"%s\" reps=%d min_ms=%.0f max_mb=%zu\n",
	       u.release, u.version, sysconf(_SC_NPROCESSORS_ONLN), cs, thp,
	       reps, min_sample * 1e3, max_size >> 20);

	/* Shared before fork on purpose: MAP_SHARED pages are never COW. */
	shm_raw = mmap(NULL, MAXSIZE + 3 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm_raw == MAP_FAILED)
		die("mmap shared");
	shm = (struct shm_hdr *)((((uintptr_t)shm_raw + HPAGE - 1) & ~(HPAGE - 1)) +
				 OFF_SHM * 4096UL);
	shm_data = (char *)(shm + 1);
	if (pipe(to_peer) || pipe(from_peer))
		die("pipe");
	peer_pid = fork();
	if (peer_pid < 0)
		die("fork");
	if (peer_pid == 0)
		peer();
	close(to_peer[0]);
	close(from_peer[1]);
	/* The same placement on every boot: we on CPU 0, the peer on CPU 1. */
	pin(0);

	/* Our own buffers, filled and pre-faulted after the fork. */
	memset(shm_data, 0, MAXSIZE);
	for (int k = 0; k < NPAGES; k++) {
		lsrc[k] = buffer(k, MAXSIZE, OFF_LSRC);
		ldst[k] = buffer(k, MAXSIZE, OFF_LDST);
		fill(lsrc[k], MAXSIZE);
		memset(ldst[k], 0, MAXSIZE);
	}
	xread(from_peer[0], &pinfo, sizeof(pinfo));
	for (int k = 0; k < NPAGES; k++) {
		long s = anon_huge_kb(lsrc[k]), d = anon_huge_kb(ldst[k]);

		/* The "thp" column of a row: the worst of the three buffers. */
		strcpy(pthp[k], thp_state(pinfo.thp_kb[k], MAXSIZE));
		strcpy(lthp[k], thp_state(s < d ? s : d, MAXSIZE));
		printf("BENCH-THP pages=%s peer_remote_kb=%ld local_src_kb=%ld "
		       "local_dst_kb=%ld (buffers of %lu kB) state=%s\n", pages_name[k],
		       pinfo.thp_kb[k], s, d, MAXSIZE >> 10, k == P4K ?
		       (pinfo.thp_kb[k] || s || d ? "unexpected-thp" : "ok") :
		       strcmp(pthp[k], "ok") ? pthp[k] : lthp[k]);
	}

	for (int k = 0; k < NPAGES; k++) {
		const char *st = k == P4K ? "-" :
			strcmp(pthp[k], "ok") ? pthp[k] : lthp[k];

		for (size_t s = 0; s < NSIZES; s++) {
			struct row r = { "memcpy", k, 1, sizes[s], st };

			if (sizes[s] > max_size)
				continue;
			measure(&r);
		}
		for (int w = 0; w < 2; w++) {
			for (size_t s = 0; s < NSIZES; s++) {
				for (int v = 0; v < 2; v++) {
					struct row r = { w ? "writev" : "readv", k,
							 v ? NIOV : 1, sizes[s], st };

					if (sizes[s] > max_size || (v && sizes[s] < (64UL << 10)))
						continue;
					measure(&r);
				}
			}
		}
	}
	for (size_t s = 0; s < NSIZES; s++) {
		struct row r = { "shm", P4K, 1, sizes[s], "-" };

		if (sizes[s] > max_size)
			continue;
		measure(&r);
	}

	xwrite(to_peer[1], &q, sizeof(q));
	xread(from_peer[0], &end, sizeof(end));
	waitpid(peer_pid, &status, 0);
	for (int k = 0; k < NPAGES; k++)
		if (end.thp_kb[k] != pinfo.thp_kb[k])
			printf("BENCH-THP pages=%s peer_remote_kb changed from %ld to %ld state=changed\n",
			       pages_name[k], pinfo.thp_kb[k], end.thp_kb[k]);
	printf("BENCH-DONE elapsed=%.1f s\n", now() - start);
	return 0;
}
