// SPDX-License-Identifier: GPL-2.0
/*
 * vmdump: write the anonymous memory of a stopped process to a file the way
 * CRIU's page transfer does, with process_vmsplice(): the target's pages go
 * into a pipe by reference, and splice() moves them on into the image, so
 * the only copy is the one into the image file's page cache.
 *
 *   vmdump [--readv] [--pipe-kb N] PID FILE
 *   vmdump --verify PID FILE
 *
 * Dump: the private, readable and writable anonymous mappings of PID
 * (/proc/PID/maps: no file, or [heap], [stack], [anon:...]), and in them
 * the pages /proc/PID/pagemap calls present (bit 63) or swapped (bit 62);
 * never-touched pages are left out, as CRIU leaves them out. Runs of such
 * pages become iovecs, process_vmsplice() puts them into a pipe
 * (F_SETPIPE_SZ, 1 MiB unless --pipe-kb says otherwise), splice() moves
 * the pipe into FILE; both loop until every byte is in. The image format is
 * in vmdump.h. --readv dumps the same image with process_vm_readv() into a
 * 1 MiB buffer and write() instead: what CRIU does without splice, two
 * copies per byte instead of one, and the way to dump on a kernel without
 * process_vmsplice(). FILE "-" is standard output (then our messages go to
 * standard error).
 *
 * Verify: the image's runs against process_vm_readv() of the same ranges of
 * PID, page by page, and the runs against the present pages PID has now:
 * OK or FAIL, with the pages, bytes and runs counted.
 *
 * The target must stay stopped (SIGSTOP) from the dump through the verify:
 * a running process changes its memory under both, and vmdump only warns
 * about a process that is not stopped. It needs what process_vm_readv()
 * needs (PTRACE_MODE_ATTACH on the target), plus read access to its
 * /proc/PID/pagemap.
 *
 * Exit status: 0 done (verify: OK), 1 error (verify: FAIL), 2 usage, 4 this
 * kernel has no process_vmsplice() (ENOSYS; nothing was written: dump with
 * --readv instead).
 *
 * For tests on a host without the syscall, -DCROSSMEM_FAKE_PROCESS_VMSPLICE
 * builds it over a userspace stand-in (fake_process_vmsplice.h).
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "process_vm_uapi.h"
#include "vmdump.h"
#ifdef CROSSMEM_FAKE_PROCESS_VMSPLICE
#include "fake_process_vmsplice.h"
#endif

#define EXIT_USAGE	2
#define EXIT_ABSENT	4

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_BATCH	4096		/* pagemap entries per read: 32 KiB */
#define PIPE_BYTES	(1 << 20)	/* the pipe's size unless --pipe-kb */
#define CHUNK		(1UL << 20)	/* --readv's buffer, verify's two */

static size_t page_size;
static FILE *msg;		/* where our messages go */

struct image {
	struct vmdump_run *runs;
	size_t nr, cap;
	uint64_t pages;
	unsigned int vmas, vmas_seen;	/* mappings dumped, of all */
};

/* What a dump did, for its report. */
struct stats {
	long calls;		/* process_vmsplice() or process_vm_readv() */
	long moves;		/* splice() or write() */
	size_t pipe;		/* the pipe's size, bytes */
};

static void die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "vmdump: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *xmap(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap of %zu bytes", len);
	return p;
}

static void add_run(struct image *img, uint64_t vaddr, uint64_t len)
{
	img->pages += len / page_size;
	if (img->nr == img->cap) {
		img->cap = img->cap ? img->cap * 2 : 64;
		img->runs = realloc(img->runs, img->cap * sizeof(*img->runs));
		if (!img->runs)
			die("%zu runs", img->cap);
	}
	img->runs[img->nr].vaddr = vaddr;
	img->runs[img->nr].len = len;
	img->nr++;
}

/*
 * A mapping CRIU would dump as private anonymous memory: readable, writable,
 * private, backed by no file. [heap] and [stack] are such mappings with a
 * name, and so is one a process named with PR_SET_VMA_ANON_NAME.
 */
static int anonymous(const char *perms, uint64_t inode, const char *path)
{
	if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' || inode)
		return 0;
	return !*path || !strcmp(path, "[heap]") || !strncmp(path, "[stack", 6) ||
	       !strncmp(path, "[anon:", 6);
}

