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
 *        rows" below), gift-call, plain-call (see "writer's cost" below);
 *        reduce-*, dump-* and grant-* have lines of their own (see below)
 * pages  4k: every buffer is MADV_NOHUGEPAGE; thp: every private buffer
 *        (the remote one and the local ones) is MADV_HUGEPAGE in a 2 MiB
 *        aligned region, checked through AnonHugePages in /proc/self/smaps
 *        of the process that owns it ("thp=ok", "thp=partial" or
 *        "thp=none"). Remote buffers start on a 2 MiB boundary, local ones
 *        a few pages past it (see OFF_REMOTE below); the vmsplice THP rows
 *        have buffers of their own (see "vmsplice THP rows" below).
 * iov    1: one iovec of size bytes on each side; 1024: 1024 contiguous
 *        iovecs of size/1024 bytes on each side (sizes >= 64 KiB only)
 * MB/s   10^6 bytes per second; every sample is "iters" calls in a row,
 *        iters chosen so that a sample lasts at least min_ms.
 *
 * Every buffer is filled by the process that owns it, after fork(), and
 * destinations are pre-faulted: no sample pays for COW unsharing or page
 * faults. Each row is warmed up before its samples.
 *
 * vmsplice rows (4k pages, iov=1; THP rows: see below): the measuring
 * process (CPU 0) is the writer, the peer (CPU 1) the reader, connected by
 * a pipe enlarged to 1 MiB with F_SETPIPE_SZ (raising
 * /proc/sys/fs/pipe-max-size if need be; "pipe=" on the line is the size
 * it got). A transfer of size bytes goes through the pipe in calls of at
 * most the pipe's size on both sides:
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
 * vmsplice THP rows (pages=thp, iov=1, the sizes from 2 MiB to 64 MiB):
 * vmsplice-move, vmsplice-copy and vmsplice-readv as above (not pipe:
 * write() and read() copy, whatever the pages), the three kinds of a size
 * one after the other, on buffers of their own, allocated for that size
 * and given back after it. The writer's source and the reader's
 * destination each start on a 2 MiB boundary of a MADV_HUGEPAGE region
 * (lsrc[PTHP] starts OFF_LSRC pages past one, the reader's priv is 4k):
 * the patched kernel moves a whole PMD-mapped THP only from and to 2 MiB
 * aligned addresses. The writer's gift puts such a THP into the pipe as
 * one 2 MiB buffer (one slot), the reader's move maps it with one PMD in
 * place of the THP its destination holds (pre-faulted: a reused buffer).
 * A THP goes whole only when the iovec covers all of it, so on these rows
 * both sides pass all that is left of the transfer in every call (the
 * writer's call stops when the pipe's 256 slots are full: 1 MiB of 4 KiB
 * pages, or 256 THPs); the 4k rows keep their calls of at most the pipe's
 * size. On stock the same calls copy, a page a slot.
 * After a move the writer's fill faults in fresh THPs (2 MiB zeroed each),
 * untimed like the 4k rows' refill. The copy kinds' reader writes
 * cma_bench_thp_copy_off pages (3) past its boundary, into the same
 * THP-backed destination: the kernel reads the writer's THP through its
 * direct map, 2 MiB aligned, and a copy into an aligned destination runs
 * into TCG's TLB aliasing (see OFF_REMOTE), which would slow the copy
 * down and flatter the move; the move's destination has to be aligned
 * (on stock that move row copies into it, aliasing and all). Extra fields:
 *   thp_moved, thp_moved_total   /proc/vmstat vmsplice_move_thp deltas
 *           (THPs moved; moved and fallback still count pages, 512 per
 *           THP on x86_64), per call and in all ("n/a": no such counter)
 *   thp_src_kb, thp_dst_kb   AnonHugePages of the writer's source after
 *           its fill, of the reader's destination after its last call,
 *           in the checked transfers (the least seen); thp= is the worse
 *           of the two (the destination holds size + 2 MiB: the copy kinds
 *           write past the boundary)
 *   dst_off the reader's destination, in pages past its 2 MiB boundary
 *
 * writer's cost (4k pages, iov=1, sizes up to the pipe's): the measuring
 * process alone vmsplice()s its source into a pipe of its own, and splices
 * the pipe to /dev/null after each call, outside the timed region:
 *   gift-call      vmsplice(SPLICE_F_GIFT | SPLICE_F_MOVE)
 *   plain-call     vmsplice() without flags
 * MB/s of the vmsplice() call alone. Without a SPLICE_F_MOVE reader a gift
 * must cost what a plain vmsplice() costs: nothing moves.
 *
 * reduce rows (4k pages, iov=1, last): PROCESS_VM_REDUCE against what
 * userspace does without it, both in the same boot. kind reduce-<op>-<type>
 * for sum-f64, sum-s32, max-f32 and bxor-u64; the measuring process's
 * local vector of size bytes accumulates the peer's vector of the same
 * size (local = local OP remote), two ways:
 *   reduce       process_vm_readv(PROCESS_VM_REDUCE_FLAGS(op, type)), one
 *                call: the kernel combines the remote elements into the
 *                local ones
 *   readv+loop   process_vm_readv() of the remote vector into a scratch
 *                buffer, chunk bytes at a time (256 KiB, so that the
 *                scratch stays in the cache, as an MPI library's
 *                pipelined reduce keeps it), each chunk followed by a
 *                userspace loop over it: gcc -O3 for the loops alone,
 *                vectorised (SSE2 on x86_64: the guest CPU is qemu64, no
 *                -march), MAX with the kernel's NaN rule
 *                (s > d || (isnan(d) && !isnan(s))) ? s : d
 * The kernel is probed first (process_vm_readv(getpid(), NULL, 1, NULL, 1,
 * PROCESS_VM_REDUCE_FLAGS(op, type)): EFAULT if it has the operation,
 * EINVAL if not); without it a BENCH-SKIP line replaces the rows. min, med,
 * max and samples are the reduce's MB/s (bytes of the local vector per
 * second), loop_* the readv+loop's; the samples are taken in pairs, one of
 * each way, the order alternating from pair to pair, and ratio_samples are
 * the pairs' reduce/loop ratios. calls, loop_calls: process_vm_readv()
 * calls per operation. Once per row, before the samples and not timed,
 * both ways start from the same local vector and must leave identical
 * bytes ("check=ok"; else BENCH-ERROR with the first differing element,
 * and exit). Bytes touched per byte reduced ("bytes", "loop_bytes"):
 * reduce 3 (remote read, local read, local write), readv+loop 5 (remote
 * read, scratch write, then scratch read, local read, local write).
 *
 * dump rows (last, after the peer has quit and the other rows' buffers are
 * given back): a checkpoint of a stopped process, as CRIU's page transfer
 * makes it. A child fills size bytes of 4k pages (the largest size, once)
 * and stops itself (SIGSTOP); we dump its first size bytes into a sink,
 * three ways, a pipe's worth (chunk=, 1 MiB) per call:
 *   vmsplice     process_vmsplice(pidfd, pipe, ...) puts references to the
 *                child's pages into a pipe, splice() moves them into the
 *                sink: the series' call, on a kernel that has it
 *   readv        process_vm_readv() into our buffer, write() into the sink
 *   mem          pread() of /proc/PID/mem into our buffer, write()
 * into two sinks (kind dump-tmpfs, dump-null):
 *   tmpfs        a file in cma_bench_dump_dir (/tmp: tmpfs in the guest),
 *                unlinked as soon as it is open (it goes with us, however
 *                we end) and truncated after every dump, outside the timed
 *                region: every dump allocates its page cache afresh, as a
 *                new image does
 *   null         a pipe (as a socket to a page server would be), which the
 *                dumping process itself empties into /dev/null with splice()
 *                after each call into it, inside the timed region
 * Bytes copied per byte dumped (copies=, readv_copies=, mem_copies=):
 * vmsplice 1 into tmpfs (splice() into the page cache), 0 into the pipe
 * (references move from pipe to pipe); readv and mem 2 into either sink
 * (their copy into our buffer, then write()'s into the page cache or into
 * the pipe's pages; only a write() straight into /dev/null would copy
 * nothing, and then the ways would not share a sink).
 * process_vmsplice() is probed first (process_vmsplice(-1, -1, NULL, 0, 0):
 * ENOSYS on a kernel without it); without it a BENCH-SKIP kind=dump-vmsplice
 * line says so and the other two ways run alone (their fields n/a). Sizes:
 * the other rows' ladder, then 256 MiB, 512 MiB and 1 GiB as far as memory
 * allows: the child and the tmpfs sink hold size bytes each, plus 96 MiB to
 * spare, within MemAvailable, and the file within the sink's free space
 * (BENCH-DUMP max_mb= and limit= say how far it went and what stopped it;
 * 512 MiB in a 2 GiB guest). min, med, max and samples are the vmsplice
 * way's MB/s (bytes dumped per second), readv_* and mem_* the others'; the
 * samples go round the three ways, the order turning from round to round,
 * and ratio_samples (vmsplice/readv) and mem_ratio_samples (mem/readv) are
 * each round's ratios. calls: system calls per dump, the sink's included.
 * The first warm-up dump of every way, sink and size is checked byte for
 * byte (the file read back, the pipe read instead of spliced away); a
 * mismatch is a BENCH-ERROR, and the bench exits.
 *
 * grant rows (kind grant-readv, grant-writev; the pages, iovecs and sizes
 * of the readv and writev rows, right after them): process_vm_readv() and
 * process_vm_writev() through a grant against the same call by pid, on the
 * same buffers in the same boot. The peer makes one grant of its two
 * remote buffers (process_vm_grant(), PROCESS_VM_GRANT_READ | _WRITE, two
 * ranges of MAXSIZE) and sends us the fd over a socketpair (SCM_RIGHTS);
 * the calls then pass that fd with PROCESS_VM_GRANTFD. The pid way is the
 * readv and writev rows' own call: the peer's plain pid, flags 0 (not a
 * pidfd). The samples are taken in pairs, one of each way, the order
 * alternating from pair to pair, as the reduce rows' are: min, med, max and
 * samples are the grant's MB/s, pid_* the pid's, ratio_samples each pair's
 * grant/pid. Once per row, before the samples and not timed, one call
 * through the grant is checked byte for byte (readv: the peer's pattern
 * into a zeroed destination; writev: a pattern of another seed, read back
 * by pid, after which the peer's pattern is written back); a mismatch is a
 * BENCH-ERROR, and the bench exits. process_vm_grant() is probed first
 * (process_vm_grant(NULL, 0, 0): EINVAL if the kernel has it, ENOSYS if
 * not); without it a BENCH-SKIP kind=grant line replaces the rows.
 *
 * Knobs, as environment variables (the kernel hands "key=value" boot
 * parameters it does not know to init, which passes them on):
 *   cma_bench_reps=7      samples per row
 *   cma_bench_min_ms=20   minimum duration of one sample
 *   cma_bench_max_mb=64   skip sizes above this many MiB
 *   cma_bench_reduce=1    0: no reduce rows; loop: the readv+loop way
 *                         alone, even on a kernel without the flag (to try
 *                         the userspace side anywhere)
 *   cma_bench_reduce_chunk_kb=256   the readv+loop's scratch buffer
 *   cma_bench_dump=1      0: no dump rows
 *   cma_bench_dump_max_mb=1024   the dump rows' largest size (default: 1024
 *                         when cma_bench_max_mb is 64, else the same)
 *   cma_bench_dump_dir=/tmp   where the tmpfs sink's file goes
 *   cma_bench_grant=1     0: no grant rows
 *   cma_bench_rows=all    reduce, dump, vmsplice-thp, grant: those rows
 *                         alone (a quick try; make bench BENCH_ROWS=...)
 *   cma_bench_thp_copy_off=3   the vmsplice THP rows' copy kinds: their
 *                         reader's destination, pages past the boundary (0:
 *                         aligned as the move's, to see TCG's aliasing)
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../guest/fdpass.h"
#include "../guest/process_vm_uapi.h"
#ifdef CROSSMEM_FAKE_PROCESS_VMSPLICE
#include "../guest/fake_process_vmsplice.h"
#endif

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC	0x01021994	/* <linux/magic.h> */
#endif

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
				   'r': fill the reduce rows' remote vector,
				   't': the vmsplice THP rows' destination,
				   'g': a grant of the remote buffers, over gsock,
				   'q': quit */
	size_t size;
	long iters;
	int vkind;		/* 'v': one of VK_*; 'r': the redops[] index */
	int verify;		/* 'v': check the data after the last transfer */
	int pages;		/* 'v': P4K, or PTHP for the THP rows' buffers */
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
	 * 1 + the offset of the first wrong 8 bytes; vthp_kb: THP rows, the
	 * AnonHugePages of the reader's destination after a checked
	 * transfer (-1: not known). */
	volatile long vseq, vack, vseed, vrcalls, vbad, vthp_kb;
	volatile double vdone;
	char *volatile vsrc;	/* the writer's source, for VK_READV */
	char pad[4096 - 8 * sizeof(long) - sizeof(double) - sizeof(char *)];
};
_Static_assert(sizeof(struct shm_hdr) == 4096, "shm_hdr is one page");

