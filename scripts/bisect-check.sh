#!/usr/bin/env bash
# Build the kernel at every commit of the series, so that it bisects.
# usage: bisect-check.sh   (uses a separate worktree and object directory;
# each step is an incremental build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${ARCH:-x86_64}
wt=$top/build/linux-bisect
obj=$top/build/obj-$arch-bisect
cd "$top"
[ -d "$wt" ] || git -C "$top/build/linux" worktree add -q --detach "$wt" base
for c in $(git -C "$top/build/linux" rev-list --reverse base..HEAD); do
	git -C "$wt" checkout -q --detach "$c"
	echo "bisect-check: $(git -C "$wt" log -1 --format='%h %s')"
	"$top/scripts/build-kernel.sh" "$arch" "$wt" "$obj" config/common.config \
		"config/$arch.config" config/debug.config >/dev/null
done
echo "bisect-check: every commit builds"
