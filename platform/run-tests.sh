#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the KUnit suites and the end-to-end scenarios in the UML test kernel
# and print TAP, ending with the line "N passed, N failed".  Runs inside the
# build root.  Usage: run-tests.sh REPO WORKTREE BUILDDIR LOGDIR [NAME...]
# With names, only those scenarios (and "kunit" for the KUnit suites) run.
set -uo pipefail
repo=$1 work=$2 out=$3 logs=$4
shift 4
only=" $* "
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.json

bash "$repo/platform/initramfs.sh" "$repo" "$work" "$out" || exit 1
linux=$out/linux initrd=$out/initramfs.cpio.gz
selected() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }

. "$repo/platform/tap.sh"

echo "TAP version 13"

# KUnit: the suites of this project, run in the same test kernel with the same
# checkers, parsed by the kernel's own kunit.py.
if selected kunit; then
	glob=$(python3 "$repo/platform/kunit-cases.py" suites "$repo/rust" "$repo/drivers")
	# kunit.filter_glob takes one glob: the suites' common prefix and a "*".
	kglob=$(python3 -c 'import os, sys; n = sys.argv[1].split(","); print(n[0] if len(n) == 1 else os.path.commonprefix(n) + "*")' "$glob")
	klog=$logs/kunit.log
	# kunit.dtb: the MSI topologies of the doorbell allocator's hardware tests.
	# After the suites, /init runs a kmemleak scan (scenario kunit-kmemleak):
	# a leak, like any checker report, fails every KUnit case of the boot.
	bash "$repo/platform/boot.sh" "$linux" "$initrd" "$klog" 120 \
		dtb="$out/dtb/kunit.dtb" kunit.enable=1 kunit.filter_glob="$kglob" \
		scenario=kunit-kmemleak >"$logs/kunit.boot" 2>&1
	krc=$?
	grep '^# .*booting again' "$logs/kunit.boot"
	kunit_report "$klog" $krc "$glob" kunit
fi

# End-to-end scenarios: one boot each.
while read -r name script limit args; do
	case "$name" in ''|'#'*) continue ;; esac
	xfail=""
	if [ "${name#!}" != "$name" ]; then
		name=${name#!}
		xfail=$(printf '%s\n' $args | sed -n 's/^expect=//p')
		args=$(printf '%s\n' $args | grep -v '^expect=' | paste -sd' ' -)
	fi
	selected "$name" || continue
	args=${args//@DTB@/$out/dtb}
	# kernel=VARIANT boots another test kernel (same initramfs and devicetrees)
	klinux=$linux
	case " $args " in
	*" kernel="*)
		kv=$(printf '%s\n' $args | sed -n 's/^kernel=//p')
		klinux=$(dirname "$out")/$kv/linux
		;;
	esac
	log=$logs/$name.log
	bash "$repo/platform/boot.sh" "$klinux" "$initrd" "$log" "$limit" \
		scenario="$script" $args >"$logs/$name.boot" 2>&1
	rc=$?
	# A boot that had to be repeated says so (boot.sh explains why).
	grep '^# .*booting again' "$logs/$name.boot"
	# The scenario's own TAP, indented as a subtest.
	sed -n '/^# scenario: /,/^# scenario .* exit /p' "$log" |
		grep -E '^ *(ok |not ok |[0-9]+\.\.[0-9]+|#)' | sed 's/^/    /'
	if [ -n "$xfail" ]; then
		# Runner self-test: the boot must have failed, for the expected reason.
		if [ $rc != 0 ] && grep -q -- "$xfail" "$logs/$name.boot"; then rc=0
		else echo "# expected a failed boot reporting '$xfail', got exit $rc"; rc=1; fi
		result $rc "scenario.$name (expected failure, detected: $xfail)" "$(cat "$logs/$name.boot")"
	else
		result $rc "scenario.$name" "$(cat "$logs/$name.boot")"
	fi
done <"$repo/platform/matrix"

tap_end
