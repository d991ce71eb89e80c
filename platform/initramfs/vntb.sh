# SPDX-License-Identifier: GPL-2.0
# Helpers of the vNTB scenarios (vntb, vntb-suite, vntb-relink, vntb-hostile,
# ...), sourced after /lib/eptest.sh.  A vNTB function is set up as
# Documentation/PCI/endpoint/pci-vntb-howto.rst describes, for any function
# driver with pci-epf-vntb's configfs attributes in its group EPF.N (the C
# pci_epf_vntb, the Rust pci_epf_vntb_rs).
#
# Parameters (kernel command line, with these defaults):
#   db_count=16     doorbell slots: 16 gives both sides 14 doorbells (the
#                   host derives its own count from the 16 MSIs vNTB
#                   enables, inventory.md section 3.7), so that every bit
#                   one side sees valid can be rung from the other
#   spad_count=128  num_mws=1  mw_size=0x100000  vbus=0x10

# vntb_create EPF NAME: the configfs function functions/EPF/NAME with
# ntb_hw_epf's i.MX8 ID 0x1957:0x0809 (class RAM; VNTB_DEVID replaces the
# device ID) and the parameters above; VBUS (default $vbus) is its virtual
# bus number.  Sets FN and CFG.
vntb_create() {
	FN=$CFS/functions/$1/$2
	mkdir "$FN" || { echo "# mkdir $FN failed"; return 1; }
	CFG=$(ls -d "$FN/$1".* 2>/dev/null | head -1)
	[ -n "$CFG" ] || { echo "# no $1.N group in $FN"; return 1; }
	cfs_write 0x1957 "$FN/vendorid" && cfs_write "${VNTB_DEVID:-0x0809}" "$FN/deviceid" &&
		cfs_write 0x05 "$FN/baseclass_code" && cfs_write 0x00 "$FN/subclass_code" &&
		cfs_write "${db_count:-16}" "$CFG/db_count" &&
		cfs_write "${spad_count:-128}" "$CFG/spad_count" &&
		cfs_write "${num_mws:-1}" "$CFG/num_mws" &&
		cfs_write 0x1957 "$CFG/vntb_vid" && cfs_write 0x080A "$CFG/vntb_pid" &&
		cfs_write "${VBUS:-${vbus:-0x10}}" "$CFG/vbus_number" || return 1
	_k=1
	while [ $_k -le "${num_mws:-1}" ]; do
		cfs_write "${mw_size:-0x100000}" "$CFG/mw$_k" || return 1
		_k=$((_k + 1))
	done
}

# ntb_list: the NTB devices, one per line.
ntb_list() { ls /sys/bus/ntb/devices 2>/dev/null | sort; }

# vntb_start FN EPC: link FN to controller EPC and start it; wait for the
# two NTB devices that appear (the host's, from ntb_hw_epf, and the
# endpoint's virtual one on bus VBUS).  Sets NTB_HOST and NTB_EP (device
# names, as in /sys/bus/ntb/devices and the clients' debugfs directories)
# and HOST_PCI (the host's PCI device of the function).
vntb_start() {
	_before=$(ntb_list)
	ln -s "$CFS/controllers/$2" "$1/primary" || { echo "# link $1 to $2 failed"; return 1; }
	echo 1 >"$CFS/controllers/$2/start" || { echo "# start $2 failed"; return 1; }
	_bus=$(printf '%02x' $((${VBUS:-${vbus:-0x10}})))
	_new() { ntb_list | grep -v -x -F "$_before"; }
	[ -z "$_before" ] && _new() { ntb_list; }
	_two() { [ "$(_new | wc -l)" -ge 2 ]; }
	wait_until _two || wait_until _two
	NTB_EP=$(_new | grep ":$_bus:00\.0\$" | head -1)
	NTB_HOST=$(_new | grep -v ":$_bus:00\.0\$" | head -1)
	HOST_PCI=$NTB_HOST
	echo "# $1 on $2: NTB devices host=${NTB_HOST:-none} ep=${NTB_EP:-none}"
	[ -n "$NTB_EP" ] && [ -n "$NTB_HOST" ]
}

