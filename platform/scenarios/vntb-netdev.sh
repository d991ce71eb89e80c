# SPDX-License-Identifier: GPL-2.0
# IP over the vNTB link: the vNTB function on the loopback controller,
# ntb_hw_epf on the RC side, ntb_transport on both NTB devices and ntb_netdev
# on top (modules, loaded in that order: ntb_netdev's init registers its
# client device with every transport there is), the endpoint's interface in
# a network namespace of its own.  Ping both ways, 16 MiB over TCP each way
# (busybox nc, SHA-256 compared at the receiving end), the packets counted
# where they cross the NTB (the transport's queue pair counters on both
# devices, the interfaces' counters in both namespaces), then a checked
# teardown: interfaces down (the peer loses its carrier), queue pairs down,
# ntb_netdev unloaded, transport unbound, link stopped.  The helpers are
# /lib/vntb.sh's (vntb_setup, netdev_up, tcp_send, ...).
#   epf=NAME       endpoint function driver (default pci_epf_vntb; the Rust
#                  port is pci_epf_vntb_rs)
#   doorbell=MODE  msi, embedded or none: what the devicetree gives; with
#                  msi or embedded the function must take the host's
#                  doorbells as interrupts, with none it must poll
#   xfer_mib=N     size of each TCP transfer (default 16)
#   inject=WHAT    self-tests of the checks, each must fail: checksum (the
#                  receiver hashes one byte more), if-up (the host's
#                  interface is left up at teardown)
#   db_count= spad_count= num_mws= mw_size= vbus=  the function's values
. /lib/eptest.sh
. /lib/vntb.sh

mode=${doorbell:-}
mib=${xfer_mib:-16}
[ "${inject:-}" = checksum ] && tcp_corrupt=1
vntb_setup

# Doorbell interrupts the function requested ("pci_epf_vntb_db" is C's name;
# a port may name its own: every line of /proc/interrupts naming the
# function's driver counts).
db_irqs() {
	awk -v n="${epf}_db" '$NF == n || $NF == "pci_epf_vntb_db" { s = 0
		for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break
		t += s; c++ } END { printf "%d %d\n", c, t }' /proc/interrupts
}

if netdev_up; then
	ok "ntb_netdev up on both NTB devices: host $NTB_HOST $if_host $NET_HOST, endpoint $NTB_EP $if_ep $NET_EP (own namespace)"
else
	not_ok "ntb_netdev up on both NTB devices" "$(dmesg | tail -30)"; exit 1
fi
echo "# transport: host QP link $(qpstat "$NTB_HOST" 'QP Link'), endpoint $(qpstat "$NTB_EP" 'QP Link'), MTU $(cat /sys/class/net/$if_host/mtu)"
# The interface of the other side is not in this namespace, and this side's is not in the other.
check "the endpoint's interface is only in its namespace" \
	sh -c "! ip link show dev $if_ep 2>/dev/null && ! $NS ip link show dev $if_host 2>/dev/null"

set -- $(db_irqs)
nirq=$1 irq0=$2
case $mode in
msi | embedded)
	[ "$nirq" -gt 0 ] && ok "doorbell ($mode): the function requested $nirq doorbell interrupt(s)" ||
		not_ok "doorbell ($mode): the function requested doorbell interrupts" "$(cat /proc/interrupts)"
	;;
none)
	[ "$nirq" = 0 ] && ok "doorbell (none): no doorbell interrupt, the function polls" ||
		not_ok "doorbell (none): no doorbell interrupt" "$(cat /proc/interrupts)"
	;;
esac

# Counters before: what crosses the NTB is counted by the transport of both
# devices (bytes written into the peer's memory window and received from it).
htx0=$(qpstat "$NTB_HOST" tx_bytes) erx0=$(qpstat "$NTB_EP" rx_bytes)
etx0=$(qpstat "$NTB_EP" tx_bytes) hrx0=$(qpstat "$NTB_HOST" rx_bytes)

# ping both ways
p=$(ping -c 5 -W 5 $NET_EP 2>&1)
printf '%s\n' "$p" | tail -2 | sed 's/^/# /'
case $p in *"5 packets received"*) ok "ping host -> endpoint: 5/5" ;;
*) not_ok "ping host -> endpoint" "$p" ;; esac
p=$($NS ping -c 5 -W 5 $NET_HOST 2>&1)
printf '%s\n' "$p" | tail -2 | sed 's/^/# /'
case $p in *"5 packets received"*) ok "ping endpoint -> host: 5/5" ;;
*) not_ok "ping endpoint -> host" "$p" ;; esac

# qp_dump: both queue pairs' counters, for a failed transfer (a stall).
qp_dump() {
	for _d in "$NTB_HOST" "$NTB_EP"; do
		echo "queue pair 0 of $_d:"
		grep -E '^(rx|tx)_(bytes|pkts|ring|err|index|max)|^RRI|^free tx|^QP Link' \
			"/sys/kernel/debug/ntb_transport/$_d/qp0/stats" | tr '\n\t' '; '
		echo
	done
	grep -E 'pci_epf_vntb|ntb_hw_epf|epf' /proc/interrupts
	echo "TCP sockets (host, endpoint namespace):"
	netstat -tn 2>/dev/null | grep ':5001'
	$NS netstat -tn 2>/dev/null | grep ':5001'
}

