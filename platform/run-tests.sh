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
. "$repo/platform/progress.sh"

# Progress on a terminal: "test I/N: NAME" before each boot, with the time
# so far and the slowest boot yet.  $logs/times keeps "NAME SECONDS LIMIT".
t_start=$SECONDS nboots=0 iboot=0 slowest="" slowest_s=0
selected kunit && nboots=1
while read -r name _; do
	case "$name" in ''|'#'*) continue ;; esac
	selected "${name#!}" && nboots=$((nboots + 1))
done <"$repo/platform/matrix"
: >"$logs/times"
boot_start() {
	iboot=$((iboot + 1)) b_start=$SECONDS
	interactive || return 0
	printf '[%s] test %d/%d: %s (%s so far%s)\n' "$(date +%H:%M:%S)" $iboot $nboots "$1" \
		"$(elapsed $t_start)" "${slowest:+; slowest: $slowest ${slowest_s} s}" >&2
}
boot_end() { # NAME LIMIT
	local s=$((SECONDS - b_start))
	echo "$1 $s $2" >>"$logs/times"
	[ $s -gt $slowest_s ] && slowest=$1 slowest_s=$s
	return 0
}

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
	boot_start kunit
	bash "$repo/platform/boot.sh" "$linux" "$initrd" "$klog" 120 \
		dtb="$out/dtb/kunit.dtb" kunit.enable=1 kunit.filter_glob="$kglob" \
		scenario=kunit-kmemleak >"$logs/kunit.boot" 2>&1
	krc=$?
	boot_end kunit 120
	grep '^# .*booting again' "$logs/kunit.boot"
	slow=$(python3 "$repo/platform/kunit-cases.py" slowest "$klog")
	echo "# kunit: ${slow:+slowest case ${slow#* } ${slow%% *} s, }hung-task threshold" \
		"$(sed -n 's/^CONFIG_DEFAULT_HUNG_TASK_TIMEOUT=//p' "$out/.config") s"
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
	log=$logs/$name.log
	boot_start "$name"
	bash "$repo/platform/boot.sh" "$linux" "$initrd" "$log" "$limit" \
		scenario="$script" $args >"$logs/$name.boot" 2>&1
	rc=$?
	boot_end "$name" "$limit"
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

# Closing summary, as TAP comments before the last line.
echo "# summary: $nboots boots (KUnit and scenarios) in $(elapsed $t_start), $pass passed, $fail failed"
for f in $failed_names; do
	b=${f#scenario.}; [ "$b" = "$f" ] && b=kunit
	echo "#   failed: $f (console log: $logs/$b.log, report: $logs/$b.boot)"
done
echo "#   slowest boots: $(sort -k2,2nr "$logs/times" | head -3 | awk '{ printf "%s%s %d s (limit %d)", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
# A time limit must leave room for a machine half as fast: flag a boot that
# took more than half of its limit (the self-test of the time-out excepted).
over=$(awk '$1 != "selftest-hang" && $2 * 2 > $3 { printf " %s (%d of %d s)", $1, $2, $3 }' "$logs/times")
[ -z "$over" ] || echo "#   warning: over half their time limit, raise it in platform/matrix:$over"
echo "#   logs: $logs (one console log per boot), kernel build log: $out/build.log"
failed_sc=$(printf '%s\n' $failed_names | sed -n 's/^scenario\.//p' | sort -u | paste -sd' ' -)
case ${EPDB_RUNNER:-test} in
run) echo "#   next: make test (everything), EPDB_RUN=<scenario> make run (another one, see platform/matrix), make check" ;;
*) [ -z "$failed_sc" ] || echo "#   rerun the failed scenarios: make test SCENARIOS=\"$failed_sc\""
   echo "#   next: EPDB_RUN=<scenario> make run (one scenario), make check, make bench, make test-qemu" ;;
esac

tap_end
