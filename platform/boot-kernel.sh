#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a test kernel once and judge the run.  Runs inside the build root.
# Usage: boot-kernel.sh LINUX INITRD LOG TIMEOUT [KERNEL ARGS...]
#
# LINUX is the UML test kernel, or with EPDB_BOOT=qemu-arm64 an arm64 Image
# booted in qemu-system-aarch64 (machine virt, GICv3 with ITS, TCG; INITRD may
# be empty, a dtb=FILE argument becomes QEMU's -dtb).
#
# The UML process exit code is what /init wrote to /proc/exitcode; QEMU exits
# 0 when the guest powers off.  The run fails on a non-zero exit, on a
# time-out (a hang), and on any report of the kernel's checkers in the console
# log, whatever the exit code says.
set -uo pipefail
linux=$1 initrd=$2 log=$3 limit=$4
shift 4

# Reports of the kernel's checkers; each one fails the run.
bad='WARNING:|BUG:|Oops|Kernel panic|kernel BUG|KASAN|UBSAN|general protection|'
bad+='possible circular locking|possible recursive locking|inconsistent lock state|'
bad+='suspicious RCU usage|DEBUG_LOCKS_WARN_ON|unreferenced object|'
bad+='sleeping function called from invalid context|INFO: task .* blocked|'
bad+='Call Trace:|Call trace:|refcount_t: |DMA-API: .* (driver|device) |turning off the locking correctness'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case ${EPDB_BOOT:-uml} in
uml)
	# UML keeps its physical memory in a file under TMPDIR; it must allow exec.
	export TMPDIR=/dev/shm
	for try in 1 2; do
		timeout -k 5 "$limit" "$linux" mem=1G con=null con0=null,fd:1 ssl=null \
			initrd="$initrd" noreboot panic_on_warn=1 oops=panic \
			kmemleak=on "$@" </dev/null >"$log" 2>&1
		rc=$?
		# Rarely (about 1 boot in 100), the UML process dies of SIGABRT
		# after the kernel printed its last line, "reboot: Power down":
		# a crash in UML's host-side exit path, which loses the exit
		# code of the scenario.  Such a boot says nothing about the
		# kernel under test: keep its log, say so, and boot once more.
		# Anything else, or a second such abort, is judged as usual.
		[ $try = 1 ] && [ $rc = 134 ] &&
			[ "$(tail -n 1 "$log" | sed 's/^\[[ 0-9.]*\] //')" = "reboot: Power down" ] &&
			! grep -E -q "$bad" "$log" ||
			break
		cp "$log" "$log.aborted"
		echo "# UML aborted after a clean power-off (exit path, not the kernel under test); log in $log.aborted; booting again"
	done
	;;
qemu-arm64)
	qemu=(qemu-system-aarch64 -M virt,gic-version=3 -cpu max,pauth-impdef=on
		-smp 2 -m 1G -accel tcg -nic none -display none -monitor none -no-reboot)
	qargs=() kargs=()
	[ -n "$initrd" ] && qargs+=(-initrd "$initrd")
	for a in "$@"; do
		case $a in
		dtb=*) qargs+=(-dtb "${a#dtb=}") ;;
		dtb-add=*)
			# QEMU's own devicetree of this machine plus the nodes of a
			# .dtsi that may refer to QEMU's nodes by path (&{/...}).
			"${qemu[@]}" -machine dumpdtb="$tmp/virt.dtb" >"$tmp/dumpdtb.log" 2>&1 &&
				dtc -q -I dtb -O dts "$tmp/virt.dtb" >"$tmp/virt.dts" &&
				cat "$tmp/virt.dts" "${a#dtb-add=}" |
				dtc -q -I dts -O dtb -o "$tmp/boot.dtb" - ||
				{ echo "# cannot make the devicetree (${a#dtb-add=})"; cat "$tmp/dumpdtb.log"; exit 2; }
			qargs+=(-dtb "$tmp/boot.dtb")
			;;
		*) kargs+=("$a") ;;
		esac
	done
	# panic=-1 and -no-reboot: a panic ends QEMU at once (and is reported
	# below); the guest powers off through PSCI when it is done.
	timeout -k 5 "$limit" "${qemu[@]}" -serial stdio -kernel "$linux" "${qargs[@]}" \
		-append "console=ttyAMA0 panic=-1 panic_on_warn=1 oops=panic ${kargs[*]}" \
		</dev/null >"$log" 2>&1
	rc=$?
	;;
*)
	echo "# unknown EPDB_BOOT=$EPDB_BOOT"; exit 2
	;;
esac

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
