# SPDX-License-Identifier: GPL-2.0
# pci_epf_test_rs and the Rust vNTB function on the two physical functions
# of one loopback controller (max-functions = /bits/ 8 <2>), the setup an
# R-Car S4 or V4H endpoint can run, both with interrupt doorbells from the
# Rust allocator.
#
# configfs: the test function (func1) is linked first and becomes func_no
# 0, the vNTB function (func2, /lib/vntb.sh's vntb_create) func_no 1; one
# start.  The host sees pci_endpoint_test on 00:00.0 and ntb_hw_epf on
# 00:00.1.  The kselftest runs against the test function, DOORBELL_TEST
# included; ntb_tool brings the NTB link up and rings a doorbell bit each
# way; the vNTB function must not fall back to polling its doorbells (it
# logs "No doorbell interrupts" when the allocator refuses it, as the C
# allocator refuses every function but the first).
#
# Kernel command line (environment of init):
#   epf=NAME     the vNTB function driver (default pci_epf_vntb_rs)
#   db_exact=0   a doorbell bit must be seen, others may be too: with
#                embedded doorbells one interrupt stands for several bits
#                (and may be the test function's as well), and rings each
#                of them (vntb-suite's db-host-ep checks the exact bits)
. /lib/eptest.sh
. /lib/vntb.sh

epf=${epf:-pci_epf_vntb_rs}
check_doorbell_impl

epc=$(ls "$CFS/controllers" | head -1)
[ -n "$epc" ] || { not_ok "configfs: an endpoint controller"; exit 1; }

tfn=$CFS/functions/pci_epf_test_rs/func1
if epf_test_create "$tfn" 32 && ln -s "$tfn" "$CFS/controllers/$epc/"; then
	ok "configfs: func1 (pci_epf_test_rs) created and linked to $epc"
else
	not_ok "configfs: func1 (pci_epf_test_rs) created and linked to $epc"; exit 1
fi

# vntb_start links the vNTB function and starts the controller.
if vntb_create "$epf" func2 && vntb_start "$FN" "$epc"; then
	ok "configfs: func2 ($epf) configured, linked to $epc and started; both NTB devices present"
else
	not_ok "configfs: func2 ($epf) on $epc and its NTB devices"; exit 1
fi

# The test function's host device: 104c:b500 on function 0 of the slot
_tbound() {
	tdev=$(pci_dev_of 0x104c 0xb500) &&
		[ -n "$(ls "/sys/bus/pci/devices/$tdev/misc" 2>/dev/null)" ]
}
wait_until _tbound
check "host: pci_endpoint_test on function 0 (${tdev:-none}), ntb_hw_epf on function 1 ($HOST_PCI)" \
	sh -c "[ '${tdev%.*}' = '${HOST_PCI%.*}' ] && [ '${tdev##*.}' = 0 ] && [ '${HOST_PCI##*.}' = 1 ]"
misc=$(ls "/sys/bus/pci/devices/$tdev/misc" 2>/dev/null | head -1)
check "host: pci_endpoint_test bound to $tdev" test -n "$misc"

out=/tmp/kst.out
unshare -m sh -c 'mount --bind "/dev/$1" /dev/pci-endpoint-test.0 && exec pci_endpoint_test' \
	sh "${misc:-none}" >$out 2>&1
rc=$?
sed 's/^/    /' $out
totals=$(grep '^# Totals' $out)
failed=$(grep '^not ok' $out | sed 's/.*\.//' | tr '\n' ' ')
if [ $rc = 0 ] && [ -n "$totals" ]; then
	ok "function 1 (pci_epf_test_rs): kselftest $totals"
else
	not_ok "function 1 (pci_epf_test_rs): kselftest ${totals:-did not run}${failed:+, failed: $failed}"
fi

polled=$(dmesg | grep "$epf.*No doorbell interrupts")
if [ -z "$polled" ]; then
	ok "function 2 ($epf): doorbells are interrupts, not polled"
else
	not_ok "function 2 ($epf): doorbells are interrupts, not polled" "$polled"
fi

modprobe ntb_tool
wait_until tool_dirs
check "ntb_tool on both NTB devices (host $NTB_HOST, endpoint $NTB_EP)" tool_dirs
check "NTB link up on both sides" tool_link_up
# db_seen FROM TO BITS: FROM rings BITS of TO, which sees at least them.
db_seen() {
	echo "c $(cat "$2/db_valid_mask")" >"$2/db"
	echo "s $3" >"$1/peer_db" || return 1
	_seen() { [ $(($(cat "$2/db") & $3)) = $(($3)) ]; }
	wait_until _seen "$@"
}
if [ "${db_exact:-1}" = 0 ]; then
	check "NTB doorbell host -> endpoint (bit 0 seen)" db_seen "$H" "$E" 1
	check "NTB doorbell endpoint -> host (bit 1 seen)" db_seen "$E" "$H" 2
else
	check "NTB doorbell host -> endpoint (bit 0, exactly)" tool_db "$H" "$E" 1
	check "NTB doorbell endpoint -> host (bit 1, exactly)" tool_db "$E" "$H" 2
fi
modprobe -r ntb_tool

_tgone() { [ ! -e "/sys/bus/pci/devices/$tdev" ]; }
if vntb_teardown "$FN" "$epc" && wait_until _tgone &&
	rm "$CFS/controllers/$epc/func1" && rmdir "$tfn" "$FN"; then
	ok "torn down: link stopped, both functions gone from the host, unlinked and removed"
else
	not_ok "torn down: link stopped, both functions gone from the host, unlinked and removed"
fi
tap_end
