# SPDX-License-Identifier: GPL-2.0
# configfs bad-input sweep: every attribute of an endpoint function (the
# generic EPF header attributes of pci-ep-cfs.c and the function's own group)
# gets values it must refuse: negative, 2^32, 2^64, 2^64 + 1 hex, non-numeric,
# empty, a page of digits, a number followed by junk, and values outside the
# documented range.  Each write must fail and leave the value as it was.  Then
# the function is linked: its own attributes must refuse every write with
# EOPNOTSUPP and keep their values, and the function must still work (the
# kselftest pci_endpoint_test for pci-epf-test, both NTB devices for vNTB).
#
#   epfs="NAME..."   the functions to sweep, in this order (default
#                    pci_epf_test_rs); each is created, swept, linked, checked
#                    and removed before the next
#   remove=0         keep each function after the sweep (do not rmdir it)
# A failing check names its cause in parentheses: (accepted) a bad value was
# taken, (changed) a refused write changed the value, (linked) a write while
# linked was not refused with EOPNOTSUPP, (broken) the function no longer
# works after the sweep.
. /lib/eptest.sh

epfs=${epfs:-pci_epf_test_rs}
epc=$(ls "$CFS/controllers" | head -1)

# A page of digits: configfs passes at most PAGE_SIZE - 1 bytes to the store.
long=$(printf '%04096d' 1 | tr 0 9)
# Not a number of any width, or too big for every one of them.
common="-1 4294967296 18446744073709551616 0x10000000000000001 junk 0x 12junk 1.5"
common="$common $long"
# For the signed BAR numbers, where -1 (no BAR: assign one) is valid.
signed="${common#-1 } -2147483649"

# refuses FILE VALUE...: every VALUE written to FILE fails and leaves FILE's
# contents as they were.  Prints the first failure; the empty string is tried
# too (echo writes a lone newline).
refuses() {
	f=$1; shift
	before=$(cat "$f") || { echo "cannot read $f"; return 1; }
	for v in "" "$@"; do
		if echo "$v" >"$f" 2>/dev/null; then
			echo "$(basename "$f") accepted '$(echo "$v" | cut -c1-24)' (accepted)"
			return 1
		fi
		after=$(cat "$f")
		if [ "$after" != "$before" ]; then
			echo "$(basename "$f"): '$before' became '$after' (changed)"
			return 1
		fi
	done
}

# refuses_linked FILE VALUE: the write fails with EOPNOTSUPP, FILE unchanged.
refuses_linked() {
	before=$(cat "$1")
	if err=$(echo "$2" 2>&1 >"$1"); then
		echo "$(basename "$1") accepted '$2' while linked (linked)"; return 1
	fi
	case "$err" in
	*"not supported"*) ;;
	*) echo "$(basename "$1"): '$err', not EOPNOTSUPP (linked)"; return 1 ;;
	esac
	[ "$(cat "$1")" = "$before" ] || { echo "$(basename "$1") changed while linked (changed)"; return 1; }
}

# Generic attributes: the header's u16 and u8 fields, MSI and MSI-X counts.
sweep_generic() {
	rc=0
	for a in vendorid deviceid subsys_vendor_id subsys_id msix_interrupts; do
		refuses "$fn/$a" $common 65536 0x10000 || rc=1
	done
	for a in revid progif_code subclass_code baseclass_code cache_line_size \
		interrupt_pin msi_interrupts; do
		refuses "$fn/$a" $common 256 0x100 || rc=1
	done
	return $rc
}

# pci-epf-test: bar0_size .. bar5_size, powers of two that fit an int.
sweep_test() {
	rc=0
	for b in 0 1 2 3 4 5; do
		refuses "$grp/bar${b}_size" $common 0 3 0x80000000 0x100000000 || rc=1
	done
	return $rc
}

# vNTB (inventory.md 3.2): counts, sizes, IDs, BAR numbers.
sweep_vntb() {
	rc=0
	refuses "$grp/spad_count" $common || rc=1
	refuses "$grp/db_count" $common 0 2 33 || rc=1
	refuses "$grp/num_mws" $common 5 || rc=1
	refuses "$grp/vbus_number" $common 256 || rc=1
	for a in vntb_vid vntb_pid; do
		refuses "$grp/$a" $common 65536 0x10000 || rc=1
	done
	for a in ctrl_bar db_bar mw1_bar mw2_bar mw3_bar mw4_bar; do
		refuses "$grp/$a" $signed -2 6 2147483648 || rc=1
	done
	# mw1 is the only window: mw2..mw4 refuse any value, valid or not.
	cfs_write 1 "$grp/num_mws" || return 1
	refuses "$grp/mw1" -1 18446744073709551616 junk 12junk "$long" || rc=1
	for a in mw2 mw3 mw4; do
		if echo 0x100000 >"$grp/$a" 2>/dev/null; then
			echo "$a accepted a size with num_mws 1 (accepted)"; rc=1
		fi
	done
	return $rc
}

