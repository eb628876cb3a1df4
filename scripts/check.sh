#!/usr/bin/env bash
# Build, boot and test the kernel on each architecture. Called by the Makefile.
# usage: check.sh MODE   with MODE check, run or shell
# Environment: ARCH (x86_64 and/or ppc64; check defaults to both, run and
# shell to x86_64), KERNEL (patched, stock, or bisect: whatever commit
# scripts/bisect-check.sh checked out), FLAVOUR (debug or release),
# TIMEOUT (seconds a guest may run), TESTS (space-separated program names:
# run only these, for a quick loop while hacking; CI runs them all).
#
# GUESTS: how many guests may run at once (default: the host's CPU count).
#
# In check mode every ABI (x86_64, i386, x32, ppc64, ppc32) gets a guest of
# its own, and up to GUESTS of them run at once: the tests are mostly
# single-threaded, so one guest after another would leave host cores idle,
# while more guests than cores only add vCPU contention. Separate kernels
# keep global state (sysctls, vmstat counters, cgroups) from leaking between
# ABIs. An architecture's guests start as soon as its kernel is built,
# while the next architecture builds.
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
slots=${GUESTS:-$(nproc)}
[ "$slots" -ge 1 ] 2>/dev/null || { echo "check: GUESTS is a number >= 1, not $slots" >&2; exit 1; }
cd "$top"

"$top/scripts/deps.sh"
if [ "$mode" = check ]; then
	if ! python3 "$top/scripts/report_test.py" -q 2>&1 | tail -n 1 | sed 's/^/report self-test: /'; then
		echo "check: the log parser fails its own tests" >&2
		exit 1
	fi
fi
[ -d build/linux/.git ] || "$top/scripts/tree.sh"
if [ "$mode" = check ]; then "$top/scripts/checkpatch.sh"; fi
[ "$kernel" = stock ] && "$top/scripts/tree.sh" --stock

case "$kernel" in
patched) src=$top/build/linux suffix= ;;
stock)   src=$top/build/linux-stock suffix=-stock ;;
bisect)  src=$top/build/linux-bisect suffix=-bisect
	 [ -d "$src" ] || { echo "check: KERNEL=bisect needs scripts/bisect-check.sh's worktree" >&2; exit 1; } ;;
*) echo "check: KERNEL is patched, stock or bisect, not $kernel" >&2; exit 1 ;;
esac
[ "$flavour" = debug ] || suffix=$suffix-$flavour

. "$top/scripts/kernel.sh"
image_of() {
	local kmake image target
	kernel_arch "$1"
	echo "$top/build/obj-$1$suffix/$image"
}

# One architecture's kernel, tests and initramfs. Runs in a subshell.
prepare_arch() {
	local arch=$1 obj=$top/build/obj-$1$suffix base npatches
	base=$("$top/scripts/tree.sh" --base-version "$src")
	npatches=$(git -C "$src" rev-list --count base..HEAD)
	echo "check: base linux-source-6.12 $base, $kernel kernel ($npatches patch(es) in ${src#"$top"/}), $arch, $flavour config"

	kernel_frags "$arch" "$flavour"
	"$top/scripts/build-kernel.sh" "$arch" "$src" "$obj" "${frags[@]}"
	kernel_arch "$arch"
	# Tests always come from the patched tree: the stock kernel runs the very
	# same binaries, which is how ABI compatibility is shown.
	hdrobj=$top/build/obj-$arch-headers
	make -s -C build/linux O="$hdrobj" "${kmake[@]}" headers >/dev/null
	"$top/scripts/build-tests.sh" "$arch" "$top/build/linux" "$hdrobj/usr/include" "build/tests/$arch"
	"$top/scripts/initramfs.sh" "$arch" "build/tests/$arch" "build/initramfs-$arch.cpio"
}

