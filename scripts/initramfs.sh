#!/usr/bin/env bash
# Pack the guest's initramfs: our static init, the test programs, the demo
# and (for make shell) busybox.
# usage: initramfs.sh ARCH TESTDIR OUT.cpio
# Environment: TESTS (space-separated program names): pack only these.
set -euo pipefail
arch=$1 tests=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)

case "$arch" in
x86_64) cc="gcc -m64" port=/dev/ttyS1 busybox=/bin/busybox ;;
ppc64)  cc=powerpc64-linux-gnu-gcc port=/dev/hvc1 busybox= ;;
*) echo "initramfs: unknown ARCH $arch" >&2; exit 1 ;;
esac

root=$out.d
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests}
$cc -static -O2 -Wall -DTEST_PORT="\"$port\"" -o "$root/init" "$top/guest/init.c"
$cc -static -O2 -Wall -o "$root/bin/cma-demo" "$top/guest/cma-demo.c"
cp -a "$tests"/. "$root/tests/"
find "$root/tests" -maxdepth 1 -type f -delete
if [ -n "${TESTS:-}" ]; then
	for prog in "$root/tests"/*/*; do
		case " $TESTS " in *" $(basename "$prog") "*) ;; *) rm -f "$prog" ;; esac
	done
	if [ -z "$(find "$root/tests" -mindepth 2 -type f)" ]; then
		echo "initramfs: TESTS=\"$TESTS\" names no test program of $tests" >&2
		exit 1
	fi
	echo "initramfs: TESTS=\"$TESTS\": only these programs run"
fi
if [ -n "$busybox" ] && [ -x "$busybox" ]; then
	cp "$busybox" "$root/bin/busybox"
	for cmd in $("$busybox" --list); do
		[ -e "$root/bin/$cmd" ] || ln -s busybox "$root/bin/$cmd"
	done
fi
# The kernel opens /dev/console for init before devtmpfs is mounted.
mknod -m 600 "$root/dev/console" c 5 1
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