# Values a working function needs, written after the sweep.
setup_test() { cfs_write 0x104c "$fn/vendorid" && cfs_write 0xb500 "$fn/deviceid" &&
	cfs_write 32 "$fn/msi_interrupts" "$fn/msix_interrupts"; }
setup_vntb() {
	cfs_write 0x1957 "$fn/vendorid" && cfs_write 0x0809 "$fn/deviceid" &&
		cfs_write 0x05 "$fn/baseclass_code" && cfs_write 0x00 "$fn/subclass_code" &&
		cfs_write 4 "$grp/db_count" && cfs_write 128 "$grp/spad_count" &&
		cfs_write 1 "$grp/num_mws" && cfs_write 0x100000 "$grp/mw1" &&
		cfs_write 0x1957 "$grp/vntb_vid" && cfs_write 0x080A "$grp/vntb_pid" &&
		cfs_write 0x10 "$grp/vbus_number"
}

# While linked: every attribute of the function's own group.
linked_test() {
	for b in 0 1 2 3 4 5; do refuses_linked "$grp/bar${b}_size" 131072 || return 1; done
}
linked_vntb() {
	for a in spad_count:64 db_count:8 num_mws:1 mw1:0x200000 vbus_number:0x20 \
		vntb_vid:0x1234 vntb_pid:0x5678 ctrl_bar:0 db_bar:2 mw1_bar:4; do
		refuses_linked "$grp/${a%%:*}" "${a#*:}" || return 1
	done
}

# Still working: the kselftest passes / both NTB devices appear.
works_test() {
	wait_until test -e /dev/pci-endpoint-test.0 || { echo "no host device"; return 1; }
	pci_endpoint_test >/tmp/kst.out 2>&1; rc=$?
	sed 's/^/    /' /tmp/kst.out
	echo "# $(grep '^# Totals' /tmp/kst.out)"
	[ $rc = 0 ]
}
works_vntb() { wait_ntb; }

# A single NTB device is left: the host's went with the link.
one_ntb() { [ "$(ls /sys/bus/ntb/devices 2>/dev/null | wc -l)" -lt 2 ]; }
host_gone() {
	case $kind in
	test) wait_until test ! -e /dev/pci-endpoint-test.0 ;;
	vntb) wait_until one_ntb ;;
	esac
}

# step DESC FUNCTION: a TAP line; a failure names the first refusal that went
# wrong, with its cause.
step() {
	if out=$($2 2>&1); then ok "$1"
	else not_ok "$1: $(echo "$out" | grep '(' | paste -sd';')" "$out"; fi
}

link() {
	case $kind in
	test) ln -s "$fn" "$CFS/controllers/$epc/" ;;
	vntb) ln -s "$CFS/controllers/$epc" "$fn/primary" ;;
	esac
}
unlink() {
	case $kind in
	test) rm "$CFS/controllers/$epc/sweep" ;;
	vntb) rm "$fn/primary/$epc" ;;
	esac
}

for epf in $epfs; do
	case $epf in
	pci_epf_test*) kind=test ;;
	pci_epf_vntb*) kind=vntb ;;
	*) not_ok "$epf: no sweep for this function"; continue ;;
	esac
	fn=$CFS/functions/$epf/sweep
	if ! mkdir "$fn"; then not_ok "$epf: create $fn"; continue; fi
	grp=$(ls -d "$fn/$epf".* 2>/dev/null | head -1)
	[ -n "$grp" ] || { not_ok "$epf: no $epf.* group in $fn"; continue; }
	step "$epf: generic EPF attributes refuse bad values, unchanged" sweep_generic
	step "$epf: $(basename "$grp") attributes refuse bad values, unchanged" sweep_$kind
	if setup_$kind && link; then
		step "$epf: linked, its attributes refuse writes with EOPNOTSUPP" linked_$kind
		echo 1 >"$CFS/controllers/$epc/start"
		if works_$kind >/tmp/works.out 2>&1; then
			ok "$epf: works after the sweep $(grep -o "Totals.*" /tmp/works.out)"
		else not_ok "$epf: does not work after the sweep (broken)" "$(cat /tmp/works.out)"; fi
		# Stop the link first: the host device must go while the function
		# still answers its commands (ntb_hw_epf's remove talks to it).
		if cfs_write 0 "$CFS/controllers/$epc/start" && host_gone && unlink; then
			ok "$epf: link stopped, host device gone, unlinked"
		else
			not_ok "$epf: link stopped, host device gone, unlinked"
		fi
	else
		not_ok "$epf: configure and link to $epc (broken)"
	fi
	# remove=0 keeps the function: removing a once-linked C pci-epf-vntb is
	# a use-after-free of its own (scenario vntb-remove).
	if [ "${remove:-1}" = 0 ]; then echo "# $epf: function kept (remove=0)"
	elif rmdir "$fn"; then ok "$epf: removed"
	else not_ok "$epf: removed"; fi
done
tap_end