# vntb_setup: the start of the vntb, vntb-suite, vntb-netdev, vntb-hostile
# and vntb-oob scenarios.  The doorbell allocator check
# (check_doorbell_impl), then function func1 of driver EPF (epf=, default
# pci_epf_vntb) created and started on the first loopback controller
# (vntb_create, vntb_start), one TAP line for it; exits the scenario if it
# failed.  Sets epf and epc, and what vntb_create and vntb_start set.
vntb_setup() {
	epf=${epf:-pci_epf_vntb}
	check_doorbell_impl
	epc=$(ls "$CFS/controllers" | head -1)
	if vntb_create "$epf" func1 && vntb_start "$FN" "$epc"; then
		ok "configfs: $epf configured, linked to $epc and started; both NTB devices present"
	else
		not_ok "configfs: $epf on '$epc' and its NTB devices"; exit 1
	fi
}

# vntb_stop FN EPC HOST_PCI: stop the controller's link and unbind FN.  The
# host device goes away from a work item; unbind only after that, or
# ntb_hw_epf's remove() talks to a function that is gone.
vntb_stop() {
	_gone() { [ ! -e "/sys/bus/pci/devices/$1" ]; }
	cfs_write 0 "$CFS/controllers/$2/start" && wait_until _gone "$3" &&
		rm "$1/primary/$2"
}

# tool_dirs: T, H and E, ntb_tool's debugfs directories of the two devices.
tool_dirs() {
	T=/sys/kernel/debug/ntb_tool
	H=$T/$NTB_HOST E=$T/$NTB_EP
	[ -d "$H" ] && [ -d "$E" ]
}

# link_is SIDE Y|N: ntb_tool's peer link state seen by SIDE is as given.
link_is() { [ "$(cat "$1/peer0/link")" = "$2" ]; }
both_links() { link_is "$H" "$1" && link_is "$E" "$1"; }

# tool_link_up: both sides enable the link, and both see it up.
tool_link_up() {
	echo Y >"$H/link"; echo Y >"$E/link"
	wait_until both_links Y
}

# tool_db FROM TO BITS: FROM rings BITS of TO's doorbell; TO must see
# exactly BITS (DB is what it saw).  In MSI mode an endpoint-side doorbell
# is an interrupt, in polling mode the endpoint's 5 ms poll: wait up to 5 s
# for the bits, then 50 ms more for any stray bit.
tool_db() {
	echo "c $(cat "$2/db_valid_mask")" >"$2/db"
	echo "s $3" >"$1/peer_db" || { DB="peer_db write refused"; return 1; }
	_db_has() { DB=$(cat "$2/db"); [ $((DB & $3)) = $(($3)) ]; }
	wait_until _db_has "$@" || return 1
	sleep 0.05
	DB=$(cat "$2/db")
	echo "c $(cat "$2/db_valid_mask")" >"$2/db"
	[ $((DB)) = $(($3)) ]
}

# tool_db_all FROM TO: every bit of TO's db_valid_mask rung alone from
# FROM; TO sees exactly that bit each time.  Prints what differed.
tool_db_all() {
	_mask=$(($(cat "$2/db_valid_mask")))
	_bad="" _n=0 _b=0
	while [ $_b -lt 64 ]; do
		_bit=$((1 << _b))
		if [ $((_mask & _bit)) != 0 ]; then
			_n=$((_n + 1))
			tool_db "$1" "$2" $_bit || _bad="$_bad bit$_b:saw=$DB"
		fi
		_b=$((_b + 1))
	done
	DB_BITS=$_n
	[ -n "$_bad" ] && { echo "#  doorbells:$_bad"; return 1; }
	[ $_n -gt 0 ]
}

# tool_spad_all FROM TO: FROM writes a distinct value into each of TO's
# scratchpads (its peer0/spadN), TO reads each back (its spadN).
tool_spad_all() {
	_cnt=$(ls "$2" | grep -c '^spad[0-9]*$')
	_bad="" _i=0
	while [ $_i -lt "$_cnt" ]; do
		echo $((0x5a000000 + (${SPAD_SALT:-0} << 16) + _i * 0x101)) >"$1/peer0/spad$_i"
		_i=$((_i + 1))
	done
	_i=0
	while [ $_i -lt "$_cnt" ]; do
		_v=$(cat "$2/spad$_i")
		[ $((_v)) = $((0x5a000000 + (${SPAD_SALT:-0} << 16) + _i * 0x101)) ] ||
			_bad="$_bad spad$_i=$_v"
		_i=$((_i + 1))
	done
	SPADS=$_cnt
	[ -n "$_bad" ] && { echo "#  scratchpads:$(echo "$_bad" | cut -c1-300)"; return 1; }
	[ "$_cnt" -gt 0 ]
}