/* The present pages of [start, end) as runs; a run never spans mappings. */
static void scan_vma(int pagemap, uint64_t start, uint64_t end, struct image *img)
{
	static uint64_t pm[PM_BATCH];
	uint64_t va = start, run = 0, i, n;
	int open = 0;
	ssize_t got;

	while (va < end) {
		n = (end - va) / page_size;
		if (n > PM_BATCH)
			n = PM_BATCH;
		got = pread(pagemap, pm, n * sizeof(pm[0]), va / page_size * sizeof(pm[0]));
		if (got < (ssize_t)sizeof(pm[0]))
			die("pagemap at %#" PRIx64, va);
		n = got / sizeof(pm[0]);
		for (i = 0; i < n; i++, va += page_size) {
			if (pm[i] & (PM_PRESENT | PM_SWAP)) {
				if (!open)
					run = va;
				open = 1;
			} else if (open) {
				add_run(img, run, va - run);
				open = 0;
			}
		}
	}
	if (open)
		add_run(img, run, va - run);
}

/* Every anonymous run of pid, from its maps and pagemap. */
static void scan(pid_t pid, struct image *img)
{
	char path[64], *line = NULL;
	uint64_t start, end, off, inode;
	size_t cap = 0;
	char perms[5];
	int pagemap, n;
	FILE *maps;

	memset(img, 0, sizeof(*img));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	if (!maps)
		die("%s", path);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		die("%s", path);
	while (getline(&line, &cap, maps) > 0) {
		line[strcspn(line, "\n")] = '\0';
		n = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*x:%*x %" SCNu64 " %n",
			   &start, &end, perms, &off, &inode, &n) < 5 || !n)
			continue;
		img->vmas_seen++;
		if (!anonymous(perms, inode, line + n))
			continue;
		/* A 32-bit dumper cannot name a 64-bit process's addresses. */
		if (end - 1 > UINTPTR_MAX) {
			errno = EOVERFLOW;
			die("mapping at %#" PRIx64 " of pid %d", start, pid);
		}
		img->vmas++;
		scan_vma(pagemap, start, end, img);
	}
	free(line);
	fclose(maps);
	close(pagemap);
}

/* A stopped target cannot change its memory under the dump. */
static void check_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* pid (comm) state ...: comm may hold anything, ')' included */
	p = strrchr(buf, ')');
	if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
		fprintf(stderr, "vmdump: warning: pid %d is not stopped (state %c): "
			"it may change its memory under us\n", pid, p[2]);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			die("write");
		}
		p += n;
		len -= n;
	}
}

/* n bytes out of the pipe into out. */
static void splice_all(int pipe_rd, int out, size_t n, struct stats *st)
{
	ssize_t s;

	while (n) {
		s = splice(pipe_rd, NULL, out, NULL, n, SPLICE_F_MOVE);
		if (s < 0 && errno == EINTR)
			continue;
		if (s <= 0) {
			if (!s)
				errno = EIO;
			die("splice into the image");
		}
		st->moves++;
		n -= s;
	}
}

/* The first n bytes of the iovecs at *i are done: move past them. */
static void advance(struct iovec *iov, size_t *i, size_t n)
{
	while (n) {
		size_t k = n < iov[*i].iov_len ? n : iov[*i].iov_len;

		iov[*i].iov_base = (char *)iov[*i].iov_base + k;
		iov[*i].iov_len -= k;
		n -= k;
		if (!iov[*i].iov_len)
			++*i;
	}
}

/*
 * The pipe's size: at least what was asked for if the kernel lets us (root
 * may exceed fs.pipe-max-size), else the largest power of two it allows.
 */
static size_t pipe_size(int fd, size_t want)
{
	size_t sz;

	for (sz = want; sz >= (size_t)page_size; sz /= 2)
		if (fcntl(fd, F_SETPIPE_SZ, (int)sz) >= 0)
			break;
	sz = fcntl(fd, F_GETPIPE_SZ);
	if ((ssize_t)sz <= 0)
		die("F_GETPIPE_SZ");
	return sz;
}

/*
 * The runs through a pipe: process_vmsplice() adds as many of the target's
 * pages as the pipe has buffers for, splice() empties it into the image.
 * The target's pages are referenced, not copied, until splice() copies them
 * into the image's page cache.
 */
