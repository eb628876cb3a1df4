#!/usr/bin/env bash
# Build, boot and test the kernel on each architecture. Called by the Makefile.
# usage: check.sh MODE   with MODE check, run or shell
# Environment: ARCH (names of arch/*.conf; check defaults to all of them,
# run and shell to x86_64), KERNEL (patched, stock, or bisect: whatever
# commit scripts/bisect-check.sh checked out), FLAVOUR (debug, release or
# bench; check and shell default to debug, run to bench: make run measures,
# on the kernel make bench measures, with the measurement CPU),
# TIMEOUT (seconds a guest may run), TESTS (space-separated program names:
# run only these, for a quick loop while hacking; CI runs them all).
#
# GUESTS: how many guests may run at once (default: the host's CPU count).
#
# In check mode every ABI of an architecture (ARCH_ABIS in arch/<arch>.conf:
# x86_64, i386, x32; ppc64, ppc32) gets a guest of its own, booted with
# crossmem_abi=<suffix> so that guest/init runs only that ABI's programs,
# and up to GUESTS of them run at once: the tests are mostly
# single-threaded, so one guest after another would leave host cores idle,
# while more guests than cores only add vCPU contention.
# Separate kernels keep global state (sysctls, vmstat counters, cgroups)
# from leaking between ABIs. An architecture's guests start as soon as its
# kernel is built, while the next architecture builds.
#
# Checks of different kernels (KERNEL=stock beside KERNEL=patched) may run
# at once in one clone: everything they write is named after the kernel
# (build/obj-<arch><suffix>, build/initramfs-<arch><suffix>.cpio,
# build/logs/<arch><suffix>), except the test binaries, which both use:
# their build takes a lock.
set -euo pipefail
mode=${1:-check}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kernel.sh"
if [ "$mode" = check ]; then
	arches=${ARCH:-$(arch_list | xargs)}
else
	arches=${ARCH:-x86_64}
fi
kernel=${KERNEL:-patched}
if [ "$mode" = run ]; then
	flavour=${FLAVOUR:-bench}
else
	flavour=${FLAVOUR:-debug}
fi
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

image_of() {
	arch_load "$1"
	echo "$top/build/obj-$1$suffix/$ARCH_IMAGE"
}

# The initramfs of an architecture, for this kernel.
initrd_of() {
	echo "$top/build/initramfs-$1$suffix.cpio"
}

# One architecture's kernel, tests and initramfs. Runs in a subshell.
prepare_arch() {
	local arch=$1 obj=$top/build/obj-$1$suffix base npatches
	base=$("$top/scripts/tree.sh" --base-version "$src")
	npatches=$(git -C "$src" rev-list --count base..HEAD)
	echo "check: base linux-source-6.12 $base, $kernel kernel ($npatches patch(es) in ${src#"$top"/}), $arch, $flavour config"

	kernel_frags "$arch" "$flavour"
	"$top/scripts/build-kernel.sh" "$arch" "$src" "$obj" "${frags[@]}"
	arch_load "$arch"
	# Tests always come from the patched tree: the stock kernel runs the very
	# same binaries, which is how ABI compatibility is shown. A check of
	# another kernel may be building them right now: take turns (the lock
	# goes with this subshell), and pack our initramfs before letting go.
	exec 9>"$top/build/.tests-$arch.lock"
	flock 9
	hdrobj=$top/build/obj-$arch-headers
	make -s -C build/linux O="$hdrobj" $ARCH_KMAKE headers >/dev/null
	# Where lib.mk looks by default, so that on the host a plain
	# make -C build/linux/tools/testing/selftests TARGETS=cma builds every
	# ABI too. Copied, not made there: an in-tree make headers also
	# writes arch/*/include/generated, which stops every O= build.
	if [ "$arch" = "$(uname -m)" ]; then
		rsync -a "$hdrobj/usr/include/" build/linux/usr/include/
	fi
	"$top/scripts/build-tests.sh" "$arch" "$top/build/linux" "$hdrobj/usr/include" "build/tests/$arch"
	"$top/scripts/initramfs.sh" "$arch" "build/tests/$arch" "$(initrd_of "$arch")"
}

# Queued and running jobs go with us, on ^C, on kill or on an error: each
# job's whole process tree, QEMU and boot.sh's timeout included, children
# first.
kill_tree() {
	local child
	for child in $(pgrep -P "$1" 2>/dev/null); do
		kill_tree "$child"
	done
	kill "$1" 2>/dev/null || true
}
trap 'for job in $(jobs -p); do kill_tree "$job"; done' EXIT

# Report one guest: prints its tests and returns non-zero when anything failed.
report_guest() {
	local logs=$1 label=$2 rc status=ok
	rc=$(cat "$logs/rc" 2>/dev/null || echo 1)
	[ "$rc" = 124 ] && status=timeout
	[ "$rc" != 0 ] && [ "$rc" != 124 ] && status=error
	tr -d '\r' 2>/dev/null <"$logs/tests.log" |
		sed -n 's/^# \(crossmem: \(kernel\|mode\) \)/\1/p' || true
	python3 "$top/scripts/report.py" "$logs/console.log" "$logs/tests.log" \
		--status "$status" --label "$label" >"$logs/report.txt"
	rc=$?
	cat "$logs/report.txt"
	return "$rc"
}

rc=0 passed=0 failed=0 skipped=0

