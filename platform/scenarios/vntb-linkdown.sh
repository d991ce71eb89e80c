# SPDX-License-Identifier: GPL-2.0
# The host is told when the endpoint's link goes down: with ntb_hw_epf
# bound and the link up, the vNTB function is unbound from its controller
# (which stays started, so the host device stays).  The host must get the
# link interrupt (ntb_hw_epf's vector 0, inventory.md section 3.7) and see
# the link down, and its next command (link disable, then the removal of
# ntb_hw_epf, which sends TEARDOWN_DOORBELL) must not time out: ntb_hw_epf
# WARNs on a command time-out (NTB_EPF_COMMAND_TIMEOUT, 1 s).
#   epf=NAME   function driver (default pci_epf_vntb)
# C pci-epf-vntb (S-V9): no link interrupt is ever raised, and once the
# function is unbound its control BAR is gone, so the host's next command
# times out: WARNING in ntb_epf_send_command().
. /lib/eptest.sh
. /lib/vntb.sh

epf=${epf:-pci_epf_vntb}
epc=$(ls "$CFS/controllers" | head -1)
if vntb_create "$epf" func1 && vntb_start "$FN" "$epc"; then
	ok "configfs: $epf bound to $epc, both NTB devices present"
else
	not_ok "configfs: $epf on '$epc' and its NTB devices"; exit 1
fi
modprobe ntb_tool
wait_until tool_dirs
tool_link_up && ok "link up on both sides" || not_ok "link up on both sides"

# ntb_hw_epf's interrupts, in vector order (request_irq per vector at
# probe): the first is vector 0, the link.
link_irqs() {
	awk '/ntb_epf/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s; exit }' \
		/proc/interrupts
}
n0=$(link_irqs)
echo "# host link interrupts so far: ${n0:-none}"
if rm "$FN/primary/$epc"; then ok "function unbound, controller still started"
else not_ok "unbind the function"; exit 1; fi
more() { [ "$(link_irqs)" -gt "${n0:-0}" ]; }
if [ -n "$n0" ] && wait_until more; then ok "the host got the link interrupt ($(link_irqs))"
else not_ok "the host got no link interrupt (no-link-irq)" "vector 0 count $n0 -> $(link_irqs)"; fi
link_is "$H" N && ok "the host sees the link down" ||
	not_ok "the host sees the link $(cat "$H/peer0/link") (link-up)"
# The host's next commands.  A time-out is a WARNING (the runner fails the
# boot on it); report how long each took.
t0=$(cut -d' ' -f1 /proc/uptime)
echo N >"$H/link"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# host link disable took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
modprobe -r ntb_tool
echo "$HOST_PCI" >/sys/bus/pci/drivers/ntb_hw_epf/unbind
t2=$(cut -d' ' -f1 /proc/uptime)
echo "# ntb_hw_epf removal took $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s"
ok "host link disable and ntb_hw_epf removal returned"
cfs_write 0 "$CFS/controllers/$epc/start"
tap_end
