#!/usr/bin/env bash
# Fold the staged changes of build/linux into an earlier commit of the series
# (git commit --fixup + git rebase -i --autosquash), keeping kbuild's
# incremental build: the rebase checks out older versions of every file the
# later patches touch and rewrites them, so each file whose content ends up
# unchanged gets its old modification time back.
# usage: fixup.sh COMMIT   (then make export)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fixup.sh COMMIT}
cd "$top/build/linux"

git diff --cached --quiet && { echo "fixup: nothing staged (git add first)" >&2; exit 1; }
git rev-list base..HEAD | grep -qx "$(git rev-parse --verify -q "$target^{commit}")" ||
	{ echo "fixup: $target is not a commit of the series (base..HEAD)" >&2; exit 1; }
git diff --quiet || { echo "fixup: unstaged changes would be lost in the rebase; stage or stash them" >&2; exit 1; }
# Every file a commit of the series touches: the rebase rewrites each of
# them, even one a later patch sets back. Full-resolution times: a time
# rounded down could make a stale object look up to date.
declare -A blob mtime
while IFS= read -r -d '' f; do
	[ -e "$f" ] || continue
	blob[$f]=$(git rev-parse "HEAD:$f" 2>/dev/null || echo none)
	mtime[$f]=$(stat -c %y "$f")
done < <(git log -z --format= --name-only base..HEAD | sort -zu)

subject=$(git log -1 --format=%s "$target")
git commit -q --fixup "$target"
GIT_SEQUENCE_EDITOR=true git rebase -q -i --autosquash base ||
	{ echo "fixup: the rebase stopped; resolve it in build/linux (git rebase --continue or --abort)" >&2; exit 1; }

kept=0
for f in "${!blob[@]}"; do
	[ -e "$f" ] || continue
	if [ "$(git rev-parse "HEAD:$f" 2>/dev/null || echo none)" = "${blob[$f]}" ]; then
		touch -d "${mtime[$f]}" "$f"
		kept=$((kept + 1))
	fi
done
echo "fixup: folded into \"$subject\""
echo "fixup: $kept unchanged file(s) keep their timestamps; now run make export"