# tool_mw FROM TO IDX SIZE: data through memory window IDX from FROM to TO:
# TO allocates the inbound buffer (peer0/mw_transIDX, which programs the
# translation), FROM maps its outbound window (peer0/peer_mw_transIDX, with
# the address and size TO reported, as ntb_test.sh does), writes a random
# pattern into it (peer0/peer_mwIDX) and TO must read the same (peer0/mwIDX).
# The window is freed again on both sides.
tool_mw() {
	_from=$1 _to=$2 _w=$3 _sz=$4 _rc=1
	echo "$_sz" >"$_to/peer0/mw_trans$_w" || { echo "#  mw_trans$_w: $_sz refused"; return 1; }
	_inb=$(cat "$_to/peer0/mw_trans$_w")
	_addr=$(echo "$_inb" | sed -n 's/^DMA Address[ \t]*\(0x[0-9a-fA-F]*\).*/\1/p')
	_asz=$(echo "$_inb" | sed -n 's/^Window Size[ \t]*\(0x[0-9a-fA-F]*\).*/\1/p')
	if [ -z "$_addr" ] || [ -z "$_asz" ]; then
		echo "#  mw_trans$_w: no address/size: $_inb"
	elif ! echo "$((_addr)):$((_asz))" >"$_from/peer0/peer_mw_trans$_w"; then
		echo "#  peer_mw_trans$_w refused"
	else
		dd if=/dev/urandom of=/tmp/mwpat bs=4096 count=$((_asz / 4096)) 2>/dev/null
		dd if=/tmp/mwpat of="$_from/peer0/peer_mw$_w" bs=4096 conv=notrunc 2>/dev/null
		if cmp -s -n $(($_asz)) /tmp/mwpat "$_to/peer0/mw$_w"; then
			_rc=0
		else
			echo "#  mw$_w: data differs ($(cmp -n $(($_asz)) /tmp/mwpat "$_to/peer0/mw$_w" 2>&1 | head -1))"
		fi
		echo "$((_addr)):0" >"$_from/peer0/peer_mw_trans$_w"
	fi
	echo 0 >"$_to/peer0/mw_trans$_w"
	rm -f /tmp/mwpat
	return $_rc
}

# known CHECK: CHECK matches an entry of the known= list of the command
# line (checks known to fail on this function, e.g. C bugs; an entry may be
# a shell pattern such as selftest-*).
known() {
	set -f
	for _e in $(echo "${known:-}" | tr ',' ' '); do
		# shellcheck disable=SC2254
		case $1 in $_e) set +f; return 0 ;; esac
	done
	set +f
	return 1
}

# vcheck NAME DESCRIPTION COMMAND...: one TAP line for COMMAND.  A check
# named in known= must fail: its failure is reported as an expected one,
# and its passing fails (so that a fixed bug drops out of known=).  The
# result word (pass or fail) is kept in RESULTS for the parity comparison.
vcheck() {
	_name=$1 _desc=$2; shift 2
	if _out=$("$@" 2>&1); then _r=pass; else _r=fail; fi
	RESULTS="$RESULTS$_name $_r
"
	if known "$_name"; then
		if [ $_r = fail ]; then
			ok "$_name: $_desc (known failure on $epf)"
			[ -n "$_out" ] && printf '%s\n' "$_out" | sed '/^#/!s/^/# /'
		else
			not_ok "$_name: $_desc: passed, but known= says it fails on $epf"
		fi
	elif [ $_r = pass ]; then
		ok "$_name: $_desc"
		# What the check printed as comments (rates, counts)
		[ -n "$_out" ] && printf '%s\n' "$_out" | grep '^#'
	else
		not_ok "$_name: $_desc" "$_out"
	fi
	return 0
}

# dma_failures: the number of failed DMA transfers the loopback has logged
# ("DMA read/write at ADDR failed"); ntb_perf does not notice those, so a run
# with use_dma=1 counts only if this did not change across it.
dma_failures() { dmesg | grep -c 'DMA \(read\|write\) at .* failed'; }

