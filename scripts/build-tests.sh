#!/usr/bin/env bash
# Build the cma kselftests statically for every ABI of the architecture,
# with the selftests' own Makefile, and install them as kselftest does.
# usage: build-tests.sh ARCH SRC HDRS OUTDIR  (HDRS: installed uapi headers)
# OUTDIR gets the install tree (kselftest-list.txt, cma/<prog>_<suffix>,
# cma/settings), OUTDIR.obj the objects; the same binaries serve the patched
# and the stock kernel. Incremental: lib.mk rebuilds what changed, and the
# install tree is written afresh, so that no stale program runs. Fails when
# an ABI of the arch file's ARCH_ABIS got no program.
set -euo pipefail
arch=$1 src=$2 hdrs=$(realpath "$3") out=$(realpath -m "$4")
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kernel.sh"
arch_load "$arch"
obj=$out.obj

# lib.mk does not know the programs depend on the uapi headers: when
# make headers changed any, build every program afresh.
stamp=$obj/.headers-stamp
if [ -e "$stamp" ] && [ -n "$(find "$hdrs" -newer "$stamp" -print -quit)" ]; then
	rm -rf "$obj"
fi
mkdir -p "$obj"
rm -rf "$out"
# KHDR_INCLUDES: the uapi headers of the tree under test, not the host's.
# USERLDFLAGS=-static: the guest has no libc.
make -s -C "$src/tools/testing/selftests" TARGETS=cma O="$obj" \
	$ARCH_SELFTESTS_MAKE KHDR_INCLUDES="-isystem $hdrs" USERLDFLAGS=-static \
	install INSTALL_PATH="$out" >"$obj/build.log" 2>&1 ||
	{ cat "$obj/build.log" >&2; exit 1; }
grep -i 'warning' "$obj/build.log" | awk '!seen[$0]++' >&2 || true
touch "$stamp"

counts=() rc=0
for abi in $ARCH_ABIS; do
	n=$(grep -c "^cma:.*_${abi#*:}\$" "$out/kselftest-list.txt" || true)
	counts+=("${abi%%:*} $n")
	if [ "$n" = 0 ]; then
		echo "build-tests: no program for the ${abi%%:*} ABI (<prog>_${abi#*:}): see $obj/build.log" >&2
		rc=1
	fi
done
echo "build-tests: $arch, programs per ABI: $(IFS=,; echo "${counts[*]}" | sed 's/,/, /g')"
exit "$rc"
