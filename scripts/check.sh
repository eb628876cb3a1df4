#!/usr/bin/env bash
# Build, boot and test the kernel on each architecture. Called by the Makefile.
# usage: check.sh MODE   with MODE check, run or shell
# Environment: ARCH (x86_64 and/or ppc64; check defaults to both, run and
# shell to x86_64), KERNEL (patched or stock), FLAVOUR (debug or release),
# TIMEOUT (seconds the guest may run), TESTS (space-separated program names:
# run only these, for a quick loop while hacking; CI runs them all).
set -euo pipefail
mode=${1:-check}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$mode" = check ]; then
	arches=${ARCH:-x86_64 ppc64}
else
	arches=${ARCH:-x86_64}
fi
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

# One architecture: build, boot, report. Runs in a subshell.
check_arch() {
	local arch=$1
	src=$top/build/linux
	case "$kernel" in
	patched) name=$arch ;;
	stock)
		"$top/scripts/tree.sh" --stock
		src=$top/build/linux-stock
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
	if [ "$flavour" = debug ]; then
		frags+=(config/debug.config)
		[ -f "config/debug-$arch.config" ] && frags+=("config/debug-$arch.config")
	fi
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
	if [ -n "${TESTS:-}" ]; then
		# A quicker loop while hacking: only the named programs run.
		for prog in "build/tests/$arch"/*/*; do
			case " $TESTS " in *" $(basename "$prog") "*) ;; *) rm -f "$prog" ;; esac
		done
		echo "check: TESTS=\"$TESTS\": only these programs run"
	fi
	"$top/scripts/initramfs.sh" "$arch" "build/tests/$arch" "build/initramfs-$arch.cpio"

	echo "check: booting $(basename "$image") under qemu ($mode, at most $timeout s)"
	set +e
	"$top/scripts/boot.sh" "$arch" "$image" "build/initramfs-$arch.cpio" "$mode" "$logs" "$timeout"
	rc=$?
	set -e
	[ "$mode" = shell ] && return 0
	status=ok
	[ "$rc" = 124 ] && status=timeout
	[ "$rc" != 0 ] && [ "$rc" != 124 ] && status=error
	echo "check: logs in ${logs#"$top"/}/"
	if [ "$mode" = run ]; then
		grep -v '^crossmem: \(BEGIN\|END\|DONE\)' "$logs/tests.log" | tr -d '\r'
		grep -q 'every byte verified' "$logs/tests.log"
		return
	fi
	grep '^crossmem: \(kernel\|mode\)' "$logs/tests.log" | tr -d '\r' || true
	set +e
	python3 "$top/scripts/report.py" "$logs/console.log" "$logs/tests.log" \
		--status "$status" --label "$name" | tee "$logs/report.txt"
	rc=${PIPESTATUS[0]}
	set -e
	return "$rc"
}

rc=0 passed=0 failed=0 skipped=0
for arch in $arches; do
	name=$arch
	[ "$kernel" = stock ] && name=$name-stock
	[ "$flavour" = debug ] || name=$name-$flavour
	rm -f "build/logs/$name/report.txt"
	# Not "check_arch || rc=1": bash ignores set -e inside an || list.
	set +e
	(set -e; check_arch "$arch")
	[ $? = 0 ] || rc=1
	set -e
	[ "$mode" = check ] || continue
	last=$(tail -n 1 "build/logs/$name/report.txt" 2>/dev/null || true)
	if [[ "$last" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
	else
		echo "ERROR $name: no report (the build or the boot failed)"
		failed=$((failed + 1))
	fi
done
if [ "$mode" = check ]; then
	# The closing line of the whole run, over every architecture.
	[ "$skipped" = 0 ] && echo "$passed passed, $failed failed" ||
		echo "$passed passed, $failed failed, $skipped skipped"
fi
exit "$rc"
