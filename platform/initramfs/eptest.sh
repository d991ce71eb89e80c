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

# check_doorbell_impl: with dbimpl=C|Rust on the command line, one TAP line
# saying whether that implementation is the one in this kernel.
check_doorbell_impl() {
	impl=$(doorbell_impl)
	echo "# doorbell allocator: $impl implementation"
	[ -z "${dbimpl:-}" ] && return 0
	if [ "$impl" = "$dbimpl" ]; then ok "doorbell allocator: the $impl implementation ran"
	else not_ok "doorbell allocator: expected $dbimpl, found $impl"; fi
}

# vntb_start EPF: instance func1 of the vNTB function EPF (pci_epf_vntb or a
# port with the same configfs attributes in its group EPF.N), configured as
# Documentation/PCI/endpoint/pci-vntb-howto.rst does (4 doorbell slots, 128
# scratchpads, one 1 MiB memory window, virtual bus 0x10), linked to the
# first controller, which is started.  Sets vntb_fn and vntb_epc.
vntb_start() {
	vntb_fn=$CFS/functions/$1/func1
	vntb_epc=$(ls "$CFS/controllers" | head -1)
	# An instance of an earlier round is configured and linked again.
	[ -d "$vntb_fn" ] || mkdir "$vntb_fn" || { echo "# cannot create $vntb_fn"; return 1; }
	_cfg=$(ls -d "$vntb_fn/$1".* 2>/dev/null | head -1)
	[ -n "$_cfg" ] || { echo "# no $1.N group in $vntb_fn"; return 1; }
	cfs_write 0x1957 "$vntb_fn/vendorid" && cfs_write 0x0809 "$vntb_fn/deviceid" &&
		cfs_write 0x05 "$vntb_fn/baseclass_code" && cfs_write 0x00 "$vntb_fn/subclass_code" &&
		cfs_write 4 "$_cfg/db_count" && cfs_write 128 "$_cfg/spad_count" &&
		cfs_write 1 "$_cfg/num_mws" && cfs_write 0x100000 "$_cfg/mw1" &&
		cfs_write 0x1957 "$_cfg/vntb_vid" && cfs_write 0x080A "$_cfg/vntb_pid" &&
		cfs_write 0x10 "$_cfg/vbus_number" &&
		ln -s "$CFS/controllers/$vntb_epc" "$vntb_fn/primary" &&
		cfs_write 1 "$CFS/controllers/$vntb_epc/start"
}

# vntb_stop: stop the controller's link (the host's NTB device goes, from a
# work item: wait for it) and unlink the function.  The NTB clients must have
# let the link go first (ntb_hw_epf WARNs when its link-down command to the
# endpoint times out).
vntb_stop() {
	_hostpci=$ntb_host
	cfs_write 0 "$CFS/controllers/$vntb_epc/start" &&
		wait_until test ! -e "/sys/bus/pci/devices/$_hostpci" &&
		rm "$vntb_fn/primary/$vntb_epc"
}

# ntb_names: the two NTB devices of the link in ntb_host (on the virt-pci
# bus 00, ntb_hw_epf) and ntb_ep (on the vNTB function's virtual bus).
ntb_names() {
	ntb_host=$(ls /sys/bus/ntb/devices | grep '^0000:00:' | head -1)
	ntb_ep=$(ls /sys/bus/ntb/devices | grep -v '^0000:00:' | head -1)
	[ -n "$ntb_host" ] && [ -n "$ntb_ep" ]
}

# ntb_driver DEV: the NTB client DEV is bound to, if any.
ntb_driver() {
	[ -e "/sys/bus/ntb/devices/$1/driver" ] &&
		basename "$(readlink "/sys/bus/ntb/devices/$1/driver")"
}

# ntb_bind CLIENT DEV...: hand each NTB device DEV to the NTB client CLIENT
# (every built-in client wants every NTB device: whichever registered first
# took it when it appeared).
ntb_bind() {
	_drv=$1; shift
	for _n in "$@"; do
		_d=/sys/bus/ntb/devices/$_n
		[ -e "$_d/driver" ] && echo "$_n" >"$_d/driver/unbind"
		echo "$_n" >"/sys/bus/ntb/drivers/$_drv/bind" || return 1
		[ "$(ntb_driver "$_n")" = "$_drv" ] || return 1
	done
}

# ntb_unbind DEV...: unbind the NTB client of each DEV.
ntb_unbind() {
	for _n in "$@"; do
		_d=/sys/bus/ntb/devices/$_n
		[ -e "$_d/driver" ] || continue
		echo "$_n" >"$_d/driver/unbind" || return 1
	done
}

# IP over the link: ntb_netdev on ntb_transport.  The host's interface stays
# in the initial network namespace, the endpoint's moves into a namespace of
# its own (held by a sleeping process), so that traffic between the two
# addresses crosses the NTB instead of the loopback device.  The addresses
# are from the benchmarking range of RFC 2544; UML has no other network
# device, nothing leaves the UML kernel.
NET_HOST=198.18.0.1 NET_EP=198.18.0.2

