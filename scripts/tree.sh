#!/usr/bin/env bash
# Create or refresh build/linux: the Debian 6.12 base as one commit tagged
# "base", with patches/series applied on top by git am.
# usage: tree.sh [--stock]   (--stock: check out the base in build/linux-stock)
#        tree.sh --base-version [DIR]   (print the kernel version of DIR's Makefile)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=${TREE:-$top/build/linux}
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
patches=$top/patches

g() { git -C "$tree" -c user.name="crossmem developers" \
	-c user.email=crossmem@lists.invalid -c core.abbrev=12 "$@"; }

series() { grep -v '^[[:space:]]*\(#\|$\)' "$patches/series" 2>/dev/null || true; }

base_version() {
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3}
	     END{print v"."p"."s}' "${1:-$tree}/Makefile"
}

import_base() {
	if [ ! -f "$tarball" ]; then
		echo "tree: $tarball is missing: apt-get install linux-source-6.12 (make deps)" >&2
		exit 1
	fi
	echo "tree: importing $tarball into $tree"
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xf "$tarball" -C "$tree.tmp" --strip-components=1
	# Debian's tarball appends "ignore everything at the top level" to
	# .gitignore for its packaging repository; upstream has no such block,
	# and with it git would hide every file a patch adds.
	gi=$tree.tmp/.gitignore
	n=$(grep -n '^# Debian packaging' "$gi" | cut -d: -f1 || true)
	if [ -n "$n" ]; then
		head -n $((n - 3)) "$gi" >"$gi.new"
		mv "$gi.new" "$gi"
	fi
	git -C "$tree.tmp" init -q -b master
	# Keep files the kernel's own .gitignore would hide (they are part of
	# the source), and never convert line endings.
	git -C "$tree.tmp" config core.autocrlf false
	git -C "$tree.tmp" add -A -f .
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$tree.tmp" -c user.name="crossmem developers" \
		-c user.email=crossmem@lists.invalid commit -q -m "base: Debian linux-source-6.12 $(base_version "$tree.tmp")"
	git -C "$tree.tmp" tag base
	# Commits made by hand in the tree carry the series' identity.
	git -C "$tree.tmp" config user.name "crossmem developers"
	git -C "$tree.tmp" config user.email crossmem@lists.invalid
	mv "$tree.tmp" "$tree"
}

apply_series() {
	local p n=0
	for p in $(series); do
		if ! g am -q --keep-cr "$patches/$p" >/dev/null 2>"$tree/.git/am-error"; then
			g am --abort >/dev/null 2>&1 || true
			echo "tree: patch $p does not apply to base $(base_version)." >&2
			sed 's/^/tree:   /' "$tree/.git/am-error" >&2
			echo "tree: Debian has probably moved 6.12.y forward. Rebase the series:" >&2
			echo "tree:   cd build/linux && git am -3 ../../patches/$p, resolve, git am --continue," >&2
			echo "tree:   apply the rest, then 'make export' and commit patches/." >&2
			exit 1
		fi
		n=$((n + 1))
	done
	echo "tree: base $(base_version), $n patch(es) applied"
}

# The patch-ids of the commits in the tree and of the series: equal means
# the tree already is the series and nothing needs touching.
tree_ids() {
	local c
	for c in $(g rev-list --reverse base..HEAD); do
		g show "$c" | git patch-id --stable | cut -d' ' -f1
	done
}
series_ids() {
	local p
	for p in $(series); do
		git patch-id --stable <"$patches/$p" | cut -d' ' -f1
	done
}

if [ "${1:-}" = --base-version ]; then
	base_version "${2:-}"
	exit 0
fi

if [ ! -d "$tree/.git" ]; then
	import_base
	apply_series
	[ "${1:-}" = --stock ] || exit 0
fi

# --stock: the unpatched base as a worktree in build/linux-stock, for the
# reference kernel of make check KERNEL=stock and make bench. A worktree
# leaves build/linux as it is.
if [ "${1:-}" = --stock ]; then
	stock=$(dirname "$tree")/linux-stock
	if [ ! -d "$stock" ]; then
		g worktree add -q --detach "$stock" base
	else
		git -C "$stock" checkout -q --detach base
	fi
	exit 0
fi

if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
	echo "tree: build/linux has uncommitted changes; commit them and run 'make export'," >&2
	echo "tree: or discard them (git -C build/linux reset --hard) before refreshing." >&2
	exit 1
fi
if [ "$(tree_ids)" = "$(series_ids)" ]; then
	echo "tree: base $(base_version), build/linux matches patches/ ($(series | wc -l) patch(es))"
	exit 0
fi
# Refuse when the tree holds commits that patches/ does not have.
unexported=$(comm -23 <(tree_ids | sort) <(series_ids | sort) | wc -l)
if [ "$unexported" -gt 0 ]; then
	echo "tree: build/linux has $unexported commit(s) that patches/ does not hold." >&2
	echo "tree: run 'make export' to keep them, or 'git -C build/linux reset --hard base'" >&2
	echo "tree: to drop them, then run 'make tree' again." >&2
	exit 1
fi
echo "tree: refreshing build/linux from patches/"
g checkout -q --detach 2>/dev/null || true
g checkout -q -B master base
apply_series
