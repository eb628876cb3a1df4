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
 *        child that owns the remote buffer), memcpy, shm (double copy),
 *        vmsplice-move, vmsplice-copy, pipe, vmsplice-readv (see "vmsplice
 *        rows" below), gift-call, plain-call (see "writer's cost" below)
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
 * vmsplice rows (4k pages, iov=1): the measuring process (CPU 0) is the
 * writer, the peer (CPU 1) the reader, connected by a pipe enlarged to
 * 1 MiB with F_SETPIPE_SZ (raising /proc/sys/fs/pipe-max-size if need be;
 * "pipe=" on the line is the size it got). A transfer of size bytes goes
 * through the pipe in calls of at most the pipe's size on both sides:
 *   vmsplice-move  writer vmsplice(SPLICE_F_GIFT | SPLICE_F_MOVE), reader
 *                  vmsplice(SPLICE_F_MOVE): on the patched kernel the pages
 *                  move (no copy); on stock both calls behave as a plain
 *                  vmsplice (the reader copies)
 *   vmsplice-copy  writer and reader vmsplice() without flags: the writer's
 *                  pages go into the pipe by reference, the reader copies
 *   pipe           write() then read(): two copies
 *   vmsplice-readv no pipe: the reader pulls the writer's bytes with one
 *                  process_vm_readv() per transfer, the single copy that a
 *                  move has to beat (the 2013 review asked for it)
 * The writer fills its source with a fresh pattern (a new seed every
 * transfer) before every transfer, in all three kinds, OUTSIDE the timed
 * region, and waits for the reader to finish before the next fill. For the
 * move kind that fill faults in fresh zeroed pages (the gift unmapped the
 * old ones): a cost the copy kinds do not pay. MB/s (med etc.) therefore
 * measures the transfer alone, from the writer's first call to the
 * reader's return from its last (a CLOCK_MONOTONIC stamp the reader takes,
 * the TSC is synchronized); refill_med= is the median bandwidth with the
 * fill included, for the whole cost of a move. Extra fields, over the
 * transfers of the samples (not the warm-up):
 *   calls   vmsplice() (read()/write() for pipe) calls, writer + reader;
 *           wcalls, rcalls the two sides
 *   xfer, moved, fallback    pages transferred, /proc/vmstat vmsplice_move
 *           and vmsplice_move_fallback deltas, all per call ("n/a": the
 *           counter is absent, a kernel without the patch); *_total: the
 *           same in all
 *   tlb_remote, tlb_all, tlb_one   nr_tlb_remote_flush,
 *           nr_tlb_local_flush_all, nr_tlb_local_flush_one deltas per call
 *           (only with CONFIG_DEBUG_TLBFLUSH; "n/a" otherwise). Global
 *           counters: they include whatever else the guest does meanwhile
 *   check   the reader compared the destination with the pattern after the
 *           first warm-up transfer and after the last transfer of the row
 *
 * writer's cost (4k pages, iov=1, sizes up to the pipe's): the measuring
 * process alone vmsplice()s its source into a pipe of its own, and splices
 * the pipe to /dev/null after each call, outside the timed region:
 *   gift-call      vmsplice(SPLICE_F_GIFT | SPLICE_F_MOVE)
 *   plain-call     vmsplice() without flags
 * MB/s of the vmsplice() call alone. Without a SPLICE_F_MOVE reader a gift
 * must cost what a plain vmsplice() costs: nothing moves.
 *
 * Knobs, as environment variables (the kernel hands "key=value" boot
 * parameters it does not know to init, which passes them on):
 *   cma_bench_reps=7      samples per row
 *   cma_bench_min_ms=20   minimum duration of one sample
 *   cma_bench_max_mb=64   skip sizes above this many MiB
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
	char op;		/* 's': one shm sample, 'v': vmsplice transfers,
				   'q': quit */
	size_t size;
	long iters;
	int vkind;		/* 'v': one of VK_* */
	int verify;		/* 'v': check the data after the last transfer */
};

