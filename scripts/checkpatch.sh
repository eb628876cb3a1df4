#!/usr/bin/env bash
# Run the kernel's checkpatch.pl --strict on every patch of the series.
# usage: checkpatch.sh   (exits 1 when any patch has an error, warning or check)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
# spdxcheck.py needs Debian's python3-ply, which a pyenv python3 first in
# PATH would not see.
export PATH=/usr/bin:$PATH
# FILE_PATH_CHANGES ("does MAINTAINERS need updating?") fires for every new
# file; the CROSS MEMORY ATTACH entry added by the first patch covers ours.
# A patch found clean is remembered by the hash of its text and of the
# checker, so that an unchanged series costs nothing on the next make check.
cache=$top/build/checkpatch-clean
mkdir -p "$cache"
checker=$(cat "$tree/scripts/checkpatch.pl" "$tree/scripts/spelling.txt" \
	"$tree/scripts/const_structs.checkpatch" "$0" | sha1sum | cut -d' ' -f1)
bad=0
for p in $(grep -v '^[[:space:]]*\(#\|$\)' "$top/patches/series"); do
	key=$(sha1sum <"$top/patches/$p" | cut -d' ' -f1)-$checker
	if [ -e "$cache/$key" ]; then
		echo "checkpatch: clean  $p (unchanged)"
	elif out=$(cd "$tree" && ./scripts/checkpatch.pl --strict --terse --no-summary \
		--ignore FILE_PATH_CHANGES \
		"$top/patches/$p" 2>&1) && [ -z "$out" ]; then
		echo "checkpatch: clean  $p"
		touch "$cache/$key"
	else
		echo "checkpatch: PROBLEMS in $p"
		echo "$out" | sed 's/^/checkpatch:   /'
		bad=1
	fi
done
exit $bad