static void dump_vmsplice(pid_t pid, int out, struct iovec *iov, size_t nr,
			  size_t pipe_want, struct stats *st)
{
	int pidfd, p[2];
	size_t i = 0;
	ssize_t n;

	pidfd = sys_pidfd_open(pid, 0);
	if (pidfd < 0)
		die("pidfd_open(%d)", pid);
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	st->pipe = pipe_size(p[1], pipe_want);
	while (i < nr) {
		n = sys_process_vmsplice(pidfd, p[1], iov + i,
					 nr - i < IOV_MAX ? nr - i : IOV_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;	/* no progress: would loop for ever */
			die("process_vmsplice at %p", iov[i].iov_base);
		}
		st->calls++;
		advance(iov, &i, n);
		splice_all(p[0], out, n, st);
	}
	close(p[0]);
	close(p[1]);
	close(pidfd);
}

/* The same with a copy into our buffer and a write() of it: CHUNK a call. */
static void dump_readv(pid_t pid, int out, struct iovec *iov, size_t nr,
		       struct stats *st)
{
	char *buf = xmap(CHUNK);
	struct iovec local = { buf, CHUNK };
	size_t i = 0;
	ssize_t n;

	while (i < nr) {
		n = process_vm_readv(pid, &local, 1, iov + i,
				     nr - i < IOV_MAX ? nr - i : IOV_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			die("process_vm_readv at %p", iov[i].iov_base);
		}
		st->calls++;
		advance(iov, &i, n);
		write_all(out, buf, n);
		st->moves++;
	}
	munmap(buf, CHUNK);
}

/* The header and the run table, padded to data_offset. */
static void write_header(int out, pid_t pid, const struct image *img)
{
	size_t table = sizeof(struct vmdump_header) + img->nr * sizeof(struct vmdump_run);
	size_t len = (table + page_size - 1) / page_size * page_size;
	struct vmdump_header *h = calloc(1, len);

	if (!h)
		die("header of %zu bytes", len);
	memcpy(h->magic, VMDUMP_MAGIC, sizeof(h->magic));
	h->byte_order = VMDUMP_BYTE_ORDER;
	h->version = VMDUMP_VERSION;
	h->page_size = page_size;
	h->pid = pid;
	h->nr_runs = img->nr;
	h->nr_pages = img->pages;
	h->data_offset = len;
	if (img->nr)
		memcpy(h + 1, img->runs, img->nr * sizeof(struct vmdump_run));
	write_all(out, h, len);
	free(h);
}

/*
 * Bytes copied per byte dumped, by what the image goes into: a regular
 * file's page cache takes one copy; splice() into a pipe passes the
 * references on (write() copies); --readv adds its copy into our buffer.
 */
static int copies(int out, int readv)
{
	struct stat s;

	if (fstat(out, &s))
		return -1;
	if (S_ISREG(s.st_mode))
		return readv ? 2 : 1;
	if (S_ISFIFO(s.st_mode))
		return readv ? 2 : 0;
	return -1;
}

static int dump(pid_t pid, const char *file, int readv, size_t pipe_want)
{
	struct stats st = { 0 };
	struct iovec *iov;
	struct image img;
	double t0, ts, t;
	int out, c;

	/* Before anything is written: a kernel without the call is no error. */
	if (!readv && process_vmsplice_probe() == ENOSYS) {
		fprintf(msg, "vmdump: process_vmsplice is absent on this kernel (ENOSYS): "
			"nothing dumped (--readv dumps with process_vm_readv)\n");
		return EXIT_ABSENT;
	}
	check_stopped(pid);
	t0 = now();
	scan(pid, &img);
	ts = now() - t0;
	fprintf(msg, "vmdump: pid %d: %zu runs, %" PRIu64 " pages (%" PRIu64 " bytes) in %u of "
		"%u mappings (maps and pagemap: %.1f ms)\n", pid, img.nr, img.pages,
		img.pages * page_size, img.vmas, img.vmas_seen, ts * 1e3);

	iov = calloc(img.nr ? img.nr : 1, sizeof(*iov));
	if (!iov)
		die("%zu iovecs", img.nr);
	for (size_t i = 0; i < img.nr; i++) {
		iov[i].iov_base = (void *)(uintptr_t)img.runs[i].vaddr;
		iov[i].iov_len = img.runs[i].len;
	}
	if (!strcmp(file, "-"))
		out = STDOUT_FILENO;
	else
		out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		die("%s", file);

	t0 = now();
	write_header(out, pid, &img);
	if (readv)
		dump_readv(pid, out, iov, img.nr, &st);
	else
		dump_vmsplice(pid, out, iov, img.nr, pipe_want, &st);
	t = now() - t0;
	c = copies(out, readv);
	if (out != STDOUT_FILENO && close(out))
		die("%s", file);

	fprintf(msg, "vmdump: dumped %" PRIu64 " bytes, %" PRIu64 " pages, %zu runs to %s in "
		"%.3f ms (%.1f MiB/s): %s, %ld + %ld calls", img.pages * page_size,
		img.pages, img.nr, file, t * 1e3,
		t > 0 ? img.pages * page_size / t / (1 << 20) : 0.0,
		readv ? "process_vm_readv + write" : "process_vmsplice + splice",
		st.calls, st.moves);
	if (!readv)
		fprintf(msg, ", pipe %zu KiB", st.pipe >> 10);
	if (c >= 0)
		fprintf(msg, ", bytes copied per byte dumped: %d\n", c);
	else
		fprintf(msg, ", bytes copied per byte dumped: unknown for this kind of file\n");
	free(iov);
	free(img.runs);
	return 0;
}

