#!/usr/bin/env bash
# Build the cma kselftests statically, once per ABI of the architecture.
# usage: build-tests.sh ARCH SRC HDRS OUTDIR  (HDRS: installed uapi headers)
# Binaries land in OUTDIR/<abi>/; the same binaries serve the patched and
# the stock kernel. Incremental: lib.mk rebuilds what changed, and a program
# whose source is gone is removed so that no stale binary runs.
set -euo pipefail
arch=$1 src=$2 hdrs=$3 out=$(realpath -m "$4")

case "$arch" in
x86_64) abis=("x86_64:gcc -m64" "i386:gcc -m32" "x32:gcc -mx32") ;;
ppc64)  abis=("ppc64:powerpc64-linux-gnu-gcc" "ppc32:powerpc-linux-gnu-gcc") ;;
*) echo "build-tests: unknown ARCH $arch" >&2; exit 1 ;;
esac

# lib.mk does not know the programs depend on the uapi headers: when
# make headers changed any, build every ABI afresh.
stamp=$out/.headers-stamp
if [ -e "$stamp" ] && [ -n "$(find "$hdrs" -newer "$stamp" -print -quit)" ]; then
	rm -rf "$out"/*/
fi
mkdir -p "$out"

for entry in "${abis[@]}"; do
	abi=${entry%%:*} cc=${entry#*:}
	mkdir -p "$out/$abi"
	# KHDR_INCLUDES: the uapi headers of the tree under test, not the host's.
	make -s -C "$src/tools/testing/selftests/cma" OUTPUT="$out/$abi" \
		CC="$cc -static" KHDR_INCLUDES="-isystem $hdrs" \
		>"$out/$abi.log" 2>&1 || { cat "$out/$abi.log" >&2; exit 1; }
	grep -i 'warning' "$out/$abi.log" >&2 || true
	for prog in "$out/$abi"/*; do
		[ -e "$src/tools/testing/selftests/cma/$(basename "$prog").c" ] || rm -rf "$prog"
	done
done
touch "$stamp"
echo "build-tests: $(ls "$out"/*/ | grep -vc ':\|^$') program(s) for ${abis[*]%%:*}"