static struct shm_hdr *shm;
static char *shm_data;
static int to_peer[2], from_peer[2];
static int vpipe[2];		/* the vmsplice rows' data pipe */
static size_t vpipe_sz;		/* its size */
static int gpipe[2];		/* the writer's cost rows' pipe, ours alone */
static size_t gpipe_sz;
static int gsock[2];		/* the grant rows: the peer sends its grant on it */
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

/* 0 if p holds the pattern of seed from its word first on, else 1 + the
 * first wrong offset in p. */
static long check_seed_at(const char *p, size_t len, size_t first, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != pattern(first + i, seed))
			return 1 + (long)i * 8;
	return 0;
}

/* 0 if p holds the pattern of seed, else 1 + the first wrong offset. */
static long check_seed(const char *p, size_t len, uint64_t seed)
{
	return check_seed_at(p, len, 0, seed);
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
#define OFF_RLOC0	11	/* the reduce rows' local vectors and scratch */
#define OFF_RLOC1	13
#define OFF_RSCR	15

/* The vmsplice THP rows' copy kinds: their reader's destination starts this
 * many pages past its 2 MiB boundary (cma_bench_thp_copy_off; the move's
 * starts on it, as a PMD move needs): see the top. */
static long thp_copy_off = OFF_LDST;

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

/* Give back what buffer() returned (NULL: nothing). */
static void unbuffer(char *p, size_t len, int off)
{
	if (p)
		munmap(p - off * 4096UL, len + HPAGE);
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

/* The worse of two thp_state()s. */
static const char *thp_worse(const char *a, const char *b)
{
	static const char *const rank[] = { "unknown", "none", "partial", "ok" };

	for (size_t i = 0; i < sizeof(rank) / sizeof(rank[0]); i++)
		if (!strcmp(a, rank[i]) || !strcmp(b, rank[i]))
			return rank[i];
	return a;
}

/* ---- the reduce rows' operations, data and userspace loops ---- */

/*
 * The userspace side the kernel's reduce is measured against: what an MPI
 * library runs after process_vm_readv() into a scratch buffer, each loop
 * twice. VECTORISE: -O3 for these loops alone (the rest of the bench stays
 * -O2), so that gcc vectorises them: 16-byte SSE2 vectors on x86_64, the
 * baseline qemu64 has, no -march (check with -fopt-info-vec: "loop
 * vectorized" for each). SCALAR: -O2 without the vectoriser. On hardware
 * the vector loop wins; under TCG (QEMU 7.2 runs every SSE instruction as a
 * helper call) the scalar one was faster for all but max-f32. Each row uses
 * the faster of the two in this boot, measured per operation before its
 * rows (loop= on the BENCH line): the baseline is the best userspace gets
 * here, not a straw man. restrict spares the alias checks.
 */
#ifndef VECTORISE
#define VECTORISE __attribute__((optimize("O3")))
#endif
#define SCALAR __attribute__((optimize("O2", "no-tree-vectorize")))

/* One body, compiled twice: vectorised and scalar. */
#define REDUCE_BODY(T, body)							\
{										\
	T *restrict d = dv;							\
	const T *restrict s = sv;						\
										\
	for (size_t i = 0; i < len / sizeof(T); i++) {				\
		body;								\
	}									\
}
#define REDUCE_LOOP(name, T, body)						\
static VECTORISE void vector_##name(void *restrict dv, const void *restrict sv, \
				    size_t len)					\
REDUCE_BODY(T, body)								\
static SCALAR void scalar_##name(void *restrict dv, const void *restrict sv,	\
				 size_t len)					\
REDUCE_BODY(T, body)

REDUCE_LOOP(sum_f64, double, d[i] += s[i])
/* Wrapping, as the kernel's (unsigned arithmetic: no undefined behaviour). */
REDUCE_LOOP(sum_s32, int32_t, d[i] = (int32_t)((uint32_t)d[i] + (uint32_t)s[i]))
/* The kernel's rule, (s > d || (isnan(d) && !isnan(s))) ? s : d, without
 * branches. */
REDUCE_LOOP(max_f32, float,
	    float a = s[i]; float b = d[i];
	    d[i] = ((a > b) | ((b != b) & (a == a))) ? a : b)
REDUCE_LOOP(bxor_u64, uint64_t, d[i] ^= s[i])

typedef void (*loop_fn)(void *restrict d, const void *restrict s, size_t len);

struct redop {
	const char *kind;	/* the rows' kind */
	int op, type, esize;
	loop_fn loop[2];	/* the vector loop, the scalar one */
};

static const struct redop redops[] = {
	{ "reduce-sum-f64", PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_F64, 8,
	  { vector_sum_f64, scalar_sum_f64 } },
	{ "reduce-sum-s32", PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_S32, 4,
	  { vector_sum_s32, scalar_sum_s32 } },
	{ "reduce-max-f32", PROCESS_VM_OP_MAX, PROCESS_VM_TYPE_F32, 4,
	  { vector_max_f32, scalar_max_f32 } },
	{ "reduce-bxor-u64", PROCESS_VM_OP_BXOR, PROCESS_VM_TYPE_U64, 8,
	  { vector_bxor_u64, scalar_bxor_u64 } },
};
static const char *const loop_name[2] = { "vector", "scalar" };
#define NREDOPS (sizeof(redops) / sizeof(redops[0]))

/*
 * The reduce rows' sizes: 4 KiB to 64 MiB, without the 2 and 16 MiB of the
 * other rows: the rows add at most about 40% to a round of make bench
 * (they run on the patched kernel only; 64 MiB, in cache on no machine,
 * costs the most).
 */
static const size_t rsizes[] = {
	4UL << 10, 64UL << 10, 1UL << 20, 64UL << 20,
};
#define NRSIZES (sizeof(rsizes) / sizeof(rsizes[0]))

#define RPERIOD	(64UL << 10)	/* bytes of a vector generated one by one */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Element i of a reduce row's vector (side 0: the peer's, 1: the local
 * one's starting value), stored at element index at of p. Floats are small
 * integers: sums stay exact and far from overflow however many times the
 * samples add them up, and no denormal ever slows one way down. max-f32
 * mixes in the cases the NaN rule decides: NaN on one side, on the other,
 * on both (different payloads: the local one must stay), and -0 against +0
 * both ways round (neither is greater: the local one stays).
 */