/* The vmsplice rows' kinds. */
enum { VK_MOVE, VK_COPY, VK_PIPE, VK_READV, NVK };
static const char *const vk_name[NVK] = {
	"vmsplice-move", "vmsplice-copy", "pipe", "vmsplice-readv",
};

/* The shared region of the double copy: flags, then the data. */
struct shm_hdr {
	volatile long seq;	/* the sender published message seq */
	volatile long ack;	/* the receiver copied message ack out */
	/* vmsplice rows: the writer started transfer vseq, with the pattern
	 * of vseed; the reader finished transfer vack at time vdone, having
	 * made vrcalls calls in all; vbad: 0 if the data checked out, else
	 * 1 + the offset of the first wrong 8 bytes. */
	volatile long vseq, vack, vseed, vrcalls, vbad;
	volatile double vdone;
	char *volatile vsrc;	/* the writer's source, for VK_READV */
	char pad[4096 - 7 * sizeof(long) - sizeof(double) - sizeof(char *)];
};
_Static_assert(sizeof(struct shm_hdr) == 4096, "shm_hdr is one page");

static struct shm_hdr *shm;
static char *shm_data;
static int to_peer[2], from_peer[2];
static int vpipe[2];		/* the vmsplice rows' data pipe */
static size_t vpipe_sz;		/* its size */
static int gpipe[2];		/* the writer's cost rows' pipe, ours alone */
static size_t gpipe_sz;
static int devnull;

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

/* The byte pattern every source buffer holds: a function of the offset,
 * and for the vmsplice rows of a seed that changes every transfer. */
static inline uint64_t pattern(size_t i, uint64_t seed)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^
	       (0x5a5a5a5a5a5a5a5aULL + seed * 0x2545f4914f6cdd1dULL);
}

static void fill_seed(char *p, size_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = pattern(i, seed);
}

static void fill(char *p, size_t len)
{
	fill_seed(p, len, 0);
}

/* 0 if p holds the pattern of seed, else 1 + the first wrong offset. */
static long check_seed(const char *p, size_t len, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != pattern(i, seed))
			return 1 + (long)i * 8;
	return 0;
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

/*
 * The reader of the vmsplice rows: c->iters transfers of c->size bytes from
 * the pipe into dst (page aligned, private anonymous, as a move needs).
 */
static void peer_vmsplice(const struct cmd *c, char *dst)
{
	for (long i = 1; i <= c->iters; i++) {
		size_t done = 0;
		long calls = 0;

		spin_until(&shm->vseq, i);
		while (done < c->size) {
			size_t len = c->size - done < vpipe_sz ? c->size - done : vpipe_sz;
			struct iovec v = { dst + done, len };
			ssize_t n;

			if (c->vkind == VK_READV) {
				struct iovec r = { shm->vsrc + done, c->size - done };

				v.iov_len = c->size - done;
				n = process_vm_readv(getppid(), &v, 1, &r, 1, 0);
			} else if (c->vkind == VK_PIPE)
				n = read(vpipe[0], dst + done, len);
			else
				n = vmsplice(vpipe[0], &v, 1,
					     c->vkind == VK_MOVE ? SPLICE_F_MOVE : 0);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				if (n == 0)
					errno = EPIPE;
				die(c->vkind == VK_PIPE ? "pipe read (reader)" :
				    c->vkind == VK_READV ? "process_vm_readv (reader)" :
				    "vmsplice (reader)");
			}
			done += n;
			calls++;
		}
		shm->vdone = now();
		shm->vrcalls += calls;
		/* After the time stamp: the check is not timed. */
		if (c->verify && i == c->iters)
			shm->vbad = check_seed(dst, c->size, shm->vseed);
		__atomic_store_n(&shm->vack, i, __ATOMIC_RELEASE);
	}
}

