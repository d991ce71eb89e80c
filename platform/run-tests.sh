#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the KUnit suites and the end-to-end scenarios in the UML test kernel
# and print TAP, ending with the line "N passed, N failed".  Runs inside the
# build root.  Usage: run-tests.sh REPO WORKTREE BUILDDIR LOGDIR [NAME...]
# With names, only those scenarios (and "kunit" for the KUnit suites) run.
# The boots are the lines of platform/matrix, or of the file EPDB_MATRIX
# (make soak: platform/matrix.soak), read by platform/matrix.sh.
set -uo pipefail
repo=$1 work=$2 out=$3 logs=$4
shift 4
only=" $* "
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.json "$logs"/*.rc

bash "$repo/platform/initramfs.sh" "$repo" "$work" "$out" || exit 1
linux=$out/linux initrd=$out/initramfs.cpio.gz
selected() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }

. "$repo/platform/tap.sh"
. "$repo/platform/kunit-report.sh"
. "$repo/platform/progress.sh"
. "$repo/platform/matrix.sh"

# The boots run EPDB_JOBS (default: two per CPU) at a time: most of a boot
# is spent waiting (the 6 s kmemleak needs before its closing scan, the
# functions' 1-jiffy polls), not computing.  Each boot's results are printed
# in matrix order as soon as it and the ones before it are done.
# $logs/times keeps "NAME SECONDS LIMIT EXPECT" per boot.
set -f	# kernel arguments are split on blanks, never globbed
jobs=${EPDB_JOBS:-$((2 * $(nproc)))}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
# Per boot: its name, EXPECT ("pass" or "fail:PATTERN"), time limit and
# kernel command line.
names=() expects=() limits=() bargs=() pids=()
if selected kunit; then
	glob=$(python3 "$repo/platform/kunit-cases.py" suites "$repo/rust" "$repo/drivers")
	# The doc tests of the kernel crate, where the kernel has them.
	grep -q '^CONFIG_RUST_KERNEL_DOCTESTS=y' "$out/.config" && glob=$glob,rust_doctests_kernel
	# kunit.filter_glob takes one glob: the suites' common prefix, the set of
	# the letters that follow it, and a "*" (rust_[dp]* for rust_doctests_*
	# and rust_pci_endpoint*, not the kernel crate's other suites).
	kglob=$(python3 "$repo/platform/kunit-cases.py" glob "$glob")
	# kunit.dtb: the MSI topologies of the doorbell allocator's hardware tests.
	# After the suites, /init runs a kmemleak scan (scenario kunit-kmemleak).
	names+=(kunit) expects+=(pass) limits+=(120)
	bargs+=("dtb=$out/dtb/kunit.dtb kunit.enable=1 kunit.filter_glob=$kglob scenario=kunit-kmemleak")
fi
matrix=${EPDB_MATRIX:-$repo/platform/matrix}
boots=$(matrix_read "$matrix") || { echo "run-tests: $matrix is malformed" >&2; exit 1; }
while read -r name script limit expect args; do
	[ -n "$name" ] && selected "$name" || continue
	names+=("$name") expects+=("$expect") limits+=("$limit")
	bargs+=("scenario=$script ${args//@DTB@/$out/dtb}")
done <<<"$boots"
nboots=${#names[@]} t_start=$SECONDS
: >"$logs/times"

# launch I: start boot I in the background.
launch() {
	local i=$1 name=${names[$1]} slow
	if interactive; then
		slow=$(sort -k2,2nr "$logs/times" | awk 'NR == 1 { print $1, $2 }')
		printf '[%s] test %d/%d: %s (%s so far%s)\n' "$(date +%H:%M:%S)" $((i + 1)) $nboots \
			"$name" "$(elapsed $t_start)" "${slow:+; slowest: $slow s}" >&2
	fi
	(
		t0=$SECONDS
		bash "$repo/platform/boot-kernel.sh" "$linux" "$initrd" "$logs/$name.log" "${limits[$i]}" \
			${bargs[$i]} >"$logs/$name.boot" 2>&1
		echo $? >"$logs/$name.rc"
		echo "$name $((SECONDS - t0)) ${limits[$i]} ${expects[$i]}" >>"$logs/times"
	) &
	pids[$i]=$!
}

# report I: wait for boot I and print its results.
report() {
	local i=$1 name=${names[$1]} expect=${expects[$1]} log rc xfail
	wait "${pids[$i]}"
	log=$logs/$name.log rc=$(cat "$logs/$name.rc")
	rm -f "$logs/$name.rc"
	# A boot that had to be repeated says so (boot-kernel.sh explains why).
	grep '^# .*booting again' "$logs/$name.boot"
	if [ "$name" = kunit ]; then
		echo "# kunit: $(kunit_timing "$log" "$out/.config")"
		kunit_report "$log" "$rc" "$glob" kunit
		return
	fi
	# The scenario's own TAP, indented as a subtest.
	tap_of_scenario "$log" | sed 's/^/    /'
	if [ "$expect" != pass ]; then
		# Expected failure: the boot must have failed, for the expected reason.
		xfail=${expect#fail:}
		if [ "$rc" != 0 ] && grep -q -- "$xfail" "$logs/$name.boot"; then rc=0
		else echo "# expected a failed boot reporting '$xfail', got exit $rc"; rc=1; fi
		result $rc "scenario.$name (expected failure, detected: $xfail)" "$(cat "$logs/$name.boot")"
	else
		result "$rc" "scenario.$name" "$(cat "$logs/$name.boot")"
	fi
}

echo "TAP version 13"
boots() { [ "$1" = 1 ] && echo "1 boot" || echo "$1 boots"; }
echo "# $(boots $nboots), up to $jobs at a time (EPDB_JOBS)"
next=0
for ((i = 0; i < nboots; i++)); do
	while [ $next -lt $nboots ] && [ $next -lt $((i + jobs)) ]; do
		launch $next
		next=$((next + 1))
	done
	report $i
done

# Closing summary, as TAP comments before the last line.
echo "# summary: $(boots $nboots) (KUnit and scenarios, up to $jobs at a time) in $(elapsed $t_start), $tap_pass passed, $tap_fail failed"
for f in $tap_failed; do
	b=${f#scenario.}; [ "$b" = "$f" ] && b=kunit
	echo "#   failed: $f (console log: $logs/$b.log, report: $logs/$b.boot)"
done
echo "#   slowest boots: $(sort -k2,2nr "$logs/times" | head -3 | awk '{ printf "%s%s %d s (limit %d)", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
# A time limit must leave room for a machine half as fast: flag a boot that
# took more than half of its limit (a boot expected to hang excepted).
over=$(awk '$4 != "fail:hang" && $2 * 2 > $3 { printf " %s (%d of %d s)", $1, $2, $3 }' "$logs/times")
[ -z "$over" ] || echo "#   warning: over half their time limit, raise it in platform/matrix:$over"
echo "#   logs: $logs (one console log per boot), kernel build log: $out/build.log"
failed_sc=$(printf '%s\n' $tap_failed | sed -n 's/^scenario\.//p' | sort -u | paste -sd' ' -)
case ${EPDB_RUNNER:-test} in
run) echo "#   next: make test (everything), EPDB_RUN=<scenario> make run (another one, see platform/matrix), make check" ;;
*) [ -z "$failed_sc" ] || echo "#   rerun the failed scenarios: make test SCENARIOS=\"$failed_sc\""
   echo "#   next: EPDB_RUN=<scenario> make run (one scenario), make check, make bench, make test-qemu" ;;
esac

tap_end