# perf_run DIR: one ntb_perf run from DIR (its debugfs directory) to peer 0;
# PERF is the statistics line ("0: copied N bytes in U usecs, R MBytes/s").
# The run is refused (-ENOLINK) until both sides have exchanged their
# windows: retry for up to 5 s.  It fails if the loopback logged a failed
# DMA transfer meanwhile: ntb_perf itself does not notice those.
perf_run() {
	_try() { echo 0 >"$1/run" 2>/dev/null; }
	_f0=$(dma_failures)
	wait_until _try "$1" || { PERF="run refused"; return 1; }
	PERF=$(grep -E '^ *[0-9]+: ' "$1/run" | head -1)
	echo "#  $PERF"
	echo "$PERF" | grep -q -E 'copied [1-9][0-9]* bytes in [0-9]+ usecs, [0-9]+ MBytes/s' || return 1
	[ "$(dma_failures)" = "$_f0" ] || { echo "#  $(dmesg | grep 'DMA .* failed' | tail -1)"; return 1; }
}

# pp_rises: both ntb_pingpong counters rose since PP_H0/PP_E0.
pp_rises() {
	PP_H1=$(cat "$P/$NTB_HOST/count") PP_E1=$(cat "$P/$NTB_EP/count")
	[ "$PP_H1" -gt "$PP_H0" ] && [ "$PP_E1" -gt "$PP_E0" ]
}

# selftest_run: the kernel's NTB selftest tools/testing/selftests/ntb/
# ntb_test.sh (in the initramfs as /bin/ntb_test.sh) on the host and the
# endpoint device (it loads and unloads ntb_tool, ntb_pingpong and ntb_perf
# itself), one TAP line per test it starts ("Running ... tests on: A / B",
# passed when its "  Passed" line follows, skipped when "  Unsupported"
# does: the msg tests, for devices without message registers).  A test that never ends (its
# script waits forever, e.g. for a link event) is stopped after
# selftest_idle seconds without output (default 60; its scratchpad tests
# print nothing while they run through 128 scratchpads), and what it has
# not reached is reported as not run.
selftest_run() {
	_out=/tmp/ntb_test.out
	ntb_test.sh -p "${perf_order:-20}" "$NTB_HOST" "$NTB_EP" >"$_out" 2>&1 &
	_pid=$! _size=-1 _idle=0 _st=""
	while kill -0 $_pid 2>/dev/null; do
		_s=$(wc -c <"$_out")
		if [ "$_s" = "$_size" ]; then _idle=$((_idle + 1)); else _idle=0 _size=$_s; fi
		if [ $_idle -ge $((2 * ${selftest_idle:-60})) ]; then
			_st="stopped after ${selftest_idle:-60} s without output"
			kill $_pid; sleep 1; kill -9 $_pid 2>/dev/null
			break
		fi
		sleep 0.5
	done
	wait $_pid
	_rc=$?
	sed 's/^/# ntb_test.sh: /' "$_out"
	# Each "Running" line starts a test; "  Passed" ends it.
	_n=0
	awk '/^Running /{ if (t != "") print "fail\t" t; t = $0; next }
	     /^  Passed$/{ if (t != "") print "pass\t" t; t = ""; next }
	     /^  Unsupported$/{ if (t != "") print "skip\t" t; t = ""; next }
	     END { if (t != "") print "fail\t" t }' "$_out" >/tmp/ntb_test.res
	while IFS='	' read -r _r _t; do
		_n=$((_n + 1))
		_d=$(echo "$_t" | sed "s|$NTB_HOST|host|g; s|$NTB_EP|ep|g; s/  */ /g; s/ *$//")
		if [ "$_r" = skip ]; then
			RESULTS="${RESULTS}selftest-$_n skip
"
			result s "selftest-$_n: ntb_test.sh: $_d" "unsupported by the device"
			continue
		fi
		vcheck "selftest-$_n" "ntb_test.sh: $_d" [ "$_r" = pass ]
	done </tmp/ntb_test.res
	vcheck selftest "ntb_test.sh ran to its end and exited 0 (exit $_rc${_st:+, $_st})" \
		test "$_rc" = 0 -a -z "$_st"
	# Stopped halfway, it leaves its clients loaded, maybe with memory windows
	# set up (unloading ntb_tool then is a use-after-free without patch 0038).
	for _m in ntb_tool ntb_pingpong ntb_perf; do modprobe -r $_m 2>/dev/null; done
	return 0
}