# TCP each way: the same random file, its digest compared at the other end.
head -c $((mib * 1048576)) /dev/urandom >/tmp/data
want=$(sha256sum </tmp/data | cut -d' ' -f1)
for from in host ep; do
	[ $from = host ] && dir="host -> endpoint" || dir="endpoint -> host"
	if r=$(tcp_send $from /tmp/data); then
		set -- $r
		cs=$2
		[ "$cs" -gt 0 ] || cs=1
		echo "# TCP $dir: $mib MiB in $cs cs, $((mib * 1048576 / cs / 10000)) MB/s"
		[ "$1" = "$want" ] && ok "TCP $dir: $mib MiB, SHA-256 matches at the receiver" ||
			not_ok "TCP $dir: SHA-256 at the receiver (sha-mismatch)" "sent $want" "got  $1" \
				"$(qp_dump)"
	else
		not_ok "TCP $dir: $mib MiB transfer" "$(dmesg | tail -20)" "$(qp_dump)"
	fi
done
rm -f /tmp/data

# Did it cross the NTB?  Each direction's transport counted at least the
# payload, and so did the interfaces in both namespaces.
htx=$(( $(qpstat "$NTB_HOST" tx_bytes) - htx0 )) erx=$(( $(qpstat "$NTB_EP" rx_bytes) - erx0 ))
etx=$(( $(qpstat "$NTB_EP" tx_bytes) - etx0 )) hrx=$(( $(qpstat "$NTB_HOST" rx_bytes) - hrx0 ))
echo "# queue pair 0 bytes: host tx $htx -> endpoint rx $erx; endpoint tx $etx -> host rx $hrx"
min=$((mib * 1048576))
[ $htx -ge $min ] && [ $erx -ge $min ] && [ $etx -ge $min ] && [ $hrx -ge $min ] &&
	ok "the transport's queue pairs carried >= $mib MiB each way" ||
	not_ok "the transport's queue pairs carried >= $mib MiB each way"
hi=$(ifstat "" "$if_host" 9) hr=$(ifstat "" "$if_host" 1)
ei=$(ifstat "$NS" "$if_ep" 9) er=$(ifstat "$NS" "$if_ep" 1)
echo "# interface bytes: $if_host tx $hi rx $hr; $if_ep (namespace) tx $ei rx $er"
[ "${hi:-0}" -ge $min ] && [ "${hr:-0}" -ge $min ] && [ "${ei:-0}" -ge $min ] && [ "${er:-0}" -ge $min ] &&
	ok "the interfaces counted >= $mib MiB each way in both namespaces" ||
	not_ok "the interfaces counted >= $mib MiB each way in both namespaces"
set -- $(db_irqs)
echo "# doorbell interrupts of the function: $((${2:-0} - irq0))"
case $mode in
msi | embedded)
	[ $((${2:-0} - irq0)) -gt 0 ] && ok "doorbell ($mode): the host's doorbells came as interrupts" ||
		not_ok "doorbell ($mode): the host's doorbells came as interrupts"
	;;
esac

# Teardown.  The host's interface down: the endpoint's loses its carrier
# (ntb_transport_link_down() on the host clears its queue pair's bit in the
# peer's QP_LINKS scratchpad and sends a LINK_DOWN message, and resets its
# queue pair; the endpoint's transport takes that down too).
if [ "${inject:-}" = if-up ]; then
	echo "# inject=if-up: the host's interface stays up"
else
	ip link set dev "$if_host" down
fi
wait_until ep_no_carrier && ok "host interface down: the endpoint's interface lost its carrier" ||
	not_ok "host interface down: the endpoint's interface lost its carrier (carrier-kept)" \
		"$($NS ip link show dev "$if_ep")"
$NS ip link set dev "$if_ep" down
# ntb_transport shows a queue pair's stats only while its link is up.
qp_down() { qp_is_down "$NTB_HOST" && qp_is_down "$NTB_EP"; }
wait_until qp_down && ok "both interfaces down: queue pair 0 down on both devices" ||
	not_ok "both interfaces down: queue pair 0 down on both devices" \
		"host QP Link '$(qpstat "$NTB_HOST" 'QP Link')' endpoint '$(qpstat "$NTB_EP" 'QP Link')'"
[ "${inject:-}" = if-up ] && ip link set dev "$if_host" down
gone() { ! ip link show dev "$if_host" 2>/dev/null && ! $NS ip link show dev "$if_ep" 2>/dev/null; }
modprobe -r ntb_netdev && gone && ok "ntb_netdev unloaded: both interfaces gone" ||
	not_ok "ntb_netdev unloaded: both interfaces gone"
kill "$nspid"; wait "$nspid" 2>/dev/null
# The host's transport first: its unbind takes the NTB link down with a
# command that the function must still answer.
td=""
ntb_unbind "$NTB_HOST" "$NTB_EP" || td="$td unbind-refused"
[ -z "$(ntb_driver "$NTB_HOST")$(ntb_driver "$NTB_EP")" ] || td="$td still-bound"
modprobe -r ntb_transport || td="$td rmmod-ntb_transport"
[ -z "$td" ] && { vntb_stop "$FN" "$epc" "$HOST_PCI" || td="$td vntb_stop"; }
if [ -z "$td" ]; then
	ok "torn down: ntb_transport unbound and unloaded, link stopped, function unbound"
else
	not_ok "torn down: ntb_transport unbound and unloaded, link stopped, function unbound" "failed:$td"
fi
# ntb_transport complains if a client device is still on its bus at unbind.
if dmesg | grep -q 'still attached to bus'; then
	not_ok "no client device left on the transport at unbind" "$(dmesg | grep 'still attached')"
else
	ok "no client device left on the transport at unbind"
fi
tap_end