/* ---- verify ---- */

/* Pages of the two sorted run lists that are in both. */
static uint64_t overlap(const struct vmdump_run *a, size_t na,
			const struct vmdump_run *b, size_t nb)
{
	uint64_t both = 0, lo, hi;
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		lo = a[i].vaddr > b[j].vaddr ? a[i].vaddr : b[j].vaddr;
		hi = a[i].vaddr + a[i].len < b[j].vaddr + b[j].len ?
		     a[i].vaddr + a[i].len : b[j].vaddr + b[j].len;
		if (lo < hi)
			both += (hi - lo) / page_size;
		if (a[i].vaddr + a[i].len < b[j].vaddr + b[j].len)
			i++;
		else
			j++;
	}
	return both;
}

static void read_exact(int fd, void *buf, size_t len, uint64_t off, const char *file)
{
	ssize_t n;

	while (len) {
		n = pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;	/* a truncated image */
			die("%s at %" PRIu64, file, off);
		}
		buf = (char *)buf + n;
		len -= n;
		off += n;
	}
}

/* Why an image cannot be read: a FAIL, not an error of ours. */
static int bad_image(const char *file, const char *why)
{
	fprintf(msg, "vmdump: verify FAIL: %s: not an image vmdump here can read: %s\n",
		file, why);
	return 1;
}

