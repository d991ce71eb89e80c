# SPDX-License-Identifier: GPL-2.0
# vNTB functions with 2 to 4 memory windows and automatic BAR assignment
# (no ctrl_bar, db_bar, mwN_bar) on a controller with six free BARs: each
# must bind, expose a BAR per window (control, doorbell and num_mws BARs on
# the host device) and report num_mws windows to the host (control region)
# and to endpoint-side NTB clients (ntb_tool).  The function uses the device
# ID 1957:0001, which no host driver binds; the host device's memory
# decoding is enabled through sysfs and the control region read with the
# loopback's bus exerciser.  One function per window count, bound, checked,
# stopped and unbound in turn on the one controller.
#   epf=NAME    function driver (default pci_epf_vntb)
#   nmws=2,3,4  the window counts, in this order
# C pci-epf-vntb (inventory.md S-V1): the loop that assigns the optional
# window BARs starts at the already assigned MW1, so the BAR of the last
# window stays -1 and mw_bar_init() indexes epf->bar[-1] (UBSAN).
. /lib/eptest.sh
. /lib/vntb.sh

epf=${epf:-pci_epf_vntb}
epc=$(ls "$CFS/controllers" | head -1)
D=$(lbep_dir "$epc")
VNTB_DEVID=0x0001
modprobe ntb_tool
for n in $(echo "${nmws:-2,3,4}" | tr ',' ' '); do
	num_mws=$n VBUS=$((0x10 + n))
	if ! vntb_create "$epf" "mws$n"; then
		not_ok "num_mws $n: configfs function"; continue
	fi
	_before=$(ntb_list)
	ln -s "$CFS/controllers/$epc" "$FN/primary" && echo 1 >"$CFS/controllers/$epc/start"
	rc=$?
	has_host() { pci=$(pci_dev_of 0x1957 0x0001); }
	if [ $rc = 0 ] && wait_until has_host; then
		ok "num_mws $n: bound with automatic BARs, host device $pci"
	else
		not_ok "num_mws $n: bind and host device (bind)"; break
	fi
	echo 1 >"/sys/bus/pci/devices/$pci/enable"
	bars=$(awk 'NR <= 6 && $1 != "0x0000000000000000" { n++ } END { print n + 0 }' \
		"/sys/bus/pci/devices/$pci/resource")
	[ "$bars" = $((n + 2)) ] && ok "num_mws $n: the host device has $bars BARs" ||
		not_ok "num_mws $n: the host device has $bars BARs, not $((n + 2)) (bars)" \
			"$(head -6 "/sys/bus/pci/devices/$pci/resource")"
	v=$(($(epreg "$D/host-bar0" 0x20)))
	[ "$v" = "$n" ] && ok "num_mws $n: the control region says $v windows" ||
		not_ok "num_mws $n: the control region says $v windows (count)"
	ep=$(ntb_list | grep ":$(printf %02x $VBUS):00\.0\$" | head -1)
	t=/sys/kernel/debug/ntb_tool/$ep/peer0
	has_tool() { [ -n "$ep" ] && [ -d "$t" ]; }
	wait_until has_tool
	w=$(ls "$t" 2>/dev/null | grep -c '^mw_trans[0-9]*$')
	[ "$w" = "$n" ] && ok "num_mws $n: the endpoint's NTB device $ep has $w windows" ||
		not_ok "num_mws $n: the endpoint's NTB device '$ep' has $w windows (count)"
	gone() { [ ! -e "/sys/bus/pci/devices/$pci" ]; }
	cfs_write 0 "$CFS/controllers/$epc/start" && wait_until gone && rm "$FN/primary/$epc" ||
		{ not_ok "num_mws $n: stop and unbind"; break; }
done
modprobe -r ntb_tool
tap_end
