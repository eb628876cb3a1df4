#!/usr/bin/env bash
# Check for (and, as root, install) the Debian bookworm packages crossmem uses.
# usage: deps.sh [--print]   (--print: only print the apt-get line)
set -euo pipefail
packages=(
	linux-source-6.12 xz-utils
	make gcc libc6-dev bc flex bison libelf-dev libssl-dev cpio kmod rsync
	python3 python3-ply python3-git perl procps
	# gcc-12-multilib, not gcc-multilib: the latter conflicts with the
	# powerpc cross compilers; our own uapi headers provide <asm/...>.
	gcc-12-multilib libc6-dev-x32
	qemu-system-x86 busybox-static
	gcc-powerpc64-linux-gnu gcc-powerpc-linux-gnu libc6-dev-ppc64-cross
	libc6-dev-powerpc-cross qemu-system-ppc
	gnuplot-nox
)
line="apt-get install -y --no-install-recommends ${packages[*]}"
if [ "${1:-}" = "--print" ]; then
	echo "$line"
	exit 0
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
echo "deps: missing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root: apt-get update && $line" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# apt-get -y silently removes what a new package conflicts with (in bookworm
# gcc-multilib and the powerpc cross compilers remove each other): simulate
# first, and change nothing if the install would remove a package.
removed=$(apt-get install -s -q --no-install-recommends "${missing[@]}" |
	  awk '$1 == "Remv" { print $2 }')
if [ -n "$removed" ]; then
	echo "deps: installing ${missing[*]} would remove: $(echo $removed)" >&2
	echo "deps: nothing changed; remove or replace those packages yourself" \
	     "(gcc-multilib: gcc-12-multilib does the same job and conflicts with nothing here)" >&2
	exit 1
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