# netdev_of DEV: the ntb_netdev interface of NTB device DEV (the net device of
# the transport's client device, a child of DEV), while it is in the initial
# namespace.
netdev_of() {
	for _i in /sys/bus/ntb/devices/$1/ntb_netdev*/net/*; do
		[ -e "$_i" ] && basename "$_i"
	done
}

# netns_new: a new network namespace held by a sleeping process; sets nspid
# and NS, the command prefix that runs a command in it.
netns_differs() { [ "$(readlink /proc/$nspid/ns/net)" != "$(readlink /proc/$$/ns/net)" ]; }
netns_new() {
	unshare -n sleep 100000 &
	nspid=$!
	NS="nsenter -t $nspid -n"
	wait_until netns_differs
}

# ifstat NS-PREFIX IF FIELD: a counter of interface IF from /proc/net/dev as
# seen in a namespace (the prefix: empty or $NS): FIELD 1 rx_bytes, 2
# rx_packets, 9 tx_bytes, 10 tx_packets.
ifstat() {
	$1 cat /proc/net/dev | sed 's/:/ /' |
		awk -v i="$2" -v f="$3" '$1 == i { print $(f + 1) }'
}

# qpstat DEV KEY: a counter of the transport's queue pair 0 on NTB device DEV
# (debugfs ntb_transport/DEV/qp0/stats, e.g. rx_bytes, tx_bytes, "QP Link").
qpstat() {
	awk -v k="$2" -F ' - *\t?' '$1 == k { gsub(/[ \t]/, "", $2); print $2 }' \
		"/sys/kernel/debug/ntb_transport/$1/qp0/stats"
}

# has_carrier NS-PREFIX IF: the interface is up with its lower layer (the
# transport's queue pair) up.
has_carrier() { $1 ip link show dev "$2" | grep -q 'LOWER_UP'; }
ep_carrier() { has_carrier "$NS" "$if_ep"; }
host_carrier() { has_carrier "" "$if_host"; }
ep_no_carrier() { ! has_carrier "$NS" "$if_ep"; }

# netdev_up: ntb_transport on both NTB devices, ntb_netdev loaded, the
# endpoint's interface in a namespace of its own, addresses set, both
# interfaces up with carrier (the transport's link up).  Sets if_host,
# if_ep, nspid, NS.  Each step that fails says so in a TAP comment.
netdev_up() {
	ntb_names || { echo "# netdev_up: no NTB devices"; return 1; }
	ntb_bind ntb_transport "$ntb_host" "$ntb_ep" ||
		{ echo "# netdev_up: ntb_transport did not bind ($(ntb_driver "$ntb_host"), $(ntb_driver "$ntb_ep"))"; return 1; }
	insmod /lib/modules/ntb_netdev.ko || { echo "# netdev_up: insmod ntb_netdev failed"; return 1; }
	if_host=$(netdev_of "$ntb_host") if_ep=$(netdev_of "$ntb_ep")
	[ -n "$if_host" ] && [ -n "$if_ep" ] ||
		{ echo "# netdev_up: interfaces: host '$if_host' ep '$if_ep'"; return 1; }
	netns_new || { echo "# netdev_up: no network namespace"; return 1; }
	ip link set dev "$if_ep" netns "$nspid" ||
		{ echo "# netdev_up: cannot move $if_ep"; return 1; }
	ip addr add $NET_HOST/24 dev "$if_host" && ip link set dev "$if_host" up &&
		$NS ip addr add $NET_EP/24 dev "$if_ep" && $NS ip link set dev "$if_ep" up ||
		{ echo "# netdev_up: cannot configure the interfaces"; return 1; }
	# The transport's link comes up through scratchpads and the function's
	# command poll (500 ms with a doorbell): up to 30 s.
	wait_until host_carrier || wait_until host_carrier || wait_until host_carrier ||
		wait_until host_carrier || wait_until host_carrier || wait_until host_carrier
	wait_until ep_carrier
	host_carrier && ep_carrier ||
		{ echo "# netdev_up: no carrier: $(ip link show dev "$if_host"); $($NS ip link show dev "$if_ep")"; return 1; }
}

# uptime_cs: the time since boot in centiseconds (/proc/uptime).
uptime_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }

# tcp_send FROM FILE: send FILE over TCP from the side FROM (host or ep) to
# the other one with busybox nc, which hashes what it receives; prints
# "SHA256 CENTISECONDS", the digest at the receiving end and the time from
# the sender's start to the receiver's end.  Limit 120 s.
tcp_send() {
	if [ "$1" = host ]; then _tx="" _rx="$NS" _dst=$NET_EP
	else _tx="$NS" _rx="" _dst=$NET_HOST; fi
	rm -f /tmp/nc.hold /tmp/nc.sum
	mkfifo /tmp/nc.hold
	# nc shuts its sending half down when its standard input ends, and the
	# peer then stops: the receiver reads a fifo that stays open until the
	# end.
	sleep 200 >/tmp/nc.hold &
	_hold=$!
	$_rx sh -c 'timeout 120 nc -l -p 5001 </tmp/nc.hold | sha256sum >/tmp/nc.sum.t && mv /tmp/nc.sum.t /tmp/nc.sum' &
	_srv=$!
	_listening() { $_rx netstat -ltn | grep -q ':5001 '; }
	wait_until _listening
	_t0=$(uptime_cs)
	$_tx timeout 120 nc "$_dst" 5001 <"$2"
	wait $_srv
	_t1=$(uptime_cs)
	kill $_hold 2>/dev/null; wait $_hold 2>/dev/null
	rm -f /tmp/nc.hold
	[ -f /tmp/nc.sum ] || return 1
	echo "$(cut -d' ' -f1 /tmp/nc.sum) $((_t1 - _t0))"
}

# netdev_down: both interfaces down, ntb_netdev unloaded, ntb_transport
# unbound (the host's first: it takes the NTB link down), the namespace
# ended.
netdev_down() {
	ip link set dev "$if_host" down; $NS ip link set dev "$if_ep" down
	rmmod ntb_netdev && ntb_unbind "$ntb_host" "$ntb_ep"
	_rc=$?
	kill "$nspid" 2>/dev/null; wait "$nspid" 2>/dev/null
	return $_rc
}
