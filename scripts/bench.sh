#!/usr/bin/env bash
# make bench: compare the stock 6.12 kernel and the patched kernel in one run.
# Builds both kernels with the release configuration (no debug.config),
# builds bench/cma_bench.c statically into an initramfs of its own, boots
# each kernel under QEMU with the host's TSC rate as the guest clock, and
# writes build/bench/results.md and build/bench/bench.png.
#
# Environment:
#   BENCH_STOCK_IMAGE, BENCH_PATCHED_IMAGE  use these bzImages instead of
#                 building (either or both; for testing the pipeline)
#   BENCH_ROUNDS  boots per kernel: each round boots both kernels, in an
#                 order drawn at random per round (the first boot of a pair
#                 read up to 25% slower in one run; random order keeps any
#                 such drift from favouring one kernel); the samples of
#                 every round are pooled (default 2)
#   BENCH_SEED    seed of that order (default: random; printed)
#   BENCH_REPS    samples per row and boot (default 5: 10 per kernel)
#   BENCH_MIN_MS  minimum duration of one sample in ms (default 20)
#   BENCH_MAX_MB  largest size in MiB (default 64)
#   BENCH_DUMP_MAX_MB  largest size of the dump rows in MiB (default: 1024
#                 when BENCH_MAX_MB is 64; the guest's memory caps them at
#                 512 MiB in a 2 GiB guest; 0: no dump rows)
#   BENCH_TSC_KHZ the host TSC rate in kHz (default: measured here)
#   BENCH_TIMEOUT seconds one boot may run (default 900)
#   BENCH_WAIT_IDLE  before each boot, wait up to this many seconds for the
#                 host's 1-minute load average to drop below 1 (default 0:
#                 do not wait; the load is reported either way)
#   BENCH_ROWS    all (default), or grant, reduce, dump, vmsplice-thp: only
#                 those rows (cma_bench_rows=), in both kernels' boots; a
#                 partial run writes build/bench/results.md only: no plot,
#                 and doc/ keeps the last full run's tables
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
arch=x86_64
out=$top/build/bench
rounds=${BENCH_ROUNDS:-2}
reps=${BENCH_REPS:-5}
min_ms=${BENCH_MIN_MS:-20}
max_mb=${BENCH_MAX_MB:-64}
rows=${BENCH_ROWS:-all}
case $rows in
all|grant|reduce|dump|vmsplice-thp) ;;
*) echo "bench: BENCH_ROWS is all, grant, reduce, dump or vmsplice-thp, not $rows" >&2; exit 1 ;;
esac
limit=${BENCH_TIMEOUT:-900}
t_start=$(date +%s)

"$top/scripts/deps.sh"
mkdir -p "$out"

# ---- the two kernels, release configuration -------------------------------
. "$top/scripts/kernel.sh"
arch_load "$arch"
kernel_frags "$arch" bench
kernel_image() {	# name src obj
	local name=$1 src=$2 obj=$3
	# In $(...), set -e does not reach in here: fail explicitly.
	"$top/scripts/build-kernel.sh" "$arch" "$src" "$obj" "${frags[@]}" >&2 || return 1
	echo "$obj/$ARCH_IMAGE"
}
if [ -n "${BENCH_STOCK_IMAGE:-}" ]; then
	stock_image=$(realpath "$BENCH_STOCK_IMAGE")
else
	"$top/scripts/tree.sh" --stock
	src=$top/build/linux-stock
	stock_image=$(kernel_image stock "$src" "$top/build/obj-$arch-stock-bench")
fi
if [ -n "${BENCH_PATCHED_IMAGE:-}" ]; then
	patched_image=$(realpath "$BENCH_PATCHED_IMAGE")
else
	[ -d build/linux/.git ] || "$top/scripts/tree.sh"
	patched_image=$(kernel_image patched "$top/build/linux" "$top/build/obj-$arch-bench")
fi
for img in "$stock_image" "$patched_image"; do
	[ -f "$img" ] || { echo "bench: no kernel image $img" >&2; exit 1; }
done

# ---- the guest clock (ARCH_CLOCK: the host's TSC rate on x86) ---------------
clock=$(measure_clock_append)
tsc_khz=$(sed -n 's/.*tsc_early_khz=\([0-9]*\).*/\1/p' <<<"$clock")
echo "bench: guest clock: ${clock:-its own}"

# ---- the guest program and its initramfs ------------------------------------
# In check mode the guest init runs the programs of a kselftest install tree
# and sends their output, each line after "# ", to tests.log: the tree holds
# only the benchmark.
rm -rf "$out/tests"
mkdir -p "$out/tests/bench"
$ARCH_CC -static -O2 -Wall -Wextra -o "$out/tests/bench/cma_bench" bench/cma_bench.c
echo "timeout=$limit" >"$out/tests/bench/settings"
echo "bench:cma_bench" >"$out/tests/kselftest-list.txt"
TESTS= "$top/scripts/initramfs.sh" "$arch" "$out/tests" "$out/initramfs.cpio"

