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

pass=0 fail=0 n=0
skip=0
result() { # 0|1|s NAME [DIAG]
	n=$((n + 1))
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok $n $2"
	elif [ "$1" = s ]; then skip=$((skip + 1)); echo "ok $n $2 # SKIP"
	else fail=$((fail + 1)); echo "not ok $n $2"; [ -n "${3:-}" ] && printf '%s\n' "$3"; fi
}

echo "TAP version 13"

# KUnit: the suites of this project, run in the same test kernel with the same
# checkers, parsed by the kernel's own kunit.py.
if selected kunit; then
	glob=$(grep -h -o 'kunit_tests([a-z0-9_]*)' -r "$repo/rust" "$repo/drivers" 2>/dev/null |
		sed 's/kunit_tests(\(.*\))/\1/' | sort -u | paste -sd, -)
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
	python3 "$work/tools/testing/kunit/kunit.py" parse --json="$logs/kunit.json" "$klog" \
		>"$logs/kunit.parse" 2>&1
	cases=$(python3 - "$logs/kunit.json" "$glob" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
want = set(filter(None, sys.argv[2].split(",")))
seen = set()
def walk(group, prefix):
    for g in group.get("sub_groups", []):
        name = prefix + g["name"]
        seen.add(g["name"])
        for c in g.get("test_cases", []):
            st = {"PASS": "0", "SKIP": "s"}.get(c["status"], "1")
            print(f"{st} kunit.{name}.{c['name']}")
        if not g.get("test_cases") and not g.get("sub_groups"):
            print(f"1 kunit.{name} (no test cases ran)")
        walk(g, name + ".")
walk(d, "")
for s in sorted(want - seen):
    print(f"1 kunit.{s} (suite did not run)")
PY
)
	[ -n "$cases" ] || cases="1 kunit (no results; see $klog)"
	while read -r st name; do
		[ $krc = 0 ] || st=1
		result "$st" "$name" "$(cat "$logs/kunit.boot")"
	done <<<"$cases"
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

echo "1..$n"
[ $skip = 0 ] || echo "# $skip skipped"
echo "$pass passed, $fail failed"
[ $fail = 0 ] && [ $n -gt 0 ]