static void peer(void)
{
	struct peer_info info;
	struct cmd c;
	char *priv;

	pin(1);

	close(to_peer[1]);
	close(from_peer[0]);
	close(vpipe[1]);
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
		/* priv, the double copy's destination, is the reader's too:
		 * the vmsplice rows run last, after the shm rows. */
		if (c.op == 'v')
			peer_vmsplice(&c, priv);
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

/* vmsplice rows: the last run()'s fill time and calls; whether the next
 * run() has the reader check the data; the pattern's seed. */
static double last_fill;
static long last_wcalls, last_rcalls;
static int verify_run;
static uint64_t vseed;

static int vkind_of(const char *kind)
{
	for (int v = 0; v < NVK; v++)
		if (!strcmp(kind, vk_name[v]))
			return v;
	return -1;
}

/* spin_until(), but give up if the peer died (it printed why). */
static void wait_peer(volatile long *flag, long value)
{
	unsigned long spins = 0;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
		__builtin_ia32_pause();
		if (++spins > 2000) {
			sched_yield();
			if (!(spins & 0xffff) && waitpid(peer_pid, NULL, WNOHANG) == peer_pid) {
				errno = ECHILD;
				die("the peer exited");
			}
		}
	}
}

/*
 * iters transfers of one vmsplice row, we the writer, the peer the reader;
 * returns the seconds from each transfer's first call to the reader's
 * return from its last, summed. The fill before each transfer is not
 * timed (last_fill has its time).
 */
static double run_vmsplice(const struct row *r, int vk, long iters)
{
	struct cmd c = { 'v', r->size, iters, vk, verify_run };
	char *src = lsrc[P4K];
	double t = 0, tf = 0;
	long wcalls = 0;
	char k;

	shm->vseq = 0;
	shm->vack = 0;
	shm->vrcalls = 0;
	shm->vbad = 0;
	xwrite(to_peer[1], &c, sizeof(c));
	for (long i = 1; i <= iters; i++) {
		size_t done = 0;
		double f0 = now(), t0;

		/* After a gift this faults in fresh pages: see the top. */
		fill_seed(src, r->size, ++vseed);
		shm->vseed = vseed;
		shm->vsrc = src;
		t0 = now();
		tf += t0 - f0;
		__atomic_store_n(&shm->vseq, i, __ATOMIC_RELEASE);
		/* VK_READV: the reader does it all. */
		while (vk != VK_READV && done < r->size) {
			size_t len = r->size - done < vpipe_sz ? r->size - done : vpipe_sz;
			struct iovec v = { src + done, len };
			ssize_t n;

			if (vk == VK_PIPE)
				n = write(vpipe[1], src + done, len);
			else
				n = vmsplice(vpipe[1], &v, 1, vk == VK_MOVE ?
					     SPLICE_F_GIFT | SPLICE_F_MOVE : 0);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				if (n == 0)
					errno = EIO;
				die(vk == VK_PIPE ? "pipe write (writer)" : "vmsplice (writer)");
			}
			done += n;
			wcalls++;
		}
		/* The writer must not refill before the reader is done: the
		 * pipe may still reference the source pages. */
		wait_peer(&shm->vack, i);
		t += shm->vdone - t0;
	}
	xread(from_peer[0], &k, 1);
	last_fill = tf;
	last_wcalls = wcalls;
	last_rcalls = shm->vrcalls;
	if (verify_run && shm->vbad) {
		printf("BENCH-ERROR %s data mismatch at size %zu, offset %ld\n",
		       r->kind, r->size, shm->vbad - 1);
		fflush(stdout);
		exit(1);
	}
	verify_run = 0;
	return t;
}

/*
 * iters vmsplice() calls of the writer's cost rows, into gpipe, which is
 * emptied into /dev/null after each one; returns the seconds spent in the
 * vmsplice() calls.
 */
static double run_call(const struct row *r, long iters)
{
	unsigned int flags = strcmp(r->kind, "gift-call") ? 0 :
			     SPLICE_F_GIFT | SPLICE_F_MOVE;
	char *src = lsrc[P4K];
	double t = 0;

	for (long i = 0; i < iters; i++) {
		struct iovec v = { src, r->size };
		size_t left = r->size;
		double t0 = now();
		ssize_t n;

		n = vmsplice(gpipe[1], &v, 1, flags);
		t += now() - t0;
		if (n != (ssize_t)r->size) {
			if (n >= 0)
				errno = EIO;
			die("vmsplice (writer's cost)");
		}
		while (left) {
			n = splice(gpipe[0], NULL, devnull, NULL, left, 0);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				die("splice to /dev/null");
			}
			left -= n;
		}
	}
	return t;
}