static void gen_elem(const struct redop *o, void *p, size_t at, uint64_t i, int side)
{
	uint64_t h = mix(i * 2 + side + ((uint64_t)o->type << 48));
	uint32_t bits;
	float f;

	switch (o->type) {
	case PROCESS_VM_TYPE_F64:
		((double *)p)[at] = (double)((int)(h & 127) - 64);
		break;
	case PROCESS_VM_TYPE_S32:
		((int32_t *)p)[at] = (int32_t)h;
		break;
	case PROCESS_VM_TYPE_U64:
		((uint64_t *)p)[at] = h;
		break;
	case PROCESS_VM_TYPE_F32:
		f = (float)((int)(h & 0xffff) - 32768);
		switch (i % 16) {
		case 3:		/* local NaN: the remote value wins */
		case 7:		/* remote NaN: the local value stays */
		case 11:	/* both NaN: the local one stays */
			if ((i % 16 == 3 && side) || (i % 16 == 7 && !side) || i % 16 == 11) {
				bits = 0x7fc00000u | (side + 1) | (uint32_t)(h & 0x3ff00);
				memcpy(&f, &bits, 4);
			}
			break;
		case 13:
			f = side ? 0.0f : -0.0f;
			break;
		case 14:
			f = side ? -0.0f : 0.0f;
			break;
		}
		((float *)p)[at] = f;
		break;
	}
}

/* The index a filled vector's element e was generated from: see below. */
static uint64_t gen_index(const struct redop *o, size_t e)
{
	size_t per = RPERIOD / o->esize, epp = 4096 / o->esize, pg = e / epp;

	return e % epp == (pg * 13) % epp ? e : e % per;
}

/*
 * len bytes of a reduce row's vector: the first RPERIOD bytes element by
 * element, repeated after that (memcpy: element by element, 64 MiB take
 * seconds under TCG), then one element per page regenerated from its own
 * index, so that no two pages are alike: a kernel that combined the wrong
 * pages would not go unnoticed.
 */
static void fill_reduce(const struct redop *o, char *p, size_t len, int side)
{
	size_t n = len / o->esize, per = RPERIOD / o->esize, epp = 4096 / o->esize;

	for (size_t i = 0; i < n && i < per; i++)
		gen_elem(o, p, i, i, side);
	for (size_t done = RPERIOD; done < len;) {
		size_t c = done < len - done ? done : len - done;

		memcpy(p + done, p, c);
		done += c;
	}
	for (size_t pg = per / epp; pg < len / 4096; pg++) {
		size_t at = pg * epp + (pg * 13) % epp;

		gen_elem(o, p, at, gen_index(o, at), side);
	}
}

/*
 * The grant rows' fd passing: an int (0, or the errno of the peer's
 * process_vm_grant()) and, with 0, the grant's fd.
 */
static void send_grant(int sock, int fd, int err)
{
	if (fdpass_send(sock, fd, &err, sizeof(err)))
		die("sendmsg (the grant)");
}

