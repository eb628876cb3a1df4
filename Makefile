# crossmem: cross-memory attach for Linux 6.12, as a patch series.
# The README explains the targets; the scripts they call live in scripts/.

# ARCH empty: check runs every architecture, run and shell use x86_64.
ARCH    ?=
KERNEL  ?= patched
TIMEOUT ?= 1200
export ARCH KERNEL TIMEOUT TESTS GUESTS BOOT

.PHONY: all check run shell bench mpi tree export deps clean distclean help
all: help

help:
	@echo "make check    build, boot under QEMU, run the cma kselftests (the test command)"
	@echo "make run      build, boot, and receive 64 MiB three ways: shared memory, process_vm_readv, vmsplice move;"
	@echo "             reduce with PROCESS_VM_REDUCE; dump a stopped process with vmdump (process_vmsplice);"
	@echo "             last, two ranks under other uids with Yama ptrace_scope 3 read 64 MiB with a grant (process_vm_grant)"
	@echo "make shell    boot the same guest into a busybox shell"
	@echo "make bench    build stock and patched release kernels, benchmark both (doc/results.md, doc/bench.png)"
	@echo "             BENCH_ROWS=grant|reduce|dump|vmsplice-thp: those rows alone (make bench BENCH_ROWS=grant)"
	@echo "make mpi      Open MPI's MPI_Reduce against PROCESS_VM_REDUCE in a QEMU guest, 2 and 4 ranks (doc/mpi.md, doc/mpi.png)"
	@echo "make tree     create or refresh build/linux from patches/"
	@echo "make export   write build/linux's commits back to patches/"
	@echo "make deps     install (as root) or print the Debian packages needed"
	@echo "make checkpatch     checkpatch.pl --strict on every patch (make check runs it)"
	@echo "make bisect-check   build the kernel at every commit of the series"
	@echo "                    (BOOT=1: also boot each one and run the tests, x86_64)"
	@echo "make clean    remove build outputs, keep build/linux"
	@echo "make distclean  remove build/ entirely"
	@echo "variables: KERNEL=patched|stock  ARCH=x86_64|ppc64  TIMEOUT=seconds  TESTS=\"prog ...\"  GUESTS=n  BOOT=1"
	@echo "           make mpi: MPI_IMAGE=bzImage (boot it instead of building make bench's kernel), MPI_RANKS=\"2 4\""

check:
	@scripts/check.sh check

run:
	@scripts/check.sh run

shell:
	@scripts/check.sh shell

bench:
	@scripts/bench.sh

mpi:
	@scripts/mpi.sh

tree: deps
	@scripts/tree.sh

export:
	@scripts/export.sh

checkpatch:
	@scripts/checkpatch.sh

bisect-check:
	@scripts/bisect-check.sh

deps:
	@if [ "$$(id -u)" = 0 ]; then scripts/deps.sh; else scripts/deps.sh --print; fi

clean:
	rm -rf build/obj-* build/tests build/logs build/initramfs-* build/bench build/mpi

distclean:
	rm -rf build
