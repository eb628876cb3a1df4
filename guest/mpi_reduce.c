// SPDX-License-Identifier: GPL-2.0
/*
 * make mpi's real client: MPI_Reduce(MPI_DOUBLE, MPI_SUM, root 0) done two
 * ways in one run, by the same ranks on the same buffers:
 *
 *   ompi     Open MPI's own MPI_Reduce (coll/tuned's choice of algorithm,
 *            over the vader shared-memory BTL, whose single-copy mechanism
 *            is itself process_vm_readv: CMA);
 *   flat     the kernel's: the root copies its own contribution into the
 *            result and folds in every peer's send buffer with one
 *            process_vm_readv(PROCESS_VM_REDUCE_FLAGS(SUM, F64)) per peer,
 *            straight out of the peer's memory, no copy in between;
 *   tree     the same on a binomial tree: at each level a rank folds its
 *            child's partial result into its own, so that half the work
 *            runs in parallel (log2(P) levels instead of P - 1 calls);
 *   scatter  reduce-scatter then gather: rank r folds slice r of every
 *            peer's send buffer into slice r of its own work buffer (all
 *            ranks at once), then the root copies the finished slices in
 *            with plain process_vm_readv. The root then does 1/P of the
 *            arithmetic plus one (P-1)/P copy instead of all of it.
 *
 * The kernel ways need no shared memory and no message carries data: the
 * ranks publish (pid, buffer address) once per buffer; only zero-byte
 * "ready" messages and barriers order the calls. Every kernel way ends
 * with a barrier: a peer must leave the buffers it published untouched
 * until the root (or its parent) has read them.
 *
 * The values are small integers (|x| < 2^19, at most a few ranks), so that
 * every sum is exact in binary64 whatever order the additions run in: the
 * root checks each result against the expected sums and the kernel
 * results against Open MPI's bit for bit.
 *
 * Output, one line per (size, way), for scripts/mpi.sh:
 *   mpi ranks=4 bytes=1048576 way=ompi reps=20 min_ms=.. med_ms=.. max_ms=.. verified=yes
 * plus "mpi-info ..." lines about the run and "mpi-error ..." on failure.
 *
 * usage: mpi_reduce [-s SIZES] [-b BUDGET_MIB] [-r MIN_REPS] [-R MAX_REPS]
 *                   [-w WAYS]
 *   SIZES   comma-separated, with K/M suffixes (default 64K,...,64M)
 *   reps per size = BUDGET_MIB / size, clamped to [MIN_REPS, MAX_REPS]:
 *           small sizes need more samples, large ones cost too much under
 *           QEMU TCG for many
 *   WAYS    comma-separated subset of ompi,flat,tree,scatter (ompi always
 *           runs: it is the reference the others are checked against)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "process_vm_uapi.h"

#define SUM_F64	PROCESS_VM_REDUCE_FLAGS(PROCESS_VM_OP_SUM, PROCESS_VM_TYPE_F64)
#define ELEM	sizeof(double)
/* Slices of the scatter way start on page boundaries (in elements). */
#define SLICE_ALIGN	(4096 / ELEM)
#define TAG_READY	7

enum way { OMPI, FLAT, TREE, SCATTER, NWAYS };
static const char *const way_name[NWAYS] = { "ompi", "flat", "tree", "scatter" };

/* What each rank publishes, once per buffer size. */
struct peer {
	int64_t pid;
	uint64_t sbuf;		/* its send buffer: read by flat and scatter */
	uint64_t tree_acc;	/* what its tree parent reads: sbuf or work */
	uint64_t work;		/* its finished slice, for scatter's gather */
};

static int rank, nranks;
static struct peer *peers;
/*
 * MPI_REDUCE_EMULATE=1: a kernel without PROCESS_VM_REDUCE runs the kernel
 * ways anyway, each reduction a plain process_vm_readv into a bounce buffer
 * and a loop here. Only for testing the ways' ordering and checking on any
 * host; its times say nothing about the kernel, and its lines say so.
 */