/* The grant's fd, or -1 with *err the peer's errno. */
static int recv_grant(int sock, int *err)
{
	int fd = fdpass_recv(sock, err, sizeof(*err));

	if (fd < 0 && errno != EBADMSG)
		die("recvmsg (the grant)");
	if (fd < 0 && !*err)
		*err = EBADMSG;
	return fd;
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
 * Where the THP rows' reader writes, in pages past the 2 MiB boundary of its
 * destination: on it for a move (a PMD maps an aligned 2 MiB), past it for
 * the copy kinds (TCG's aliasing: see the top).
 */
static size_t vthp_dst_off(int vk)
{
	return vk == VK_MOVE ? 0 : (size_t)thp_copy_off;
}

/*
 * The reader of the vmsplice rows: c->iters transfers of c->size bytes from
 * the pipe into dst (page aligned, private anonymous, as a move needs; THP
 * rows: on a 2 MiB boundary of a MADV_HUGEPAGE region for a move).
 */
static void peer_vmsplice(const struct cmd *c, char *dst)
{
	for (long i = 1; i <= c->iters; i++) {
		size_t done = 0;
		long calls = 0;

		spin_until(&shm->vseq, i);
		while (done < c->size) {
			/* THP rows: all that is left, or the kernel could not
			 * map a whole THP (it needs 2 MiB of iovec); 4k rows: a
			 * pipe's worth at most, as ever. */
			size_t len = c->pages == PTHP || c->size - done < vpipe_sz ?
				     c->size - done : vpipe_sz;
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
		if (c->verify && i == c->iters) {
			shm->vbad = check_seed(dst, c->size, shm->vseed);
			/* THP rows: did the moved THPs land PMD-mapped (and
			 * did the copy kinds' destination stay THP)? */
			if (c->pages == PTHP)
				shm->vthp_kb = anon_huge_kb(dst);
		}
		__atomic_store_n(&shm->vack, i, __ATOMIC_RELEASE);
	}
}

static void peer(void)
{
	struct peer_info info;
	struct cmd c;
	char *priv, *rvec = NULL, *tdst = NULL;
	size_t tdst_len = 0;

	pin(1);

	close(to_peer[1]);
	close(from_peer[0]);
	close(vpipe[1]);
	close(gsock[0]);
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
		if (c.op == 'r') {
			/* The remote vector of the reduce rows of one operation:
			 * allocated when the first such row comes. */
			if (!rvec)
				rvec = buffer(P4K, MAXSIZE, OFF_REMOTE);
			fill_reduce(&redops[c.vkind], rvec, c.size, 0);
			xwrite(from_peer[1], &rvec, sizeof(rvec));
			continue;
		}
		if (c.op == 'g') {
			/* The grant rows: one grant of both remote buffers,
			 * read and write. Our fd closes; the grant lives on
			 * in the measuring process's (it names our mm). */
			struct iovec g[NPAGES];
			int fd, e = 0;

			for (int k = 0; k < NPAGES; k++) {
				g[k].iov_base = info.rbuf[k];
				g[k].iov_len = MAXSIZE;
			}
			fd = sys_process_vm_grant(g, NPAGES, PROCESS_VM_GRANT_READ |
						  PROCESS_VM_GRANT_WRITE |
						  PROCESS_VM_GRANT_CLOEXEC);
			if (fd < 0)
				e = errno;
			send_grant(gsock[1], fd, e);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (c.op == 't') {
			/* The vmsplice THP rows' destination, for the rows of
			 * one size (c.size 0: give it back): on a 2 MiB
			 * boundary, MADV_HUGEPAGE, and pre-faulted, all of it
			 * (the copy kinds write past the boundary): the copies
			 * do not fault, and a move replaces a THP of ours, as
			 * in a buffer that is reused. */
			unbuffer(tdst, tdst_len, 0);
			tdst = NULL;
			tdst_len = c.size;
			if (c.size) {
				tdst = buffer(PTHP, c.size, 0);
				memset(tdst, 1, c.size + HPAGE);
			}
			xwrite(from_peer[1], "k", 1);
			continue;
		}
		if (c.op == 's') {
			for (long i = 1; i <= c.iters; i++) {
				spin_until(&shm->seq, i);
				memcpy(priv, shm_data, c.size);
				__atomic_store_n(&shm->ack, i, __ATOMIC_RELEASE);
			}
		}
		/* priv, the double copy's destination, is the reader's too:
		 * the vmsplice rows run last, after the shm rows. The THP
		 * rows' reader has tdst. */
		if (c.op == 'v')
			peer_vmsplice(&c, c.pages == PTHP ?
				      tdst + vthp_dst_off(c.vkind) * 4096UL : priv);
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
/* The THP rows: the writer's source, for the rows of one size (see main());
 * the least AnonHugePages (kB) of it after its fill and of the reader's
 * destination, in the checked transfers of the current row (KB_UNSET: none
 * yet). */
static char *vthp_src;
#define KB_UNSET	(-2L)
static long vthp_src_kb = KB_UNSET, vthp_dst_kb = KB_UNSET;

static long kb_least(long seen, long kb)
{
	return seen == KB_UNSET || kb < seen ? kb : seen;
}

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
	struct cmd c = { 'v', r->size, iters, vk, verify_run, r->pages };
	char *src = r->pages == PTHP ? vthp_src : lsrc[P4K];
	double t = 0, tf = 0;
	long wcalls = 0;
	char k;

	shm->vseq = 0;
	shm->vack = 0;
	shm->vrcalls = 0;
	shm->vbad = 0;
	shm->vthp_kb = -1;
	xwrite(to_peer[1], &c, sizeof(c));
	for (long i = 1; i <= iters; i++) {
		size_t done = 0;
		double f0 = now(), f1, t0;

		/* After a gift this faults in fresh pages (THP rows: fresh
		 * THPs): see the top. */
		fill_seed(src, r->size, ++vseed);
		f1 = now();
		/* THP rows: did the fill get THPs? Counted neither in the
		 * transfer's time nor in the fill's. */
		if (r->pages == PTHP && verify_run && i == iters)
			vthp_src_kb = kb_least(vthp_src_kb, anon_huge_kb(src));
		shm->vseed = vseed;
		shm->vsrc = src;
		t0 = now();
		tf += f1 - f0;
		__atomic_store_n(&shm->vseq, i, __ATOMIC_RELEASE);
		/* VK_READV: the reader does it all. */
		while (vk != VK_READV && done < r->size) {
			/* THP rows: all that is left (a gift gives a THP whole
			 * only when the iovec covers it; the call stops when
			 * the pipe's slots are full); 4k rows: a pipe's worth. */
			size_t len = r->pages == PTHP || r->size - done < vpipe_sz ?
				     r->size - done : vpipe_sz;
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
	if (r->pages == PTHP && verify_run)
		vthp_dst_kb = kb_least(vthp_dst_kb, shm->vthp_kb);
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

/* The /proc/vmstat counters of the vmsplice rows; -1: absent.
 * vmsplice_move_thp counts THPs (folios) moved whole, which
 * vmsplice_move also counts, in pages. */
enum { VS_MOVE, VS_FALLBACK, VS_MOVE_THP, VS_TLB_REMOTE, VS_TLB_ALL, VS_TLB_ONE, NVS };
static const char *const vs_name[NVS] = {
	"vmsplice_move", "vmsplice_move_fallback", "vmsplice_move_thp",
	"nr_tlb_remote_flush", "nr_tlb_local_flush_all", "nr_tlb_local_flush_one",
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
		"moved", "fallback", "thp_moved", "tlb_remote", "tlb_all", "tlb_one",
	};
	int thp = r->pages == PTHP;
	long calls = wcalls + rcalls;
	long long xfer = (long long)(r->size / 4096) * transfers;
	size_t n;

	n = snprintf(buf, len, " pipe=%zu transfers=%ld calls=%ld wcalls=%ld rcalls=%ld "
		     "xfer=%.3f xfer_total=%lld", vpipe_sz, transfers, calls, wcalls,
		     rcalls, (double)xfer / calls, xfer);
	for (int i = 0; i < NVS && n < len; i++) {
		/* thp_moved on the THP rows alone: the 4k rows' lines stay
		 * as they were, comparable with older runs'. */
		if (i == VS_MOVE_THP && !thp)
			continue;
		if (v0[i] < 0 || v1[i] < 0)
			n += snprintf(buf + n, len - n, " %s=n/a", field[i]);
		else
			n += snprintf(buf + n, len - n, " %s=%.3f", field[i],
				      (double)(v1[i] - v0[i]) / calls);
	}
	for (int i = VS_MOVE; i <= VS_MOVE_THP && n < len; i++) {
		if (i == VS_MOVE_THP && !thp)
			continue;
		if (v0[i] < 0 || v1[i] < 0)
			n += snprintf(buf + n, len - n, " %s_total=n/a", field[i]);
		else
			n += snprintf(buf + n, len - n, " %s_total=%lld", field[i],
				      v1[i] - v0[i]);
	}
	if (thp && n < len)
		n += snprintf(buf + n, len - n, " thp_src_kb=%ld thp_dst_kb=%ld dst_off=%zu",
			      vthp_src_kb, vthp_dst_kb, vthp_dst_off(vkind_of(r->kind)));
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
		struct cmd c = { 's', r->size, iters, 0, 0, P4K };
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
	char samples[MAXREPS * 16] = "", extra[768] = "";
	long iters = 1, wcalls = 0, rcalls = 0;
	long long v0[NVS], v1[NVS];
	int vk = vkind_of(r->kind);
	const char *thp = r->thp;

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
	vthp_src_kb = vthp_dst_kb = KB_UNSET;
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
		/* THP rows: the worse of the two sides, in the checked
		 * transfers (the first warm-up and the last). */
		if (r->pages == PTHP)
			thp = thp_worse(thp_state(vthp_src_kb, r->size),
					thp_state(vthp_dst_kb, r->size + HPAGE));
	}
	qsort(sorted, reps, sizeof(double), cmp_double);
	printf("BENCH kind=%s pages=%s iov=%d size=%zu reps=%d iters=%ld "
	       "min=%.1f med=%.1f max=%.1f unit=MB/s thp=%s samples=%s%s\n",
	       r->kind, pages_name[r->pages], r->niov, r->size, reps, iters,
	       sorted[0], reps % 2 ? sorted[reps / 2] :
	       (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2,
	       sorted[reps - 1], thp, samples, extra);
	fflush(stdout);
	/* writev overwrote the peer's buffer with the same pattern: no refill. */
}

/* ---- the reduce rows ---- */

static int reduce_mode = 1;	/* cma_bench_reduce: 0 off, 1 on, 2 loop alone */
/* cma_bench_rows: every row, the reduce rows alone, the dump rows alone, the
 * vmsplice THP rows alone, the grant rows alone */
enum { ROWS_ALL, ROWS_REDUCE, ROWS_DUMP, ROWS_VTHP, ROWS_GRANT };
static int rows;
static size_t rchunk = 256UL << 10;
static char *rloc[2];		/* the local vectors: the reduce's, the loop's */
static char *rscr;		/* the loop's scratch buffer, rchunk bytes */
static char *rrem;		/* the peer's vector */
static long rcalls;		/* process_vm_readv() calls of the last run */
static int rloop;		/* the loop of the readv+loop way: 0 vector, 1 scalar */
static double rloop_bw[2];	/* what each did in pick_loop() */

/*
 * 0 if this kernel reduces with op and type; else the errno of the probe:
 * EINVAL on a kernel without PROCESS_VM_REDUCE (or without this operation).
 * The NULL iovecs fault only once the flags have been accepted.
 */
static int reduce_probe(int op, int type)
{
	errno = 0;
	if (process_vm_readv(getpid(), NULL, 1, NULL, 1, PROCESS_VM_REDUCE_FLAGS(op, type)) >= 0)
		return -1;
	return errno == EFAULT ? 0 : errno;
}

/* One reduce of size bytes into loc, the way the row's kind says: whole
 * calls until done (a reduce may stop short, as a copy may). */
static void reduce_once(const struct redop *o, char *loc, size_t size)
{
	unsigned long flags = PROCESS_VM_REDUCE_FLAGS(o->op, o->type);
	size_t done = 0;

	while (done < size) {
		struct iovec l = { loc + done, size - done }, r = { rrem + done, size - done };
		ssize_t n = process_vm_readv(peer_pid, &l, 1, &r, 1, flags);

		if (n <= 0 || n % o->esize) {
			fprintf(stderr, "cma_bench: %s of %zu bytes at %zu returned %zd\n",
				o->kind, size - done, done, n);
			if (n >= 0)
				errno = EIO;
			die("process_vm_readv(PROCESS_VM_REDUCE)");
		}
		done += n;
		rcalls++;
	}
}

/* The same without the flag: readv into the scratch buffer, rchunk bytes at
 * a time, and the userspace loop over each chunk. */
static void loop_once(const struct redop *o, char *loc, size_t size)
{
	for (size_t off = 0; off < size;) {
		size_t len = size - off < rchunk ? size - off : rchunk, got = 0;

		while (got < len) {
			struct iovec l = { rscr + got, len - got }, r = { rrem + off + got, len - got };
			ssize_t n = process_vm_readv(peer_pid, &l, 1, &r, 1, 0);

			if (n <= 0) {
				if (n == 0)
					errno = EIO;
				die("process_vm_readv (reduce rows' readv+loop)");
			}
			got += n;
			rcalls++;
		}
		o->loop[rloop](loc + off, rscr, len);
		off += len;
	}
}

/* iters operations of one way (0: reduce, 1: readv+loop); returns seconds. */
static double run_reduce(const struct redop *o, int way, size_t size, long iters)
{
	double t0 = now();

	rcalls = 0;
	for (long i = 0; i < iters; i++) {
		if (way)
			loop_once(o, rloc[1], size);
		else
			reduce_once(o, rloc[0], size);
		asm volatile("" : : "r"(rloc[way]) : "memory");
	}
	return now() - t0;
}

/* Iterations of one way for a sample of at least min_sample, given the
 * seconds t of one (warm-up) operation, as measure() does. */
static long reduce_iters(const struct redop *o, int way, size_t size, double t)
{
	long iters = 1;

	if (t < min_sample)
		t = run_reduce(o, way, size, 1);
	if (t < min_sample) {
		iters = t > 0 ? (long)(min_sample / t) + 1 : 1000000;
		if (iters > 1000000)
			iters = 1000000;
		t = run_reduce(o, way, size, iters);
		if (t < min_sample)
			iters = (long)(iters * (min_sample / (t > 0 ? t : 1e-9)) * 1.1) + 1;
	}
	return iters;
}

/*
 * The faster of the two loops for the readv+loop way of an operation's
 * rows: readv+loop of 1 MiB (or less, with a smaller cma_bench_max_mb),
 * best of 3 each, alternating. Not a row's sample.
 */
static void pick_loop(const struct redop *o)
{
	size_t size = max_size < (1UL << 20) ? max_size : 1UL << 20;

	fill_reduce(o, rloc[1], size, 1);
	rloop_bw[0] = rloop_bw[1] = 0;
	for (int i = 0; i < 6; i++) {
		double t, bw;

		rloop = (i & 1) ^ (i >> 1 & 1);
		t = run_reduce(o, 1, size, 1);
		bw = t > 0 ? size / t / 1e6 : 0;
		if (bw > rloop_bw[rloop])
			rloop_bw[rloop] = bw;
	}
	rloop = rloop_bw[1] > rloop_bw[0];
}

static void elem_hex(char *buf, size_t len, const struct redop *o, const void *p, size_t e)
{
	uint64_t v = 0;

	memcpy(&v, (const char *)p + e * o->esize, o->esize);
	snprintf(buf, len, "0x%0*llx", o->esize * 2, (unsigned long long)v);
}

/* The check: both ways from the same local vector, identical bytes after. */
static void reduce_check(const struct redop *o, size_t size, double t[2])
{
	char a[24], b[24], init[24], rem[24];
	uint64_t tmp[1];
	size_t e;

	fill_reduce(o, rloc[0], size, 1);
	memcpy(rloc[1], rloc[0], size);
	t[0] = reduce_mode == 1 ? run_reduce(o, 0, size, 1) : 0;
	t[1] = run_reduce(o, 1, size, 1);
	if (reduce_mode != 1 || !memcmp(rloc[0], rloc[1], size))
		return;
	for (e = 0; e < size / o->esize; e++)
		if (memcmp(rloc[0] + e * o->esize, rloc[1] + e * o->esize, o->esize))
			break;
	elem_hex(a, sizeof(a), o, rloc[0], e);
	elem_hex(b, sizeof(b), o, rloc[1], e);
	gen_elem(o, tmp, 0, gen_index(o, e), 1);
	elem_hex(init, sizeof(init), o, tmp, 0);
	gen_elem(o, tmp, 0, gen_index(o, e), 0);
	elem_hex(rem, sizeof(rem), o, tmp, 0);
	printf("BENCH-ERROR %s data mismatch at size %zu, element %zu (byte %zu): "
	       "reduce %s, readv+loop %s (local was %s, remote %s)\n",
	       o->kind, size, e, e * o->esize, a, b, init, rem);
	fflush(stdout);
	exit(1);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The "min med max" fields of one series of samples. */
static void series(char *buf, size_t len, const char *prefix, const double *v, int n,
		   int prec)
{
	double sorted[MAXREPS], med;

	memcpy(sorted, v, n * sizeof(double));
	med = median(sorted, n);
	snprintf(buf, len, "%smin=%.*f %smed=%.*f %smax=%.*f", prefix, prec, sorted[0],
		 prefix, prec, med, prefix, prec, sorted[n - 1]);
}

static void measure_reduce(const struct redop *o, size_t size)
{
	double bw[2][MAXREPS], ratio[MAXREPS], t[2];
	char s[3][MAXREPS * 16], st[3][160];
	long iters[2], calls[2] = { 0, 0 };
	int ways = reduce_mode == 1 ? 2 : 1;

	reduce_check(o, size, t);
	for (int w = 2 - ways; w < 2; w++)
		iters[w] = reduce_iters(o, w, size, t[w]);
	if (ways == 1)
		iters[0] = 0;
	for (int i = 0; i < reps; i++) {
		for (int j = 0; j < 2; j++) {
			/* The order alternates from pair to pair. */
			int w = (i & 1) ^ j;

			if (w == 0 && ways == 1)
				continue;
			t[w] = run_reduce(o, w, size, iters[w]);
			calls[w] += rcalls;
			bw[w][i] = (double)size * iters[w] / t[w] / 1e6;
		}
		ratio[i] = ways == 2 ? bw[0][i] / bw[1][i] : 0;
	}
	for (int k = 0; k < 3; k++) {
		s[k][0] = '\0';
		for (int i = 0; i < reps; i++) {
			double x = k == 2 ? ratio[i] : bw[k][i];

			snprintf(s[k] + strlen(s[k]), sizeof(s[k]) - strlen(s[k]),
				 k == 2 ? "%s%.4f" : "%s%.1f", i ? "," : "", x);
		}
	}
	series(st[0], sizeof(st[0]), "", bw[0], reps, 1);
	series(st[1], sizeof(st[1]), "loop_", bw[1], reps, 1);
	series(st[2], sizeof(st[2]), "ratio_", ratio, reps, 4);
	if (ways == 1) {
		strcpy(st[0], "min=n/a med=n/a max=n/a");
		strcpy(st[2], "ratio_min=n/a ratio_med=n/a ratio_max=n/a");
		strcpy(s[0], "n/a");
		strcpy(s[2], "n/a");
	}
	printf("BENCH kind=%s pages=4k iov=1 size=%zu reps=%d iters=%ld loop_iters=%ld "
	       "%s unit=MB/s thp=- samples=%s %s loop_samples=%s %s ratio_samples=%s "
	       "chunk=%zu loop=%s loop_vector=%.1f loop_scalar=%.1f calls=%.2f "
	       "loop_calls=%.2f bytes=3 loop_bytes=5 check=%s\n",
	       o->kind, size, reps, iters[0], iters[1], st[0], s[0], st[1], s[1],
	       st[2], s[2], rchunk, loop_name[rloop], rloop_bw[0], rloop_bw[1],
	       iters[0] ? (double)calls[0] / (iters[0] * reps) : 0.0,
	       (double)calls[1] / (iters[1] * reps), ways == 2 ? "ok" : "n/a");
	fflush(stdout);
}

/* Every reduce row: the operations the kernel has, each size in turn. */
static void reduce_rows(void)
{
	int e = reduce_probe(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_U8);

	if (!reduce_mode) {
		printf("BENCH-SKIP kind=reduce reason=\"cma_bench_reduce=0\"\n");
		return;
	}
	if (e && reduce_mode == 1) {
		printf("BENCH-SKIP kind=reduce probe=%s reason=\"this kernel has no "
		       "PROCESS_VM_REDUCE (process_vm_readv(getpid(), NULL, 1, NULL, 1, "
		       "PROCESS_VM_REDUCE_FLAGS(SUM, U8)) failed with %s, not EFAULT)\"\n",
		       e > 0 ? strerrorname_np(e) : "success", e > 0 ? strerrorname_np(e) : "success");
		return;
	}
	if (max_size < rsizes[0])
		return;
	printf("BENCH-REDUCE probe=%s mode=%s chunk=%zu\n",
	       e > 0 ? strerrorname_np(e) : e ? "success" : "EFAULT",
	       reduce_mode == 1 ? "reduce+loop" : "loop-only", rchunk);
	rloc[0] = buffer(P4K, MAXSIZE, OFF_RLOC0);
	rloc[1] = buffer(P4K, MAXSIZE, OFF_RLOC1);
	rscr = buffer(P4K, rchunk, OFF_RSCR);
	memset(rscr, 0, rchunk);
	for (size_t k = 0; k < NREDOPS; k++) {
		const struct redop *o = &redops[k];
		struct cmd c = { 'r', max_size, 0, (int)k, 0, P4K };

		if (reduce_mode == 1 && (e = reduce_probe(o->op, o->type))) {
			printf("BENCH-SKIP kind=%s probe=%s reason=\"this kernel does not "
			       "reduce this operation and type\"\n", o->kind,
			       e > 0 ? strerrorname_np(e) : "success");
			continue;
		}
		xwrite(to_peer[1], &c, sizeof(c));
		xread(from_peer[0], &rrem, sizeof(rrem));
		pick_loop(o);
		for (size_t s = 0; s < NRSIZES; s++)
			if (rsizes[s] <= max_size)
				measure_reduce(o, rsizes[s]);
	}
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

/* ---- the dump rows ---- */

/*
 * The dump rows' sizes: the other rows' ladder, then on to 1 GiB as far as
 * the guest's memory lets it go (see dump_cap()).
 */
static const size_t dsizes[] = {
	4UL << 10, 64UL << 10, 1UL << 20, 2UL << 20, 16UL << 20, 64UL << 20,
	256UL << 20, 512UL << 20, 1UL << 30,
};
#define NDSIZES (sizeof(dsizes) / sizeof(dsizes[0]))
#define DSEED	0xd0d0		/* the pattern of the dumped child's memory */
#define DSLACK	(96UL << 20)	/* memory kept free beside the child and the sink */

/* The ways, in the order of the fields' prefixes on the BENCH line. */
enum { DM_VMSPLICE, DM_READV, DM_MEM, NDM };
static const char *const dm_prefix[NDM] = { "", "readv_", "mem_" };
static const char *const dm_what[NDM] = {
	"process_vmsplice", "process_vm_readv", "pread of /proc/PID/mem",
};
enum { DS_TMPFS, DS_NULL, NDS };
static const char *const ds_name[NDS] = { "tmpfs", "null" };
/*
 * Bytes copied per byte dumped. process_vmsplice() puts references to the
 * child's pages into the pipe; splice() copies them into a file's page
 * cache and passes them on into another pipe. process_vm_readv() and
 * pread() copy into our buffer, write() copies that into the page cache or
 * into the pipe's pages (a pipe takes no references from write()).
 * Draining the null sink's pipe into /dev/null copies nothing.
 */
static const int dm_copies[NDM][NDS] = { { 1, 0 }, { 2, 2 }, { 2, 2 } };

static int dump_mode = 1;	/* cma_bench_dump: 0 off */
static size_t dump_max;		/* cma_bench_dump_max_mb */
static const char *dump_dir;	/* cma_bench_dump_dir: the tmpfs sink's */
static int dvms;		/* this kernel has process_vmsplice() */
static pid_t dpid;		/* the dumped child, stopped */
static int dpidfd = -1, dmem = -1, dfile = -1;
static char *dsrc;		/* the child's memory, at this address in it */
static char *dbuf, *dchk;	/* our buffer for readv and pread; the check's */
static size_t dchunk;		/* bytes per call: the pipes' size */
static int dpipe[2];		/* process_vmsplice()'s pipe */
static int dsink[2];		/* the null sink: a pipe, drained into /dev/null */
static long dcalls;		/* system calls of the last run_dump() */
static int dverify;		/* check the bytes of the next dump */
static size_t dseen;		/* ... of which this many came through */
static long dbad;		/* 0, or 1 + the offset of the first wrong 8 bytes */

/* Check n bytes that came through as the dump's bytes at dseen. */
static void dump_check(const char *p, size_t n)
{
	long bad = check_seed_at(p, n, dseen / 8, DSEED);

	if (bad && !dbad)
		dbad = bad + dseen;
	dseen += n;
}

/* n bytes out of the null sink's pipe: into /dev/null, or checked. */
static void dump_drain(size_t n)
{
	ssize_t k;

	while (n) {
		if (dverify)
			k = read(dsink[0], dchk, n < dchunk ? n : dchunk);
		else
			k = splice(dsink[0], NULL, devnull, NULL, n, 0);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (!k)
				errno = EIO;
			die("draining the null sink");
		}
		if (dverify)
			dump_check(dchk, k);
		dcalls++;
		n -= k;
	}
}

/* n bytes of process_vmsplice()'s pipe into the sink. */
static void dump_splice(int sink, size_t n)
{
	int to = sink == DS_TMPFS ? dfile : dsink[1];
	ssize_t k;

	while (n) {
		k = splice(dpipe[0], NULL, to, NULL, n, SPLICE_F_MOVE);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (!k)
				errno = EIO;
			die("splice into the sink");
		}
		dcalls++;
		if (sink == DS_NULL)
			dump_drain(k);
		n -= k;
	}
}

/* n bytes of our buffer into the sink. */
static void dump_write(int sink, const char *buf, size_t n)
{
	int to = sink == DS_TMPFS ? dfile : dsink[1];
	ssize_t k;

	while (n) {
		k = write(to, buf, n);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (!k)
				errno = EIO;
			die("write into the sink");
		}
		dcalls++;
		if (sink == DS_NULL)
			dump_drain(k);
		buf += k;
		n -= k;
	}
}

/*
 * One dump of the child's first size bytes into the sink, a pipe's worth
 * (dchunk) a call: process_vmsplice() fills the pipe as far as it goes,
 * process_vm_readv() and pread() fill our buffer of the same size.
 */
static void dump_once(int way, int sink, size_t size)
{
	size_t done = 0, len;
	ssize_t n;

	while (done < size) {
		struct iovec l = { dbuf, 0 }, r = { dsrc + done, size - done };

		len = size - done < dchunk ? size - done : dchunk;
		if (way == DM_VMSPLICE) {
			n = sys_process_vmsplice(dpidfd, dpipe[1], &r, 1, 0);
		} else if (way == DM_READV) {
			l.iov_len = r.iov_len = len;
			n = process_vm_readv(dpid, &l, 1, &r, 1, 0);
		} else {
			n = pread(dmem, dbuf, len, (off_t)(uintptr_t)(dsrc + done));
		}
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (!n)
				errno = EIO;
			fprintf(stderr, "cma_bench: dump of %zu bytes at %zu\n", size, done);
			die(dm_what[way]);
		}
		dcalls++;
		if (way == DM_VMSPLICE)
			dump_splice(sink, n);
		else
			dump_write(sink, dbuf, n);
		done += n;
	}
}

/* The file sink's bytes, after a dump that is checked. */
static void dump_check_file(size_t size)
{
	size_t off;
	ssize_t n;

	for (off = 0; off < size; off += n) {
		n = pread(dfile, dchk, size - off < dchunk ? size - off : dchunk, off);
		if (n <= 0) {
			if (!n)
				errno = EIO;
			die("reading the dump back");
		}
		dump_check(dchk, n);
	}
}

/*
 * iters dumps of one way into one sink; returns the seconds spent in them.
 * The file sink is truncated after each dump, outside the timed region: the
 * next dump allocates its page cache afresh, as a new image would. With
 * dverify set, the first dump's bytes are checked (not timed either).
 */
static double run_dump(int way, int sink, size_t size, long iters)
{
	double t = 0, t0;

	dcalls = 0;
	for (long i = 0; i < iters; i++) {
		dseen = 0;
		t0 = now();
		dump_once(way, sink, size);
		t += now() - t0;
		if (sink == DS_TMPFS) {
			if (dverify)
				dump_check_file(size);
			if (ftruncate(dfile, 0) || lseek(dfile, 0, SEEK_SET))
				die("truncating the dump");
		}
		if (dverify && (dbad || dseen != size)) {
			printf("BENCH-ERROR dump-%s %s: the dump of %zu bytes %s at offset %ld\n",
			       ds_name[sink], dm_what[way], size,
			       dbad ? "holds wrong bytes" : "came through short",
			       dbad ? dbad - 1 : (long)dseen);
			fflush(stdout);
			exit(1);
		}
		dverify = 0;
	}
	return t;
}

/* Dumps per sample for at least min_sample, as measure() sizes them; the
 * first warm-up dump is checked. */
static long dump_iters(int way, int sink, size_t size)
{
	long iters = 1;
	double t;

	dverify = 1;
	dbad = 0;
	t = run_dump(way, sink, size, 1);
	if (t < min_sample)
		t = run_dump(way, sink, size, 1);
	if (t < min_sample) {
		iters = t > 0 ? (long)(min_sample / t) + 1 : 1000000;
		if (iters > 1000000)
			iters = 1000000;
		t = run_dump(way, sink, size, iters);
		if (t < min_sample)
			iters = (long)(iters * (min_sample / (t > 0 ? t : 1e-9)) * 1.1) + 1;
	}
	return iters;
}

static void join(char *buf, size_t len, const double *v, int n, const char *fmt)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		snprintf(buf + strlen(buf), len - strlen(buf), i ? "," : "");
		snprintf(buf + strlen(buf), len - strlen(buf), fmt, v[i]);
	}
}

/*
 * One row: the three ways into one sink, size bytes. The samples go round
 * the ways, the order turning from round to round, so that drift in the
 * guest reaches all three alike; ratio_samples (vmsplice/readv) and
 * mem_ratio_samples (/proc/PID/mem / readv) are each round's ratios.
 */
static void measure_dump(int sink, size_t size)
{
	double bw[NDM][MAXREPS], ratio[2][MAXREPS];
	char s[NDM + 2][MAXREPS * 16], st[NDM + 2][160], calls[NDM][24];
	long iters[NDM] = { 0 }, ncalls[NDM] = { 0 };
	int first = dvms ? DM_VMSPLICE : DM_READV;

	for (int w = first; w < NDM; w++)
		iters[w] = dump_iters(w, sink, size);
	for (int i = 0; i < reps; i++) {
		for (int j = 0; j < NDM; j++) {
			int w = (i + j) % NDM;
			double t;

			if (w < first)
				continue;
			t = run_dump(w, sink, size, iters[w]);
			ncalls[w] += dcalls;
			bw[w][i] = (double)size * iters[w] / t / 1e6;
		}
		ratio[0][i] = dvms ? bw[DM_VMSPLICE][i] / bw[DM_READV][i] : 0;
		ratio[1][i] = bw[DM_MEM][i] / bw[DM_READV][i];
	}
	for (int w = 0; w < NDM; w++) {
		if (w < first) {
			snprintf(st[w], sizeof(st[w]), "%smin=n/a %smed=n/a %smax=n/a",
				 dm_prefix[w], dm_prefix[w], dm_prefix[w]);
			strcpy(s[w], "n/a");
			strcpy(calls[w], "n/a");
			continue;
		}
		series(st[w], sizeof(st[w]), dm_prefix[w], bw[w], reps, 1);
		join(s[w], sizeof(s[w]), bw[w], reps, "%.1f");
		snprintf(calls[w], sizeof(calls[w]), "%.2f",
			 (double)ncalls[w] / (iters[w] * reps));
	}
	for (int k = 0; k < 2; k++) {
		const char *prefix = k ? "mem_ratio_" : "ratio_";

		if (!k && !dvms) {
			snprintf(st[NDM], sizeof(st[NDM]), "%smin=n/a %smed=n/a %smax=n/a",
				 prefix, prefix, prefix);
			strcpy(s[NDM], "n/a");
			continue;
		}
		series(st[NDM + k], sizeof(st[0]), prefix, ratio[k], reps, 4);
		join(s[NDM + k], sizeof(s[0]), ratio[k], reps, "%.4f");
	}
	printf("BENCH kind=dump-%s size=%zu reps=%d iters=%ld readv_iters=%ld mem_iters=%ld "
	       "%s unit=MB/s samples=%s %s readv_samples=%s %s mem_samples=%s "
	       "%s ratio_samples=%s %s mem_ratio_samples=%s chunk=%zu copies=%d "
	       "readv_copies=%d mem_copies=%d calls=%s readv_calls=%s mem_calls=%s check=ok\n",
	       ds_name[sink], size, reps, iters[DM_VMSPLICE], iters[DM_READV], iters[DM_MEM],
	       st[DM_VMSPLICE], s[DM_VMSPLICE], st[DM_READV], s[DM_READV], st[DM_MEM],
	       s[DM_MEM], st[NDM], s[NDM], st[NDM + 1], s[NDM + 1], dchunk,
	       dm_copies[DM_VMSPLICE][sink], dm_copies[DM_READV][sink],
	       dm_copies[DM_MEM][sink], calls[DM_VMSPLICE], calls[DM_READV], calls[DM_MEM]);
	fflush(stdout);
}

/* A "Key: N kB" line of /proc/meminfo, in bytes; 0 if absent. */
static size_t meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	size_t kb = 0, n = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			kb = strtoull(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return kb << 10;
}

/*
 * The largest size the dump rows reach: the dumped child holds size bytes
 * and the tmpfs sink as much again, both in the guest's memory, and the
 * sink must fit its file system (tmpfs: half the memory by default).
 */
static size_t dump_cap(size_t avail, size_t sink_free, const char **limit)
{
	size_t cap = 0;

	*limit = "none";
	for (size_t k = 0; k < NDSIZES; k++) {
		if (dsizes[k] > dump_max) {
			*limit = "cma_bench_dump_max_mb";
			break;
		}
		if (2 * dsizes[k] + DSLACK > avail) {
			*limit = "memory";
			break;
		}
		if (dsizes[k] + (1UL << 20) > sink_free) {
			*limit = "sink";
			break;
		}
		cap = dsizes[k];
	}
	return cap;
}

/*
 * Every dump row: a child fills its memory and stops; we dump it, the three
 * ways into each sink, every size in turn. Without process_vmsplice() (ENOSYS:
 * a kernel without the call) the other two ways still run.
 */
static void dump_rows(void)
{
	int e = process_vmsplice_probe(), ctl[2], status;
	size_t avail = meminfo("MemAvailable"), sink_free = 0, cap;
	const char *limit, *fs = "?";
	char path[64], fsbuf[24];
	struct statfs sfs;

	if (!dump_mode) {
		printf("BENCH-SKIP kind=dump reason=\"cma_bench_dump=0\"\n");
		return;
	}
	dvms = e != ENOSYS;
	if (!dvms)
		printf("BENCH-SKIP kind=dump-vmsplice probe=ENOSYS reason=\"this kernel has no "
		       "process_vmsplice() (process_vmsplice(-1, -1, NULL, 0, 0) failed with "
		       "ENOSYS); the readv and /proc/PID/mem ways run\"\n");
	if (!statfs(dump_dir, &sfs)) {
		sink_free = (size_t)sfs.f_bavail * sfs.f_bsize;
		snprintf(fsbuf, sizeof(fsbuf), "0x%lx", (unsigned long)sfs.f_type);
		fs = sfs.f_type == TMPFS_MAGIC ? "tmpfs" : fsbuf;
	}
	cap = dump_cap(avail, sink_free, &limit);
	printf("BENCH-DUMP probe=%s dir=%s sinkfs=%s mem_avail_mb=%zu sink_free_mb=%zu "
	       "max_mb=%zu limit=%s\n", e > 0 ? strerrorname_np(e) : e ? "success" : "none",
	       dump_dir, fs, avail >> 20, sink_free >> 20, cap >> 20, limit);
	if (!cap)
		return;

	if (pipe(dpipe) || pipe(dsink) || pipe(ctl))
		die("pipe");
	dchunk = pipe_setup(dpipe[1]);
	if (pipe_setup(dsink[1]) < dchunk)
		dchunk = fcntl(dsink[1], F_GETPIPE_SZ);
	dbuf = buffer(P4K, dchunk, OFF_LSRC);
	dchk = buffer(P4K, dchunk, OFF_LDST);
	memset(dbuf, 0, dchunk);
	memset(dchk, 0, dchunk);
	fflush(stdout);
	dpid = fork();
	if (dpid < 0)
		die("fork");
	if (dpid == 0) {
		char *p;

		/* Stopped, it would outlive a bench that dies: go with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		p = buffer(P4K, cap, OFF_REMOTE);
		fill_seed(p, cap, DSEED);
		if (write(ctl[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		/* Dumped while stopped, as a checkpoint tool stops it. */
		raise(SIGSTOP);
		for (;;)
			pause();
	}
	close(ctl[1]);
	xread(ctl[0], &dsrc, sizeof(dsrc));
	close(ctl[0]);
	if (waitpid(dpid, &status, WUNTRACED) != dpid || !WIFSTOPPED(status))
		die("the dumped child did not stop");
	if (dvms && (dpidfd = sys_pidfd_open(dpid, 0)) < 0)
		die("pidfd_open");
	snprintf(path, sizeof(path), "/proc/%d/mem", dpid);
	dmem = open(path, O_RDONLY);
	if (dmem < 0)
		die(path);
	printf("BENCH-DUMP child=%d size_mb=%zu chunk=%zu ways=%s\n", dpid, cap >> 20, dchunk,
	       dvms ? "vmsplice,readv,mem" : "readv,mem");

	for (int sink = 0; sink < NDS; sink++) {
		char file[512];

		snprintf(file, sizeof(file), "%s/cma_bench_dump.%d", dump_dir, getpid());
		/* Unlinked at once: it goes with us, however we end. */
		if (sink == DS_TMPFS) {
			dfile = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (dfile < 0 || unlink(file))
				die(file);
		}
		for (size_t k = 0; k < NDSIZES && dsizes[k] <= cap; k++)
			measure_dump(sink, dsizes[k]);
		if (sink == DS_TMPFS) {
			close(dfile);
			dfile = -1;
		}
	}
	kill(dpid, SIGKILL);
	waitpid(dpid, NULL, 0);
	if (dpidfd >= 0)
		close(dpidfd);
	close(dmem);
	close(dpipe[0]);
	close(dpipe[1]);
	close(dsink[0]);
	close(dsink[1]);
}

/* ---- the grant rows ---- */

static int grant_mode = 1;	/* cma_bench_grant: 0 off */
static int grant_fd = -1;	/* the peer's grant of its remote buffers */

/* The two ways of a grant row, in the order of their fields' prefixes. */
enum { GW_GRANT, GW_PID, NGW };
static const char *const gw_prefix[NGW] = { "", "pid_" };

/* iters calls of one way of a grant row, on liov and riov; returns seconds. */
static double run_grant(const struct row *r, int way, long iters)
{
	int wr = !strcmp(r->kind, "grant-writev");
	int target = way == GW_GRANT ? grant_fd : peer_pid;
	unsigned long flags = way == GW_GRANT ? PROCESS_VM_GRANTFD : 0;
	double t0 = now(), t;
	ssize_t n = 0;

	for (long i = 0; i < iters; i++) {
		n = wr ? process_vm_writev(target, liov, r->niov, riov, r->niov, flags) :
			 process_vm_readv(target, liov, r->niov, riov, r->niov, flags);
		if (n != (ssize_t)r->size)
			break;
	}
	t = now() - t0;
	if (n != (ssize_t)r->size) {
		if (n >= 0)
			errno = EIO;
		fprintf(stderr, "cma_bench: %s (%s) of %zu bytes returned %zd\n",
			r->kind, way == GW_GRANT ? "grant" : "pid", r->size, n);
		die(way == GW_GRANT ? (wr ? "process_vm_writev(PROCESS_VM_GRANTFD)" :
				       "process_vm_readv(PROCESS_VM_GRANTFD)") :
		    (wr ? "process_vm_writev" : "process_vm_readv"));
	}
	return t;
}

/* Calls per sample of one way for at least min_sample, as measure() sizes
 * them. */
static long grant_iters(const struct row *r, int way)
{
	long iters = 1;
	double t;

	t = run_grant(r, way, 1);
	if (t < min_sample)
		t = run_grant(r, way, 1);
	if (t < min_sample) {
		iters = t > 0 ? (long)(min_sample / t) + 1 : 1000000;
		if (iters > 1000000)
			iters = 1000000;
		t = run_grant(r, way, iters);
		if (t < min_sample)
			iters = (long)(iters * (min_sample / (t > 0 ? t : 1e-9)) * 1.1) + 1;
	}
	return iters;
}

/*
 * The check of a grant row: one call through the grant with the row's
 * iovecs, its bytes compared. readv: the peer's pattern into a zeroed
 * destination. writev: a pattern of seed 1 into the peer's buffer, read
 * back by pid; then the peer's pattern (lsrc's) goes back by pid.
 */
static void grant_check(const struct row *r)
{
	int wr = !strcmp(r->kind, "grant-writev");
	char *l = ldst[r->pages], *rb = pinfo.rbuf[r->pages];
	struct iovec lv = { l, r->size }, rv = { rb, r->size };
	long bad;

	if (wr)
		fill_seed(l, r->size, 1);
	else
		memset(l, 0, r->size);
	set_iov(liov, l, r->size, r->niov);
	set_iov(riov, rb, r->size, r->niov);
	run_grant(r, GW_GRANT, 1);
	if (wr) {
		memset(l, 0, r->size);
		if (process_vm_readv(peer_pid, &lv, 1, &rv, 1, 0) != (ssize_t)r->size)
			die("process_vm_readv (the grant rows' check)");
		bad = check_seed(l, r->size, 1);
		lv.iov_base = lsrc[r->pages];
		if (process_vm_writev(peer_pid, &lv, 1, &rv, 1, 0) != (ssize_t)r->size)
			die("process_vm_writev (the grant rows' check)");
	} else {
		bad = check_seed(l, r->size, 0);
	}
	if (bad) {
		printf("BENCH-ERROR %s data mismatch at size %zu, offset %ld (pages %s, %d iov)\n",
		       r->kind, r->size, bad - 1, pages_name[r->pages], r->niov);
		fflush(stdout);
		exit(1);
	}
}

/* One grant row: the grant's way and the pid's, in pairs. */
static void measure_grant(const struct row *r)
{
	int wr = !strcmp(r->kind, "grant-writev");
	double bw[NGW][MAXREPS], ratio[MAXREPS];
	char s[NGW + 1][MAXREPS * 16], st[NGW + 1][160];
	long iters[NGW];

	grant_check(r);
	/* The readv and writev rows' buffers: ldst, lsrc and the peer's. */
	set_iov(liov, wr ? lsrc[r->pages] : ldst[r->pages], r->size, r->niov);
	set_iov(riov, pinfo.rbuf[r->pages], r->size, r->niov);
	for (int w = 0; w < NGW; w++)
		iters[w] = grant_iters(r, w);
	for (int i = 0; i < reps; i++) {
		for (int j = 0; j < NGW; j++) {
			/* The order alternates from pair to pair. */
			int w = (i & 1) ^ j;
			double t = run_grant(r, w, iters[w]);

			bw[w][i] = (double)r->size * iters[w] / t / 1e6;
		}
		ratio[i] = bw[GW_GRANT][i] / bw[GW_PID][i];
	}
	for (int w = 0; w < NGW; w++) {
		series(st[w], sizeof(st[w]), gw_prefix[w], bw[w], reps, 1);
		join(s[w], sizeof(s[w]), bw[w], reps, "%.1f");
	}
	series(st[NGW], sizeof(st[NGW]), "ratio_", ratio, reps, 4);
	join(s[NGW], sizeof(s[NGW]), ratio, reps, "%.4f");
	printf("BENCH kind=%s pages=%s iov=%d size=%zu reps=%d iters=%ld pid_iters=%ld "
	       "%s unit=MB/s thp=%s samples=%s %s pid_samples=%s %s ratio_samples=%s "
	       "pid=plain check=ok\n",
	       r->kind, pages_name[r->pages], r->niov, r->size, reps, iters[GW_GRANT],
	       iters[GW_PID], st[GW_GRANT], r->thp, s[GW_GRANT], st[GW_PID], s[GW_PID],
	       st[NGW], s[NGW]);
	fflush(stdout);
	/* writev wrote the peer's pattern back (lsrc's): no refill. */
}

/*
 * Every grant row: the readv and writev rows' pages, directions, sizes and
 * iovecs, in their order; thp[k] is the thp= of the rows of pages k.
 */
static void grant_rows(const char *const thp[NPAGES])
{
	struct cmd g = { 'g', 0, 0, 0, 0, P4K };
	int e = process_vm_grant_probe();

	if (!grant_mode) {
		printf("BENCH-SKIP kind=grant reason=\"cma_bench_grant=0\"\n");
		return;
	}
	if (e != EINVAL) {
		printf("BENCH-SKIP kind=grant probe=%s reason=\"this kernel has no "
		       "process_vm_grant() (process_vm_grant(NULL, 0, 0) %s %s, not EINVAL)\"\n",
		       e ? strerrorname_np(e) : "success", e ? "failed with" : "returned",
		       e ? strerrorname_np(e) : "an fd");
		return;
	}
	xwrite(to_peer[1], &g, sizeof(g));
	grant_fd = recv_grant(gsock[0], &e);
	if (grant_fd < 0) {
		errno = e;
		die("process_vm_grant (the peer's)");
	}
	printf("BENCH-GRANT probe=EINVAL ranges=%d range_bytes=%lu rights=rw pid=plain\n",
	       NPAGES, MAXSIZE);
	for (int k = 0; k < NPAGES; k++) {
		for (int w = 0; w < 2; w++) {
			for (size_t s = 0; s < NSIZES; s++) {
				for (int v = 0; v < 2; v++) {
					struct row r = { w ? "grant-writev" : "grant-readv", k,
							 v ? NIOV : 1, sizes[s], thp[k] };

					if (sizes[s] > max_size || (v && sizes[s] < (64UL << 10)))
						continue;
					measure_grant(&r);
				}
			}
		}
	}
	close(grant_fd);
	grant_fd = -1;
}

int main(void)
{
	char cs[64], thp[128], lthp[NPAGES][16], pthp[NPAGES][16];
	const char *rthp[NPAGES];
	struct utsname u;
	double start = now();
	struct peer_info end;
	struct cmd q = { 'q', 0, 0, 0, 0, P4K };
	void *shm_raw;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	reps = env_long("cma_bench_reps", 7, 1, MAXREPS);
	min_sample = env_long("cma_bench_min_ms", 20, 1, 10000) / 1e3;
	max_size = (size_t)env_long("cma_bench_max_mb", 64, 0, 64) << 20;
	if (getenv("cma_bench_reduce") && !strcmp(getenv("cma_bench_reduce"), "loop"))
		reduce_mode = 2;
	else
		reduce_mode = env_long("cma_bench_reduce", 1, 0, 1);
	rchunk = (size_t)env_long("cma_bench_reduce_chunk_kb", 256, 4, 65536) << 10;
	if (getenv("cma_bench_rows") && !strcmp(getenv("cma_bench_rows"), "reduce"))
		rows = ROWS_REDUCE;
	if (getenv("cma_bench_rows") && !strcmp(getenv("cma_bench_rows"), "dump"))
		rows = ROWS_DUMP;
	if (getenv("cma_bench_rows") && !strcmp(getenv("cma_bench_rows"), "vmsplice-thp"))
		rows = ROWS_VTHP;
	if (getenv("cma_bench_rows") && !strcmp(getenv("cma_bench_rows"), "grant"))
		rows = ROWS_GRANT;
	grant_mode = env_long("cma_bench_grant", 1, 0, 1);
	/* Before the fork: the peer places its THP rows' destination by it. */
	thp_copy_off = env_long("cma_bench_thp_copy_off", OFF_LDST, 0, 511);
	dump_mode = env_long("cma_bench_dump", 1, 0, 1);
	/* Past 64 MiB only when the other rows go all the way there. */
	dump_max = (size_t)env_long("cma_bench_dump_max_mb", max_size >= MAXSIZE ? 1024 :
				    (long)(max_size >> 20), 0, 1L << 20) << 20;
	dump_dir = getenv("cma_bench_dump_dir") && *getenv("cma_bench_dump_dir") ?
		   getenv("cma_bench_dump_dir") : "/tmp";

	uname(&u);
	file_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  cs, sizeof(cs));
	file_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	printf("BENCH-INFO kernel=%s version=\"%s\" cpus=%ld clocksource=%s "
	       "thp_enabled=\"%s\" reps=%d min_ms=%.0f max_mb=%zu dump_max_mb=%zu\n",
	       u.release, u.version, sysconf(_SC_NPROCESSORS_ONLN), cs, thp,
	       reps, min_sample * 1e3, max_size >> 20, dump_max >> 20);

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
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, gsock))
		die("socketpair");
	vpipe_sz = pipe_setup(vpipe[1]);
	peer_pid = fork();
	if (peer_pid < 0)
		die("fork");
	if (peer_pid == 0)
		peer();
	close(to_peer[0]);
	close(from_peer[1]);
	close(vpipe[0]);
	close(gsock[1]);
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
		/* The "thp" column of the process_vm_* rows of these pages. */
		rthp[k] = k == P4K ? "-" : strcmp(pthp[k], "ok") ? pthp[k] : lthp[k];
	}

	if (rows == ROWS_VTHP)
		goto vthp;
	if (rows == ROWS_GRANT) {
		grant_rows(rthp);
		goto reduce;
	}
	if (rows != ROWS_ALL)
		goto reduce;
	for (int k = 0; k < NPAGES; k++) {
		const char *st = rthp[k];

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
	/* On the same buffers, while the readv and writev rows' peers are
	 * fresh in mind: the same calls through a grant, against by pid. */
	grant_rows(rthp);
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
	 * Late: they reuse lsrc[P4K] as the writer's source (a move takes
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
	/*
	 * The vmsplice THP rows, 2 MiB to 64 MiB: the kinds that can move a
	 * THP (not pipe), those of a size one after the other, on buffers of
	 * their own (lsrc[PTHP] starts OFF_LSRC pages past a 2 MiB boundary,
	 * the peer's priv is 4k): the writer's source here and the reader's
	 * destination in the peer, 2 MiB aligned and MADV_HUGEPAGE. They
	 * hold the rows of one size alone, so that their VMAs' AnonHugePages
	 * (thp=) are that size's, and go back after them: the reduce and dump
	 * rows want the memory.
	 */
vthp:
	for (size_t s = 0; s < NSIZES; s++) {
		struct cmd t = { 't', sizes[s], 0, 0, 0, PTHP };
		char k;

		if (sizes[s] < HPAGE || sizes[s] > max_size)
			continue;
		vthp_src = buffer(PTHP, sizes[s], 0);
		xwrite(to_peer[1], &t, sizeof(t));
		xread(from_peer[0], &k, 1);
		for (int v = 0; v < NVK; v++) {
			struct row r = { vk_name[v], PTHP, 1, sizes[s], "-" };

			if (v != VK_PIPE)
				measure(&r);
		}
		t.size = 0;
		xwrite(to_peer[1], &t, sizeof(t));
		xread(from_peer[0], &k, 1);
		unbuffer(vthp_src, sizes[s], 0);
		vthp_src = NULL;
	}

	/* Late: they have buffers of their own, on both sides. */
reduce:
	if (rows == ROWS_ALL || rows == ROWS_REDUCE)
		reduce_rows();

	xwrite(to_peer[1], &q, sizeof(q));
	xread(from_peer[0], &end, sizeof(end));
	waitpid(peer_pid, &status, 0);
	for (int k = 0; k < NPAGES; k++)
		if (end.thp_kb[k] != pinfo.thp_kb[k])
			printf("BENCH-THP pages=%s peer_remote_kb changed from %ld to %ld state=changed\n",
			       pages_name[k], pinfo.thp_kb[k], end.thp_kb[k]);

	/*
	 * Last, with the peer gone and our buffers given back: the dumped
	 * child and the tmpfs sink take up to twice the largest size.
	 */
	for (int k = 0; k < NPAGES; k++) {
		unbuffer(lsrc[k], MAXSIZE, OFF_LSRC);
		unbuffer(ldst[k], MAXSIZE, OFF_LDST);
	}
	unbuffer(rloc[0], MAXSIZE, OFF_RLOC0);
	unbuffer(rloc[1], MAXSIZE, OFF_RLOC1);
	unbuffer(rscr, rchunk, OFF_RSCR);
	munmap(shm_raw, MAXSIZE + 3 * HPAGE);
	if (rows == ROWS_ALL || rows == ROWS_DUMP)
		dump_rows();
	printf("BENCH-DONE elapsed=%.1f s\n", now() - start);
	return 0;
}