# vntb_suite: the vNTB test suite on the pair NTB_HOST / NTB_EP, the
# checks named in $checks (default: all), in this order:
#   link       ntb_tool: each side disables its link and both sides see it
#              down, then enables it and both see it up
#   doorbell   every bit of the other side's db_valid_mask rung alone, each
#              way: the other side sees exactly that bit
#   spad       every scratchpad each way, a distinct value per index
#   mw         each memory window each way: a 64 KiB random pattern
#              written on one side is read on the other
#   pingpong   ntb_pingpong: the count rises on both sides
#   perf       ntb_perf with memcpy from each side, and with DMA from the
#              endpoint where a loopback controller has a DMA engine (any
#              one's memcpy reaches every controller's windows; the host
#              has none, and the endpoint's cannot reach host BARs), a
#              run completes with a rate
#   selftest   the kernel's ntb_test.sh (selftest_run)
vntb_suite() {
	_has() { case ",${checks:-link,doorbell,spad,mw,pingpong,perf,selftest}," in *,"$1",*) return 0 ;; esac; return 1; }
	if _has link || _has doorbell || _has spad || _has mw; then
		modprobe ntb_tool
		_bound() { [ -e "/sys/bus/ntb/devices/$NTB_HOST/driver" ] && [ -d "/sys/kernel/debug/ntb_tool/$NTB_EP" ] && tool_dirs; }
		wait_until _bound
		if ! tool_dirs; then
			not_ok "ntb_tool bound to both NTB devices" "$(ls /sys/kernel/debug/ntb_tool)"
			return 1
		fi
		echo "# db_valid_mask host=$(cat "$H/db_valid_mask") ep=$(cat "$E/db_valid_mask")"
		vcheck link-up "ntb_tool: both sides enable the link, both see it up" tool_link_up
	fi
	if _has link; then
		_down_up() {
			echo N >"$1/link"
			wait_until both_links N || { echo "#  after $2 disabled: host sees $(cat "$H/peer0/link"), ep sees $(cat "$E/peer0/link")"; echo Y >"$1/link"; return 1; }
			echo Y >"$1/link"
			wait_until both_links Y
		}
		vcheck link-host "ntb_tool: the host disables its link, both sides see it down, then up again" \
			_down_up "$H" host
		vcheck link-ep "ntb_tool: the endpoint disables its link, both sides see it down, then up again" \
			_down_up "$E" endpoint
		tool_link_up >/dev/null
	fi
	if _has doorbell; then
		vcheck db-host-ep "doorbells host -> endpoint: each bit of the endpoint's mask $(cat "$E/db_valid_mask") alone" \
			tool_db_all "$H" "$E"
		vcheck db-ep-host "doorbells endpoint -> host: each bit of the host's mask $(cat "$H/db_valid_mask") alone" \
			tool_db_all "$E" "$H"
	fi
	if _has spad; then
		vcheck spad-host-ep "scratchpads host -> endpoint: all $(ls "$E" | grep -c '^spad[0-9]*$'), distinct values" \
			tool_spad_all "$H" "$E"
		SPAD_SALT=1
		vcheck spad-ep-host "scratchpads endpoint -> host: all $(ls "$H" | grep -c '^spad[0-9]*$'), distinct values" \
			tool_spad_all "$E" "$H"
		SPAD_SALT=0
	fi
	if _has mw; then
		_w=0
		while [ $_w -lt "$(ls "$E/peer0" | grep -c '^mw_trans[0-9]*$')" ]; do
			vcheck "mw$_w-host-ep" "memory window $_w host -> endpoint: 64 KiB pattern" \
				tool_mw "$H" "$E" $_w 65536
			vcheck "mw$_w-ep-host" "memory window $_w endpoint -> host: 64 KiB pattern" \
				tool_mw "$E" "$H" $_w 65536
			_w=$((_w + 1))
		done
	fi
	modprobe -r ntb_tool 2>/dev/null
	if _has pingpong; then
		modprobe ntb_pingpong delay_ms=200
		P=/sys/kernel/debug/ntb_pingpong
		_pp_ready() { [ -r "$P/$NTB_HOST/count" ] && [ -r "$P/$NTB_EP/count" ]; }
		wait_until _pp_ready
		PP_H0=$(cat "$P/$NTB_HOST/count" 2>/dev/null || echo 0)
		PP_E0=$(cat "$P/$NTB_EP/count" 2>/dev/null || echo 0)
		_pp() { wait_until pp_rises; _rc=$?; echo "#  count host $PP_H0 -> $PP_H1, ep $PP_E0 -> $PP_E1"; return $_rc; }
		vcheck pingpong "ntb_pingpong: the count rises on both sides" _pp
		modprobe -r ntb_pingpong
	fi
	if _has perf; then
		modprobe ntb_perf total_order="${perf_order:-20}"
		F=/sys/kernel/debug/ntb_perf
		vcheck perf-host "ntb_perf from the host, memcpy: a run completes with a rate" perf_run "$F/$NTB_HOST"
		vcheck perf-ep "ntb_perf from the endpoint, memcpy: a run completes with a rate" perf_run "$F/$NTB_EP"
		# ntb_perf takes the first DMA channel there is, of any
		# controller: its memcpy reaches every controller's windows.
		_ch=$(ls /sys/class/dma 2>/dev/null | head -1)
		if [ -n "$_ch" ]; then
			echo Y >/sys/module/ntb_perf/parameters/use_dma
			vcheck perf-ep-dma "ntb_perf from the endpoint, DMA ($_ch): a run completes with a rate" \
				perf_run "$F/$NTB_EP"
			echo N >/sys/module/ntb_perf/parameters/use_dma
		else
			echo "# no DMA engine: no ntb_perf DMA run"
		fi
		modprobe -r ntb_perf
	fi
	_has selftest && selftest_run
	return 0
}

