# Sourced by the scripts that build, test or boot a kernel. What depends on
# the architecture is in arch/<arch>.conf, one declarative file each.

arch_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../arch" && pwd)
config_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../config" && pwd)

# What every arch/<arch>.conf sets (ARCH_BUSYBOX may be empty).
arch_vars=(ARCH_KMAKE ARCH_IMAGE ARCH_TARGET
	   ARCH_CONFIG_DEBUG ARCH_CONFIG_RELEASE ARCH_CONFIG_BENCH
	   ARCH_QEMU ARCH_QEMU_ARGS ARCH_CPU_CHECK ARCH_CPU_BENCH ARCH_CLOCK
	   ARCH_CONSOLE ARCH_TEST_PORT ARCH_CC ARCH_BUSYBOX
	   ARCH_ABIS ARCH_SELFTESTS_MAKE ARCH_PACKAGES)

# arch_list: the architectures that have a file, one per line.
arch_list() {
	local f
	for f in "$arch_dir"/*.conf; do
		basename "$f" .conf
	done
}

# arch_load ARCH: set the ARCH_* variables from arch/ARCH.conf, and
# ARCH_NAME to ARCH.
arch_load() {
	local conf=$arch_dir/$1.conf v
	if [ -z "$1" ] || [ ! -f "$conf" ]; then
		echo "unknown architecture '$1' (there are: $(arch_list | xargs))" >&2
		return 1
	fi
	unset "${!ARCH_@}"
	. "$conf" || return 1
	for v in "${arch_vars[@]}"; do
		if [ -z "${!v+set}" ]; then
			echo "${conf#"$arch_dir"/../}: $v is not set" >&2
			return 1
		fi
	done
	ARCH_NAME=$1
}

# kernel_frags ARCH FLAVOUR: sets frags, the config fragments merged onto
# tinyconfig (absolute paths). FLAVOUR: debug (make check), release, bench.
kernel_frags() {
	local list f
	arch_load "$1" || return 1
	list=ARCH_CONFIG_${2^^}
	if [[ ! "$2" =~ ^[a-z]+$ ]] || [ -z "${!list+set}" ]; then
		echo "unknown configuration flavour $2 (debug, release or bench)" >&2
		return 1
	fi
	frags=()
	for f in ${!list}; do
		frags+=("$config_dir/$f.config")
	done
}

# measure_clock_append: the kernel parameters that give a measuring guest
# of the loaded architecture a usable clock (ARCH_CLOCK), on stdout.
# BENCH_TSC_KHZ overrides the host TSC rate measured here.
measure_clock_append() {
	local dir khz
	[ "$ARCH_CLOCK" = tsc ] || return 0
	khz=${BENCH_TSC_KHZ:-}
	if [ -z "$khz" ]; then
		dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
		mkdir -p "$dir/build"
		gcc -O2 -Wall -o "$dir/build/tsc-khz" "$dir/bench/tsc_khz.c" || return 1
		khz=$("$dir/build/tsc-khz") || return 1
	fi
	echo "tsc_early_khz=$khz tsc=reliable clocksource=tsc"
}
