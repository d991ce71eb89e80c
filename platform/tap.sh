# SPDX-License-Identifier: GPL-2.0
# TAP output, for the host-side runners (run-tests.sh, run-qemu.sh, under
# bash) and for the scenarios inside the test kernel (busybox sh: installed
# into the initramfs as /lib/tap.sh by initramfs.sh, sourced by eptest.sh).
# POSIX sh, sourced, not executed.  Every name it sets starts with tap_ or
# _tap_, so that sourcing it clobbers none of the caller's variables.
#
# The tests are numbered as they run and the plan comes last ("1..N" after
# the test lines is valid TAP): nobody counts them by hand.

tap_n=0 tap_pass=0 tap_fail=0 tap_skip=0 tap_failed="" _tap_planned=""

# result 0|1|s NAME [DIAG...]: one test line: 0 passed, 1 failed, s skipped
# (DIAG is then the reason).  After a failure each DIAG is printed as TAP
# comments, one per line ("# " added where a line has no "#" yet).  The first
# word of each failed NAME is kept in $tap_failed.
result() {
	tap_n=$((tap_n + 1))
	case $1 in
	0) tap_pass=$((tap_pass + 1)); echo "ok $tap_n $2" ;;
	s) tap_skip=$((tap_skip + 1)); echo "ok $tap_n $2 # SKIP${3:+ $3}" ;;
	*)
		tap_fail=$((tap_fail + 1))
		tap_failed="$tap_failed${tap_failed:+ }${2%% *}"
		echo "not ok $tap_n $2"
		shift 2
		for _tap_d in "$@"; do
			[ -n "$_tap_d" ] && printf '%s\n' "$_tap_d" | sed '/^#/!s/^/# /'
		done
		;;
	esac
}

# ok DESCRIPTION / not_ok DESCRIPTION [DIAG...]
ok() { result 0 "$*"; }
not_ok() { _tap_d=$1; shift; result 1 "$_tap_d" "$@"; }

# check DESCRIPTION COMMAND...: one test line for the command's success; its
# output is the diagnostic of a failure.
check() {
	_tap_d=$1; shift
	if _tap_out=$("$@" 2>&1); then ok "$_tap_d"
	else not_ok "$_tap_d" "command: $*" "$_tap_out"; fi
}

# tap_plan: the plan, "1..N" for the N tests so far; printed once.
tap_plan() {
	[ -n "$_tap_planned" ] && return 0
	_tap_planned=1
	echo "1..$tap_n"
}

# tap_end: the plan and the closing line "N passed, N failed"; status 0 if
# there was a test and none failed.
tap_end() {
	tap_plan
	[ "$tap_skip" = 0 ] || echo "# $tap_skip skipped"
	echo "$tap_pass passed, $tap_fail failed"
	[ "$tap_fail" = 0 ] && [ "$tap_n" -gt 0 ]
}

# tap_of_scenario LOG: for the host side, the TAP (tests, plan, comments) that
# a scenario printed into the console log LOG of its boot, between the lines
# "# scenario: NAME" and "# scenario NAME exit RC" of /init.
tap_of_scenario() {
	sed -n '/^# scenario: /,/^# scenario .* exit /p' "$1" |
		grep -E '^ *(ok |not ok |[0-9]+\.\.[0-9]+|#)'
}
