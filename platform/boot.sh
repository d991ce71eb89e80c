#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the UML test kernel once and judge the run.  Runs inside the build root.
# Usage: boot.sh LINUX INITRD LOG TIMEOUT [KERNEL ARGS...]
#
# The UML process exit code is what /init wrote to /proc/exitcode.  The run
# fails on a non-zero exit, on a time-out (a hang), and on any report of the
# kernel's checkers in the console log, whatever the exit code says.
set -uo pipefail
linux=$1 initrd=$2 log=$3 limit=$4
shift 4

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# UML keeps its physical memory in a file under TMPDIR; it must allow exec.
export TMPDIR=/dev/shm
timeout -k 5 "$limit" "$linux" mem=1G con=null con0=null,fd:1 ssl=null \
	initrd="$initrd" noreboot panic_on_warn=1 oops=panic \
	kmemleak=on "$@" </dev/null >"$log" 2>&1
rc=$?

# Reports of the kernel's checkers; each one fails the run.
bad='WARNING:|BUG:|Oops|Kernel panic|kernel BUG|KASAN|UBSAN|general protection|'
bad+='possible circular locking|possible recursive locking|inconsistent lock state|'
bad+='suspicious RCU usage|DEBUG_LOCKS_WARN_ON|unreferenced object|'
bad+='sleeping function called from invalid context|INFO: task .* blocked|'
bad+='Call Trace:|refcount_t: |DMA-API: .* (driver|device) |turning off the locking correctness'
if grep -E -n "$bad" "$log" >"$tmp/bad"; then
	echo "# kernel reported a problem; first report in $log:"
	head -5 "$tmp/bad" | sed 's/^/#   /'
	[ $rc = 0 ] && rc=125
fi
# The scenario's failed checks, so that the report says why it failed
if [ $rc != 0 ] && grep -q '^not ok ' "$log"; then
	echo "# failed checks:"
	grep '^not ok ' "$log" | head -5 | sed 's/^/#   /'
fi
case $rc in
0) ;;
124|137) echo "# hang: no power-off within ${limit}s; see $log" ;;
125) ;;
134) echo "# the kernel panicked (SIGABRT); see $log" ;;
*) echo "# exit code $rc; see $log" ;;
esac
exit $rc
