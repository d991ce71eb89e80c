# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the build platform scripts.  Sourced, not executed.

set -euo pipefail

PLATFORM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$PLATFORM_DIR/.." && pwd)

# Everything heavy lives outside the repository.
CACHE_DIR=${EPDB_CACHE:-${XDG_CACHE_HOME:-/var/cache}/rust-ep-doorbell}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

. "$PLATFORM_DIR/progress.sh"

# The Debian mirror this machine's apt is configured with.  Read at run time
# so that no registry host name is ever written into the repository.
debian_mirror() {
	local m=""
	if [ -n "${EPDB_MIRROR:-}" ]; then echo "$EPDB_MIRROR"; return; fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")
		[ -n "$m" ] && break
	done
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }')
	fi
	[ -n "$m" ] || die "cannot find a Debian mirror in the apt configuration"
	echo "${m%/}"
}

# Content key of a set of files/strings: first 16 hex digits of sha256.
content_key() { cat "$@" | sha256sum | cut -c1-16; }

BUILDROOT_PACKAGES="build-essential bc bison flex libelf-dev libssl-dev cpio kmod python3 \
rustc rust-src rustfmt rust-clippy bindgen clang lld llvm libclang-dev device-tree-compiler \
busybox-static xz-utils ca-certificates git rsync patch qemu-system-arm yamllint"
# Installed after debootstrap, as PACKAGE/RELEASE (apt-get install syntax):
# dtschema (dt-doc-validate, dt-validate: `make dt_binding_check`) is not in
# trixie, and trixie-backports' 2025.08 crashes on Linux 7.2's bindings (a
# KeyError in dt-mk-schema), so the one arch-independent package comes from
# sid, its dependencies from trixie.
BUILDROOT_EXTRA="dt-schema/sid"
# Unpacked, not installed, under /opt/PACKAGE (dpkg-deb -x), from sid: sparse
# for `make check` (C=2).  Linux 7.2's compiler_types.h gives sparse
# __typeof_unqual__, which trixie's 0.6.4 cannot parse
# (scripts/checker-valid.sh); sid's 0.6.5~rc1 can.  Its package depends on
# sid's gcc-16 only for cgcc, which is not used; the sparse binary itself
# needs nothing but libc.
BUILDROOT_UNPACK="sparse/sid"
BUILDROOT_SUITE=trixie

buildroot_key() {
	printf '%s\n%s\n%s\n%s\n' "$BUILDROOT_SUITE" "$BUILDROOT_PACKAGES" "$BUILDROOT_EXTRA" \
		"$BUILDROOT_UNPACK" |
		cat - "$PLATFORM_DIR/buildroot.sh" | sha256sum | cut -c1-16
}
BUILDROOT=$CACHE_DIR/root-$(buildroot_key)

# Run a command inside the build root, in a private mount namespace so that the
# /proc, /dev and /dev/shm mounts disappear with the process.  The repository
# and the cache are bind-mounted at the same paths inside; so is, read-only,
# the git directory of a repository that is a linked work tree (git worktree
# add), which lies outside it.
in_root() {
	[ -x "$BUILDROOT/bin/sh" ] || die "build root missing: run platform/buildroot.sh"
	unshare -m --propagation private -- /bin/bash -c '
		set -e
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mkdir -p "$r/dev/shm" && mount -t tmpfs -o mode=1777,exec tmpfs "$r/dev/shm"
		mount -t tmpfs tmpfs "$r/tmp"
		mkdir -p "$r$EPDB_REPO" "$r$EPDB_CACHE_IN"
		mount --bind "$EPDB_REPO" "$r$EPDB_REPO"
		mount --bind "$EPDB_CACHE_IN" "$r$EPDB_CACHE_IN"
		if [ -n "$EPDB_GITDIR" ]; then
			mkdir -p "$r$EPDB_GITDIR"
			mount --bind "$EPDB_GITDIR" "$r$EPDB_GITDIR"
			mount -o remount,bind,ro "$r$EPDB_GITDIR"
		fi
		cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
		exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			EPDB_CACHE="$EPDB_CACHE_IN" EPDB_PROGRESS="${EPDB_PROGRESS:-}" \
			EPDB_PROGRESS_SECS="${EPDB_PROGRESS_SECS:-}" EPDB_JOBS="${EPDB_JOBS:-}" "$@"
	' in_root "$BUILDROOT" "$@"
}
export EPDB_REPO=$REPO_DIR EPDB_CACHE_IN=$CACHE_DIR
EPDB_GITDIR=$(cd "$REPO_DIR" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
case $EPDB_GITDIR in "$REPO_DIR"/*) EPDB_GITDIR="" ;; esac
export EPDB_GITDIR