static int verify(pid_t pid, const char *file)
{
	uint64_t differ = 0, unreadable = 0, first = 0, pages = 0, off, both;
	struct vmdump_run *runs;
	struct vmdump_header h;
	char *fbuf, *mbuf;
	struct image now_img;
	struct stat s;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &s))
		die("%s", file);
	if (s.st_size < (off_t)sizeof(h))
		return bad_image(file, "shorter than a header");
	read_exact(fd, &h, sizeof(h), 0, file);
	if (memcmp(h.magic, VMDUMP_MAGIC, sizeof(h.magic)))
		return bad_image(file, "no VMDUMP magic");
	if (h.byte_order != VMDUMP_BYTE_ORDER)
		return bad_image(file, "written in the other byte order");
	if (h.version != VMDUMP_VERSION)
		return bad_image(file, "another version");
	if (h.page_size != page_size)
		return bad_image(file, "written with another page size");
	if (h.nr_runs > (uint64_t)s.st_size / sizeof(*runs) ||
	    h.data_offset % page_size || h.data_offset > (uint64_t)s.st_size ||
	    h.data_offset < sizeof(h) + h.nr_runs * sizeof(*runs) ||
	    h.nr_pages > ((uint64_t)s.st_size - h.data_offset) / page_size ||
	    (uint64_t)s.st_size != h.data_offset + h.nr_pages * page_size)
		return bad_image(file, "its header does not match its size");
	runs = malloc(h.nr_runs ? h.nr_runs * sizeof(*runs) : 1);
	if (!runs)
		die("%" PRIu64 " runs", h.nr_runs);
	read_exact(fd, runs, h.nr_runs * sizeof(*runs), sizeof(h), file);
	for (size_t r = 0; r < h.nr_runs; r++) {
		if (runs[r].vaddr % page_size || runs[r].len % page_size || !runs[r].len ||
		    runs[r].vaddr + runs[r].len - 1 > UINTPTR_MAX ||
		    (r && runs[r].vaddr < runs[r - 1].vaddr + runs[r - 1].len))
			return bad_image(file, "a run out of order or not page-aligned");
		pages += runs[r].len / page_size;
	}
	if (pages != h.nr_pages)
		return bad_image(file, "its runs do not add up to its page count");
	if (h.pid != pid)
		fprintf(msg, "vmdump: note: %s is an image of pid %d, compared with pid %d\n",
			file, h.pid, pid);
	check_stopped(pid);

	/* Page by page: the image's bytes against the process's. */
	fbuf = xmap(CHUNK);
	mbuf = xmap(CHUNK);
	off = h.data_offset;
	for (size_t r = 0; r < h.nr_runs; r++) {
		for (uint64_t done = 0; done < runs[r].len;) {
			uint64_t va = runs[r].vaddr + done;
			size_t len = runs[r].len - done < CHUNK ? runs[r].len - done : CHUNK;
			struct iovec l = { mbuf, len }, m = { (void *)(uintptr_t)va, len };
			ssize_t n = process_vm_readv(pid, &l, 1, &m, 1, 0);

			if (n < 0 && errno == ESRCH)
				die("process_vm_readv of pid %d", pid);
			/*
			 * A read stops at the first unreadable page: compare
			 * what came, count that page, go on after it.
			 */
			len = n > 0 ? n / page_size * page_size : 0;
			if (!len) {
				unreadable++;
				len = page_size;
			} else {
				read_exact(fd, fbuf, len, off, file);
				for (size_t p = 0; p < len; p += page_size)
					if (memcmp(fbuf + p, mbuf + p, page_size) && !differ++)
						first = va + p;
			}
			done += len;
			off += len;
		}
	}
	close(fd);
	munmap(fbuf, CHUNK);
	munmap(mbuf, CHUNK);

	/* The runs against the present pages now: none missing, none extra. */
	scan(pid, &now_img);
	both = overlap(runs, h.nr_runs, now_img.runs, now_img.nr);
	if (differ || unreadable || both != now_img.pages || both != h.nr_pages) {
		fprintf(msg, "vmdump: verify FAIL: %s against pid %d: %" PRIu64 " of %" PRIu64
			" pages differ", file, pid, differ, h.nr_pages);
		if (differ)
			fprintf(msg, " (the first at %#" PRIx64 ")", first);
		fprintf(msg, ", %" PRIu64 " unreadable, %" PRIu64 " present pages missing from "
			"the image, %" PRIu64 " image pages no longer present (%" PRIu64
			" runs, %" PRIu64 " bytes)\n", unreadable, now_img.pages - both,
			h.nr_pages - both, h.nr_runs, h.nr_pages * page_size);
		return 1;
	}
	fprintf(msg, "vmdump: verify OK: %s: %" PRIu64 " runs, %" PRIu64 " pages, %" PRIu64
		" bytes equal process_vm_readv() of pid %d, and they are all of its present "
		"anonymous pages\n", file, h.nr_runs, h.nr_pages, h.nr_pages * page_size, pid);
	free(runs);
	free(now_img.runs);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: vmdump [--readv] [--pipe-kb N] PID FILE\n"
		"       vmdump --verify PID FILE\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int readv = 0, check = 0, i = 1;
	size_t pipe_want = PIPE_BYTES;
	char *end;
	long pid;

	page_size = sysconf(_SC_PAGESIZE);
	msg = stdout;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--readv")) {
			readv = 1;
		} else if (!strcmp(argv[i], "--verify")) {
			check = 1;
		} else if (!strcmp(argv[i], "--pipe-kb") && i + 1 < argc) {
			pipe_want = strtoul(argv[++i], &end, 0) << 10;
			if (*end || !pipe_want || pipe_want > INT_MAX)
				return usage();
		} else {
			return usage();
		}
	}
	if (argc - i != 2 || (check && (readv || pipe_want != PIPE_BYTES)))
		return usage();
	pid = strtol(argv[i], &end, 10);
	if (*end || pid <= 0 || pid > INT_MAX)
		return usage();
	if (!strcmp(argv[i + 1], "-")) {
		if (check)
			return usage();
		msg = stderr;
	}
	return check ? verify(pid, argv[i + 1]) : dump(pid, argv[i + 1], readv, pipe_want);
}
