/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The series' <linux/process_vm.h> where the build has it, else the values
 * it defines that the guest programs use (the host's libc headers predate
 * the series). Shared by bench/cma_bench.c, guest/cma-demo.c and
 * guest/mpi_reduce.c, which all probe the running kernel before use.
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

#endif
