#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's linux-source-7.2 once and unpack it into the cache.  The
# version used is recorded in $CACHE_DIR/src/current and printed by every run.
. "$(dirname "$0")/lib.sh"

SRC_PKG=linux-source-7.2
cur=$CACHE_DIR/src/current
if [ -f "$cur" ] && [ -f "$CACHE_DIR/src/$(cat "$cur")/.complete" ]; then
	exit 0
fi
bash "$PLATFORM_DIR/buildroot.sh"
log "fetching $SRC_PKG"
mkdir -p "$CACHE_DIR/src"
# What has arrived so far: the package, then the unpacked tree.
fetched() { echo "$(du -sm "$CACHE_DIR/src" | cut -f1) MB in $CACHE_DIR/src"; }
in_root /bin/bash -c '
	set -e
	apt-get update -qq >/dev/null
	ver=$(apt-cache policy '"$SRC_PKG"' | awk "/Candidate:/ { print \$2 }")
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "no '"$SRC_PKG"' in the archive" >&2; exit 1; }
	d=$EPDB_CACHE/src/dl
	rm -rf "$d"; mkdir -p "$d"; cd "$d"
	apt-get download -qq -o APT::Sandbox::User=root '"$SRC_PKG"'="$ver" >/dev/null
	dpkg-deb -x ./*.deb x
	t=$(ls x/usr/src/linux-source-*.tar.xz)
	dst=$EPDB_CACHE/src/$ver
	rm -rf "$dst" "$dst.tmp"; mkdir -p "$dst.tmp"
	tar -xJf "$t" -C "$dst.tmp" --strip-components=1
	touch "$dst.tmp/.complete"; mv "$dst.tmp" "$dst"
	echo "$ver" > "$EPDB_CACHE/src/current"
	cd /; rm -rf "$d"
' &
progress_wait $! "fetching $SRC_PKG" fetched || die "cannot fetch $SRC_PKG"
log "kernel source: $SRC_PKG $(cat "$cur")"
