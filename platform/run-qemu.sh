#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the arm64 "qemu" kernel (R-Car Gen4 config + QEMU virt + KUnit) in
# qemu-system-aarch64 (machine virt, GICv3 with ITS, TCG) and run this
# project's Rust KUnit suites; print TAP ending with "N passed, N failed".
# Runs inside the build root.  Usage: run-qemu.sh REPO WORKTREE BUILDDIR LOGDIR
set -uo pipefail
repo=$1 work=$2 out=$3 logs=$4
image=$out/arch/arm64/boot/Image
mkdir -p "$logs"
rm -f "$logs"/qemu-kunit*

. "$repo/platform/tap.sh"
. "$repo/platform/kunit-report.sh"

hw=rust_pci_endpoint_doorbell_hw
its=dtb-add=$repo/platform/dts/qemu-kunit-its.dtsi
all=$(python3 "$repo/platform/kunit-cases.py" suites "$repo/rust" "$repo/drivers")
pure=$(tr , '\n' <<<"$all" | grep -v -x "$hw" | paste -sd, -)

# One boot per line: NAME, SUITES that must run, kunit.filter_glob, more
# arguments.  The filter takes a single glob, hence two boots:
# - every suite but $hw, the only one whose name ends in "w" (all of them
#   start with rust_pci_);
# - $hw on QEMU's devicetree plus the nodes of qemu-kunit-its.dtsi (MSI
#   parent: the machine's GICv3 ITS), all its cases but those whose names
#   start with "uml_", which need UML's loopback MSI controllers ($excluded).
#   msi_success rings its doorbells through GITS_TRANSLATER there.
boots="pure $pure rust_pci_*[!w]
hw $hw $hw.[!u]* $its"
excluded="uml_mutable_msi_parent_falls_back:needs_UML's_mutable_loopback_MSI_controller
uml_msi_error_not_enodev_no_fallback:needs_UML's_two-vector_loopback_MSI_controller
uml_msi_vectors_exhausted_by_one_function:needs_UML's_two-vector_loopback_MSI_controller"

echo "TAP version 13"
while read -r name suites glob extra; do
	log=$logs/qemu-kunit-$name.log
	t0=$(date +%s)
	EPDB_BOOT=qemu-arm64 bash "$repo/platform/boot-kernel.sh" "$image" "" "$log" 600 \
		kunit.enable=1 kunit.filter_glob="$glob" kunit_shutdown=poweroff $extra \
		>"$logs/qemu-kunit-$name.boot" 2>&1
	rc=$?
	# The slowest case against the hung-task threshold (checkers.config):
	# the cases are sized to stay far below it under TCG.
	info="$(($(date +%s) - t0)) s, exit $rc; $(kunit_timing "$log" "$out/.config")"
	echo "# boot $name (kunit.filter_glob=$glob): $info"
	kunit_report "$log" $rc "$suites" qemu-arm64.kunit
	{ echo "=== boot $name: kunit.filter_glob=$glob $extra"; echo "=== $info"; cat "$log"; } \
		>>"$logs/qemu-kunit.log"
done <<<"$boots"
for e in $excluded; do
	why=${e#*:}
	result s "qemu-arm64.kunit.$hw.${e%%:*}" "not run on arm64: ${why//_/ }"
done
tap_end
