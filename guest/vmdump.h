/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image guest/vmdump.c writes: a stopped process's private anonymous
 * memory, the pages present (or swapped out) at the time of the dump, as
 * CRIU's pagemap and pages images hold it, in one file:
 *
 *   offset 0            struct vmdump_header
 *   offset 64           struct vmdump_run[nr_runs]: the runs, in address
 *                       order (the order of /proc/PID/maps)
 *   then                zeros up to data_offset
 *   data_offset         the bytes of run 0, then of run 1, ... with nothing
 *                       in between; file size data_offset + nr_pages *
 *                       page_size
 *
 * A run is a range of consecutive present pages inside one mapping; never-
 * touched pages (holes) are in no run and take no room. Every integer is in
 * the byte order of the machine that wrote the image (byte_order tells a
 * reader which); vaddr, len and data_offset are multiples of page_size, so
 * that the data of every page sits page-aligned in the file (a reader can
 * mmap() it, and splice() into a page cache copies whole pages).
 */
#ifndef CROSSMEM_VMDUMP_H
#define CROSSMEM_VMDUMP_H

#include <stdint.h>

#define VMDUMP_MAGIC		"VMDUMP\0\0"	/* 8 bytes, NULs included */
#define VMDUMP_BYTE_ORDER	0x01020304u
#define VMDUMP_VERSION		1

struct vmdump_header {
	char magic[8];		/* VMDUMP_MAGIC */
	uint32_t byte_order;	/* VMDUMP_BYTE_ORDER, as the writer stores it */
	uint32_t version;	/* VMDUMP_VERSION */
	uint32_t page_size;	/* the dumped process's, in bytes */
	int32_t pid;		/* the dumped process */
	uint64_t nr_runs;	/* entries of the run table */
	uint64_t nr_pages;	/* pages in all runs */
	uint64_t data_offset;	/* where run 0's bytes start */
	uint64_t reserved[2];	/* zero */
};

struct vmdump_run {
	uint64_t vaddr;		/* the run's first byte, in the process */
	uint64_t len;		/* bytes, a multiple of page_size */
};

_Static_assert(sizeof(struct vmdump_header) == 64, "vmdump_header is 64 bytes");
_Static_assert(sizeof(struct vmdump_run) == 16, "vmdump_run is 16 bytes");

#endif