# Start one guest in the background; its exit status lands in LOGDIR/rc.
# Guests take GUESTS slots in the order they were started: guest N (from 0)
# boots once N - GUESTS + 1 guests have finished, each adding a line to
# $finished.
finished=$top/build/logs/.guests-finished
mkdir -p "$top/build/logs"
: >"$finished"
tickets=0
# Queued and running guests go with us, on ^C or on an error: each job's
# whole process tree, QEMU and boot.sh's timeout included, children first.
kill_tree() {
	local child
	for child in $(pgrep -P "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill "$1" 2>/dev/null || true
}
trap 'for job in $(jobs -p); do kill_tree "$job"; done' EXIT
start_guest() {
	local arch=$1 logs=$2 append=$3 ticket=$tickets
	tickets=$((tickets + 1))
	rm -rf "$logs"
	mkdir -p "$logs"
	(
		set +e
		while [ "$(wc -l <"$finished")" -le $((ticket - slots)) ]; do
			kill -0 $$ 2>/dev/null || exit 1
			sleep 0.5
		done
		BOOT_APPEND="${BOOT_APPEND:-} $append" "$top/scripts/boot.sh" "$arch" \
			"$(image_of "$arch")" "build/initramfs-$arch.cpio" "$mode" "$logs" "$timeout"
		echo $? >"$logs/rc"
		echo "$logs" >>"$finished"
	) &
}

# Report one guest: prints its tests and returns non-zero when anything failed.
report_guest() {
	local logs=$1 label=$2 rc status=ok
	rc=$(cat "$logs/rc" 2>/dev/null || echo 1)
	[ "$rc" = 124 ] && status=timeout
	[ "$rc" != 0 ] && [ "$rc" != 124 ] && status=error
	grep '^crossmem: \(kernel\|mode\)' "$logs/tests.log" 2>/dev/null | tr -d '\r' || true
	python3 "$top/scripts/report.py" "$logs/console.log" "$logs/tests.log" \
		--status "$status" --label "$label" >"$logs/report.txt"
	rc=$?
	cat "$logs/report.txt"
	return "$rc"
}

rc=0 passed=0 failed=0 skipped=0
guests=()
for arch in $arches; do
	# Not "prepare_arch || rc=1": bash ignores set -e inside an || list.
	set +e
	(set -e; prepare_arch "$arch")
	prc=$?
	set -e
	if [ "$prc" != 0 ]; then
		echo "ERROR $arch$suffix: preparing the kernel, tests or initramfs failed (see above)"
		rc=1 failed=$((failed + 1))
		continue
	fi
	logs=$top/build/logs/$arch$suffix
	if [ "$mode" = shell ]; then
		exec "$top/scripts/boot.sh" "$arch" "$(image_of "$arch")" \
			"build/initramfs-$arch.cpio" shell "$logs" "$timeout"
	fi
	if [ "$mode" = run ]; then
		echo "check: booting $(basename "$(image_of "$arch")") under qemu (run, at most $timeout s)"
		rm -rf "$logs"
		"$top/scripts/boot.sh" "$arch" "$(image_of "$arch")" \
			"build/initramfs-$arch.cpio" run "$logs" "$timeout" || rc=1
		echo "check: logs in ${logs#"$top"/}/"
		grep -v '^crossmem: \(BEGIN\|END\|DONE\)' "$logs/tests.log" | tr -d '\r'
		grep -q 'every byte verified' "$logs/tests.log" || rc=1
		continue
	fi
	rm -rf "$logs"
	# The native ABI first: it runs the longest tests.
	abis=$(cd "build/initramfs-$arch.cpio.d/tests" && ls | awk -v a="$arch" '$0 == a {print; next} {r = r " " $0} END {print r}')
	echo "check: queueing $(basename "$(image_of "$arch")") under qemu, one guest per ABI ($(echo $abis)), $slots at once, at most $timeout s each"
	for abi in $abis; do
		start_guest "$arch" "$logs/$abi" "crossmem_abi=$abi"
		guests+=("$arch$suffix/$abi")
	done
done
[ "$mode" = check ] || exit "$rc"

wait
for guest in "${guests[@]}"; do
	logs=$top/build/logs/$guest
	report_guest "$logs" "$guest" || rc=1
	last=$(tail -n 1 "$logs/report.txt" 2>/dev/null || true)
	if [[ "$last" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
	else
		echo "ERROR $guest: no report"
		failed=$((failed + 1))
	fi
done
echo "check: logs in build/logs/<arch>$suffix/<abi>/"
# The closing line of the whole run, over every architecture.
[ "$skipped" = 0 ] && echo "$passed passed, $failed failed" ||
	echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
