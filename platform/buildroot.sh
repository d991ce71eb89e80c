#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Create the Debian 13 build root (rustc, bindgen, clang/lld, ...) with
# debootstrap.  Keyed by suite, package list and this script; reused when
# present.
. "$(dirname "$0")/lib.sh"

if [ -x "$BUILDROOT/usr/bin/rustc" ] && [ -f "$BUILDROOT/.complete" ]; then
	exit 0
fi
command -v debootstrap >/dev/null || {
	log "installing debootstrap"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
mirror=$(debian_mirror)
tmp=$BUILDROOT.tmp
rm -rf "$tmp"; mkdir -p "$CACHE_DIR"
log "debootstrap $BUILDROOT_SUITE into $BUILDROOT"
debootstrap --variant=minbase --components=main \
	--include="$(echo $BUILDROOT_PACKAGES | tr ' ' ',')" \
	"$BUILDROOT_SUITE" "$tmp" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 &
# debootstrap's last step, e.g. "I: Unpacking libc6...", and the root's size.
step() { echo "$(tail -n 1 "$CACHE_DIR/debootstrap.log" | cut -c1-60), $(du -sm "$tmp" | cut -f1) MB"; }
progress_wait $! "build root" step ||
	{ tail -20 "$CACHE_DIR/debootstrap.log"; die "debootstrap failed"; }
# Keep the mirror only inside the cache, never in the repository.
cat >"$tmp/etc/apt/sources.list" <<EOS
deb $mirror $BUILDROOT_SUITE main
deb $mirror $BUILDROOT_SUITE-backports main
deb $mirror sid main
EOS
cat >"$tmp/etc/apt/preferences.d/sid" <<EOS
Package: *
Pin: release n=sid
Pin-Priority: 50
EOS
# The mirror may be a dated snapshot whose Release files have expired.
echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/90epdb"
log "installing $BUILDROOT_EXTRA"
BUILDROOT=$tmp in_root /usr/bin/env DEBIAN_FRONTEND=noninteractive /bin/bash -c '
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"
' extra $BUILDROOT_EXTRA >"$CACHE_DIR/extra.log" 2>&1 ||
	{ tail -20 "$CACHE_DIR/extra.log"; die "cannot install $BUILDROOT_EXTRA"; }
for pkg in $BUILDROOT_UNPACK; do
	log "unpacking $pkg into /opt/${pkg%%/*}"
	BUILDROOT=$tmp in_root /bin/bash -c '
		set -e
		mkdir -p /var/tmp/unpack && cd /var/tmp/unpack && rm -f ./*.deb
		apt-get download -qq "$1" && dpkg-deb -x ./*.deb "/opt/${1%%/*}"
		rm -rf /var/tmp/unpack
	' unpack "$pkg" >>"$CACHE_DIR/extra.log" 2>&1 ||
		{ tail -20 "$CACHE_DIR/extra.log"; die "cannot unpack $pkg"; }
done
rm -rf "$tmp/var/cache/apt/archives/"*.deb
touch "$tmp/.complete"
mv "$tmp" "$BUILDROOT"
log "build root ready: $("$BUILDROOT/usr/bin/rustc" --version 2>/dev/null || chroot "$BUILDROOT" rustc --version)"
