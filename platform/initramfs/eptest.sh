# SPDX-License-Identifier: GPL-2.0
# Helpers for scenarios running inside the UML test kernel.  Sourced.

CFS=/sys/kernel/config/pci_ep

# TAP: ok, not_ok, check, tap_end (platform/tap.sh).  A scenario ends with
# tap_end (its status); the plan is printed however it exits, also from an
# early "exit 1" after a failed set-up step.
. /lib/tap.sh
trap tap_plan EXIT

# cfs_write VALUE FILE...: write VALUE to each configfs FILE; fails (and says
# which) if any write is refused, e.g. a value the kernel rejects.
cfs_write() {
	v=$1; shift
	for f in "$@"; do
		echo "$v" >"$f" || { echo "# write '$v' to $f refused"; return 1; }
	done
}

# ntb_devices: both NTB devices of a vNTB link exist (host and endpoint side).
ntb_devices() { [ "$(ls /sys/bus/ntb/devices 2>/dev/null | wc -l)" -ge 2 ]; }

# wait_ntb: wait up to 10 s for ntb_devices (ntb_hw_epf probes from the link's
# work items, and the endpoint side registers after it).
wait_ntb() { wait_until ntb_devices || wait_until ntb_devices; }

# wait_until COMMAND...: run COMMAND every 0.1 s until it succeeds, for up
# to 5 s (the link and the host device follow configfs from work items);
# the status of its last run.
wait_until() {
	_wait_n=0
	until "$@"; do
		[ $_wait_n -lt 50 ] || return 1
		sleep 0.1
		_wait_n=$((_wait_n + 1))
	done
}

# epf_test_create DIR NVEC: the configfs function instance DIR of a
# pci-epf-test compatible function, with the IDs pci_endpoint_test binds to
# (TI 0x104c:0xb500) and NVEC MSI and MSI-X vectors.
epf_test_create() {
	mkdir "$1" && cfs_write 0x104c "$1/vendorid" && cfs_write 0xb500 "$1/deviceid" &&
		cfs_write "$2" "$1/msi_interrupts" "$1/msix_interrupts"
}

# With kmemleak built in, scan once more at the end of every scenario and
# print any leak: the host runner fails the scenario on a report.  Objects
# must be older than kmemleak's minimum age (5 s) to be reported.
eptest_kmemleak() {
	k=/sys/kernel/debug/kmemleak
	[ -w "$k" ] || return 0
	sleep 6
	echo scan > "$k"
	echo scan > "$k"
	# debugfs files have no size: read the report itself.
	r=$(cat "$k")
	if [ -n "$r" ]; then
		echo "# kmemleak: unreferenced objects found"
		printf '%s\n' "$r"
		return 1
	fi
	return 0
}

# Which implementation is behind pci_epf_alloc_doorbell().  The test kernel
# has both (CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT) and the boot parameter
# pci_ep_msi.rust says which one; in a kernel with one of them, the C one has
# the static helper pci_epf_alloc_doorbell_embedded(), the Rust one does not.
doorbell_impl() {
	sel=/sys/module/pci_ep_msi/parameters/rust
	if [ -r $sel ]; then
		case $(cat $sel) in Y) echo Rust ;; N) echo C ;; *) echo unknown ;; esac
	elif grep -q ' pci_epf_alloc_doorbell_embedded$' /proc/kallsyms; then
		echo C
	elif grep -q ' pci_epf_alloc_doorbell$' /proc/kallsyms; then
		echo Rust
	else
		echo none
	fi
}

# check_doorbell_path EPF PREFIX SUFFIX: with doorbell=msi|embedded on the
# command line, one TAP line ("PREFIXdoorbell came through ...SUFFIX")
# saying whether function driver EPF's doorbell came that way: the embedded
# fallback logs one line per allocation of that driver's devices, the
# platform-MSI path none.  Returns 2 for another doorbell= value.
check_doorbell_path() {
	_fb="^\[[ 0-9.]*\] $1 $1\.[0-9]*: Using embedded (DMA) doorbell fallback"
	case "${doorbell:-}" in
	embedded) check "$2doorbell came through the embedded (DMA) fallback$3" \
		sh -c "dmesg | grep -q '$_fb'" ;;
	msi) if dmesg | grep -q "$_fb"; then
		not_ok "$2doorbell came through the platform-MSI domain$3" "$(dmesg | grep "$_fb")"
	     else ok "$2doorbell came through the platform-MSI domain$3"; fi ;;
	*) return 2 ;;
	esac
}

# check_doorbell_impl: with dbimpl=C|Rust on the command line, one TAP line
# saying whether that implementation is the one in this kernel.
check_doorbell_impl() {
	impl=$(doorbell_impl)
	echo "# doorbell allocator: $impl implementation"
	[ -z "${dbimpl:-}" ] && return 0
	if [ "$impl" = "$dbimpl" ]; then ok "doorbell allocator: the $impl implementation ran"
	else not_ok "doorbell allocator: expected $dbimpl, found $impl"; fi
}
