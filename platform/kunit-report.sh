# SPDX-License-Identifier: GPL-2.0
# The results of a KUnit boot as TAP lines (through tap.sh's result), for
# the host-side runners run-tests.sh and run-qemu.sh.  Sourced after
# platform/tap.sh, not executed; needs $repo and $work (the repository and
# the kernel work tree).

# kunit_report LOG RC SUITES PREFIX: one result per test case of a KUnit boot
# whose console log is LOG.dir/NAME.log and boot report NAME.boot
# (boot-kernel.sh's output, RC its exit code), parsed by the kernel's
# kunit.py into NAME.json.  Every suite of the comma-separated SUITES must
# have run.  A failed boot (a checker's report, a hang, an exit code) fails
# the case that was running when the first report came, with the boot
# report; if no case was running (a report after the last case, e.g.
# kmemleak's scan, or a boot that failed without a report), one more result
# PREFIX.NAME fails instead.  The other cases keep their own results.
kunit_report() {
	local klog=$1 krc=$2 suites=$3 prefix=$4 base=${1%.log} cases st name
	local culprit="" line
	python3 "$work/tools/testing/kunit/kunit.py" parse --json="$base.json" "$klog" \
		>"$base.parse" 2>&1
	cases=$(python3 "$repo/platform/kunit-cases.py" cases "$base.json" "$suites" "$prefix")
	[ -n "$cases" ] || cases="1 $prefix (no results; see $klog)"
	if [ "$krc" != 0 ]; then
		# boot-kernel.sh lists the first reports as "#   LINE:TEXT".
		line=$(sed -n 's/^#   \([0-9][0-9]*\):.*/\1/p' "$base.boot" | head -1)
		if [ -n "$line" ]; then
			culprit=$(python3 "$repo/platform/kunit-cases.py" running "$klog" "$line")
			echo "# $(basename "$base"): kernel report at $klog:$line, while $culprit ran:" \
				"$(sed -n "${line}p" "$klog" | cut -c1-120)"
			case $culprit in "after "*|"before "*) culprit="" ;; esac
		fi
	fi
	while read -r st name; do
		if [ "$krc" != 0 ] && [ -n "$culprit" ] && [ "${name##*.}" = "$culprit" ]; then
			result 1 "$name" "$(cat "$base.boot")"
			culprit=done
		elif [ "$st" = 1 ]; then result 1 "$name" "$(cat "$base.boot")"
		else result "$st" "$name"; fi
	done <<<"$cases"
	[ "$krc" = 0 ] || [ "$culprit" = done ] ||
		result 1 "$prefix.$(basename "$base") (the boot failed outside any case)" "$(cat "$base.boot")"
}

# kunit_timing LOG CONFIG: "slowest case NAME S s, hung-task threshold T s"
# for the KUnit boot whose console log is LOG, in a kernel configured by
# CONFIG (its .config).  The KUnit executor waits for each case in an
# uninterruptible sleep: a case slower than the threshold is reported as a
# hung task, which fails the boot.
kunit_timing() {
	local slow
	slow=$(python3 "$repo/platform/kunit-cases.py" slowest "$1")
	[ -z "$slow" ] || slow="${slow#* } ${slow%% *} s"
	echo "slowest case ${slow:-none}, hung-task threshold" \
		"$(sed -n 's/^CONFIG_DEFAULT_HUNG_TASK_TIMEOUT=//p' "$2") s"
}
