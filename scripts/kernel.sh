# Sourced by the scripts that build or boot a kernel: what depends on the
# architecture and on the configuration flavour, in one place.

# kernel_arch ARCH: sets kmake (make's arguments), image (the boot image,
# relative to the object directory) and target (the make target for it).
kernel_arch() {
	case "$1" in
	x86_64) kmake=(ARCH=x86_64) image=arch/x86/boot/bzImage target=bzImage ;;
	ppc64)  kmake=(ARCH=powerpc CROSS_COMPILE=powerpc64-linux-gnu-) image=vmlinux target=vmlinux ;;
	*) echo "unknown ARCH $1 (x86_64 or ppc64)" >&2; return 1 ;;
	esac
}

# kernel_frags ARCH FLAVOUR: sets frags, the config fragments merged onto
# tinyconfig (absolute paths). FLAVOUR: debug (make check), release, bench.
kernel_frags() {
	local dir
	dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../config" && pwd)
	frags=("$dir/common.config" "$dir/$1.config")
	case "$2" in
	debug)
		frags+=("$dir/debug.config")
		if [ -f "$dir/debug-$1.config" ]; then frags+=("$dir/debug-$1.config"); fi ;;
	bench) frags+=("$dir/bench.config") ;;
	release) ;;
	*) echo "unknown configuration flavour $2" >&2; return 1 ;;
	esac
}
