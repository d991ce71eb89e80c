# SPDX-License-Identifier: GPL-2.0
# Relink a vNTB function: bind it, link up, traffic (a doorbell and a
# scratchpad each way, a memory window each way), link down, unbind; then
# bind the same function again, cycles= times in one boot (default 20).
# Each unbind must remove the endpoint's NTB device (and the virtual PCI
# device behind it), each bind must bring a new pair.  At the end a
# kmemleak scan must be clean.
#   epf=NAME   function driver (default pci_epf_vntb)
#   cycles=N   bind/unbind cycles (default 20)
# C pci-epf-vntb (inventory.md S-V2): unbind neither unregisters the NTB
# device nor removes the virtual bus, so the endpoint's NTB device outlives
# the function's memory and a second bind cannot work.
. /lib/eptest.sh
. /lib/vntb.sh

epf=${epf:-pci_epf_vntb}
cycles=${cycles:-20}
epc=$(ls "$CFS/controllers" | head -1)
vntb_create "$epf" func1 || { not_ok "configfs: create $epf"; exit 1; }
modprobe ntb_tool

# traffic: the link comes up, then a doorbell, a scratchpad and 64 KiB
# through memory window 0, each way.
traffic() {
	tool_dirs || { echo "#  ntb_tool directories missing"; return 1; }
	tool_link_up || { echo "#  link not up"; return 1; }
	tool_db "$H" "$E" 1 || { echo "#  doorbell host -> ep: $DB"; return 1; }
	tool_db "$E" "$H" 1 || { echo "#  doorbell ep -> host: $DB"; return 1; }
	echo $((0x1000 + c)) >"$H/peer0/spad3"; v=$(cat "$E/spad3")
	[ $((v)) = $((0x1000 + c)) ] || { echo "#  spad host -> ep: $v"; return 1; }
	echo $((0x2000 + c)) >"$E/peer0/spad5"; v=$(cat "$H/spad5")
	[ $((v)) = $((0x2000 + c)) ] || { echo "#  spad ep -> host: $v"; return 1; }
	tool_mw "$H" "$E" 0 65536 && tool_mw "$E" "$H" 0 65536
}

c=1
while [ $c -le "$cycles" ]; do
	if ! vntb_start "$FN" "$epc"; then
		not_ok "cycle $c: bind: a new pair of NTB devices (bind)" "$(ntb_list)"; break
	fi
	has_tool() { tool_dirs; }
	wait_until has_tool
	out=$(traffic 2>&1) || { not_ok "cycle $c: traffic (traffic)" "$out"; break; }
	echo N >"$H/link"; echo N >"$E/link"
	wait_until link_is "$H" N
	if ! vntb_stop "$FN" "$epc" "$HOST_PCI"; then
		not_ok "cycle $c: stop and unbind (unbind)"; break
	fi
	ep_gone() { [ ! -e "/sys/bus/ntb/devices/$NTB_EP" ]; }
	if ! wait_until ep_gone; then
		not_ok "cycle $c: unbind removes the endpoint's NTB device $NTB_EP (ep-device-left)"; break
	fi
	ok "cycle $c: bound ($NTB_HOST / $NTB_EP), traffic both ways, unbound, both devices gone"
	c=$((c + 1))
done
[ $c -gt "$cycles" ] && ok "relink: $cycles cycles in one boot"
modprobe -r ntb_tool
check "kmemleak: no leak after the cycles" eptest_kmemleak
tap_end