append="$clock"
append="$append cma_bench_reps=$reps cma_bench_min_ms=$min_ms cma_bench_max_mb=$max_mb"
[ -n "${BENCH_DUMP_MAX_MB:-}" ] && append="$append cma_bench_dump_max_mb=$BENCH_DUMP_MAX_MB"
[ "$rows" != all ] && append="$append cma_bench_rows=$rows"

# ---- boot: both kernels per round, in random order ---------------------------
rm -rf "$out/logs"
runs=()
seed=${BENCH_SEED:-$RANDOM}
RANDOM=$seed
echo "bench: boot order seed $seed (BENCH_SEED=$seed repeats it)"
for ((r = 1; r <= rounds; r++)); do
	order="stock patched"
	[ $((RANDOM % 2)) = 1 ] && order="patched stock"
	for kernel in $order; do
		image=$stock_image
		[ "$kernel" = patched ] && image=$patched_image
		logs=$out/logs/$kernel-$r
		load=$(cut -d' ' -f1 /proc/loadavg)
		waited=0
		while [ "$waited" -lt "${BENCH_WAIT_IDLE:-0}" ] &&
		      awk -v l="$load" 'BEGIN{exit !(l >= 1)}'; do
			[ "$waited" = 0 ] && echo "bench: host load $load, waiting for it to drop below 1"
			sleep 10
			waited=$((waited + 10))
			load=$(cut -d' ' -f1 /proc/loadavg)
		done
		awk -v l="$load" 'BEGIN{exit !(l >= 1)}' &&
			echo "bench: WARNING: host load $load: another job competes for the host's CPUs, expect noise"
		echo "bench: round $r/$rounds, $kernel kernel $(basename "$image") (host load $load)"
		t0=$(date +%s.%N)
		set +e
		BOOT_CPU=bench BOOT_APPEND="$append" "$top/scripts/boot.sh" "$arch" "$image" \
			"$out/initramfs.cpio" check "$logs" "$limit"
		rc=$?
		set -e
		t1=$(date +%s.%N)
		echo "$t0 $t1 $load" >"$logs/host-time"
		tr -d '\r' <"$logs/tests.log" | sed 's/^# //' >"$logs/bench.log"
		if [ "$rc" != 0 ] || ! grep -q '^BENCH-DONE' "$logs/bench.log"; then
			echo "bench: the $kernel boot failed (qemu exit $rc); logs in ${logs#"$top"/}/" >&2
			grep -h 'BENCH-ERROR\|TIMEOUT\|END ' "$logs/bench.log" >&2 || true
			tail -n 20 "$logs/console.log" | tr -d '\r' >&2
			exit 1
		fi
		grep '^crossmem: mode' "$logs/bench.log" | sed 's/^/bench:   /'
		runs+=("$kernel=$logs")
	done
done

# ---- results ----------------------------------------------------------------
cmdline="make bench"
for v in BENCH_ROUNDS BENCH_REPS BENCH_MIN_MS BENCH_MAX_MB BENCH_DUMP_MAX_MB BENCH_ROWS; do
	[ -n "${!v:-}" ] && cmdline="$cmdline $v=${!v}"
done
python3 bench/results.py --out "$out" --tsc-khz "$tsc_khz" \
	--stock-image "${stock_image#"$top"/}" --patched-image "${patched_image#"$top"/}" \
	--command "$cmdline" --cpu "$ARCH_CPU_BENCH" --seed "$seed" "${runs[@]}"
if [ "$rows" != all ]; then
	# The plot wants every row, and doc/ holds the last full run.
	echo "bench: BENCH_ROWS=$rows: results in ${out#"$top"/}/results.md (doc/ unchanged)," \
		"guest logs in ${out#"$top"/}/logs/ ($(( $(date +%s) - t_start )) s in all)"
	exit 0
fi
if command -v gnuplot >/dev/null; then
	gnuplot -e "dir='$out'; out='$out/bench.png'" bench/plot.gp 2>"$out/gnuplot.log" ||
		{ cat "$out/gnuplot.log" >&2; echo "bench: gnuplot failed" >&2; exit 1; }
	grep -v '^\s*$' "$out/gnuplot.log" | grep -iv 'no valid points\|skipping data file' >&2 || true
fi
# The tables and the plot are part of the repository: doc/results.md is
# what the README and the cover letter quote.
cp "$out/results.md" "$top/doc/results.md"
[ -f "$out/bench.png" ] && cp "$out/bench.png" "$top/doc/bench.png"
echo "bench: results in doc/results.md and doc/bench.png (also ${out#"$top"/}/)," \
	"guest logs in ${out#"$top"/}/logs/ ($(( $(date +%s) - t_start )) s in all)"