/* The /proc/vmstat counters of the vmsplice rows; -1: absent. */
enum { VS_MOVE, VS_FALLBACK, VS_TLB_REMOTE, VS_TLB_ALL, VS_TLB_ONE, NVS };
static const char *const vs_name[NVS] = {
	"vmsplice_move", "vmsplice_move_fallback", "nr_tlb_remote_flush",
	"nr_tlb_local_flush_all", "nr_tlb_local_flush_one",
};

static void vmstat(long long v[NVS])
{
	FILE *f = fopen("/proc/vmstat", "r");
	char name[64];
	long long x;

	for (int i = 0; i < NVS; i++)
		v[i] = -1;
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &x) == 2)
		for (int i = 0; i < NVS; i++)
			if (!strcmp(name, vs_name[i]))
				v[i] = x;
	fclose(f);
}

/* The extra fields of a vmsplice row's BENCH line. */
static void vmsplice_fields(char *buf, size_t len, const struct row *r, long transfers,
			    long wcalls, long rcalls, const long long v0[NVS],
			    const long long v1[NVS], double refill_med)
{
	static const char *const field[NVS] = {
		"moved", "fallback", "tlb_remote", "tlb_all", "tlb_one",
	};
	long calls = wcalls + rcalls;
	long long xfer = (long long)(r->size / 4096) * transfers;
	size_t n;

	n = snprintf(buf, len, " pipe=%zu transfers=%ld calls=%ld wcalls=%ld rcalls=%ld "
		     "xfer=%.3f xfer_total=%lld", vpipe_sz, transfers, calls, wcalls,
		     rcalls, (double)xfer / calls, xfer);
	for (int i = 0; i < NVS && n < len; i++) {
		if (v0[i] < 0 || v1[i] < 0)
			n += snprintf(buf + n, len - n, " %s=n/a", field[i]);
		else
			n += snprintf(buf + n, len - n, " %s=%.3f", field[i],
				      (double)(v1[i] - v0[i]) / calls);
	}
	for (int i = VS_MOVE; i <= VS_FALLBACK && n < len; i++) {
		if (v0[i] < 0 || v1[i] < 0)
			n += snprintf(buf + n, len - n, " %s_total=n/a", field[i]);
		else
			n += snprintf(buf + n, len - n, " %s_total=%lld", field[i],
				      v1[i] - v0[i]);
	}
	if (n < len)
		snprintf(buf + n, len - n, " refill_med=%.1f check=ok", refill_med);
}

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
	int vk = vkind_of(r->kind);

	if (vk >= 0)
		return run_vmsplice(r, vk, iters);
	if (!strcmp(r->kind, "gift-call") || !strcmp(r->kind, "plain-call"))
		return run_call(r, iters);
	if (!strcmp(r->kind, "shm")) {
		struct cmd c = { 's', r->size, iters, 0, 0 };
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
	double bw[MAXREPS], sorted[MAXREPS], refill[MAXREPS], t;
	char samples[MAXREPS * 16] = "", extra[512] = "";
	long iters = 1, wcalls = 0, rcalls = 0;
	long long v0[NVS], v1[NVS];
	int vk = vkind_of(r->kind);

	if (!strcmp(r->kind, "readv") || !strcmp(r->kind, "writev")) {
		char *local = !strcmp(r->kind, "readv") ? ldst[r->pages] : lsrc[r->pages];

		set_iov(liov, local, r->size, r->niov);
		set_iov(riov, pinfo.rbuf[r->pages], r->size, r->niov);
	}
	/*
	 * Warm up, then size a sample to last at least min_sample. A warm-up
	 * call that lasts that long already (the large sizes) is enough: no
	 * second one, under TCG a 64 MiB call takes seconds. The vmsplice
	 * rows' reader checks the data of the first warm-up transfer.
	 */
	verify_run = 1;
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
	verify_run = 0;
	if (vk >= 0)
		vmstat(v0);
	for (int i = 0; i < reps; i++) {
		/* ... and of the last transfer of the row. */
		verify_run = vk >= 0 && i == reps - 1;
		t = run(r, iters);
		bw[i] = (double)r->size * iters / t / 1e6;
		sorted[i] = bw[i];
		snprintf(samples + strlen(samples), sizeof(samples) - strlen(samples),
			 "%s%.1f", i ? "," : "", bw[i]);
		if (vk >= 0) {
			refill[i] = (double)r->size * iters / (t + last_fill) / 1e6;
			wcalls += last_wcalls;
			rcalls += last_rcalls;
		}
	}
	if (vk >= 0) {
		vmstat(v1);
		qsort(refill, reps, sizeof(double), cmp_double);
		vmsplice_fields(extra, sizeof(extra), r, iters * reps, wcalls, rcalls, v0, v1,
				reps % 2 ? refill[reps / 2] :
				(refill[reps / 2 - 1] + refill[reps / 2]) / 2);
	}
	qsort(sorted, reps, sizeof(double), cmp_double);
	printf("BENCH kind=%s pages=%s iov=%d size=%zu reps=%d iters=%ld "
	       "min=%.1f med=%.1f max=%.1f unit=MB/s thp=%s samples=%s%s\n",
	       r->kind, pages_name[r->pages], r->niov, r->size, reps, iters,
	       sorted[0], reps % 2 ? sorted[reps / 2] :
	       (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2,
	       sorted[reps - 1], r->thp, samples, extra);
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

/*
 * A pipe of 1 MiB, raising fs.pipe-max-size if that is what stops it (the
 * bench runs as root), else the largest size allowed; returns its size.
 */
static size_t pipe_setup(int fd)
{
	const size_t want = 1UL << 20;
	size_t sz;
	long got;

	if (fcntl(fd, F_SETPIPE_SZ, (int)want) < 0) {
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "w");

		if (f) {
			fprintf(f, "%zu\n", want);
			fclose(f);
		}
		for (sz = want; sz > 4096; sz /= 2)
			if (fcntl(fd, F_SETPIPE_SZ, (int)sz) >= 0)
				break;
	}
	got = fcntl(fd, F_GETPIPE_SZ);
	if (got <= 0)
		die("F_GETPIPE_SZ");
	return got;
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
	struct cmd q = { 'q', 0, 0, 0, 0 };
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
	if (pipe(to_peer) || pipe(from_peer) || pipe(vpipe))
		die("pipe");
	vpipe_sz = pipe_setup(vpipe[1]);
	peer_pid = fork();
	if (peer_pid < 0)
		die("fork");
	if (peer_pid == 0)
		peer();
	close(to_peer[0]);
	close(from_peer[1]);
	close(vpipe[0]);
	if (pipe(gpipe))
		die("pipe");
	gpipe_sz = pipe_setup(gpipe[1]);
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0)
		die("/dev/null");
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
	/*
	 * Before the vmsplice rows, while lsrc[P4K] holds its own pages; the
	 * order alternates with the size, so that neither kind is always the
	 * first one measured.
	 */
	for (size_t s = 0; s < NSIZES; s++) {
		for (int g = 0; g < 2; g++) {
			struct row r = { (g ^ (int)(s & 1)) ? "gift-call" : "plain-call",
					 P4K, 1, sizes[s], "-" };

			if (sizes[s] > max_size || sizes[s] > gpipe_sz)
				continue;
			measure(&r);
		}
	}
	/*
	 * Last: they reuse lsrc[P4K] as the writer's source (a move takes
	 * its pages) and the peer's priv as the reader's destination. The
	 * three kinds of a size one after the other, for the ratios.
	 */
	for (size_t s = 0; s < NSIZES; s++) {
		for (int v = 0; v < NVK; v++) {
			struct row r = { vk_name[v], P4K, 1, sizes[s], "-" };

			if (sizes[s] > max_size)
				continue;
			measure(&r);
		}
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