static int emulate;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("mpi-error rank=%d %s\n", rank, msg);
	fflush(stdout);
	MPI_Abort(MPI_COMM_WORLD, 1);
	exit(1);
}

/*
 * The value rank r contributes at element i: an integer below 2^19 in
 * magnitude (the sum of 64 ranks stays far below 2^53, so every partial
 * sum is exact in any order), different per rank so that a missing or
 * doubled peer shows.
 */
static double value(int r, size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u + (uint32_t)r * 40503u + 12345u;

	return (double)(int32_t)((x >> 7) & 0xfffff) - 0x80000;
}

static void *map(size_t len)
{
	/* MAP_POPULATE: page faults stay out of every timed region. */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	return p;
}

/*
 * local (len bytes) = local OP remote, or a plain copy with flags 0. The
 * kernel may stop early (a partial return, as any process_vm_readv): go
 * on from there. A reduction always ends on an element boundary.
 */
static void vm_read(pid_t pid, void *local, uint64_t remote, size_t len,
		    unsigned long flags)
{
	char *l = local;

	if (emulate && flags) {
		static double bounce[(1 << 20) / ELEM];

		while (len) {
			size_t chunk = len < sizeof(bounce) ? len : sizeof(bounce);

			vm_read(pid, bounce, remote, chunk, 0);
			for (size_t i = 0; i < chunk / ELEM; i++)
				((double *)l)[i] += bounce[i];
			l += chunk;
			remote += chunk;
			len -= chunk;
		}
		return;
	}
	while (len) {
		struct iovec liov = { l, len };
		struct iovec riov = { (void *)(uintptr_t)remote, len };
		ssize_t n = process_vm_readv(pid, &liov, 1, &riov, 1, flags);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("process_vm_readv(pid %d, %zu bytes, flags 0x%lx): %s",
			    (int)pid, len, flags, strerror(errno));
		if (n == 0 || (flags && n % ELEM))
			die("process_vm_readv(pid %d, %zu bytes, flags 0x%lx) returned %zd",
			    (int)pid, len, flags, n);
		l += n;
		remote += n;
		len -= n;
	}
}

/* ---- the kernel's ways -------------------------------------------------- */

static void reduce_flat(const double *sb, double *rb, size_t bytes)
{
	if (rank == 0) {
		memcpy(rb, sb, bytes);
		for (int q = 1; q < nranks; q++)
			vm_read(peers[q].pid, rb, peers[q].sbuf, bytes, SUM_F64);
	}
	/* The peers' send buffers stay untouched until the root is done. */
	MPI_Barrier(MPI_COMM_WORLD);
}

/* Does this rank have children in the binomial tree (root 0)? */
static int tree_internal(int r)
{
	int low = r ? (r & -r) : nranks;	/* children: r + m, m < low */

	return low > 1 && r + 1 < nranks;
}

