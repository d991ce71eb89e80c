#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build one kernel variant out of tree.  Runs inside the build
# root.  Usage: build.sh REPO WORKTREE BUILDDIR ARCH FRAGMENT... [-- TARGETS]
set -euo pipefail
repo=$1 work=$2 out=$3 arch=$4
shift 4
frags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do frags+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
targets=("$@")

mk() { make -s -C "$work" O="$out" ARCH="$arch" LLVM=1 "$@"; }

mkdir -p "$out"
key=$( (echo "$arch"; cat "${frags[@]}" "$work/.series") | sha256sum | cut -c1-16)
if [ "$(cat "$out/.config-key" 2>/dev/null)" != "$key" ] || [ ! -f "$out/.config" ]; then
	echo "build: configuring $out" >&2
	base=$(cat "${frags[@]}" | sed -n 's/^# base=\([a-z_]*config\)$/\1/p' | tail -1)
	mk "${base:-defconfig}" >/dev/null
	(cd "$work" && ARCH=$arch LLVM=1 scripts/kconfig/merge_config.sh -m -O "$out" \
		"$out/.config" "${frags[@]}" >"$out/merge_config.log") ||
		{ cat "$out/merge_config.log"; exit 1; }
	mk olddefconfig
	# Every symbol a fragment asks for must have ended up as asked.
	bad=0
	while IFS= read -r line; do
		sym=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$sym=" "$out/.config" && { echo "build: $sym is set, wanted n" >&2; bad=1; }
		else
			got=$(grep "^$sym=" "$out/.config" | cut -d= -f2- || true)
			[ "$got" = "$val" ] || { echo "build: $sym=$val requested, got '${got:-not set}'" >&2; bad=1; }
		fi
	done < <(cat "${frags[@]}" | grep -E '^CONFIG_[A-Za-z0-9_]+=' | tac | awk -F= '!seen[$1]++' | tac)
	[ $bad = 0 ] || { echo "build: config fragment not satisfied" >&2; exit 1; }
	echo "$key" >"$out/.config-key"
fi
mk -j"$(nproc)" "${targets[@]}"
