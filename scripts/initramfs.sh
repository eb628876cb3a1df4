#!/usr/bin/env bash
# Pack the guest's initramfs: our static init, a kselftest install tree at
# /kselftest (what init runs, in the order of its kselftest-list.txt), the
# demo, vmdump and (for make shell) busybox.
# usage: initramfs.sh ARCH KSELFTEST_DIR OUT.cpio
# Environment: TESTS (space-separated program names without the ABI
# suffix, e.g. process_vm_test): pack only these, in every ABI.
set -euo pipefail
arch=$1 tests=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kernel.sh"
arch_load "$arch"

root=$out.d
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
$ARCH_CC -static -O2 -Wall -DTEST_PORT="\"$ARCH_TEST_PORT\"" -o "$root/init" "$top/guest/init.c"
$ARCH_CC -static -O2 -Wall -o "$root/bin/cma-demo" "$top/guest/cma-demo.c"
# The demo runs it beside itself (/bin): the dump of a stopped process.
$ARCH_CC -static -O2 -Wall -o "$root/bin/vmdump" "$top/guest/vmdump.c"
cp -a "$tests" "$root/kselftest"
if [ ! -f "$root/kselftest/kselftest-list.txt" ]; then
	echo "initramfs: $tests is no kselftest install tree (no kselftest-list.txt)" >&2
	exit 1
fi

# A program's name without its ABI suffix: process_vm_test_x32 -> process_vm_test.
base_of() {
	local abi
	for abi in $ARCH_ABIS; do
		if [[ "$1" == *_"${abi#*:}" ]]; then
			echo "${1%_"${abi#*:}"}"
			return
		fi
	done
	echo "$1"
}
if [ -n "${TESTS:-}" ]; then
	list=$root/kselftest/kselftest-list.txt
	while IFS= read -r entry; do
		prog=${entry#*:}
		case " $TESTS " in
		*" $(base_of "$prog") "*) echo "$entry" ;;
		*) rm -f "$root/kselftest/${entry%%:*}/$prog" ;;
		esac
	done <"$list" >"$list.new"
	mv "$list.new" "$list"
	if [ ! -s "$list" ]; then
		echo "initramfs: TESTS=\"$TESTS\" names no test program of $tests" >&2
		exit 1
	fi
	echo "initramfs: TESTS=\"$TESTS\": only these programs run"
fi
if [ -n "$ARCH_BUSYBOX" ] && [ -x "$ARCH_BUSYBOX" ]; then
	cp "$ARCH_BUSYBOX" "$root/bin/busybox"
	for cmd in $("$ARCH_BUSYBOX" --list); do
		[ -e "$root/bin/$cmd" ] || ln -s busybox "$root/bin/$cmd"
	done
fi
# The kernel opens /dev/console for init before devtmpfs is mounted.
mknod -m 600 "$root/dev/console" c 5 1
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