# vntb_teardown FN EPC: bring the link down from the host first (with
# ntb_tool) so that no host command is left to time out, then stop the
# controller and unbind the function (vntb_stop).
vntb_teardown() {
	modprobe ntb_tool
	_t() { tool_dirs; }
	wait_until _t
	if tool_dirs; then
		echo N >"$H/link"; echo N >"$E/link"
		wait_until link_is "$H" N
	fi
	modprobe -r ntb_tool
	vntb_stop "$1" "$2" "$HOST_PCI"
}

# pci_dev_of VENDOR DEVICE: the name of the first PCI device with this ID.
pci_dev_of() {
	for _d in /sys/bus/pci/devices/*; do
		[ "$(cat "$_d/vendor")" = "$1" ] && [ "$(cat "$_d/device")" = "$2" ] &&
			{ basename "$_d"; return 0; }
	done
	return 1
}

# lbep_dir EPC: the loopback's debugfs directory (bus exerciser) of EPC.
lbep_dir() { echo "/sys/kernel/debug/pci-loopback-ep/$1"; }

# ntb_driver DEV: the NTB client NTB device DEV is bound to, if any.
ntb_driver() {
	[ -e "/sys/bus/ntb/devices/$1/driver" ] &&
		basename "$(readlink "/sys/bus/ntb/devices/$1/driver")"
}

# ntb_unbind DEV...: unbind the NTB client of each DEV (the host's first
# where it matters: its unbind takes the NTB link down with a command the
# function must still answer).
ntb_unbind() {
	for _n in "$@"; do
		_d=/sys/bus/ntb/devices/$_n
		[ -e "$_d/driver" ] || continue
		echo "$_n" >"$_d/driver/unbind" || return 1
	done
}

# IP over the link (scenario vntb-netdev, make bench): ntb_netdev on
# ntb_transport on NTB_HOST and NTB_EP (vntb_start).  The host's interface
# stays in the initial network namespace, the endpoint's moves into a
# namespace of its own (held by a sleeping process), so that traffic
# between the two addresses crosses the NTB instead of the loopback device.
# The addresses are from the benchmarking range of RFC 2544; UML has no
# other network device, nothing leaves the UML kernel.
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
# ntb_transport prints the file only while the queue pair's link is up.
qpstat() {
	awk -v k="$2" -F ' - *\t?' '$1 == k { gsub(/[ \t]/, "", $2); print $2 }' \
		"/sys/kernel/debug/ntb_transport/$1/qp0/stats"
}

# qp_is_down DEV: queue pair 0 of the transport on DEV exists and its link is
# down: its stats file is there and empty (ntb_qp_debugfs_stats_show()
# prints nothing unless qp->link_is_up; "QP Link - Down" never appears).
qp_is_down() {
	_st=/sys/kernel/debug/ntb_transport/$1/qp0/stats
	[ -e "$_st" ] && [ -z "$(cat "$_st")" ]
}

# has_carrier NS-PREFIX IF: the interface is up with its lower layer (the
# transport's queue pair) up.
has_carrier() { $1 ip link show dev "$2" | grep -q 'LOWER_UP'; }
ep_carrier() { has_carrier "$NS" "$if_ep"; }
host_carrier() { has_carrier "" "$if_host"; }
ep_no_carrier() { ! has_carrier "$NS" "$if_ep"; }

# netdev_up: ntb_transport loaded (it binds both NTB devices of the link,
# which no other client has), then ntb_netdev (its init registers its
# client device with every transport there is), the endpoint's interface
# in a namespace of its own, addresses set, both interfaces up with carrier
# (the transport's queue pair up).  Sets if_host, if_ep, nspid, NS.  Each
# step that fails says so in a TAP comment.
netdev_up() {
	modprobe ntb_transport || { echo "# netdev_up: modprobe ntb_transport failed"; return 1; }
	_tp() { [ "$(ntb_driver "$NTB_HOST")" = ntb_transport ] && [ "$(ntb_driver "$NTB_EP")" = ntb_transport ]; }
	wait_until _tp ||
		{ echo "# netdev_up: ntb_transport did not bind ($(ntb_driver "$NTB_HOST"), $(ntb_driver "$NTB_EP"))"; return 1; }
	# NTB devices of other links (NTB_OTHERS, e.g. make bench's second
	# function) get no interface.
	[ -z "${NTB_OTHERS:-}" ] || ntb_unbind $NTB_OTHERS
	modprobe ntb_netdev || { echo "# netdev_up: modprobe ntb_netdev failed"; return 1; }
	if_host=$(netdev_of "$NTB_HOST") if_ep=$(netdev_of "$NTB_EP")
	[ -n "$if_host" ] && [ -n "$if_ep" ] ||
		{ echo "# netdev_up: interfaces: host '$if_host' ep '$if_ep'"; return 1; }
	netns_new || { echo "# netdev_up: no network namespace"; return 1; }
	ip link set dev "$if_ep" netns "$nspid" ||
		{ echo "# netdev_up: cannot move $if_ep"; return 1; }
	# ntb_netdev's MTU is 64 KiB and a received skb's truesize more than
	# that: with the default 128 KiB receive buffer the window TCP offers
	# falls below one segment, and the sender waits for its persist timer
	# (seen as transfers stalled for minutes).  Buffers of several segments
	# in both namespaces (the tcp_[rw]mem sysctls are per namespace).
	for _ns in "" "$NS"; do
		$_ns sh -c 'echo "4096 4194304 8388608" >/proc/sys/net/ipv4/tcp_rmem &&
			echo "4096 1048576 8388608" >/proc/sys/net/ipv4/tcp_wmem' ||
			{ echo "# netdev_up: cannot set the TCP buffers"; return 1; }
	done
	ip addr add $NET_HOST/24 dev "$if_host" && ip link set dev "$if_host" up &&
		$NS ip addr add $NET_EP/24 dev "$if_ep" && $NS ip link set dev "$if_ep" up ||
		{ echo "# netdev_up: cannot configure the interfaces"; return 1; }
	# The transport's link comes up through scratchpads and the function's
	# command poll: up to 30 s.
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
# the sender's start to the receiver's end.  Limit 120 s.  tcp_corrupt=1 (a
# self-test of the checksum check, on the command line) appends a byte to
# what the receiver hashes.
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
	_rcv=cat
	[ "${tcp_corrupt:-}" = 1 ] && _rcv="{ cat; echo; }"
	$_rx sh -c "timeout 120 nc -l -p 5001 </tmp/nc.hold | $_rcv | sha256sum >/tmp/nc.sum.t && mv /tmp/nc.sum.t /tmp/nc.sum" &
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
# unbound (the host's first) and unloaded, the namespace ended.
netdev_down() {
	ip link set dev "$if_host" down; $NS ip link set dev "$if_ep" down
	modprobe -r ntb_netdev && ntb_unbind "$NTB_HOST" "$NTB_EP" && modprobe -r ntb_transport
	_rc=$?
	kill "$nspid" 2>/dev/null; wait "$nspid" 2>/dev/null
	return $_rc
}
