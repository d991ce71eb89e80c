#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks on this project's code, with the kernel's own tools.  Runs
# inside the build root.  Usage: check.sh REPO WORKTREE BUILDDIR CLIPPYDIR DTDIR
set -uo pipefail
repo=$1 work=$2 out=$3 cdir=$4 ddir=$5
cd "$repo"
rs=$(git ls-files -co --exclude-standard -- '*.rs')
cfiles=$(git ls-files -co --exclude-standard -- 'arch/*.[ch]' 'drivers/*.[ch]' 'include/*.h' \
	'rust/*.[ch]' 'tools/*.[ch]' 'platform/tools/*.[ch]')
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
for f in $(cat "$work/.overlay" 2>/dev/null) $(git ls-files -co --exclude-standard -- 'platform/tools/*.[ch]'); do
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

# Our C files with the extra warnings of W=1 and sparse (C=2: every object
# named, rebuilt or not), in a build directory of their own (W=1 changes the
# flags, so the clippy or test build would recompile them each time).  Ours
# are the files this repository adds and the upstream C
# files its patches edit.  A diagnostic that names one of them fails; the
# kernel's own files are not ours.  sparse is sid's (BUILDROOT_UNPACK in
# lib.sh): Linux 7.2 needs one that parses __typeof_unqual__
# (scripts/checker-valid.sh), and Kbuild only warns and checks nothing when
# it does not.
sparse=/opt/sparse/usr/bin/sparse
step "W=1 and sparse ($("$sparse" --version 2>/dev/null || echo missing)) on our C files"
kobjs=$(printf '%s\n' $cfiles | grep -E '^(arch|drivers)/.*[.]c$' | sed 's/[.]c$/.o/')
pfiles=$(cat patches/*.patch | sed -n 's#^+++ b/\(\(arch\|drivers\)/.*[.]c\)$#\1#p' | sort -u)
pobjs=$(printf '%s\n' $pfiles | sed 's/[.]c$/.o/')
wdir=$cdir-w1
mkdir -p "$wdir"
cp "$out/.config" "$wdir/.config"
if [ -n "$kobjs" ]; then
	# Of the patched files, the objects the test kernel builds (y or m):
	# those its build directory holds.
	built=""
	for o in $pobjs; do [ -f "$out/$o" ] && built+=" $o"; done
	if ! make -s -C "$work" O="$wdir" ARCH=um LLVM=1 W=1 C=2 CHECK="$sparse" -j"$(nproc)" \
		olddefconfig prepare $kobjs $built >"$wdir/w1.log" 2>&1; then
		tail -30 "$wdir/w1.log"; bad "W=1/sparse build failed"
	fi
	grep -F 'but '"$sparse"' is not available or not up to date' "$wdir/w1.log" &&
		bad "sparse not run"
	pat=$(printf '%s\n' $cfiles $pfiles | sed 's/[.]/[.]/g' | paste -sd'|' -)
	if grep -E "($pat):[0-9]+(:[0-9]+)?: (warning|error)" "$wdir/w1.log"; then
		bad "W=1 or sparse warns about our C code"
	fi
	echo "W=1 and sparse: $(echo $kobjs | wc -w) new objects, sparse also on$built; log $wdir/w1.log"
fi

step "rustdoc"
if ! make -s -C "$work" O="$out" ARCH=um LLVM=1 rustdoc >"$out/rustdoc.log" 2>&1; then
	tail -30 "$out/rustdoc.log"; bad "rustdoc failed"
fi
if ours <"$out/rustdoc.log"; then
	grep -E -A12 '^(warning|error)' "$out/rustdoc.log" | head -60
	bad "rustdoc warns about our code"
fi

# The devicetree bindings of this project, with the kernel's own
# dt_binding_check (dtschema's dt-doc-validate on the schemas, yamllint,
# dt-check-style, and dt-validate on their examples).  Kbuild never fails on
# what these tools report (their rules end in "|| true"), so their output is
# the verdict: a diagnostic that names one of our schemas, or one that names
# no file at all, fails; one about another file of the kernel is not ours.
bindings=$(git ls-files -co --exclude-standard -- 'Documentation/devicetree/bindings/*.yaml')
stems=$(printf '%s\n' $bindings | sed 's#.*/##; s#[.]yaml$##')
step "dt_binding_check (dtschema $(dt-doc-validate --version 2>/dev/null || echo missing)): $(echo $stems)"
if [ -n "$bindings" ]; then
	mkdir -p "$ddir"
	log=$ddir/dt_binding_check.log
	for b in $bindings; do rm -f "$ddir/${b%.yaml}.example.dtb"; done
	if ! make -s -C "$work" O="$ddir" -j"$(nproc)" DT_SCHEMA_FILES="$(printf '%s\n' $bindings | paste -sd: -)" \
		dt_binding_check >"$log" 2>&1; then
		tail -30 "$log"; bad "dt_binding_check failed"
	fi
	diag=$(grep -v -e '^make\[[0-9]*\]: ' -e '^$' "$log")
	ours=$(printf '%s\n' "$diag" | grep -F "$stems")
	other=$(printf '%s\n' "$diag" | grep -v -F "$stems" | grep -E '[^ ]+[.](yaml|dts|dtsi|dtb|json)')
	unknown=$(printf '%s\n' "$diag" | grep -v -F "$stems" | grep -v -E '[^ ]+[.](yaml|dts|dtsi|dtb|json)')
	[ -z "$other" ] || echo "(not ours: $(printf '%s\n' "$other" | wc -l) lines about other files, in $log)"
	if [ -n "$ours$unknown" ]; then
		printf '%s\n' "$ours" "$unknown" | grep -v '^$' | head -40
		bad "dt_binding_check reports problems in our bindings"
	fi
	for b in $bindings; do
		ex=$ddir/${b%.yaml}.example.dtb
		grep -q '^examples:' "$b" && [ ! -s "$ex" ] && bad "dt_binding_check did not check the example of $b"
	done
	echo "dt_binding_check: $(echo $bindings | wc -w) schemas, log $log"

	# The UML test devicetrees against the same bindings, as dtbs_check
	# does with DT_SCHEMA_FILES: the kernel's dtc with its warnings, then
	# dt-validate limited to our schemas.
	step "dt-validate: platform/dts against $(echo $stems)"
	schema=$ddir/Documentation/devicetree/bindings/processed-schema.json
	mkdir -p "$ddir/dts"
	n=0
	[ -s "$schema" ] || bad "no $schema to validate against"
	for d in platform/dts/*.dts; do
		[ -s "$schema" ] || break
		dtb=$ddir/dts/$(basename "$d" .dts).dtb
		if ! msg=$("$ddir/scripts/dtc/dtc" -I dts -O dtb -o "$dtb" "$d" 2>&1) || [ -n "$msg" ]; then
			printf '%s\n' "$msg" | head -20; bad "dtc: $d"; continue
		fi
		if ! msg=$(dt-validate -p "$schema" -l "$(echo $stems | tr ' ' :)" "$dtb" 2>&1) || [ -n "$msg" ]; then
			printf '%s\n' "$msg" | head -20; bad "dt-validate: $d"
		fi
		n=$((n + 1))
	done
	echo "dt-validate: $n devicetrees"
fi

[ $fail = 0 ] && echo "check: all clean" || echo "check: FAILED"
exit $fail