static void reduce_tree(const double *sb, double *rb, double *work, size_t bytes)
{
	double *acc = rank == 0 ? rb : tree_internal(rank) ? work : (double *)sb;

	if (acc != sb)
		memcpy(acc, sb, bytes);
	for (int mask = 1; mask < nranks; mask <<= 1) {
		if (rank & mask) {
			/* Our subtree is folded into acc: the parent may read it. */
			MPI_Send(NULL, 0, MPI_BYTE, rank - mask, TAG_READY, MPI_COMM_WORLD);
			break;
		}
		int child = rank | mask;

		if (child < nranks) {
			MPI_Recv(NULL, 0, MPI_BYTE, child, TAG_READY, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			vm_read(peers[child].pid, acc, peers[child].tree_acc, bytes, SUM_F64);
		}
	}
	MPI_Barrier(MPI_COMM_WORLD);
}

/* Rank r's slice of n elements: [lo, hi), page-aligned starts. */
static void slice(int r, size_t n, size_t *lo, size_t *hi)
{
	*lo = (n * r / nranks) / SLICE_ALIGN * SLICE_ALIGN;
	*hi = r + 1 == nranks ? n : (n * (r + 1) / nranks) / SLICE_ALIGN * SLICE_ALIGN;
}

static void reduce_scatter(const double *sb, double *rb, double *work, size_t bytes)
{
	size_t n = bytes / ELEM, lo, hi;
	double *acc = rank == 0 ? rb : work;

	slice(rank, n, &lo, &hi);
	if (hi > lo) {
		memcpy(acc + lo, sb + lo, (hi - lo) * ELEM);
		/* Start at the next rank: no send buffer is read by all at once. */
		for (int k = 1; k < nranks; k++) {
			int q = (rank + k) % nranks;

			vm_read(peers[q].pid, acc + lo, peers[q].sbuf + lo * ELEM,
				(hi - lo) * ELEM, SUM_F64);
		}
	}
	if (rank == 0) {
		/* Gather the finished slices in the order they finish. */
		for (int k = 1; k < nranks; k++) {
			MPI_Status st;
			size_t plo, phi;

			MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_READY,
				 MPI_COMM_WORLD, &st);
			slice(st.MPI_SOURCE, n, &plo, &phi);
			if (phi > plo)
				vm_read(peers[st.MPI_SOURCE].pid, rb + plo,
					peers[st.MPI_SOURCE].work + plo * ELEM,
					(phi - plo) * ELEM, 0);
		}
	} else {
		MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_READY, MPI_COMM_WORLD);
	}
	MPI_Barrier(MPI_COMM_WORLD);
}

/* ---- driver -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	if (end == s || (*end && *end != ','))
		die("bad size '%s'", s);
	return v;
}

/* The first index where rb differs from the expected sums, or n. */
static size_t check_expected(const double *rb, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double e = 0;

		for (int r = 0; r < nranks; r++)
			e += value(r, i);
		if (memcmp(&e, &rb[i], ELEM))
			return i;
	}
	return n;
}

/*
 * Is PROCESS_VM_REDUCE there? With it the kernel gets as far as reading
 * the NULL iovec (EFAULT); without it the flag is an unknown bit (EINVAL).
 */
static int probe(int *err)
{
	ssize_t n = process_vm_readv(getpid(), NULL, 1, NULL, 1,
				     PROCESS_VM_REDUCE_FLAGS(PROCESS_VM_OP_SUM,
							     PROCESS_VM_TYPE_U8));

	*err = n < 0 ? errno : 0;
	return n < 0 && errno == EFAULT;
}

/* The vader BTL's single-copy mechanism as it stands after MPI_Init. */
static void report_single_copy(void)
{
	char name[256], desc[1024], item[128];
	int idx, prov, count, val, nl, dl, verb, bind, scope, nitems, len;
	MPI_T_cvar_handle h;
	MPI_T_enum en = MPI_T_ENUM_NULL;
	MPI_Datatype dt;

	if (MPI_T_init_thread(MPI_THREAD_SINGLE, &prov) != MPI_SUCCESS)
		return;
	if (MPI_T_cvar_get_index("btl_vader_single_copy_mechanism", &idx) != MPI_SUCCESS) {
		printf("mpi-info vader_single_copy=unknown (no such MCA variable)\n");
		goto out;
	}
	nl = sizeof(name);
	dl = sizeof(desc);
	if (MPI_T_cvar_get_info(idx, name, &nl, &verb, &dt, &en, desc, &dl, &bind,
				&scope) != MPI_SUCCESS ||
	    MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) != MPI_SUCCESS)
		goto out;
	if (MPI_T_cvar_read(h, &val) == MPI_SUCCESS) {
		snprintf(item, sizeof(item), "%d", val);
		if (en != MPI_T_ENUM_NULL && MPI_T_enum_get_info(en, &nitems, name, &nl) ==
		    MPI_SUCCESS) {
			for (int i = 0; i < nitems; i++) {
				int v;
				char iname[128];

				len = sizeof(iname);
				if (MPI_T_enum_get_item(en, i, &v, iname, &len) == MPI_SUCCESS &&
				    v == val)
					snprintf(item, sizeof(item), "%s", iname);
			}
		}
		printf("mpi-info vader_single_copy=%s (cma: process_vm_readv)\n", item);
	}
	MPI_T_cvar_handle_free(&h);
