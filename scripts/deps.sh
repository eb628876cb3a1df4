#!/usr/bin/env bash
# Check for (and, as root, install) the Debian bookworm packages crossmem uses.
# usage: deps.sh [--mpi] [--print]
#   --mpi    also what make mpi needs (Debian's Open MPI: its mpicc builds
#            guest/mpi_reduce.c, its runtime and libraries go into the guest)
#   --print  only print the apt-get line
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kernel.sh"
# What every architecture needs; each arch file adds its own ARCH_PACKAGES.
packages=(
	linux-source-6.12 xz-utils
	make gcc libc6-dev bc flex bison libelf-dev libssl-dev cpio kmod rsync
	python3 python3-ply python3-git perl procps
	gnuplot-nox
)
for arch in $(arch_list); do
	arch_load "$arch"
	packages+=($ARCH_PACKAGES)
done
print=
for a in "$@"; do
	case $a in
	--mpi) packages+=(openmpi-bin libopenmpi-dev) ;;
	--print) print=1 ;;
	*) echo "deps: unknown argument $a" >&2; exit 2 ;;
	esac
done
line="apt-get install -y --no-install-recommends ${packages[*]}"
if [ -n "$print" ]; then
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
