#!/usr/bin/env bash
# Build the kernel at every commit of the series, so that it bisects; with
# BOOT=1 also boot each commit and run the whole test suite of the series'
# head against it (scripts/check.sh with KERNEL=bisect): the tests pass on
# the stock kernel, so they must pass at every step too, the feature checks
# skipping until the commit that brings the feature.
# usage: bisect-check.sh   (uses a separate worktree and object directory;
# each step is an incremental build with make check's configuration)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${ARCH:-x86_64}
wt=$top/build/linux-bisect
obj=$top/build/obj-$arch-bisect
. "$top/scripts/kernel.sh"
kernel_frags "$arch" debug
cd "$top"
mkdir -p build/logs
[ -d "$wt" ] || git -C "$top/build/linux" worktree add -q --detach "$wt" base
for c in $(git -C "$top/build/linux" rev-list --reverse base..HEAD); do
	git -C "$wt" checkout -q --detach "$c"
	echo "bisect-check: $(git -C "$wt" log -1 --format='%h %s')"
	if [ "${BOOT:-0}" = 1 ]; then
		KERNEL=bisect ARCH=$arch "$top/scripts/check.sh" check >"$top/build/logs/bisect-$arch.log" 2>&1 ||
			{ echo "bisect-check: FAILED at $c, see build/logs/bisect-$arch.log" >&2; exit 1; }
		echo "bisect-check:   booted: $(tail -n 1 "$top/build/logs/bisect-$arch.log")"
	else
		"$top/scripts/build-kernel.sh" "$arch" "$wt" "$obj" "${frags[@]}" >/dev/null
	fi
done
if [ "${BOOT:-0}" = 1 ]; then
	echo "bisect-check: every commit builds, boots and passes the tests ($arch)"
else
	echo "bisect-check: every commit builds"
fi
