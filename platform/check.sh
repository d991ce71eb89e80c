#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks on this project's code, with the kernel's own tools.  Runs
# inside the build root.  Usage: check.sh REPO WORKTREE BUILDDIR CLIPPYDIR
set -uo pipefail
repo=$1 work=$2 out=$3 cdir=$4
cd "$repo"
rs=$(git ls-files -co --exclude-standard -- '*.rs')
cfiles=$(git ls-files -co --exclude-standard -- 'arch/*.[ch]' 'drivers/*.[ch]' 'include/*.h' \
	'rust/*.[ch]' 'tools/*.[ch]' 'platform/tools/*.c')
fail=0
step() { echo "== $*"; }
bad() { echo "FAIL: $*"; fail=1; }
ours() { # do compiler/clippy/rustdoc diagnostics on stdin point at our files?
	local pat
	pat=$(printf '%s\n' $rs $cfiles | sed 's/[.]/[.]/g' | paste -sd'|' -)
	[ -n "$pat" ] && grep -E -q -- "--> .*($pat)|($pat):[0-9]+:[0-9]+: (warning|error)"
}

step "rustfmt (kernel .rustfmt.toml)"
if [ -n "$rs" ]; then
	(cd "$work" && rustfmt --check --edition 2021 --config-path .rustfmt.toml $rs) || bad rustfmt
fi

step "checkpatch.pl --strict: patch series"
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	(cd "$work" && perl scripts/checkpatch.pl --strict -q --no-summary "$repo/patches/$p") ||
		bad "checkpatch $p"
done <patches/series

# Our new files: those assemble.sh copied into the work tree (its .overlay
# list: sources, headers, documentation, bindings) and the tools of the
# initramfs.  Unfiltered: any ERROR, WARNING or CHECK (checkpatch's status),
# or any other line it prints, fails the check.
step "checkpatch.pl --strict: new files"
[ -s "$work/.overlay" ] || bad "no overlay list $work/.overlay (work tree not assembled?)"
for f in $(cat "$work/.overlay" 2>/dev/null) $(git ls-files -co --exclude-standard -- 'platform/tools/*.c'); do
	if ! cp=$(cd "$work" && perl scripts/checkpatch.pl --strict -q --no-summary --no-tree \
		-f "$repo/$f" 2>&1) || [ -n "$cp" ]; then
		printf '%s\n' "$cp"
		bad "checkpatch $f"
	fi
done

step "clippy (CLIPPY=1; also reports rustc warnings)"
mkdir -p "$cdir"
cp "$out/.config" "$cdir/.config"
if ! make -s -C "$work" O="$cdir" ARCH=um LLVM=1 CLIPPY=1 -j"$(nproc)" \
	olddefconfig prepare rust/ drivers/pci/endpoint/ arch/um/drivers/ >"$cdir/clippy.log" 2>&1; then
	tail -30 "$cdir/clippy.log"; bad "clippy build failed"
fi
if ours <"$cdir/clippy.log"; then
	grep -E -A12 '^(warning|error)' "$cdir/clippy.log" | head -60
	grep -E ':[0-9]+:[0-9]+: (warning|error)' "$cdir/clippy.log" | grep -v 'asm-generic/io.h' | head
	bad "clippy warns about our code"
fi

step "rustdoc"
if ! make -s -C "$work" O="$out" ARCH=um LLVM=1 rustdoc >"$out/rustdoc.log" 2>&1; then
	tail -30 "$out/rustdoc.log"; bad "rustdoc failed"
fi
if ours <"$out/rustdoc.log"; then
	grep -E -A12 '^(warning|error)' "$out/rustdoc.log" | head -60
	bad "rustdoc warns about our code"
fi

[ $fail = 0 ] && echo "check: all clean" || echo "check: FAILED"
exit $fail