# ---- run and shell: one architecture after another, one guest each ----------
if [ "$mode" != check ]; then
	for arch in $arches; do
		# Not "prepare_arch || rc=1": bash ignores set -e inside an || list.
		set +e
		(set -e; prepare_arch "$arch")
		prc=$?
		set -e
		if [ "$prc" != 0 ]; then
			echo "ERROR $arch$suffix: preparing the kernel, tests or initramfs failed (see above)"
			rc=1
			continue
		fi
		logs=$top/build/logs/$arch$suffix
		if [ "$mode" = shell ]; then
			exec "$top/scripts/boot.sh" "$arch" "$(image_of "$arch")" \
				"$(initrd_of "$arch")" shell "$logs" "$timeout"
		fi
		echo "check: booting $(basename "$(image_of "$arch")") under qemu (run, at most $timeout s)"
		rm -rf "$logs"
		# The demo times transfers: give the guest the clock make bench uses.
		arch_load "$arch"
		clock=$(measure_clock_append)
		BOOT_APPEND="${BOOT_APPEND:-} $clock" "$top/scripts/boot.sh" "$arch" \
			"$(image_of "$arch")" "$(initrd_of "$arch")" run "$logs" "$timeout" || rc=1
		echo "check: logs in ${logs#"$top"/}/"
		tr -d '\r' <"$logs/tests.log"
		grep -q 'every byte verified' "$logs/tests.log" || rc=1
		# The dump ends in OK on every kernel (without process_vmsplice
		# it dumps with process_vm_readv alone).
		grep -q 'cma-demo: dump: OK' "$logs/tests.log" || rc=1
		# The grant part, last, ends in OK, or is skipped on a kernel
		# without process_vm_grant() (ENOSYS).
		grep -q 'cma-demo: grant: \(OK\|skipped\)' "$logs/tests.log" || rc=1
		# A FAIL of the reduction, the dump, the grant or an image's
		# verify, or any other non-zero exit of the demo.
		! grep -q 'cma-demo: \(reduce\|dump\|grant\): FAIL\|vmdump: verify FAIL\|/bin/cma-demo: \(exit status\|TIMEOUT\)' \
			"$logs/tests.log" || rc=1
	done
	exit "$rc"
fi

# ---- check: architectures built one after another, guests GUESTS at a time --
# Every background job is a kernel being prepared or a guest; wait -n says
# which one ended, and the loop starts what may start then.
declare -A jobs_of=()	# pid -> "prepare ARCH" or "guest"
queue=()		# guests ready to boot: "ARCH NAME SUFFIX"
guests=()		# every guest queued, as ARCH<kernel suffix>/NAME
running=0
set -- $arches

start_prepare() {
	(set -e; prepare_arch "$1") &
	jobs_of[$!]="prepare $1"
}

# Queue one guest per ABI of an architecture whose kernel and initramfs
# are ready: the native ABI first, it runs the longest tests.
queue_guests() {
	local arch=$1 pair first=() rest=() names=()
	arch_load "$arch"
	for pair in $ARCH_ABIS; do
		if [ "${pair%%:*}" = "$arch" ]; then first+=("$pair"); else rest+=("$pair"); fi
	done
	rm -rf "$top/build/logs/$arch$suffix"
	for pair in "${first[@]}" "${rest[@]}"; do
		queue+=("$arch ${pair%%:*} ${pair#*:}")
		guests+=("$arch$suffix/${pair%%:*}")
		names+=("${pair%%:*}")
	done
	echo "check: queueing $(basename "$(image_of "$arch")") under qemu, one guest per ABI (${names[*]}), $slots at once, at most $timeout s each"
}

# start_guest ARCH NAME SUFFIX: boot the guest of one ABI in the background;
# its exit status lands in build/logs/ARCH<kernel suffix>/NAME/rc.
start_guest() {
	local arch=$1 abi=$3 logs=$top/build/logs/$1$suffix/$2
	mkdir -p "$logs"
	(
		set +e
		BOOT_APPEND="${BOOT_APPEND:-} crossmem_abi=$abi" "$top/scripts/boot.sh" \
			"$arch" "$(image_of "$arch")" "$(initrd_of "$arch")" check "$logs" "$timeout"
		echo $? >"$logs/rc"
	) &
	jobs_of[$!]=guest
	running=$((running + 1))
}

if [ $# -gt 0 ]; then
	start_prepare "$1"
	shift
fi
while [ ${#jobs_of[@]} -gt 0 ] || [ ${#queue[@]} -gt 0 ]; do
	while [ "$running" -lt "$slots" ] && [ ${#queue[@]} -gt 0 ]; do
		start_guest ${queue[0]}	# ARCH NAME SUFFIX: three words
		queue=("${queue[@]:1}")
	done
	pid='' st=0
	wait -n -p pid || st=$?
	[ -n "${pid:-}" ] || continue
	job=${jobs_of[$pid]:-}
	unset "jobs_of[$pid]"
	case "$job" in
	guest)
		running=$((running - 1)) ;;
	prepare\ *)
		arch=${job#prepare }
		if [ "$st" != 0 ]; then
			echo "ERROR $arch$suffix: preparing the kernel, tests or initramfs failed (see above)"
			rc=1 failed=$((failed + 1))
		else
			queue_guests "$arch"
		fi
		if [ $# -gt 0 ]; then
			start_prepare "$1"
			shift
		fi ;;
	esac
done

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
