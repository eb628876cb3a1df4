#!/usr/bin/env bash
# Build, boot and test one kernel. Called by the Makefile.
# usage: check.sh MODE   with MODE check, run or shell
# Environment: ARCH (x86_64), KERNEL (patched or stock), FLAVOUR (debug or
# release), TIMEOUT (seconds the guest may run).
set -euo pipefail
mode=${1:-check}
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${ARCH:-x86_64}
kernel=${KERNEL:-patched}
flavour=${FLAVOUR:-debug}
timeout=${TIMEOUT:-1200}
cd "$top"

"$top/scripts/deps.sh"
if [ "$mode" = check ]; then
	python3 "$top/scripts/report_test.py" -q 2>&1 | tail -n 1 | sed 's/^/report self-test: /'
	[ "${PIPESTATUS[0]}" = 0 ] || { echo "check: the log parser fails its own tests" >&2; exit 1; }
fi
[ -d build/linux/.git ] || "$top/scripts/tree.sh"
if [ "$mode" = check ]; then "$top/scripts/checkpatch.sh"; fi

src=$top/build/linux
case "$kernel" in
patched) name=$arch ;;
stock)
	# The unpatched base, in a worktree so that build/linux stays as it is.
	src=$top/build/linux-stock
	if [ ! -d "$src" ]; then
		git -C build/linux worktree add -q --detach "$src" base
	else
		git -C "$src" checkout -q --detach base
	fi
	name=$arch-stock ;;
*) echo "check: KERNEL is patched or stock, not $kernel" >&2; exit 1 ;;
esac
[ "$flavour" = debug ] || name=$name-$flavour
obj=$top/build/obj-$name
logs=$top/build/logs/$name

base=$(awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3}
	    END{print v"."p"."s}' "$src/Makefile")
npatches=$(git -C build/linux rev-list --count base..HEAD)
echo "check: base linux-source-6.12 $base, $kernel kernel ($npatches patch(es) in build/linux), $arch, $flavour config"

frags=(config/common.config "config/$arch.config")
[ "$flavour" = debug ] && frags+=(config/debug.config)
"$top/scripts/build-kernel.sh" "$arch" "$src" "$obj" "${frags[@]}"

case "$arch" in
x86_64) kmake=(ARCH=x86_64) image=$obj/arch/x86/boot/bzImage ;;
ppc64)  kmake=(ARCH=powerpc CROSS_COMPILE=powerpc64-linux-gnu-) image=$obj/vmlinux ;;
esac
# Tests always come from the patched tree: the stock kernel runs the very
# same binaries, which is how ABI compatibility is shown.
hdrobj=$top/build/obj-$arch-headers
make -s -C build/linux O="$hdrobj" "${kmake[@]}" headers >/dev/null
rm -rf "build/tests/$arch"
"$top/scripts/build-tests.sh" "$arch" "$top/build/linux" "$hdrobj/usr/include" "build/tests/$arch"
"$top/scripts/initramfs.sh" "$arch" "build/tests/$arch" "build/initramfs-$arch.cpio"

echo "check: booting $(basename "$image") under qemu ($mode, at most $timeout s)"
set +e
"$top/scripts/boot.sh" "$arch" "$image" "build/initramfs-$arch.cpio" "$mode" "$logs" "$timeout"
rc=$?
set -e
[ "$mode" = shell ] && exit 0
status=ok
[ "$rc" = 124 ] && status=timeout
[ "$rc" != 0 ] && [ "$rc" != 124 ] && status=error
echo "check: logs in ${logs#"$top"/}/"
if [ "$mode" = run ]; then
	grep -v '^crossmem: \(BEGIN\|END\|DONE\)' "$logs/tests.log" | tr -d '\r'
	grep -q 'every byte verified' "$logs/tests.log"
	exit
fi
grep '^crossmem: \(kernel\|mode\)' "$logs/tests.log" | tr -d '\r' || true
set +e
python3 "$top/scripts/report.py" "$logs/console.log" "$logs/tests.log" \
	--status "$status" --label "$name" | tee "$logs/report.txt"
rc=${PIPESTATUS[0]}
set -e
# The closing line for the whole run (one architecture for now).
tail -n 1 "$logs/report.txt" | sed 's/^[^ ]*: //'
exit "$rc"