out:
	MPI_T_finalize();
}

int main(int argc, char **argv)
{
	const char *sizes = "64K,256K,1M,4M,16M,64M", *ways_arg = "ompi,flat,tree,scatter";
	size_t budget = 256, min_reps = 3, max_reps = 20;
	int use[NWAYS] = { 0 }, have_reduce, err = 0, opt;
	char lib[MPI_MAX_LIBRARY_VERSION_STRING];

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "s:b:r:R:w:")) != -1) {
		switch (opt) {
		case 's': sizes = optarg; break;
		case 'b': budget = strtoul(optarg, NULL, 10); break;
		case 'r': min_reps = strtoul(optarg, NULL, 10); break;
		case 'R': max_reps = strtoul(optarg, NULL, 10); break;
		case 'w': ways_arg = optarg; break;
		default: die("usage: mpi_reduce [-s SIZES] [-b MIB] [-r MIN] [-R MAX] [-w WAYS]");
		}
	}
	if (min_reps < 1 || max_reps < min_reps)
		die("need 1 <= MIN_REPS <= MAX_REPS");
	use[OMPI] = 1;
	for (int w = 1; w < NWAYS; w++) {
		const char *p = strstr(ways_arg, way_name[w]);
		size_t l = strlen(way_name[w]);

		use[w] = p && (p == ways_arg || p[-1] == ',') && (!p[l] || p[l] == ',');
	}

	/* One kernel for all ranks: the root asks, everyone follows. */
	if (rank == 0)
		have_reduce = probe(&err);
	MPI_Bcast(&have_reduce, 1, MPI_INT, 0, MPI_COMM_WORLD);
	emulate = !have_reduce && getenv("MPI_REDUCE_EMULATE") &&
		  !strcmp(getenv("MPI_REDUCE_EMULATE"), "1");
	if (rank == 0) {
		struct utsname u;
		int len;

		uname(&u);
		MPI_Get_library_version(lib, &len);
		lib[strcspn(lib, "\n,")] = '\0';
		printf("mpi-info ranks=%d cpus=%ld kernel=%s library=\"%s\"\n", nranks,
		       sysconf(_SC_NPROCESSORS_ONLN), u.release, lib);
		report_single_copy();
		if (have_reduce)
			printf("mpi-info PROCESS_VM_REDUCE: supported (probe: EFAULT)\n");
		else if (emulate)
			printf("mpi-info PROCESS_VM_REDUCE: the kernel lacks it (probe: %s):"
			       " EMULATED in user space (MPI_REDUCE_EMULATE=1), the"
			       " kernel ways' times mean nothing\n", strerrorname_np(err) ?: "?");
		else
			printf("mpi-info PROCESS_VM_REDUCE: the kernel lacks it (probe: %s):"
			       " Open MPI's MPI_Reduce only\n", strerrorname_np(err) ?: "?");
	}
	if (!have_reduce && !emulate)
		for (int w = 1; w < NWAYS; w++)
			use[w] = 0;

	for (const char *s = sizes; *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : "") {
		size_t bytes = parse_size(s), n = bytes / ELEM;
		size_t reps = budget * (1 << 20) / (bytes ? bytes : 1);
		double *sb, *rb[NWAYS] = { 0 }, *work, *t[NWAYS];
		struct peer me;
		size_t bad;

		if (!bytes || bytes % ELEM)
			die("size %zu is no multiple of %zu", bytes, ELEM);
		reps = reps < min_reps ? min_reps : reps > max_reps ? max_reps : reps;

		sb = map(bytes);
		for (size_t i = 0; i < n; i++)
			sb[i] = value(rank, i);
		work = map(bytes);
		/* The root keeps one result per way, to compare them. */
		if (rank == 0)
			for (int w = 0; w < NWAYS; w++)
				if (use[w])
					rb[w] = map(bytes);

		/* Publish (pid, addresses) once per buffer, not per reduce. */
		me.pid = getpid();
		me.sbuf = (uintptr_t)sb;
		me.tree_acc = (uintptr_t)(tree_internal(rank) ? work : sb);
		me.work = (uintptr_t)work;
		peers = calloc(nranks, sizeof(*peers));
		MPI_Allgather(&me, sizeof(me), MPI_BYTE, peers, sizeof(me), MPI_BYTE,
			      MPI_COMM_WORLD);

		for (int w = 0; w < NWAYS; w++)
			t[w] = calloc(reps, sizeof(double));

		/*
		 * Rep -1 is the warm-up. The ways alternate within each rep, so
		 * that a slow stretch of the host (QEMU shares it) hits every
		 * way alike. Before the warm-up and the last rep the root
		 * poisons the results (all ones: a NaN) and checks them after.
		 */
		for (long rep = -1; rep < (long)reps; rep++) {
			int check = rep == -1 || rep == (long)reps - 1;

			for (int w = 0; w < NWAYS; w++) {
				double t0, dt;

				if (!use[w])
					continue;
				if (check && rank == 0)
					memset(rb[w], 0xff, bytes);
				MPI_Barrier(MPI_COMM_WORLD);
				t0 = MPI_Wtime();
				switch (w) {
				case OMPI:
					MPI_Reduce(sb, rb[w], n, MPI_DOUBLE, MPI_SUM, 0,
						   MPI_COMM_WORLD);
					break;
				case FLAT:
					reduce_flat(sb, rb[w], bytes);
					break;
				case TREE:
					reduce_tree(sb, rb[w], work, bytes);
					break;
				case SCATTER:
					reduce_scatter(sb, rb[w], work, bytes);
					break;
				}
				dt = MPI_Wtime() - t0;
				if (rep >= 0)
					t[w][rep] = dt;
				if (!check || rank != 0)
					continue;
				if (w == OMPI) {
					bad = check_expected(rb[w], n);
					if (bad != n)
						die("bytes=%zu way=ompi: element %zu is %.17g, not the exact sum",
						    bytes, bad, rb[w][bad]);
				} else if (memcmp(rb[w], rb[OMPI], bytes)) {
					for (bad = 0; bad < n && !memcmp(&rb[w][bad], &rb[OMPI][bad], ELEM); bad++)
						;
					die("bytes=%zu way=%s: element %zu is %.17g, Open MPI's %.17g",
					    bytes, way_name[w], bad, rb[w][bad], rb[OMPI][bad]);
				}
			}
		}

		if (rank == 0) {
			for (int w = 0; w < NWAYS; w++) {
				if (!use[w])
					continue;
				qsort(t[w], reps, sizeof(double), cmp_double);
				printf("mpi ranks=%d bytes=%zu way=%s reps=%zu min_ms=%.4f med_ms=%.4f"
				       " max_ms=%.4f verified=yes%s\n", nranks, bytes, way_name[w], reps,
				       t[w][0] * 1e3,
				       (reps % 2 ? t[w][reps / 2] : (t[w][reps / 2 - 1] + t[w][reps / 2]) / 2) * 1e3,
				       t[w][reps - 1] * 1e3,
				       w != OMPI && emulate ? " emulated=yes" : "");
			}
		}
		/* Nobody unmaps a buffer a peer may still read. */
		MPI_Barrier(MPI_COMM_WORLD);
		for (int w = 0; w < NWAYS; w++) {
			free(t[w]);
			if (rb[w])
				munmap(rb[w], bytes);
		}
		munmap(work, bytes);
		munmap((void *)sb, bytes);
		free(peers);
	}
	if (rank == 0)
		printf("mpi-done ranks=%d\n", nranks);
	MPI_Finalize();
	return 0;
}
