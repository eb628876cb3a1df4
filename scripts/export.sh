#!/usr/bin/env bash
# Write build/linux's commits base..HEAD back to patches/ and patches/series.
# Deterministic: the same commits always give the same bytes, so that
# "make tree && make export" leaves patches/ unchanged. The hand-written
# cover letter (0000-cover-letter.patch) is kept as it is.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
patches=$top/patches

if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	echo "export: note: build/linux has uncommitted changes; only commits are exported" >&2
fi
# The posting's version, as b4 prep counts them: bump it when a new
# version goes out, and add a "Changes since" section to the cover letter.
version=7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tree" -c core.abbrev=12 -c diff.renames=true -c diff.algorithm=myers \
	-c format.signature= -c diff.noprefix=false -c diff.mnemonicPrefix=false \
	format-patch -q --zero-commit --no-signature --no-cover-letter \
	--no-base --numbered --subject-prefix="PATCH v$version" -o "$tmp" base..HEAD
find "$patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
	! -name '0000-cover-letter.patch' -delete
cp "$tmp"/*.patch "$patches"/ 2>/dev/null || true
(cd "$tmp" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||') >"$patches/series"
# The cover letter's prose is written by hand; its shortlog and diffstat
# are regenerated below the last blank line before "crossmem developers (N):".
cover=$patches/0000-cover-letter.patch
if [ -f "$cover" ]; then
	awk '/^crossmem developers \([0-9]+\):$/{exit} {print}' "$cover" >"$tmp/cover"
	{
		cat "$tmp/cover"
		git -C "$tree" shortlog base..HEAD
		git -C "$tree" -c core.abbrev=12 diff --stat=72 --summary base..HEAD
		# As b4 writes it; the base is tree.sh's import of Debian's
		# source, the same commit on every machine (fixed author/date).
		printf '\nbase-commit: %s\n' "$(git -C "$tree" rev-parse base)"
		printf -- '-- \ncrossmem\n'
	} >"$cover"
fi
echo "export: $(wc -l <"$patches/series") patch(es) in patches/"
