#!/usr/bin/env bash
# Configure and build one kernel, incrementally.
# usage: build-kernel.sh ARCH SRC OBJ FRAGMENT...
# The .config is tinyconfig plus the fragments; it is regenerated in a scratch
# directory and copied over only when it changed, so that an unchanged config
# never makes kbuild rebuild everything.
set -euo pipefail
arch=$1 src=$2 obj=$3
shift 3
frags=()
for f in "$@"; do frags+=("$(realpath "$f")"); done
set -- "${frags[@]}"
top=$(cd "$(dirname "$0")/.." && pwd)

. "$top/scripts/kernel.sh"
arch_load "$arch"

mkdir -p "$obj"
scratch=$obj.config-scratch
stamp=$obj/.crossmem-config-stamp
want=$(cat "$@" "$src/Makefile" | sha1sum | cut -d' ' -f1)
if [ ! -f "$obj/.config" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	rm -rf "$scratch"
	mkdir -p "$scratch"
	make -s -C "$src" O="$scratch" $ARCH_KMAKE tinyconfig >/dev/null
	(cd "$scratch" && KCONFIG_CONFIG=.config \
		"$src/scripts/kconfig/merge_config.sh" -m -O "$scratch" .config "$@" >/dev/null)
	make -s -C "$src" O="$scratch" $ARCH_KMAKE olddefconfig >/dev/null
	# Every option a fragment asks for must survive olddefconfig: a missing
	# dependency would otherwise silently test a different kernel.
	missing=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$scratch/.config" ||
			{ echo "build-kernel: $line did not stick (a dependency is missing)" >&2; missing=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			! grep -q "^$opt=" "$scratch/.config" ||
			{ echo "build-kernel: $opt should be off" >&2; missing=1; } ;;
		esac
	done < <(cat "$@")
	[ "$missing" = 0 ] || exit 1
	cmp -s "$scratch/.config" "$obj/.config" || cp "$scratch/.config" "$obj/.config"
	rm -rf "$scratch"
	echo "$want" >"$stamp"
fi

echo "build-kernel: $arch in ${obj#"$top"/} ($(nproc) jobs)"
make -s -C "$src" O="$obj" $ARCH_KMAKE -j"$(nproc)" "$ARCH_TARGET"
ls -l "$obj/$ARCH_IMAGE" | awk '{print "build-kernel: " $NF " " $5 " bytes"}'
