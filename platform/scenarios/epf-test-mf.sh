# SPDX-License-Identifier: GPL-2.0
# Two endpoint functions on the two physical functions of one loopback
# controller (max-functions = /bits/ 8 <2>, as on R-Car S4 and V4H), driven
# from the RC side by the kselftest pci_endpoint_test, run against each.
#
# configfs: two function instances (func1, func2) linked to the one
# controller get func_no 0 and 1 in link order; one start.  The host sees
# one multi-function device, 00:00.0 (multi-function bit in its header type)
# and 00:00.1, with its own config space, BARs and MSI/MSI-X each, and
# pci_endpoint_test binds each.  The kselftest opens /dev/pci-endpoint-test.0
# only, so each run is made in a mount namespace of its own where that path
# is the tested function's device.
#
# Kernel command line (environment of init):
#   epfs=A,B         the drivers of func1 and func2 (default
#                    pci_epf_test_rs,pci_epf_test_rs)
#   doorbell=PATH    msi | embedded: where function 1's doorbell must come
#                    from
#   db_skip=N,...    the functions (1 = func1, 2 = func2) whose DOORBELL_TEST
#                    is left out, with a TAP skip saying why (for an
#                    allocator that refuses them; the matrix runs them all)
. /lib/eptest.sh

epfs=${epfs:-pci_epf_test_rs,pci_epf_test_rs}
db_skip=${db_skip:-}
check_doorbell_impl

db_skip_reason="left out on request (db_skip=$db_skip)"

# host_fns: the BDFs of the pci_endpoint_test devices (104c:b500), sorted
host_fns() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" 2>/dev/null)" = 0x104c ] &&
			[ "$(cat "$d/device" 2>/dev/null)" = 0xb500 ] &&
			basename "$d"
	done | sort
}
two_fns() { [ "$(host_fns | wc -l)" = 2 ]; }
no_fns() { [ -z "$(host_fns)" ]; }

# misc_of BDF: the pci_endpoint_test device of a function, e.g.
# pci-endpoint-test.1
misc_of() { ls "/sys/bus/pci/devices/$1/misc" 2>/dev/null | head -1; }
both_bound() {
	for b in $(host_fns); do [ -n "$(misc_of "$b")" ] || return 1; done
}

# multi_function BDF: bit 7 of the header type (config offset 0x0e)
header_type() { od -An -tx1 -j14 -N1 "/sys/bus/pci/devices/$1/config" | tr -d ' '; }
multi_function() { [ $((0x$(header_type "$1") & 0x80)) != 0 ]; }
single_function() { [ $((0x$(header_type "$1") & 0x80)) = 0 ]; }

# distinct_bars: the two functions' BAR0 are distinct host ranges
bar0() { sed -n 1p "/sys/bus/pci/devices/$1/resource" | cut -d' ' -f1; }
distinct_bars() {
	set -- $(host_fns)
	a=$(bar0 "$1") b=$(bar0 "$2")
	echo "BAR0: $1 $a, $2 $b"
	[ "$a" != 0x0000000000000000 ] && [ "$b" != 0x0000000000000000 ] && [ "$a" != "$b" ]
}

# kst DEV OUT ARGS...: the kselftest against /dev/DEV, output in OUT
kst() {
	_kst_dev=$1 _kst_out=$2; shift 2
	unshare -m sh -c 'mount --bind "/dev/$1" /dev/pci-endpoint-test.0 &&
		shift && exec pci_endpoint_test "$@"' sh "$_kst_dev" "$@" >"$_kst_out" 2>&1
}

epc=$(ls "$CFS/controllers" | head -1)
[ -n "$epc" ] || { not_ok "configfs: an endpoint controller"; exit 1; }

i=0
for epf in $(echo "$epfs" | tr , ' '); do
	i=$((i + 1))
	fn=$CFS/functions/$epf/func$i
	if epf_test_create "$fn" 32 && ln -s "$fn" "$CFS/controllers/$epc/"; then
		ok "configfs: func$i ($epf) created and linked to $epc"
	else
		not_ok "configfs: func$i ($epf) created and linked to $epc"; exit 1
	fi
done
[ $i = 2 ] || { not_ok "epfs= names two functions ($epfs)"; exit 1; }

if cfs_write 1 "$CFS/controllers/$epc/start"; then
	ok "configfs: $epc started"
else
	not_ok "configfs: $epc started"; exit 1
fi

wait_until two_fns
wait_until both_bound
check "host: two functions of one device ($(host_fns | tr '\n' ' '))" two_fns
set -- $(host_fns)
f0=${1:-none} f1=${2:-none}
check "host: $f0 and $f1 are functions 0 and 1 of one slot" \
	sh -c "[ '${f0%.*}' = '${f1%.*}' ] && [ '${f0##*.}' = 0 ] && [ '${f1##*.}' = 1 ]"
check "host: function 0 ($f0) has the multi-function bit in its header type" multi_function "$f0"
check "host: function 1 ($f1) has a header type without it" single_function "$f1"
check "host: pci_endpoint_test bound to both functions" both_bound
check "host: each function has BARs of its own" distinct_bars

n=0
for bdf in $f0 $f1; do
	n=$((n + 1))
	epf=$(echo "$epfs" | cut -d, -f$n)
	dev=$(misc_of "$bdf")
	out=/tmp/kst-f$n.out
	if [ -z "$dev" ]; then
		not_ok "function $n ($bdf): no pci_endpoint_test device"; continue
	fi
	skip=
	case ",$db_skip," in *,$n,*) skip=1 ;; esac
	echo "# kselftest pci_endpoint_test against function $n ($bdf, /dev/$dev, $epf):"
	if [ -n "$skip" ]; then
		kst "$dev" $out -T DOORBELL_TEST; rc=$?
	else
		kst "$dev" $out; rc=$?
	fi
	sed 's/^/    /' $out
	totals=$(grep '^# Totals' $out)
	if [ $rc = 0 ] && [ -n "$totals" ]; then
		ok "function $n ($bdf, $epf): kselftest $totals"
	else
		failed=$(grep '^not ok' $out | sed 's/.*\.//' | tr '\n' ' ')
		not_ok "function $n ($bdf, $epf): kselftest ${totals:-did not run}${failed:+, failed: $failed}" \
			"$(grep '^not ok' $out)"
	fi
	if [ -n "$skip" ]; then
		result s "function $n ($bdf, $epf): kselftest DOORBELL_TEST" "$db_skip_reason"
		continue
	fi
	# The lines of this driver's functions (both, with the same driver)
	check_doorbell_path "$epf" "function $n: " ""
done

if cfs_write 0 "$CFS/controllers/$epc/start" && wait_until no_fns &&
	rm "$CFS/controllers/$epc/func1" "$CFS/controllers/$epc/func2" &&
	rmdir "$CFS/functions/$(echo "$epfs" | cut -d, -f1)/func1" \
		"$CFS/functions/$(echo "$epfs" | cut -d, -f2)/func2"; then
	ok "torn down: link stopped, both functions gone from the host, unlinked and removed"
else
	not_ok "torn down: link stopped, both functions gone from the host, unlinked and removed"
fi
tap_end
