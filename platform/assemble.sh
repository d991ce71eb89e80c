#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Assemble the kernel work tree: pristine source + patches/series + the
# repository's overlay of new in-tree files.  Runs inside the build root.
#
# Incremental: the pristine+series tree is only re-synced when the series
# changes, and files are copied by content (rsync --checksum without times),
# so an unchanged file keeps its mtime and make rebuilds only what changed.
set -euo pipefail
repo=$1 src=$2 work=$3

overlay_dirs="arch drivers include lib rust samples Documentation tools"
mkdir -p "$work"
series_key=$( (cat "$repo/patches/series"; cd "$repo/patches" && grep -v '^#' series | xargs -r cat) | sha256sum | cut -c1-16)

cd "$repo"
git ls-files -co --exclude-standard -- $overlay_dirs | sort -u |
	while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done >"$work/.overlay.new"

if [ "$(cat "$work/.series" 2>/dev/null)" != "$series_key" ]; then
	echo "assemble: applying the patch series ($series_key)" >&2
	stage=$work.stage
	rm -rf "$stage"
	cp -a "$src" "$stage"
	rm -f "$stage/.complete"
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		patch -d "$stage" -p1 -s --no-backup-if-mismatch -i "$repo/patches/$p" ||
			{ echo "assemble: $p does not apply" >&2; exit 1; }
	done <"$repo/patches/series"
	if [ ! -f "$work/.series" ]; then
		# First assembly (or an interrupted one): the staged tree becomes
		# the work tree, without copying it a second time.
		mv "$work/.overlay.new" "$stage/.overlay.new"
		rm -rf "$work"
		mv "$stage" "$work"
	else
		# Never touch the overlay files from this pass; they are synced
		# below.  Neither the directories that only the overlay has.
		while read -r f; do
			d=$(dirname "$f")
			while [ "$d" != . ] && [ ! -d "$stage/$d" ]; do echo "/$d/"; d=$(dirname "$d"); done
		done <"$work/.overlay.new" | sort -u >"$work.newdirs"
		rsync -rlc --delete --exclude-from="$work/.overlay.new" --exclude-from="$work.newdirs" \
			--exclude=/.overlay --exclude=/.overlay.new --exclude=/.series \
			"$stage/" "$work/"
		rm -rf "$stage" "$work.newdirs"
	fi
	echo "$series_key" >"$work/.series"
fi

# Overlay files that left the repository leave the work tree too.
if [ -f "$work/.overlay" ]; then
	comm -23 <(sort "$work/.overlay") <(sort "$work/.overlay.new") | while read -r f; do
		if [ -f "$src/$f" ]; then cp "$src/$f" "$work/$f"; else rm -f "$work/$f"; fi
	done
fi
rsync -rlc --files-from="$work/.overlay.new" "$repo/" "$work/"
mv "$work/.overlay.new" "$work/.overlay"
